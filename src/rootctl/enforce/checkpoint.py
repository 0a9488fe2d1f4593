"""What an enforcement pass needs from the journal, without reading the whole journal.

Each pass that read the recovery windows journals them, as of the entry it read up to, in
its `enforce` entry: `after.checkpoint = {"version": 1, "through": N, "windows": {...}}`.
The next pass reads the journal from the head down to the latest checkpoint, then on down
to entry N+1, and no further; the windows are the checkpoint's, updated by the
`recovery-window` entries after N in id order (the latest per account wins), exactly what
a read of the whole journal gives.

Why that is correct with writers running at the same time (two Lambda invocations, an
operator's `allow-password-recovery --for`): the checkpoint summarises entries 1..N only,
where N is the head the pass read, not the id of its own entry; anything appended after
that read (a window opened meanwhile, the pass's own deletions) has an id above N, and the
next pass reads every entry above N. Of two checkpoints, the newest entry's is used; if its
N is lower (a long pass that ended last), the next pass reads more, never less.

What is verified: the entries read (N+1 up to the head) are checked as a chain (each hash
recomputed, each link, times in order; `verify.verify_since` from entry N+1) and then
`verify_since` from the newest of them checks it against the journal's head record (a
tail truncated or rewritten fails). The checkpoint entry itself is among them. Entries up
to N are not read, so an edit there made after the checkpoint was written is not seen: that
is what `rootctl journal verify` (and the Lambda's anchor) is for. With no checkpoint, the
whole journal is read and verified, as before.
"""

from __future__ import annotations

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


@dataclass(frozen=True)
class Checkpoint:
    """The state as of entry `through`, journaled in entry `entry_id` (> through)."""

    entry_id: int
    through: int
    windows: dict[str, dict[str, Any]]


@dataclass
class SinceCheckpoint:
    """The verified entries after the checkpoint (id order) and the checkpoint (None: there
    was none, `entries` is the whole journal). `through`: the newest entry read (the head
    when the read began): what the next checkpoint summarises."""

    checkpoint: Checkpoint | None
    entries: list[StoredEntry] = field(default_factory=list)
    through: int = 0

    @property
    def first_read(self) -> int:
        """The lowest entry id read (through + 1 when nothing was read)."""
        return self.entries[0].id if self.entries else self.through + 1


def checkpoint_of(entry: StoredEntry) -> Checkpoint | None:
    """The checkpoint an `enforce` entry carries, or None (none, or not one this reads)."""
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
    ):
        return None
    return Checkpoint(entry.id, through, windows)


def read_since_checkpoint(journal: Journal) -> SinceCheckpoint:
    """The entries after the latest checkpoint, verified (UnverifiedJournal if not)."""
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


def checkpoint_value(through: int, windows: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
    """What an `enforce` entry journals as its checkpoint (None: too many windows to carry)."""
    if len(windows) > MAX_WINDOWS:
        return None
    return {"version": VERSION, "through": through, "windows": dict(sorted(windows.items()))}
