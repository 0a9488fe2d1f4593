"""Emergency-access rules (`root_sessions` in rootctl.yaml), checked before any session opens.

Every root session needs a reason (matching `reason_pattern` when one is configured), a task
from `allowed_tasks`, and, for unlock, a resource that no `protected_resources` entry covers.
The session lasts at most `max_session_seconds`. A refusal is a `SessionRefused` (a usage
error: exit 2) which the caller journals before reporting it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from rootctl.errors import UsageError
from rootctl.tasks import Task

if TYPE_CHECKING:
    from rootctl.config import RootctlConfig
    from rootctl.sessions.policy import Kind  # the policy evaluator: not on an audit's path


class SessionRefused(UsageError):
    """A root session the configured rules do not allow; `rule` names the config key."""

    def __init__(self, message: str, rule: str) -> None:
        super().__init__(message)
        self.rule = rule


@dataclass(frozen=True)
class SessionRequest:
    """A root session a command wants to open, with the resource it will change (if any)."""

    account_id: str
    task: Task
    reason: str | None
    resource: tuple[Kind, str] | None = None


def check_session(config: RootctlConfig, request: SessionRequest) -> str:
    """Apply the rules; return the reason to journal, or raise SessionRefused."""
    _check_allowed(config, request.task)
    reason = (request.reason or "").strip()
    if not reason:
        raise SessionRefused(
            "a reason is required for every root session: say why (it is journaled)",
            "root_sessions.reason_pattern",
        )
    _check_reason(config, reason)
    if request.resource is not None:
        _check_protected(config, request.account_id, *request.resource)
    return reason


def check_tasks(config: RootctlConfig, tasks: tuple[Task, ...], reason: str | None) -> None:
    """The rules of a run over many accounts: every task allowed; the reason (when the run
    changes something) matches `reason_pattern`. Raises SessionRefused."""
    for task in tasks:
        _check_allowed(config, task)
    if reason is not None:
        _check_reason(config, reason)


def _check_allowed(config: RootctlConfig, task: Task) -> None:
    rules = config.root_sessions
    if not rules.allows(task):
        allowed = ", ".join(t.short_name for t in rules.allowed_tasks)
        raise SessionRefused(
            f"task {task.short_name} ({task.value}) is not in "
            f"root_sessions.allowed_tasks ({allowed}): add it to the config to allow it",
            "root_sessions.allowed_tasks",
        )
    if rules.approval.needs(task):
        # A run checked under an approved request carries a config without this task's
        # approval (rootctl.approvals.gate): every other path is refused here.
        raise SessionRefused(
            f"task {task.short_name} needs an approved break-glass request "
            "(root_sessions.approval.tasks): request it, have it approved, then run "
            "with the request id",
            "root_sessions.approval.tasks",
        )


def _check_reason(config: RootctlConfig, reason: str) -> None:
    try:
        config.root_sessions.check_reason(reason)
    except UsageError as exc:
        raise SessionRefused(str(exc), "root_sessions.reason_pattern") from None


def _check_protected(config: RootctlConfig, account_id: str, kind: Kind, name: str) -> None:
    entry = config.is_protected(account_id, kind, name)
    if entry is None:
        return
    from rootctl.sessions.resources import NOUN

    index = config.root_sessions.protected_resources.index(entry)
    raise SessionRefused(
        f"{NOUN[kind]} {name!r} in account {account_id} is protected "
        f"(root_sessions.protected_resources[{index}]: {entry.reason}); rootctl will not unlock it",
        f"root_sessions.protected_resources[{index}]",
    )


def session_seconds(config: RootctlConfig) -> int:
    """DurationSeconds for AssumeRoot: the configured maximum (AWS's own cap is 900)."""
    return config.root_sessions.max_session_seconds


def reason_or_default(config: RootctlConfig, given: str | None, default: str) -> str | None:
    """For read-only or undo commands: `default` stands in unless a reason pattern is set.

    With `reason_pattern` configured, the operator must give a reason that matches it; the
    default never does the operator's job of naming the ticket.
    """
    if given and given.strip():
        return given
    return default if config.root_sessions.reason_pattern is None else None
