"""Requests, approvals, denials and uses, journaled through a command's `RunContext`.

Every decision reads the requests back through `Journal.verified_entries` (an edited
journal refuses, exit 2) and every refusal is journaled by the run like any other rule's.
A use is written *before* the root session opens, then read back: when two runs race to
use one request, both entries are in the chain and only the first in chain order counts,
so the later run refuses without opening a session. That needs nothing from the journal
but a total order, which every backend keeps.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from rootctl.approvals import checks
from rootctl.approvals.model import (
    APPROVE,
    COMMAND,
    DENY,
    REQUEST,
    USE,
    ApprovalRefused,
    BreakGlassRequest,
    requests_from,
)
from rootctl.errors import UsageError
from rootctl.journal import JournalEntry
from rootctl.tasks import Task

if TYPE_CHECKING:
    from rootctl.config import RootctlConfig
    from rootctl.journal import Journal, StoredEntry
    from rootctl.run import RunContext

# What the operator's identity needs to request, approve or deny (no root session).
PERMISSIONS = ("sts:GetCallerIdentity",)


def utcnow() -> datetime:
    return datetime.now(UTC)


def load(journal: Journal) -> dict[str, BreakGlassRequest]:
    """Every request in the journal, verified first (UnverifiedJournal when edited)."""
    return requests_from(journal.verified_entries(command=COMMAND))


def lifted(config: RootctlConfig, task: Task, duration: int | None) -> RootctlConfig:
    """The run's rules once a request for `task` is approved: no approval needed for that
    task, and the session no longer than the request asked for."""
    sessions = config.root_sessions
    approval = sessions.approval.model_copy(
        update={"tasks": tuple(t for t in sessions.approval.tasks if t != task)}
    )
    seconds = min(duration or sessions.max_session_seconds, sessions.max_session_seconds)
    updated = sessions.model_copy(update={"approval": approval, "max_session_seconds": seconds})
    return config.model_copy(update={"root_sessions": updated})


def check_duration(config: RootctlConfig, duration: int | None) -> int | None:
    limit = config.root_sessions.max_session_seconds
    if duration is not None and not 1 <= duration <= limit:
        raise UsageError(
            f"duration {duration} s is out of range: 1 to {limit} s "
            "(root_sessions.max_session_seconds)"
        )
    return duration


@contextmanager
def journaled(run: RunContext, request: BreakGlassRequest | None = None) -> Iterator[None]:
    """Journal an `ApprovalRefused` raised inside the block (then let it propagate)."""
    try:
        yield
    except ApprovalRefused as exc:
        if request is None:
            run.refused(exc)
        else:
            run.refused(
                exc, account_id=request.account_id, task=request.task, target=request.target
            )
        raise


def _append(
    run: RunContext,
    action: str,
    request: BreakGlassRequest,
    who: str,
    reason: str | None,
    **after: Any,
) -> StoredEntry:
    return run.journal.append(
        JournalEntry(
            command=COMMAND,
            action=action,
            outcome="ok",
            account_id=request.account_id,
            task_policy=request.task.value,
            target=request.target,
            reason=reason,
            operator=who,
            after={"request_id": request.id, "by": who, **after},
            run_id=run.recorder.run_id,
        )
    )


def create(
    run: RunContext,
    task: Task,
    account_id: str,
    target: str,
    check: Callable[[], object],
    duration: int | None,
) -> BreakGlassRequest:
    """Record a pending request after checking every rule but the approval it asks for."""
    requester = run.operator  # from STS: UsageError for missing or rejected credentials
    check_duration(run.config, duration)
    run.config = lifted(run.config, task, None)
    check()  # allowed task, reason pattern, protected resources (journals a refusal)
    run.precheck(account_id)  # a member account AssumeRoot can target, before anyone approves
    taken = load(run.journal)
    request_id = _new_id(taken)
    request = BreakGlassRequest(
        request_id, task, account_id, target, run.reason or "", requester, utcnow(), 0, duration
    )
    _append(run, REQUEST, request, requester, run.reason, duration_seconds=duration)
    return load(run.journal)[request_id]


def _new_id(taken: dict[str, BreakGlassRequest]) -> str:
    while True:
        candidate = f"req-{secrets.token_hex(4)}"
        if candidate not in taken:
            return candidate


def approve(run: RunContext, request_id: str, now: datetime | None = None) -> BreakGlassRequest:
    approver = run.operator
    with journaled(run):
        request = checks.found(load(run.journal), request_id)
    with journaled(run, request):
        checks.check_approve(request, approver, run.config.root_sessions.approval, now or utcnow())
    _append(run, APPROVE, request, approver, run.reason)
    return load(run.journal)[request_id]


def deny(run: RunContext, request_id: str, now: datetime | None = None) -> BreakGlassRequest:
    denier = run.operator
    with journaled(run):
        request = checks.found(load(run.journal), request_id)
    with journaled(run, request):
        checks.check_deny(request, denier, run.config.root_sessions.approval, now or utcnow())
    _append(run, DENY, request, denier, run.reason)
    return load(run.journal)[request_id]


def gate(
    run: RunContext,
    request_id: str,
    *,
    task: Task,
    account_id: str,
    target: str,
    check: Callable[[], object],
    now: datetime | None = None,
) -> BreakGlassRequest:
    """Before a root session: the request holds for exactly this task and target, the
    other rules pass, and the request is marked used (once: see the module docstring).

    Afterwards `run.config` carries no approval for `task` and the request's duration, so
    the session the caller opens next passes the rules; the run's reason defaults to the
    request's."""
    user = run.operator
    with journaled(run):
        request = checks.found(load(run.journal), request_id)
    rules = run.config.root_sessions.approval
    with journaled(run, request):
        checks.check_use(
            request,
            user,
            task=task,
            account_id=account_id,
            target=target,
            rules=rules,
            now=now or utcnow(),
        )
    if not (run.reason or "").strip():
        run.set_reason(request.reason)
    run.config = lifted(run.config, task, request.duration_seconds)
    check()
    entry = _append(run, USE, request, user, run.reason)
    first = load(run.journal)[request_id].use
    if first is None or first.entry_id != entry.id:
        with journaled(run, request):
            raise ApprovalRefused(
                f"request {request_id} was used by another run first (journal entry "
                f"{first.entry_id if first else '?'})",
                checks.RULE,
            )
    return request
