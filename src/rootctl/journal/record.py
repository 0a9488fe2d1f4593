"""What a command run writes to the journal: its sessions, plans, changes and refusals.

One `Recorder` per run carries what every entry shares (command, operator, reason, run id),
so a caller names only what differs. Session entries carry the session's access key id (an
identifier, not a secret) in `after`, which is how `rootctl events` tells the sessions rootctl
opened from the others. The journal scrubs secrets on append; callers still avoid
secret-sounding keys (`login_profile`, not `password`) so scrubbing never blanks metadata.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

from rootctl.journal.model import JournalEntry, StoredEntry

if TYPE_CHECKING:
    from rootctl.journal.store import Journal
    from rootctl.tasks import Task

# The action of a session entry; the same name for every command (rootctl events and
# `journal list --action` find sessions by it).
ASSUME_ROOT: Final = "assume-root"


def root_arn(account_id: str) -> str:
    """The root user's ARN: the target of a session entry."""
    return f"arn:aws:iam::{account_id}:root"


@dataclass
class Recorder:
    """Appends one run's entries; thread-safe (the journal serialises appends).

    `operator` is the caller's ARN, or a function that finds it: called once, on the first
    append, so a run that journals nothing never asks STS (the function may return None when
    the operator's credentials are broken: the entry, often a refusal, is still written).
    `format_expiration` spells a session's expiration in `after`; credential commands pass
    `rootctl.results.iso` (the `Z` spelling of all their dates), others keep the
    journal's default spelling of datetimes (`isoformat`, `+00:00`).
    """

    journal: Journal
    command: str
    operator: str | Callable[[], str | None]
    reason: str | None = None
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    format_expiration: Callable[[datetime], str | None] = datetime.isoformat
    _operator: str | None = field(default=None, init=False, repr=False)
    _resolved: bool = field(default=False, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    @property
    def operator_arn(self) -> str | None:
        """The operator every entry names (a function given as `operator` is called once)."""
        if not callable(self.operator):
            return self.operator
        with self._lock:
            if not self._resolved:
                self._operator = self.operator()
                self._resolved = True
            return self._operator

    def append(
        self,
        action: str,
        outcome: str,
        *,
        account_id: str | None = None,
        task: Task | None = None,
        target: str | None = None,
        before: Any = None,
        after: Any = None,
        error: str | None = None,
    ) -> StoredEntry:
        return self.journal.append(
            JournalEntry(
                command=self.command,
                action=action,
                outcome=outcome,
                account_id=account_id,
                task_policy=task.value if task is not None else None,
                target=target,
                reason=self.reason,
                operator=self.operator_arn,
                before=before,
                after=after,
                error=error,
                run_id=self.run_id,
            )
        )

    def session_opened(
        self, account_id: str, task: Task, access_key_id: str, expiration: datetime
    ) -> None:
        """The broker's `on_session_opened` callback: one entry per AssumeRoot session."""
        self.append(
            ASSUME_ROOT,
            "ok",
            account_id=account_id,
            task=task,
            target=root_arn(account_id),
            after={
                "access_key_id": access_key_id,
                "expiration": self.format_expiration(expiration),
            },
        )

    def session_failed(self, account_id: str, task: Task, error: str) -> StoredEntry:
        """AssumeRoot refused or failed: the error, as AWS gave it."""
        return self.append(
            ASSUME_ROOT,
            "error",
            account_id=account_id,
            task=task,
            target=root_arn(account_id),
            error=error,
        )
