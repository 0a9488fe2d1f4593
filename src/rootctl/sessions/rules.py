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
from rootctl.sessions.policy import Kind
from rootctl.sessions.resources import NOUN
from rootctl.tasks import Task

if TYPE_CHECKING:
    from rootctl.config import RootctlConfig


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
    rules = config.root_sessions
    if not rules.allows(request.task):
        allowed = ", ".join(t.short_name for t in rules.allowed_tasks)
        raise SessionRefused(
            f"task {request.task.short_name} ({request.task.value}) is not in "
            f"root_sessions.allowed_tasks ({allowed})",
            "root_sessions.allowed_tasks",
        )
    reason = (request.reason or "").strip()
    if not reason:
        raise SessionRefused(
            "a reason is required for every root session: give --reason TEXT",
            "root_sessions.reason_pattern",
        )
    try:
        rules.check_reason(reason)
    except UsageError as exc:
        raise SessionRefused(str(exc), "root_sessions.reason_pattern") from None
    if request.resource is not None:
        _check_protected(config, request.account_id, *request.resource)
    return reason


def _check_protected(config: RootctlConfig, account_id: str, kind: Kind, name: str) -> None:
    entry = config.is_protected(account_id, kind, name)
    if entry is None:
        return
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
