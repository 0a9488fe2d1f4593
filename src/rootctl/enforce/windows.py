"""Time-boxed password recovery: the window is a journal entry, closed by `enforce`.

`allow-password-recovery --for 4h` appends a `recovery-window` entry (after the login
profile was created) with `after.until`. `enforce` reads these entries back through the
verified journal (an edited journal is refused, never acted on): the latest window per
account counts; while it is open the account keeps its password, once it has passed the
password is deleted (unless a config exception keeps it).

A pass does not read the whole journal for them: the previous pass journaled every
account's latest window as of the entry it read up to (its checkpoint), and this pass reads
only the entries after that (rootctl.enforce.checkpoint says why that is exact, with other
writers at the same time). The same read gives the other parts the pass checkpoints: the
unfinished deletion steps (rootctl.credentials.resume) and the watch cursor
(rootctl.enforce.watch), as of the same entry.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from rootctl.results import iso

if TYPE_CHECKING:
    from rootctl.api import PlannedRecovery
    from rootctl.credentials.resume import StepState
    from rootctl.enforce.watch import Cursor
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


@dataclass(frozen=True)
class WindowState:
    """Every account's latest window, as of entry `through` (the newest entry read), and
    how it was read: `first_read` is the lowest entry id read (1: the whole journal).
    `steps` and `cursor`: the unfinished deletion steps and the watch cursor as of the same
    entry, what the pass's checkpoint carries besides the windows."""

    windows: dict[str, RecoveryWindow]
    through: int
    first_read: int
    steps: StepState
    cursor: Cursor | None = None

    def checkpoint(self) -> dict[str, Any] | None:
        """The checkpoint the pass journals: this state as of `through`."""
        from rootctl.enforce.checkpoint import checkpoint_value
        from rootctl.enforce.watch import cursor_checkpoint

        return checkpoint_value(
            self.through,
            {
                account: {"until": iso(window.until), "entry_id": window.entry_id}
                for account, window in self.windows.items()
            },
            self.steps.checkpoint(),
            cursor_checkpoint(self.cursor),
        )


def window_state(journal: Journal) -> WindowState:
    """The latest window of each account: the last checkpoint's, then the verified
    `recovery-window` entries after it, in id order (the whole journal without one); and
    the unfinished steps and watch cursor from the same read."""
    from rootctl.credentials.resume import StepState
    from rootctl.enforce.checkpoint import read_since_checkpoint
    from rootctl.enforce.watch import cursor_after

    since = read_since_checkpoint(journal)
    checkpoint = since.checkpoint
    latest: dict[str, RecoveryWindow] = {}
    if checkpoint is not None:
        for account, raw in checkpoint.windows.items():
            until, entry_id = _parse(raw.get("until")), raw.get("entry_id")
            if until is not None and isinstance(entry_id, int) and not isinstance(entry_id, bool):
                latest[account] = RecoveryWindow(account, until, entry_id)
    for entry in since.entries:
        if entry.action != ACTION or entry.outcome != "ok":
            continue
        after = entry.after if isinstance(entry.after, dict) else {}
        until = _parse(after.get("until"))
        if entry.account_id and until is not None:
            latest[entry.account_id] = RecoveryWindow(entry.account_id, until, entry.id)
    return WindowState(
        latest,
        since.through,
        since.first_read,
        StepState.after(checkpoint.steps if checkpoint else None, since.entries),
        cursor_after(checkpoint, since.entries),
    )


def recovery_windows(journal: Journal) -> dict[str, RecoveryWindow]:
    """The latest window of each account, from the verified journal (empty if none)."""
    return window_state(journal).windows


def _parse(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
