"""Time-boxed password recovery: the window is a journal entry, closed by `enforce`.

`allow-password-recovery --for 4h` appends a `recovery-window` entry (after the login
profile was created) with `after.until`. `enforce` reads these entries back through the
verified journal (an edited journal is refused, never acted on): the latest window per
account counts; while it is open the account keeps its password, once it has passed the
password is deleted (unless a config exception keeps it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from rootctl.results import iso

if TYPE_CHECKING:
    from rootctl.api import PlannedRecovery
    from rootctl.journal import Journal

ACTION = "recovery-window"


@dataclass(frozen=True)
class RecoveryWindow:
    account_id: str
    until: datetime
    entry_id: int

    def is_open(self, now: datetime) -> bool:
        return now < self.until


def record_window(planned: PlannedRecovery, window: timedelta, now: datetime) -> RecoveryWindow:
    """Journal the window in the recovery's run (same run id, operator and reason)."""
    until = now + window
    entry = planned.run.recorder.append(
        ACTION,
        "ok",
        account_id=planned.account.id,
        target="login-profile",
        after={"opened": iso(now), "until": iso(until), "seconds": int(window.total_seconds())},
    )
    return RecoveryWindow(planned.account.id, until, entry.id)


def recovery_windows(journal: Journal) -> dict[str, RecoveryWindow]:
    """The latest window of each account, from the verified journal (empty if none)."""
    if not journal.path.exists():
        return {}
    latest: dict[str, RecoveryWindow] = {}
    for entry in journal.verified_entries(action=ACTION, outcome="ok"):
        after = entry.after if isinstance(entry.after, dict) else {}
        until = _parse(after.get("until"))
        if entry.account_id and until is not None:
            latest[entry.account_id] = RecoveryWindow(entry.account_id, until, entry.id)
    return latest


def _parse(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
