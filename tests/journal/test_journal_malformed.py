"""Rows rootctl never writes are reported as "entry N was edited", never a traceback.

Each tampering (run with the sqlite3 module, as an attacker with write access would) is
crossed with every reader: verify names the entry (exit 1); list, show and export refuse
with one line naming it (exit 1); the verified reads that lead to actions refuse (exit 2).
Some rows need the table rebuilt without its NOT NULL and INTEGER constraints first.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from journal_helpers import fill, invoke, one_error_line

from rootctl.journal import Journal, UnverifiedJournal

LOOSEN = (
    "ALTER TABLE entries RENAME TO strict_entries",
    "CREATE TABLE entries (id, time, run_id, operator, command, reason, account_id, "
    "task_policy, action, target, before, after, outcome, error, prev_hash, hash)",
    "INSERT INTO entries SELECT id, time, run_id, operator, command, reason, account_id, "
    "task_policy, action, target, before, after, outcome, error, prev_hash, hash FROM strict_entries",
    "DROP TABLE strict_entries",
)

# name -> (entry the report names, SQL run on a 4-entry journal, needs loosened table)
TAMPERINGS: dict[str, tuple[int, tuple[str, ...], bool]] = {
    "before not JSON": (2, ("UPDATE entries SET before = '{not json' WHERE id = 2",), False),
    "after not JSON": (3, ("UPDATE entries SET after = 'nope' WHERE id = 3",), False),
    "before truncated JSON": (1, ("UPDATE entries SET before = '{\"n\": ' WHERE id = 1",), False),
    "before NaN": (2, ("UPDATE entries SET before = 'NaN' WHERE id = 2",), False),
    "after Infinity": (2, ("UPDATE entries SET after = '[-Infinity]' WHERE id = 2",), False),
    "after huge float": (4, ("UPDATE entries SET after = '1e999' WHERE id = 4",), False),
    "before huge int": (2, (f"UPDATE entries SET before = '{'9' * 5000}' WHERE id = 2",), False),
    "before deeply nested": (
        3,
        (f"UPDATE entries SET before = '{'[' * 100000}{']' * 100000}' WHERE id = 3",),
        False,
    ),
    "before a blob": (2, ("UPDATE entries SET before = x'00ff' WHERE id = 2",), False),
    "error not UTF-8": (
        2,
        ("UPDATE entries SET error = CAST(x'fffe' AS TEXT) WHERE id = 2",),
        False,
    ),
    "reason an integer": (1, ("UPDATE entries SET reason = 42 WHERE id = 1",), True),
    "target a real": (4, ("UPDATE entries SET target = 1.5 WHERE id = 4",), True),
    "time NULL": (2, ("UPDATE entries SET time = NULL WHERE id = 2",), True),
    "hash NULL": (3, ("UPDATE entries SET hash = NULL WHERE id = 3",), True),
    "prev_hash NULL": (1, ("UPDATE entries SET prev_hash = NULL WHERE id = 1",), True),
    "command NULL": (2, ("UPDATE entries SET command = NULL WHERE id = 2",), True),
    "outcome NULL": (4, ("UPDATE entries SET outcome = NULL WHERE id = 4",), True),
    "time an integer": (2, ("UPDATE entries SET time = 20250101 WHERE id = 2",), True),
    "hash a blob": (2, ("UPDATE entries SET hash = x'00' WHERE id = 2",), True),
    "id text": (3, ("UPDATE entries SET id = 'three' WHERE id = 3",), True),
    "id NULL": (1, ("UPDATE entries SET id = NULL WHERE id = 1",), True),
    "id a real": (2, ("UPDATE entries SET id = 2.5 WHERE id = 2",), True),
}
# Values that parse but were changed: readers show them, verify names them.
READABLE_EDITS: dict[str, tuple[int, str]] = {
    "huge text": (2, "UPDATE entries SET error = printf('%.*c', 5000000, 'x') WHERE id = 2"),
    "policy made an Allow": (3, "UPDATE entries SET before = replace(before, 'Deny', 'Allow')"),
    "outcome changed": (2, "UPDATE entries SET outcome = 'error' WHERE id = 2"),
    "time moved back": (4, "UPDATE entries SET time = '2000-01-01T00:00:00.000000Z' WHERE id = 4"),
}
# A gap, a duplicate and ids out of range: the chain names them without a traceback.
CHAIN_EDITS: dict[str, tuple[str, tuple[str, ...], bool]] = {
    "id gap": ("entry 3 is missing", ("UPDATE entries SET id = 40 WHERE id = 3",), False),
    "id zero": ("entry 1", ("UPDATE entries SET id = 0 WHERE id = 1",), False),
    "id negative": ("entry 1", ("UPDATE entries SET id = -5 WHERE id = 1",), False),
    "id at the limit": ("entry 4", (f"UPDATE entries SET id = {2**63 - 1} WHERE id = 4",), False),
    "duplicate id": ("entry 2", ("UPDATE entries SET id = 2 WHERE id = 3",), True),
    "head count text": ("head record was edited", ("UPDATE head SET count = 'x'",), False),
    "head hash NULL": ("head record was edited", ("UPDATE head SET hash = NULL",), False),
}


def _tamper(path: Path, statements: tuple[str, ...], loosen: bool) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    if loosen:
        # rebuilding the table drops NOT NULL and INTEGER PRIMARY KEY
        conn.execute("PRAGMA journal_mode=DELETE")
    for statement in (*LOOSEN, *statements) if loosen else statements:
        conn.execute(statement)
    conn.close()


def _loose_head(path: Path) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.executescript(
        "ALTER TABLE head RENAME TO h0; CREATE TABLE head (one, count, hash, time);"
        "INSERT INTO head SELECT * FROM h0; DROP TABLE h0;"
    )
    conn.close()


@pytest.fixture(params=list(TAMPERINGS))
def tampered(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[Path, int]:
    entry_id, statements, loosen = TAMPERINGS[request.param]
    path = fill(tmp_path / "journal.sqlite3")
    _tamper(path, statements, loosen)
    return path, entry_id


def test_verify_names_the_edited_entry(tampered: tuple[Path, int]) -> None:
    path, entry_id = tampered
    code, out, err = invoke("journal", "verify", "--journal", str(path))
    assert code == 1 and out == ""
    assert one_error_line(err).startswith(
        f"error: journal verification failed: entry {entry_id} was edited"
    )
    code, out, _ = invoke("journal", "verify", "-o", "json", "--journal", str(path))
    assert code == 1 and f'"first_bad_id": {entry_id}' in out


@pytest.mark.parametrize("command", [("list",), ("list", "-o", "json"), ("export",), ("head",)])
def test_readers_of_every_entry_refuse_naming_it(
    tampered: tuple[Path, int], command: tuple[str, ...]
) -> None:
    path, entry_id = tampered
    code, _, err = invoke("journal", *command, "--journal", str(path))
    assert code == 1
    line = one_error_line(err)
    assert f"entry {entry_id} was edited" in line or "an entry was edited" in line


def test_show_refuses_the_edited_entry(tampered: tuple[Path, int]) -> None:
    path, entry_id = tampered
    code, out, err = invoke("journal", "show", str(entry_id), "--journal", str(path))
    if code == 2:  # the id itself was edited away: that entry no longer exists
        assert f"entry {entry_id} does not exist" in one_error_line(err)
        return
    assert code == 1 and out == ""
    assert f"entry {entry_id} was edited" in one_error_line(err)


def test_verified_reads_refuse_the_whole_journal(tampered: tuple[Path, int]) -> None:
    path, _ = tampered
    with Journal(path, readonly=True) as journal:
        with pytest.raises(UnverifiedJournal, match=r"does not verify \(entry \d+ was edited"):
            journal.verified_entries()
        with pytest.raises(UnverifiedJournal, match="nothing was done"):
            journal.verified_entry(4)


@pytest.mark.parametrize("name", CHAIN_EDITS)
def test_chain_edits_are_named_without_a_traceback(tmp_path: Path, name: str) -> None:
    expected, statements, loosen = CHAIN_EDITS[name]
    path = fill(tmp_path / "journal.sqlite3")
    if "head" in name:
        _loose_head(path)
    _tamper(path, statements, loosen)
    code, _, err = invoke("journal", "verify", "--journal", str(path))
    assert code == 1
    assert expected in one_error_line(err)
    for command in (("list",), ("export",), ("show", "2"), ("head",)):
        code, _, err = invoke("journal", *command, "--journal", str(path))
        assert code in (0, 1, 2)
        if code:
            one_error_line(err)
    with Journal(path, readonly=True) as journal, pytest.raises(UnverifiedJournal):
        journal.verified_entries()


@pytest.mark.parametrize("name", READABLE_EDITS)
def test_edits_that_still_parse_are_shown_by_readers_and_named_by_verify(
    tmp_path: Path, name: str
) -> None:
    entry_id, statement = READABLE_EDITS[name]
    path = fill(tmp_path / "journal.sqlite3")
    _tamper(path, (statement,), False)
    for command in (("list",), ("export",), ("show", str(entry_id))):
        code, _, err = invoke("journal", *command, "--journal", str(path))
        assert code == 0, err
    code, _, err = invoke("journal", "verify", "--journal", str(path))
    assert code == 1
    assert f"entry {entry_id}" in one_error_line(err)
    with Journal(path, readonly=True) as journal, pytest.raises(UnverifiedJournal):
        journal.verified_entry(1)
