"""Check a journal's chain and name the first entry that was edited, deleted or moved.

Verification reads rows in id order and expects, for entry N: id N (else entry N was
deleted), a hash that matches its content and id, a prev_hash equal to entry N-1's hash,
and a time no earlier than entry N-1's. When an entry's hash does not match, the chain
tells edited from moved: a moved entry still hashes correctly under the id it was
written with, which the links from the last good entry recover. A row that cannot be an
entry at all (bad JSON, NULLs, wrong types; see `rows.py`) is reported as edited.

An anchor (`expect_head`, a hash kept elsewhere) proves the prefix up to it: the chain
must verify and hold an entry with that hash. Since an entry's hash covers its id and
every entry before it, finding it means nothing up to that entry was rewritten.
`verify_since` uses that the other way round: trusting an anchor (id and hash) verified
earlier, it reads only the anchor's entry and those after it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from rootctl.journal.model import GENESIS_HASH, VerifyResult, entry_hash
from rootctl.journal.rows import BadRow


@dataclass(frozen=True)
class Row:
    """One stored row: its id, time, the two hashes and the entry's values (JSON decoded)."""

    id: int
    time: str
    prev_hash: str
    hash: str
    values: dict[str, Any]

    def hash_as(self, entry_id: int) -> str | None:
        """The hash this row would have as entry `entry_id`; None (equal to no stored hash)
        when its values cannot be hashed, which only an edit produces."""
        try:
            return entry_hash(self.prev_hash, entry_id, self.time, self.values)
        except (ValueError, TypeError, RecursionError):
            return None


@dataclass(frozen=True)
class Head:
    """What the head table says: how many entries were appended and the last hash."""

    count: int
    hash: str


def head_of(count: Any, digest: Any) -> Head | BadRow:
    """The chain head as stored (a sqlite row or a DynamoDB item), or what is wrong with it."""
    if not isinstance(count, int) or isinstance(count, bool) or not isinstance(digest, str):
        return BadRow(None, "its count or hash is not what rootctl writes")
    return Head(count=count, hash=digest)


def _bad(entries: int, entry_id: int | None, problem: str, head_hash: str) -> VerifyResult:
    return VerifyResult(
        ok=False, entries=entries, first_bad_id=entry_id, problem=problem, head_hash=head_hash
    )


def verify_rows(
    rows: Iterable[Row | BadRow],
    head: Head | BadRow | None,
    later: Callable[[int], Iterable[Row | BadRow]],
    expect_head: str | None = None,
) -> VerifyResult:
    """Verify `rows` (in id order) against `head`, and that `expect_head` is in the chain.

    `later(n)` is called only when entry n's hash fails: it returns the rows from id n on
    (the store re-queries them), so a moved entry can be told from an edited one.
    """
    walked = _walk(rows, later, _Link(0, GENESIS_HASH, ""), expect_head)
    if isinstance(walked, VerifyResult):
        return walked
    count, prev_hash, anchored = walked
    result = _check_head(count, prev_hash, head)
    if result.ok and not anchored:
        return VerifyResult(
            ok=False,
            entries=count,
            problem=f"no entry has the expected head hash {expect_head} "
            "(the chain was rewritten, or this is another journal)",
            head_hash=prev_hash,
        )
    return result


def verify_since(
    rows: Iterable[Row | BadRow],
    head: Head | BadRow | None,
    later: Callable[[int], Iterable[Row | BadRow]],
    anchor_id: int,
    anchor_hash: str,
) -> VerifyResult:
    """Verify from a trusted anchor: entry `anchor_id` must still hold `anchor_hash` (and
    hash to it), and every entry after it must chain from it up to `head`.

    `rows` start at entry `anchor_id` (id order); nothing before it is needed, so this
    costs the entries since the anchor, not the whole journal. What it proves: the chain
    up to the anchor is the one that was anchored (an entry's hash covers every entry
    before it), and what follows links to it. Edits of entries before the anchor made
    after it was written are invisible here; the full `verify` finds them.
    """
    if anchor_id == 0:
        if anchor_hash != GENESIS_HASH:
            problem = "the anchor names entry 0 with a hash other than the genesis hash"
            return _bad(0, None, problem, anchor_hash)
        return verify_rows(rows, head, later)
    if isinstance(head, Head) and head.count < anchor_id:
        return _bad(
            head.count,
            head.count + 1,
            f"the journal's head is at entry {head.count}, before the anchor (entry "
            f"{anchor_id}): the journal was truncated or rewritten",
            anchor_hash,
        )
    it = iter(rows)
    first = next(it, None)
    if first is None or (isinstance(first, Row) and first.id != anchor_id):
        return _bad(
            anchor_id - 1,
            anchor_id,
            f"entry {anchor_id} (the anchor) is missing: the journal was truncated or rewritten",
            anchor_hash,
        )
    if isinstance(first, BadRow):
        return _bad(anchor_id - 1, anchor_id, first.describe(anchor_id), anchor_hash)
    if first.hash != anchor_hash:
        return _bad(
            anchor_id - 1,
            anchor_id,
            f"entry {anchor_id} does not hold the anchor's hash: the journal was rewritten "
            "(or this is another journal)",
            anchor_hash,
        )
    if first.hash_as(anchor_id) != first.hash:
        return _bad(anchor_id - 1, anchor_id, f"entry {anchor_id} was edited", anchor_hash)
    walked = _walk(it, later, _Link(anchor_id, anchor_hash, first.time), None)
    if isinstance(walked, VerifyResult):
        return walked
    count, prev_hash, _ = walked
    return _check_head(count, prev_hash, head)


@dataclass(frozen=True)
class _Link:
    """Where a walk starts: the entries before it, the last hash and time."""

    count: int
    hash: str
    time: str


def _walk(
    rows: Iterable[Row | BadRow],
    later: Callable[[int], Iterable[Row | BadRow]],
    start: _Link,
    expect_head: str | None,
) -> VerifyResult | tuple[int, str, bool]:
    """Check each row's id, hash, link and time from `start`; the first problem, or the
    count, last hash and whether `expect_head` was seen."""
    expected_id = start.count + 1
    prev_hash = start.hash
    prev_time = start.time
    count = start.count
    anchored = expect_head is None
    for row in rows:
        if isinstance(row, BadRow):
            return _bad(count, row.id or expected_id, row.describe(expected_id), prev_hash)
        if row.id != expected_id:
            if row.id > expected_id:
                return _bad(
                    count, expected_id, f"entry {expected_id} is missing (deleted)", prev_hash
                )
            return _bad(count, row.id, f"entry {row.id} is out of order", prev_hash)
        if row.hash_as(row.id) != row.hash:
            return _bad(count, row.id, _edited_or_moved(row, prev_hash, later(row.id)), prev_hash)
        if row.prev_hash != prev_hash:
            # Self-consistent but not linked: the previous entry was rewritten with a new
            # hash, or this one was re-hashed after being moved. Name the earlier.
            bad = max(row.id - 1, 1)
            return _bad(
                count,
                bad,
                f"entry {row.id} does not link to entry {row.id - 1} (entry {bad} was edited or entries were reordered)",
                prev_hash,
            )
        if row.time < prev_time:
            return _bad(
                count,
                row.id,
                f"entry {row.id} is out of order (its time is before entry {row.id - 1})",
                prev_hash,
            )
        count += 1
        expected_id += 1
        prev_hash = row.hash
        prev_time = row.time
        anchored = anchored or row.hash == expect_head
    return count, prev_hash, anchored


def _check_head(count: int, last_hash: str, head: Head | BadRow | None) -> VerifyResult:
    """The head records every committed append: it catches a truncated tail."""
    if isinstance(head, BadRow):
        return VerifyResult(
            ok=False,
            entries=count,
            problem=f"the journal's head record was edited ({head.problem})",
            head_hash=last_hash,
        )
    if head is None:
        if count == 0:
            return VerifyResult(ok=True, entries=0, head_hash=last_hash)
        return VerifyResult(
            ok=False,
            entries=count,
            first_bad_id=None,
            problem="the journal's head record is missing (the head table was edited)",
            head_hash=last_hash,
        )
    if head.count > count:
        return _bad(count, count + 1, f"entry {count + 1} is missing (deleted)", last_hash)
    if head.count < count:
        return _bad(
            count,
            head.count + 1,
            f"entry {head.count + 1} was not appended by rootctl (inserted)",
            last_hash,
        )
    if head.hash != last_hash:
        return _bad(
            count,
            count,
            f"entry {count} was edited (it does not match the journal's head)",
            last_hash,
        )
    return VerifyResult(ok=True, entries=count, head_hash=last_hash)


def _edited_or_moved(bad: Row, prev_hash: str, later: Iterable[Row | BadRow]) -> str:
    """Follow the chain from the last good entry through the rows that follow.

    If it reaches `bad`'s content under another id, `bad` holds an entry that belongs
    elsewhere (entries were swapped); if nothing links to the last good entry but `bad`
    hashes under a later id, the entries between were deleted and the rest renumbered;
    otherwise `bad` itself was edited.
    """
    rows = [row for row in later if isinstance(row, Row)]
    by_prev: dict[str, Row] = {}
    for row in rows:
        by_prev.setdefault(row.prev_hash, row)
    if prev_hash not in by_prev:
        for original_id in range(bad.id + 1, bad.id + len(rows) + 1):
            if bad.hash_as(original_id) == bad.hash:
                return f"entry {bad.id} is missing (deleted, and later entries renumbered)"
        return f"entry {bad.id} was edited"
    link, original_id = prev_hash, bad.id
    for _ in range(len(by_prev)):
        successor = by_prev.get(link)
        if successor is None or successor.hash_as(original_id) != successor.hash:
            break
        if successor.hash == bad.hash and original_id != bad.id:
            return f"entry {bad.id} is out of order (it holds entry {original_id})"
        link, original_id = successor.hash, original_id + 1
    return f"entry {bad.id} was edited"
