"""What credential commands write to the journal: sessions opened, plans, changes, checks.

One `Recorder` per run carries what every entry shares (command, operator, reason, run
id). Values passed as `before`/`after` are credential metadata only (ids, dates, status);
the journal scrubs secrets again on append, and we avoid secret-sounding keys (we write
`login_profile`, not `password`) so that scrubbing never blanks useful metadata.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from rootctl.credentials.models import iso
from rootctl.tasks import Task

if TYPE_CHECKING:
    from rootctl.journal import Journal

# The action of a session entry; the same name every rootctl command uses (rootctl events
# recognises the sessions rootctl opened by it and by `after.access_key_id`).
ASSUME_ROOT = "assume-root"


def new_run_id() -> str:
    return uuid.uuid4().hex


@dataclass
class Recorder:
    """Appends this run's journal entries (thread-safe: the journal serialises appends)."""

    journal: Journal
    command: str
    operator: str
    reason: str | None = None
    run_id: str = field(default_factory=new_run_id)

    def session_opened(
        self, account_id: str, task: Task, access_key_id: str, expiration: datetime
    ) -> None:
        """The broker's `on_session_opened` callback: one entry per AssumeRoot session."""
        self.record(
            action=ASSUME_ROOT,
            outcome="ok",
            account_id=account_id,
            task=task,
            target=f"arn:aws:iam::{account_id}:root",
            after={"access_key_id": access_key_id, "expiration": iso(expiration)},
        )

    def record(
        self,
        *,
        action: str,
        outcome: str,
        account_id: str | None = None,
        task: Task | None = None,
        target: str | None = None,
        before: Any = None,
        after: Any = None,
        error: str | None = None,
    ) -> None:
        from rootctl.journal import JournalEntry

        self.journal.append(
            JournalEntry(
                command=self.command,
                action=action,
                outcome=outcome,
                account_id=account_id,
                task_policy=task.value if task is not None else None,
                target=target,
                reason=self.reason,
                operator=self.operator,
                before=before,
                after=after,
                error=error,
                run_id=self.run_id,
            )
        )
