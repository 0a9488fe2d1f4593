"""`rootctl.requests/v1`: the break-glass requests `rootctl requests -o json` lists.

New as a document: `requests -o json` printed a bare JSON array (no place for a schema id);
its items keep their keys under `requests`, and `as_of` says the time the states were derived
at (a state is never stored: `pending` turns `expired` with the clock, docs/commands/approvals.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Final, Literal

from pydantic import Field

from rootctl.documents.base import Document, Part, Timestamp
from rootctl.tasks import Task

if TYPE_CHECKING:
    from rootctl.approvals.model import Decision, RequestView

REQUESTS_SCHEMA: Final = "rootctl.requests/v1"


class DecisionPart(Part):
    """One counted approval, the denial or the use: who (an ARN), when, which journal entry."""

    by: str
    at: Timestamp
    entry_id: int
    reason: str | None


class RequestItem(Part):
    """One request and its state at `as_of`; `approvals` counts one per principal, never the
    requester's own."""

    id: str
    state: Literal["pending", "approved", "denied", "used", "expired"]
    task: Task
    account_id: str
    target: str
    reason: str
    requester: str
    requested_at: Timestamp
    duration_seconds: int | None
    approvals: list[DecisionPart]
    required_approvals: int
    denial: DecisionPart | None
    use: DecisionPart | None
    expires_at: Timestamp
    entry_id: int


class RequestsDocument(Document):
    schema_id: Literal["rootctl.requests/v1"] = Field(default=REQUESTS_SCHEMA, alias="schema")
    as_of: Timestamp
    pending_only: bool
    requests: list[RequestItem]


def _decision(decision: Decision) -> DecisionPart:
    return DecisionPart(
        by=decision.by, at=decision.at, entry_id=decision.entry_id, reason=decision.reason
    )


def request_item(view: RequestView) -> RequestItem:
    r = view.request
    return RequestItem(
        id=r.id,
        state=view.state,
        task=r.task,
        account_id=r.account_id,
        target=r.target,
        reason=r.reason,
        requester=r.requester,
        requested_at=r.requested_at,
        duration_seconds=r.duration_seconds,
        approvals=[_decision(a) for a in r.approvers()],
        required_approvals=view.required_approvals,
        denial=_decision(r.denial) if r.denial is not None else None,
        use=_decision(r.use) if r.use is not None else None,
        expires_at=view.expires_at,
        entry_id=r.entry_id,
    )


def requests_document(
    views: Sequence[RequestView], *, as_of: datetime, pending_only: bool
) -> RequestsDocument:
    """The rootctl.requests/v1 document of `views` (`Rootctl.requests(now=as_of)`)."""
    return RequestsDocument(
        as_of=as_of, pending_only=pending_only, requests=[request_item(v) for v in views]
    )
