"""`rootctl.locked/v1` (list-locked) and `rootctl.unlock/v1` (unlock and restore results).

Both are new as documents: list-locked printed a bare JSON array (no place for a schema id;
its items keep their shape under `resources`), unlock and restore printed text only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final, Literal

from pydantic import Field

from rootctl.documents.base import Document, Part

if TYPE_CHECKING:
    from rootctl.sessions.operations import LockRow
    from rootctl.sessions.policy import LockAnalysis
    from rootctl.sessions.unlock import PolicyChange, PolicyPlan

LOCKED_SCHEMA: Final = "rootctl.locked/v1"
UNLOCK_SCHEMA: Final = "rootctl.unlock/v1"


class LockingStatementPart(Part):
    index: int
    sid: str | None
    denied_actions: list[str]


class LockedResource(Part):
    """One bucket or queue looked at; `error` when its policy could not be read."""

    name: str
    arn: str
    locked: bool
    statements: list[LockingStatementPart]
    error: str | None


class LockedDocument(Document):
    schema_id: Literal["rootctl.locked/v1"] = Field(default=LOCKED_SCHEMA, alias="schema")
    kind: Literal["s3", "sqs"]
    account_id: str
    region: str | None
    resources: list[LockedResource]


class UnlockDocument(Document):
    """What unlock or restore planned and did to one policy (`outcome` null: not applied)."""

    schema_id: Literal["rootctl.unlock/v1"] = Field(default=UNLOCK_SCHEMA, alias="schema")
    operation: Literal["unlock", "restore"]
    kind: Literal["s3", "sqs"]
    account_id: str
    name: str
    region: str
    arn: str
    change: Literal["delete-policy", "replace-policy", "restore-policy", "none"]
    summary: str
    locked: bool | None
    statements: list[LockingStatementPart]
    current_policy: str | None
    new_policy: str | None
    applied: bool
    outcome: Literal["ok", "error", "skipped"] | None
    verified: bool | None
    backup_entry_id: int | None
    entry_id: int | None
    error: str | None
    note: str | None


def _statements(analysis: LockAnalysis | None) -> list[LockingStatementPart]:
    return [
        LockingStatementPart(index=s.index, sid=s.sid, denied_actions=list(s.denied_actions))
        for s in (analysis.statements if analysis else ())
    ]


def locked_document(
    kind: Literal["s3", "sqs"], account_id: str, region: str | None, rows: list[LockRow]
) -> LockedDocument:
    """The rootctl.locked/v1 document of `list-locked` (the array's items, under `resources`)."""
    return LockedDocument(
        kind=kind,
        account_id=account_id,
        region=region,
        resources=[
            LockedResource(
                name=row.name,
                arn=row.arn,
                locked=row.locked,
                statements=_statements(row.analysis),
                error=row.error,
            )
            for row in rows
        ],
    )


def unlock_document(plan: PolicyPlan, result: PolicyChange | None) -> UnlockDocument:
    """The rootctl.unlock/v1 document: the plan, and the result when it was applied.

    `result` None means not applied (dry run, declined, nothing to change): `applied` false.
    The policies are the texts as read and written: they are resource policies, not secrets.
    """
    return UnlockDocument(
        operation=plan.operation,
        kind=plan.kind,
        account_id=plan.account_id,
        name=plan.name,
        region=plan.region,
        arn=plan.arn,
        change=plan.change,
        summary=plan.summary(),
        locked=plan.analysis.locked if plan.analysis else None,
        statements=_statements(plan.analysis),
        current_policy=plan.current,
        new_policy=plan.new_policy,
        applied=result is not None and plan.change != "none",
        outcome=result.outcome if result else None,
        verified=result.verified if result else None,
        backup_entry_id=result.backup_entry_id if result else None,
        entry_id=result.entry_id if result else None,
        error=result.error if result else None,
        note=(result.note if result else None) or (plan.note or None),
    )
