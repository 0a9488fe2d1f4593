"""What an enforcement pass needs from the journal, without reading the whole journal.

Each pass journals, in its `enforce` entry, the state it read as of the entry it read up to:
`after.checkpoint = {"version": 1, "through": N, "windows": {...}, "steps": {...},
"cursor": ...}`: every account's latest recovery window (rootctl.enforce.windows), the
deletion steps planned and not done (rootctl.credentials.resume) and the latest watch
cursor (rootctl.enforce.watch). A reader reads the journal from the head down to the
latest checkpoint, then on down to entry N+1, and no further; its state is the
checkpoint's, updated by the entries after N in id order: exactly what a read of the whole
journal gives, because each of the three is a fold over the entries in id order whose
value at N is all the entries up to N can contribute (each module's docstring says why).

Why that is correct with writers running at the same time (two Lambda invocations, an
operator's `allow-password-recovery --for` or `delete-credentials`): the checkpoint
summarises entries 1..N only, where N is the head the pass read, not the id of its own
entry; anything appended after that read (a window opened meanwhile, the pass's own
deletions and cursor) has an id above N, and the next reader reads every entry above N. Of
two checkpoints, the newest entry's is used; if its N is lower (a long pass that ended
last), the next reader reads more, never less.

Compatible both ways, without a version bump: a checkpoint without `steps` and `cursor`
(written before they were added) is not used here, so the first pass after an upgrade
reads back to an earlier complete one or the whole journal, once, and journals a complete
one; an older rootctl reads the windows of a new checkpoint and ignores the rest. A
checkpoint any part of which does not parse is skipped the same way (it only saves reads).

What is verified: the entries read (N+1 up to the head) are checked as a chain (each hash
recomputed, each link, times in order; `verify.verify_since` from entry N+1) and then
`verify_since` from the newest of them checks it against the journal's head record (a
tail truncated or rewritten fails). The checkpoint entry itself is among them. Entries up
to N are not read, so an edit there made after the checkpoint was written is not seen: that
is what `rootctl journal verify` (and the Lambda's anchor) is for. With no checkpoint, the
whole journal is read and verified, as before.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rootctl.journal import UnverifiedJournal
from rootctl.journal.model import ENTRY_FIELDS, GENESIS_HASH

if TYPE_CHECKING:
    from rootctl.journal import Journal, StoredEntry

VERSION = 1
ENFORCE = "enforce"  # the pass's summary entry (reconcile.ACTION)
# A checkpoint lists every account's latest window; past this many it is not written (each
# window is about 100 bytes; a DynamoDB item holds 400 KB) and passes read further back.
MAX_WINDOWS = 2000
# The same for the whole checkpoint (windows, unfinished steps, cursor) as JSON.
MAX_BYTES = 256 * 1024


@dataclass(frozen=True)
class Checkpoint:
    """The state as of entry `through`, journaled in entry `entry_id` (> through): the raw
    parts, each read by its module (windows.py, credentials/resume.py, watch.py)."""

    entry_id: int
    through: int
    windows: dict[str, dict[str, Any]]
    steps: dict[str, Any] = field(default_factory=dict)
    cursor: dict[str, Any] | None = None


@dataclass
class SinceCheckpoint:
    """The verified entries after the checkpoint (id order) and the checkpoint (None: there
    was none, `entries` reach down to entry 1, or to where `stop` said enough). `through`:
    the newest entry read (the head when the read began): what the next checkpoint
    summarises."""

    checkpoint: Checkpoint | None
    entries: list[StoredEntry] = field(default_factory=list)
    through: int = 0

    @property
    def first_read(self) -> int:
        """The lowest entry id read (through + 1 when nothing was read)."""
        return self.entries[0].id if self.entries else self.through + 1


def checkpoint_of(entry: StoredEntry) -> Checkpoint | None:
    """The complete checkpoint an `enforce` entry carries, or None (none, one from before
    `steps` and `cursor` were added, or one that does not parse)."""
    if entry.action != ENFORCE or not isinstance(entry.after, dict):
        return None
    raw = entry.after.get("checkpoint")
    if not isinstance(raw, dict) or raw.get("version") != VERSION:
        return None
    through, windows = raw.get("through"), raw.get("windows")
    if (
        isinstance(through, bool)
        or not isinstance(through, int)
        or not 0 <= through < entry.id
        or not isinstance(windows, dict)
        or not all(isinstance(k, str) and isinstance(v, dict) for k, v in windows.items())
        or "steps" not in raw
        or "cursor" not in raw
    ):
        return None
    from rootctl.credentials.resume import StepState
    from rootctl.enforce.watch import cursor_from_checkpoint

    steps, cursor = raw["steps"], raw["cursor"]
    try:
        StepState.from_checkpoint(steps)
        cursor_from_checkpoint(cursor)
    except ValueError:
        return None
    return Checkpoint(entry.id, through, windows, steps, cursor)


def read_since_checkpoint(
    journal: Journal, *, stop: Callable[[StoredEntry], bool] | None = None
) -> SinceCheckpoint:
    """The entries after the latest checkpoint, verified (UnverifiedJournal if not).

    `stop`: a reader that needs the entries only down to the newest one of a kind (the watch
    cursor) stops there, checkpoint or not; that entry is the first of `entries`.
    """
    if not journal.path.exists():
        return SinceCheckpoint(None)
    found: Checkpoint | None = None
    newest_first: list[StoredEntry] = []
    pages = journal.entries_after(0, newest_first=True)
    try:
        for entry in pages:
            if found is not None and entry.id <= found.through:
                break
            newest_first.append(entry)
            if stop is not None and stop(entry):
                break
            if found is None:
                found = checkpoint_of(entry)
            if found is not None and entry.id == found.through + 1:
                break
    finally:
        close = getattr(pages, "close", None)
        if close is not None:
            close()
    entries = newest_first[::-1]
    since = SinceCheckpoint(found, entries, entries[-1].id if entries else 0)
    _verify(journal, since)
    return since


def _verify(journal: Journal, since: SinceCheckpoint) -> None:
    """The entries read chain from the first to the last, and the last to the head."""
    from rootctl.journal.anchor import Anchor
    from rootctl.journal.verify import Head, Row, verify_rows, verify_since

    entries = since.entries
    if not entries:
        result = journal.verify_since(Anchor(0, GENESIS_HASH)) if since.checkpoint is None else None
    else:
        rows = [
            Row(e.id, e.time, e.prev_hash, e.hash, {n: getattr(e, n) for n in ENTRY_FIELDS})
            for e in entries
        ]
        last = entries[-1]
        head = Head(last.id, last.hash)

        def later(from_id: int) -> list[Row]:
            return [r for r in rows if r.id >= from_id]

        first = entries[0]
        result = (
            verify_rows(rows, head, later)
            if first.id == 1
            else verify_since(rows, head, later, first.id, first.hash)
        )
        if result.ok:  # the newest entry read against the journal's head record
            result = journal.verify_since(Anchor(last.id, last.hash))
    if result is not None and not result.ok:
        raise UnverifiedJournal(
            f"journal {journal.location} does not verify ({result.problem}): rootctl acts "
            "only on a verified journal, nothing was done (see `rootctl journal verify`)"
        )


def checkpoint_value(
    through: int,
    windows: dict[str, dict[str, Any]],
    steps: dict[str, Any],
    cursor: dict[str, Any] | None,
) -> dict[str, Any] | None:
    """What an `enforce` entry journals as its checkpoint (None: too large to carry)."""
    if len(windows) > MAX_WINDOWS:
        return None
    value = {
        "version": VERSION,
        "through": through,
        "windows": dict(sorted(windows.items())),
        "steps": steps,
        "cursor": cursor,
    }
    if len(json.dumps(value, separators=(",", ":"))) > MAX_BYTES:
        return None
    return value
