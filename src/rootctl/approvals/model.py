"""Break-glass requests as values, rebuilt from journal entries.

The journal is the only storage: a request, each approval, a denial and the one use are
entries (command `approvals`), so any journal backend that keeps an ordered, verified chain
serves requester and approver alike. State is never stored; it is derived from the entries
and the clock (`state`), which is why an edited entry cannot be acted on: it is read only
through `Journal.verified_entries`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Final, Literal

from rootctl.sessions.rules import SessionRefused
from rootctl.tasks import Task

if TYPE_CHECKING:
    from rootctl.config.models import Approval
    from rootctl.journal import StoredEntry

COMMAND: Final = "approvals"  # the command of every state entry
REQUEST: Final = "request"
APPROVE: Final = "approve"
DENY: Final = "deny"
USE: Final = "use"
STATE_ACTIONS = (REQUEST, APPROVE, DENY, USE)
State = Literal["pending", "approved", "denied", "used", "expired"]
STATES: tuple[State, ...] = ("pending", "approved", "denied", "used", "expired")


class ApprovalRefused(SessionRefused):
    """A request that cannot be made, approved, denied or used (exit 2, journaled)."""


@dataclass(frozen=True)
class Decision:
    """One approval, denial or use: who, when, which journal entry (and why, for a denial)."""

    by: str
    at: datetime
    entry_id: int
    reason: str | None = None


@dataclass(frozen=True)
class BreakGlassRequest:
    """A request for one root session: task, account, target (root or resource ARN)."""

    id: str
    task: Task
    account_id: str
    target: str
    reason: str
    requester: str
    requested_at: datetime
    entry_id: int
    duration_seconds: int | None = None
    approvals: tuple[Decision, ...] = ()
    denial: Decision | None = None
    use: Decision | None = None

    def approved_at(self, required: int) -> datetime | None:
        """When the `required`-th approval by someone other than the requester came."""
        counted = self.approvers()
        return counted[required - 1].at if len(counted) >= required else None

    def approvers(self) -> list[Decision]:
        """The first approval of each principal other than the requester, in order."""
        seen: set[str] = {self.requester}
        counted: list[Decision] = []
        for approval in self.approvals:
            if approval.by not in seen:
                seen.add(approval.by)
                counted.append(approval)
        return counted

    def expires_at(self, rules: Approval) -> datetime:
        """Pending: `valid_for` after the request; approved: `valid_for` after approval."""
        start = self.approved_at(rules.required_approvals) or self.requested_at
        return start + timedelta(seconds=rules.valid_for)

    def state(self, rules: Approval, now: datetime) -> State:
        if self.use is not None:
            return "used"
        if self.denial is not None:
            return "denied"
        if now >= self.expires_at(rules):
            return "expired"
        return "approved" if self.approved_at(rules.required_approvals) else "pending"


def parse_time(text: str) -> datetime:
    """The journal's entry time (`...Z`) as an aware datetime."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def requests_from(entries: Iterable[StoredEntry]) -> dict[str, BreakGlassRequest]:
    """Every request, in journal order, with its decisions; malformed entries are skipped
    (a verified chain written by something other than rootctl proves nothing to act on)."""
    found: dict[str, BreakGlassRequest] = {}
    for entry in entries:
        if entry.command != COMMAND or entry.outcome != "ok":
            continue
        after = entry.after if isinstance(entry.after, dict) else {}
        request_id = after.get("request_id")
        if not isinstance(request_id, str):
            continue
        if entry.action == REQUEST:
            request = _request(entry, request_id, after)
            if request is not None and request_id not in found:
                found[request_id] = request
            continue
        current = found.get(request_id)
        who = after.get("by")
        if current is None or not isinstance(who, str):
            continue
        found[request_id] = _decided(current, entry, who)
    return found


def _request(
    entry: StoredEntry, request_id: str, after: dict[str, object]
) -> BreakGlassRequest | None:
    task = Task.from_arn(f"arn:aws:iam::aws:policy/root-task/{entry.task_policy}")
    requester = after.get("by")
    duration = after.get("duration_seconds")
    if task is None or not entry.account_id or not entry.target or not isinstance(requester, str):
        return None
    return BreakGlassRequest(
        id=request_id,
        task=task,
        account_id=entry.account_id,
        target=entry.target,
        reason=entry.reason or "",
        requester=requester,
        requested_at=parse_time(entry.time),
        entry_id=entry.id,
        duration_seconds=duration if isinstance(duration, int) else None,
    )


def _decided(request: BreakGlassRequest, entry: StoredEntry, who: str) -> BreakGlassRequest:
    decision = Decision(who, parse_time(entry.time), entry.id, entry.reason)
    if entry.action == APPROVE:
        return replace(request, approvals=(*request.approvals, decision))
    if entry.action == DENY and request.denial is None:
        return replace(request, denial=decision)
    if entry.action == USE and request.use is None:  # the first use in chain order wins
        return replace(request, use=decision)
    return request


@dataclass(frozen=True)
class RequestView:
    """A request as seen now: its state and when it stops being usable (for listing)."""

    request: BreakGlassRequest
    state: State
    expires_at: datetime
    required_approvals: int

    @classmethod
    def of(cls, request: BreakGlassRequest, rules: Approval, now: datetime) -> RequestView:
        return cls(
            request, request.state(rules, now), request.expires_at(rules), rules.required_approvals
        )
