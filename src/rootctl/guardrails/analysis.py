"""Which root sessions do the SCPs on each account's path block? (pure: no AWS calls)

SCPs apply to AssumeRoot sessions ("Service control policies ... remain effective during the
root sessions", AWS Security Blog 2024-11-22), so a "deny root" SCP written before centralized
root access silently breaks audit, delete and unlock. For every account this evaluates, with
the SCPs of root, each OU and the account itself:

- each of the five task sessions: principal `arn:aws:iam::<account>:root`, `aws:AssumedRoot`
  true, `aws:PrincipalAccount`/`aws:ResourceAccount` = the account, every action the task
  policy allows;
- long-term root use: the same principal without `aws:AssumedRoot`, a representative action.

The caller supplies the SCP levels as data (fetching them is `rootctl.org`'s job).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rootctl.guardrails.evaluate import (
    PolicyError,
    RequestContext,
    ScpDecision,
    StatementRef,
    evaluate_scps,
)
from rootctl.tasks import CREDENTIAL_TASKS, Task, allowed_actions

__all__ = [
    "LONG_TERM_ROOT_ACTION",
    "AccountAnalysis",
    "GuardrailAnalysis",
    "Levels",
    "TaskCheck",
    "analyze",
    "analyze_account",
    "conflicts",
]

# [(level name, [(policy name, document), ...]), ...] from the organization root to the account.
Levels = Sequence[tuple[str, Sequence[tuple[str, Mapping[str, Any]]]]]

# What long-term root credentials would do first after a compromise; any action would do.
LONG_TERM_ROOT_ACTION = "iam:CreateUser"

# Actions without a resource type: the request's resource is "*".
_NO_RESOURCE = frozenset({"iam:getaccountsummary"})


@dataclass(frozen=True)
class TaskCheck:
    """One task session against the account's SCPs."""

    task: Task
    blocked: bool
    blocked_actions: tuple[str, ...]
    denied_by: StatementRef | None  # first explicit Deny met, if any
    missing_allow_level: str | None  # first level with no Allow, when that is what blocks


@dataclass(frozen=True)
class AccountAnalysis:
    account_id: str
    tasks: tuple[TaskCheck, ...]
    long_term_root_denied: bool
    long_term_root_denied_by: StatementRef | None = None
    scp_exempt: bool = False  # the management account: SCPs do not apply to it
    error: str | None = None  # an SCP rootctl could not evaluate; nothing else is reported

    def task(self, task: Task) -> TaskCheck:
        for check in self.tasks:
            if check.task is task:
                return check
        raise KeyError(task)

    @property
    def blocked_tasks(self) -> tuple[Task, ...]:
        return tuple(check.task for check in self.tasks if check.blocked)


@dataclass(frozen=True)
class GuardrailAnalysis:
    accounts: tuple[AccountAnalysis, ...]

    def account(self, account_id: str) -> AccountAnalysis:
        for result in self.accounts:
            if result.account_id == account_id:
                return result
        raise KeyError(account_id)


def _context(account_id: str, assumed_root: bool) -> dict[str, str | bool]:
    context: dict[str, str | bool] = {
        "aws:PrincipalArn": f"arn:aws:iam::{account_id}:root",
        "aws:PrincipalAccount": account_id,
        "aws:ResourceAccount": account_id,
    }
    if assumed_root:
        context["aws:AssumedRoot"] = True
    return context


def _resource(task: Task, action: str, account_id: str) -> str:
    """The credential tasks act on the root user itself; other resources are unknown ("*")."""
    if task in CREDENTIAL_TASKS and action.lower() not in _NO_RESOURCE:
        return f"arn:aws:iam::{account_id}:root"
    return "*"


def _check_task(task: Task, account_id: str, levels: Levels) -> TaskCheck:
    context = _context(account_id, assumed_root=True)
    blocked: list[str] = []
    denied_by: StatementRef | None = None
    missing: str | None = None
    for action in allowed_actions(task):
        request = RequestContext(action, _resource(task, action, account_id), context)
        decision = evaluate_scps(levels, request)
        if decision.allowed:
            continue
        blocked.append(action)
        denied_by = denied_by or decision.denied_by
        if decision.denied_by is None:
            missing = missing or decision.missing_allow_level
    return TaskCheck(task, bool(blocked), tuple(blocked), denied_by, missing)


def _long_term(account_id: str, levels: Levels) -> ScpDecision:
    request = RequestContext(LONG_TERM_ROOT_ACTION, "*", _context(account_id, assumed_root=False))
    return evaluate_scps(levels, request)


def analyze_account(
    account_id: str, levels: Levels, *, management: bool = False
) -> AccountAnalysis:
    """Evaluate the five task sessions and long-term root use for one account."""
    if management:
        return AccountAnalysis(account_id, tuple(), long_term_root_denied=False, scp_exempt=True)
    try:
        tasks = tuple(_check_task(task, account_id, levels) for task in Task)
        long_term = _long_term(account_id, levels)
    except PolicyError as exc:
        return AccountAnalysis(account_id, tuple(), long_term_root_denied=False, error=str(exc))
    return AccountAnalysis(
        account_id,
        tasks,
        long_term_root_denied=not long_term.allowed,
        long_term_root_denied_by=long_term.denied_by,
    )


def analyze(
    paths: Mapping[str, Levels], management_account: str | None = None
) -> GuardrailAnalysis:
    """`paths` maps each account id to the SCP levels on its path, root first."""
    return GuardrailAnalysis(
        tuple(
            analyze_account(account_id, levels, management=account_id == management_account)
            for account_id, levels in paths.items()
        )
    )


def _statement(ref: StatementRef) -> str:
    return f"SCP {ref.policy} (statement {ref.sid or f'#{ref.index}'})"


def _account_conflicts(result: AccountAnalysis) -> list[str]:
    if result.error is not None:
        return [f"{result.account_id}: could not evaluate its SCPs: {result.error}"]
    # One line per cause, listing the tasks it blocks, so a broad "deny root" SCP is one line.
    causes: dict[tuple[StatementRef | None, str | None], list[TaskCheck]] = {}
    for check in result.tasks:
        if check.blocked:
            cause = (check.denied_by, None if check.denied_by else check.missing_allow_level)
            causes.setdefault(cause, []).append(check)
    lines: list[str] = []
    for (ref, level), checks in causes.items():
        names = ", ".join(check.task.short_name for check in checks)
        partial = [c for c in checks if len(c.blocked_actions) < len(allowed_actions(c.task))]
        detail = "".join(
            f"; {c.task.short_name} only {', '.join(c.blocked_actions)}" for c in partial
        )
        if ref is not None:
            lines.append(
                f"{result.account_id}: {_statement(ref)} blocks root sessions ({names}{detail}): "
                "exempt AssumeRoot sessions with Null aws:AssumedRoot, as template "
                "deny_actions_as_root_except_centralized_root does"
            )
        else:
            lines.append(
                f"{result.account_id}: no SCP at {level} allows the actions of root sessions "
                f"({names}{detail}): allow them there (an allow-list SCP must list them)"
            )
    return lines


def conflicts(result: GuardrailAnalysis) -> list[str]:
    """Human-readable lines, one per account and cause, for root sessions the SCPs block."""
    lines: list[str] = []
    for account in result.accounts:
        lines.extend(_account_conflicts(account))
    return lines
