"""The two-person rules, as pure functions: who may approve, deny and use a request.

Each check raises `ApprovalRefused` (exit 2) naming the request and the rule; the caller
journals the refusal. Identities are the callers' ARNs from sts:GetCallerIdentity, never a
flag, and compared exactly: an assumed-role session is a different principal from another
session of the same role (its session name is part of the ARN), see docs/commands/approvals.md.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from rootctl.approvals.model import ApprovalRefused, BreakGlassRequest
from rootctl.text import clean

if TYPE_CHECKING:
    from rootctl.config.models import Approval
    from rootctl.tasks import Task

RULE = "root_sessions.approval"


def found(requests: dict[str, BreakGlassRequest], request_id: str) -> BreakGlassRequest:
    request = requests.get(request_id)
    if request is None:
        raise ApprovalRefused(
            f"no request {clean(request_id[:64])!r} in the journal (see rootctl requests)",
            "request",
        )
    return request


def _open(request: BreakGlassRequest, rules: Approval, now: datetime, doing: str) -> str:
    state = request.state(rules, now)
    if state in ("used", "denied", "expired"):
        detail = {
            "used": f"it was used (journal entry {request.use.entry_id if request.use else '?'})",
            "denied": f"it was denied by {request.denial.by if request.denial else '?'}",
            "expired": f"it expired at {request.expires_at(rules).isoformat(timespec='seconds')} "
            f"(root_sessions.approval.valid_for: {rules.valid_for} s)",
        }[state]
        raise ApprovalRefused(
            f"request {request.id} cannot be {doing}: {detail}; make a new request", RULE
        )
    return state


def check_decider(request: BreakGlassRequest, who: str, rules: Approval, doing: str) -> None:
    """An approver or denier: allowed by `approvers`, never the requester."""
    if who == request.requester:
        raise ApprovalRefused(
            f"{who} made request {request.id}: it must be {doing} by another principal",
            RULE,
        )
    if not rules.may_approve(who):
        raise ApprovalRefused(
            f"{who} may not approve or deny requests: it matches no "
            "root_sessions.approval.approvers pattern",
            f"{RULE}.approvers",
        )


def check_approve(
    request: BreakGlassRequest, approver: str, rules: Approval, now: datetime
) -> None:
    state = _open(request, rules, now, "approved")
    check_decider(request, approver, rules, "approved")
    if any(a.by == approver for a in request.approvals):
        raise ApprovalRefused(f"{approver} already approved request {request.id}", RULE)
    if state == "approved":
        raise ApprovalRefused(
            f"request {request.id} is already approved "
            f"({rules.required_approvals} of {rules.required_approvals})",
            RULE,
        )


def check_deny(request: BreakGlassRequest, denier: str, rules: Approval, now: datetime) -> None:
    _open(request, rules, now, "denied")
    check_decider(request, denier, rules, "denied")


def check_use(
    request: BreakGlassRequest,
    user: str,
    *,
    task: Task,
    account_id: str,
    target: str,
    rules: Approval,
    now: datetime,
) -> None:
    """Only its requester, only approved and unexpired, only for its task and target."""
    state = _open(request, rules, now, "used")
    if (request.task, request.account_id, request.target) != (task, account_id, target):
        raise ApprovalRefused(
            f"request {request.id} is for {request.task.short_name} on {clean(request.target)}, "
            f"not {task.short_name} on {clean(target)}",
            RULE,
        )
    if user != request.requester:
        raise ApprovalRefused(
            f"request {request.id} was made by {request.requester}: only its requester may use it",
            RULE,
        )
    if state != "approved":
        have = len(request.approvers())
        raise ApprovalRefused(
            f"request {request.id} is not approved yet ({have} of "
            f"{rules.required_approvals} approvals)",
            RULE,
        )
