"""Tampering with the file behind the journal's back: verify names the first bad entry."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from rootctl.journal import GENESIS_HASH, Journal, JournalEntry, entry_hash
from rootctl.journal.model import ENTRY_FIELDS
from rootctl.journal.verify import Head, Row, verify_rows

COUNT = 10


@pytest.fixture
def path(tmp_path: Path) -> Path:
    """A closed journal of COUNT entries that verifies."""
    file = tmp_path / "journal.sqlite3"
    with Journal(file) as journal:
        for i in range(COUNT):
            journal.append(
                JournalEntry(
                    command="s3-unlock",
                    action="delete-bucket-policy",
                    outcome="ok",
                    account_id=f"{333333333300 + i}",
                    target=f"bucket-{i}",
                    before={"Policy": f'{{"Statement":[{{"Sid":"s{i}"}}]}}'},
                    run_id="run-1",
                )
            )
        assert journal.verify().ok
    return file


def _sql(path: Path, *statements: str) -> None:
    """What someone with the file and the sqlite3 shell could do."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        for statement in statements:
            conn.execute(statement)
    finally:
        conn.close()


def _verify(path: Path) -> tuple[bool, int | None, str | None]:
    with Journal(path, create=False) as journal:
        result = journal.verify()
    return result.ok, result.first_bad_id, result.problem


def _swap_ids(a: int, b: int) -> tuple[str, ...]:
    return (
        f"UPDATE entries SET id = -1 WHERE id = {a}",
        f"UPDATE entries SET id = {a} WHERE id = {b}",
        f"UPDATE entries SET id = {b} WHERE id = -1",
    )


def _swap_contents(a: int, b: int) -> tuple[str, ...]:
    """Swap every column but the id: the rows stay put, their contents trade places."""
    columns = ("time", "prev_hash", "hash", *ENTRY_FIELDS)
    sets = ", ".join(
        f"{c} = (SELECT {c} FROM entries AS o WHERE o.id = {{other}})" for c in columns
    )
    return (
        "CREATE TABLE scratch AS SELECT * FROM entries",
        f"UPDATE entries SET {sets.format(other=b).replace('entries AS o', 'scratch AS o')} WHERE id = {a}",
        f"UPDATE entries SET {sets.format(other=a).replace('entries AS o', 'scratch AS o')} WHERE id = {b}",
        "DROP TABLE scratch",
    )


def test_an_untouched_journal_verifies(path: Path) -> None:
    with Journal(path, create=False) as journal:
        result = journal.verify()
        assert result.ok
        assert result.entries == COUNT
        assert result.first_bad_id is None
        assert result.problem is None
        assert result.head_hash == journal.get(COUNT).hash


def test_an_empty_journal_verifies(tmp_path: Path) -> None:
    with Journal(tmp_path / "j.sqlite3") as journal:
        result = journal.verify()
    assert (result.ok, result.entries, result.head_hash) == (True, 0, GENESIS_HASH)


@pytest.mark.parametrize(
    ("statements", "first_bad", "problem"),
    [
        (("UPDATE entries SET outcome = 'error' WHERE id = 7",), 7, "entry 7 was edited"),
        (
            ("UPDATE entries SET before = '{\"Policy\":null}' WHERE id = 3",),
            3,
            "entry 3 was edited",
        ),
        (("UPDATE entries SET account_id = NULL WHERE id = 1",), 1, "entry 1 was edited"),
        (
            ("UPDATE entries SET time = '2000-01-01T00:00:00.000000Z' WHERE id = 4",),
            4,
            "entry 4 was edited",
        ),
        (("UPDATE entries SET hash = prev_hash WHERE id = 6",), 6, "entry 6 was edited"),
        (("UPDATE entries SET outcome = 'error' WHERE id IN (8, 5)",), 5, "entry 5 was edited"),
        (("UPDATE entries SET target = 'x' WHERE id = 10",), 10, "entry 10 was edited"),
        (("DELETE FROM entries WHERE id = 5",), 5, "entry 5 is missing (deleted)"),
        (("DELETE FROM entries WHERE id = 1",), 1, "entry 1 is missing (deleted)"),
        (("DELETE FROM entries WHERE id IN (4, 5, 6)",), 4, "entry 4 is missing (deleted)"),
        (("DELETE FROM entries WHERE id = 10",), 10, "entry 10 is missing (deleted)"),
        (("DELETE FROM entries WHERE id >= 8",), 8, "entry 8 is missing (deleted)"),
        (("DELETE FROM entries",), 1, "entry 1 is missing (deleted)"),
        (_swap_ids(3, 6), 3, "entry 3 is out of order (it holds entry 6)"),
        (_swap_ids(4, 5), 4, "entry 4 is out of order (it holds entry 5)"),
        (_swap_ids(1, 10), 1, "entry 1 is out of order (it holds entry 10)"),
        (_swap_contents(2, 8), 2, "entry 2 is out of order (it holds entry 8)"),
        (_swap_contents(9, 10), 9, "entry 9 is out of order (it holds entry 10)"),
        (
            # delete entry 4 and renumber the rest to hide the gap
            ("DELETE FROM entries WHERE id = 4", "UPDATE entries SET id = id - 1 WHERE id > 4"),
            4,
            "entry 4 is missing (deleted, and later entries renumbered)",
        ),
    ],
)
def test_tampering_is_found_and_the_first_bad_entry_named(
    path: Path, statements: tuple[str, ...], first_bad: int, problem: str
) -> None:
    _sql(path, *statements)
    assert _verify(path) == (False, first_bad, problem)


def test_deleting_the_last_entry_and_fixing_nothing_else_is_found(path: Path) -> None:
    # The chain alone cannot see a shorter tail; the head table written with each entry can.
    _sql(path, f"DELETE FROM entries WHERE id = {COUNT}")
    ok, first_bad, problem = _verify(path)
    assert (ok, first_bad, problem) == (False, COUNT, f"entry {COUNT} is missing (deleted)")


def _rehash(path: Path, entry_id: int, **changes: str) -> None:
    """Edit an entry and recompute its own hash, as a careful forger would."""
    with Journal(path, create=False) as journal:
        entry = journal.get(entry_id)
    values = {name: getattr(entry, name) for name in ENTRY_FIELDS} | changes
    digest = entry_hash(entry.prev_hash, entry_id, entry.time, values)
    sets = ", ".join(f"{k} = '{v}'" for k, v in changes.items())
    _sql(path, f"UPDATE entries SET {sets}, hash = '{digest}' WHERE id = {entry_id}")


def test_an_edit_with_a_recomputed_hash_breaks_the_next_link(path: Path) -> None:
    _rehash(path, 4, outcome="skipped")
    ok, first_bad, problem = _verify(path)
    assert (ok, first_bad) == (False, 4)
    assert problem is not None
    assert problem.startswith("entry 5 does not link to entry 4 (entry 4 was edited")


def test_an_edit_of_the_last_entry_with_a_recomputed_hash_is_caught_by_the_head(path: Path) -> None:
    _rehash(path, COUNT, outcome="skipped")
    ok, first_bad, problem = _verify(path)
    assert (ok, first_bad) == (False, COUNT)
    assert problem == f"entry {COUNT} was edited (it does not match the journal's head)"


def test_an_entry_inserted_past_the_head_is_found(path: Path) -> None:
    with Journal(path, create=False) as journal:
        last = journal.get(COUNT)
    values = {name: getattr(last, name) for name in ENTRY_FIELDS}
    digest = entry_hash(last.hash, COUNT + 1, last.time, values)
    _sql(
        path,
        "CREATE TABLE scratch AS SELECT * FROM entries WHERE id = 10",
        f"UPDATE scratch SET id = {COUNT + 1}, prev_hash = '{last.hash}', hash = '{digest}'",
        "INSERT INTO entries SELECT * FROM scratch",
        "DROP TABLE scratch",
    )
    assert _verify(path) == (
        False,
        COUNT + 1,
        f"entry {COUNT + 1} was not appended by rootctl (inserted)",
    )


def test_a_missing_head_is_reported(path: Path) -> None:
    _sql(path, "DELETE FROM head")
    ok, first_bad, problem = _verify(path)
    assert (ok, first_bad) == (False, None)
    assert problem is not None and "head" in problem


def test_appending_after_tampering_does_not_hide_it(path: Path) -> None:
    _sql(path, "DELETE FROM entries WHERE id = 5")
    with Journal(path) as journal:
        journal.append(JournalEntry(command="c", action="a", outcome="ok"))
        result = journal.verify()
    assert (result.ok, result.first_bad_id) == (False, 5)


def _chain(times: list[str]) -> Iterator[Row]:
    prev = GENESIS_HASH
    for number, time in enumerate(times, start=1):
        values = {name: None for name in ENTRY_FIELDS} | {
            "command": "c",
            "action": "a",
            "outcome": "ok",
        }
        digest = entry_hash(prev, number, time, values)
        yield Row(id=number, time=time, prev_hash=prev, hash=digest, values=values)
        prev = digest


def test_time_going_backwards_in_a_well_formed_chain_is_out_of_order() -> None:
    rows = list(
        _chain(
            [
                "2025-01-01T00:00:01.000000Z",
                "2025-01-01T00:00:02.000000Z",
                "2025-01-01T00:00:00.000000Z",
            ]
        )
    )
    result = verify_rows(rows, Head(count=3, hash=rows[-1].hash), lambda _: rows)
    assert (result.ok, result.first_bad_id) == (False, 3)
    assert result.problem == "entry 3 is out of order (its time is before entry 2)"
