"""Journaling for privileged sessions: every session, refusal, backup and change is an entry.

One `Recorder` per command run carries what every entry shares (command, reason, operator,
run id). Session entries carry the session's access key id (an identifier, not a secret) in
`after`, which is how `rootctl events` tells sessions rootctl opened from the others.
Policy backups are the policy text exactly as the service returned it, in `before`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from rootctl.journal import Journal, JournalEntry, StoredEntry
from rootctl.tasks import Task

ASSUME_ROOT: Final = "assume-root"
UNLOCK: Final = "unlock"
LIST_LOCKED: Final = "list-locked"
EXEC: Final = "exec"
DELETE_POLICY: Final = "delete-policy"
REPLACE_POLICY: Final = "replace-policy"
RESTORE_POLICY: Final = "restore-policy"
POLICY_ACTIONS = (DELETE_POLICY, REPLACE_POLICY, RESTORE_POLICY)
"""Actions whose `before` is a policy backup that `rootctl restore` can put back."""


def root_arn(account_id: str) -> str:
    return f"arn:aws:iam::{account_id}:root"


@dataclass
class Recorder:
    """Appends this run's entries; `operator` is resolved once, on the first append."""

    journal: Journal
    command: str
    reason: str | None
    operator: Callable[[], str | None]
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    _operator: str | None = field(default=None, init=False)
    _resolved: bool = field(default=False, init=False)

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
        if not self._resolved:
            self._operator = self.operator()
            self._resolved = True
        return self.journal.append(
            JournalEntry(
                command=self.command,
                action=action,
                outcome=outcome,
                account_id=account_id,
                task_policy=task.value if task else None,
                target=target,
                reason=self.reason,
                operator=self._operator,
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
            after={"access_key_id": access_key_id, "expiration": expiration.isoformat()},
        )

    def session_failed(self, account_id: str, task: Task, error: str) -> StoredEntry:
        return self.append(
            ASSUME_ROOT,
            "error",
            account_id=account_id,
            task=task,
            target=root_arn(account_id),
            error=error,
        )


def journaled_key_ids(journal: Journal) -> set[str]:
    """Every session access key id the journal mentions, whichever command journaled it.

    Our commands put it in `after["access_key_id"]` of an assume-root entry; other commands
    may put it in `target` or elsewhere in `after`, so every string there is collected.
    """
    keys: set[str] = set()
    for entry in journal.list():
        if entry.target:
            keys.add(entry.target)
        keys.update(_strings(entry.after))
    return keys


def _strings(value: Any) -> set[str]:
    if isinstance(value, str):
        return {value}
    if isinstance(value, dict):
        return set().union(*(_strings(v) for v in value.values())) if value else set()
    if isinstance(value, list):
        return set().union(*(_strings(v) for v in value)) if value else set()
    return set()
