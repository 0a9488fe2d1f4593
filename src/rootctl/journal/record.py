"""What a command run writes to the journal: its sessions, plans, changes and refusals.

One `Recorder` per run carries what every entry shares (command, operator, reason, run id),
so a caller names only what differs. Session entries carry the session's access key id (an
identifier, not a secret) in `after`, which is how `rootctl events` tells the sessions rootctl
opened from the others. The journal scrubs secrets on append; callers still avoid
secret-sounding keys (`login_profile`, not `password`) so scrubbing never blanks metadata.

An append that fails (disk full, a file-size limit, a locked or broken database) raises
`JournalError` and is remembered (`failure`): a run polls it to stop opening sessions, and
what was done but could not be journaled is listed in `unjournaled` for the command to report.
A session whose entry fails is never used: `session_opened` raises, so the broker drops it.
"""

from __future__ import annotations

import sqlite3
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

from rootctl.journal.model import JournalEntry, StoredEntry
from rootctl.journal.store import JournalError

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
    _failure: JournalError | None = field(default=None, init=False, repr=False)
    _unjournaled: list[str] = field(default_factory=list, init=False, repr=False)

    @property
    def failure(self) -> JournalError | None:
        """The first append that failed in this run (None while the journal works)."""
        return self._failure

    def problem(self) -> str | None:
        """Why the run must stop opening sessions, or None: a `RunGate` check."""
        failure = self._failure
        return None if failure is None else f"journal unavailable: {failure}"

    @property
    def unjournaled(self) -> tuple[str, ...]:
        """What this run did that the journal does not record (one phrase each)."""
        with self._lock:
            return tuple(self._unjournaled)

    def note_unjournaled(self, what: str) -> None:
        """Remember a change (or a session) made but not journaled, for the run's report."""
        with self._lock:
            self._unjournaled.append(what)

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
        """Append one entry; JournalError (remembered in `failure`) if it cannot be written."""
        entry = JournalEntry(
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
        try:
            return self.journal.append(entry)
        except JournalError as exc:
            raise self._failed(exc) from exc
        except (OSError, sqlite3.Error) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            failure = JournalError(f"journal {self.journal.path}: could not append: {reason}")
            raise self._failed(failure) from exc

    def _failed(self, exc: JournalError) -> JournalError:
        with self._lock:
            if self._failure is None:
                self._failure = exc
        return exc

    def session_opened(
        self, account_id: str, task: Task, access_key_id: str, expiration: datetime
    ) -> None:
        """The broker's `on_session_opened` callback: one entry per AssumeRoot session.

        If the entry cannot be written the session is reported as unjournaled and the error
        raised: the broker then drops the session, so it is never used."""
        try:
            self._session_entry(account_id, task, access_key_id, expiration)
        except JournalError:
            self.note_unjournaled(
                f"a {task.short_name} root session opened in {account_id} (key {access_key_id}): "
                "not journaled, so never used"
            )
            raise

    def _session_entry(
        self, account_id: str, task: Task, access_key_id: str, expiration: datetime
    ) -> None:
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
