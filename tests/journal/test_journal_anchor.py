"""Anchors (`journal head`, `verify --expect-head`), ids out of range, --journal anywhere."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from journal_helpers import fill, invoke, one_error_line

from rootctl.errors import UsageError
from rootctl.journal import GENESIS_HASH, Journal, entry_hash
from rootctl.journal.model import ENTRY_FIELDS


def _rewrite_chain(path: Path, entry_id: int, column: str, value: str) -> None:
    """A wholesale forgery: edit one entry and recompute every hash after it, and the head.
    Plain verify cannot tell; only an anchor kept elsewhere can."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.row_factory = sqlite3.Row
    conn.execute(f"UPDATE entries SET {column} = ? WHERE id = ?", (value, entry_id))
    prev = GENESIS_HASH
    for row in conn.execute("SELECT * FROM entries ORDER BY id").fetchall():
        values = {
            name: json.loads(row[name])
            if name in ("before", "after") and row[name] is not None
            else row[name]
            for name in ENTRY_FIELDS
        }
        digest = entry_hash(prev, row["id"], row["time"], values)
        conn.execute(
            "UPDATE entries SET prev_hash = ?, hash = ? WHERE id = ?", (prev, digest, row["id"])
        )
        prev = digest
    conn.execute("UPDATE head SET hash = ?", (prev,))
    conn.close()


def _head(path: Path) -> dict[str, object]:
    code, out, err = invoke("journal", "head", "--journal", str(path))
    assert code == 0, err
    document: dict[str, object] = json.loads(out)
    return document


def test_head_prints_the_anchor_and_verify_accepts_it(tmp_path: Path) -> None:
    path = fill(tmp_path / "j.sqlite3")
    anchor = _head(path)
    with Journal(path, readonly=True) as journal:
        assert anchor == {"entries": 4, "head": journal.get(4).hash}
    code, out, _ = invoke(
        "journal", "verify", "--expect-head", str(anchor["head"]), "--journal", str(path)
    )
    assert code == 0
    assert "contains the expected head" in out


def test_an_earlier_anchor_still_verifies_after_appends(tmp_path: Path) -> None:
    path = fill(tmp_path / "j.sqlite3", 2)
    anchor = str(_head(path)["head"])
    fill(path, 3)  # later runs append
    for command in ("verify", "head"):
        code, _, err = invoke(
            "journal", command, "--expect-head", anchor.upper(), "--journal", str(path)
        )
        assert code == 0, err
    assert _head(path)["entries"] == 5


@pytest.mark.parametrize(
    ("entry_id", "column", "value"),
    [
        (1, "reason", "nothing to see"),
        (2, "outcome", "error"),
        (3, "before", json.dumps('{"Statement":[]}')),
        (4, "account_id", "999999999999"),
    ],
)
def test_a_rewritten_chain_verifies_alone_but_not_against_its_anchor(
    tmp_path: Path, entry_id: int, column: str, value: str
) -> None:
    path = fill(tmp_path / "j.sqlite3")
    anchor = str(_head(path)["head"])
    _rewrite_chain(path, entry_id, column, value)
    code, _, _ = invoke("journal", "verify", "--journal", str(path))
    assert code == 0  # self-consistent: this is what anchoring is for
    for command in ("verify", "head"):
        code, out, err = invoke("journal", command, "--expect-head", anchor, "--journal", str(path))
        assert code == 1 and out == ""
        assert f"no entry has the expected head hash {anchor}" in one_error_line(err)


def test_head_refuses_a_journal_that_does_not_verify(tmp_path: Path) -> None:
    path = fill(tmp_path / "j.sqlite3")
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("UPDATE entries SET outcome = 'error' WHERE id = 2")
    conn.close()
    code, out, err = invoke("journal", "head", "--journal", str(path))
    assert code == 1 and out == ""  # an edit is never anchored
    assert "entry 2 was edited" in one_error_line(err)


@pytest.mark.parametrize(
    "value", ["", "abc", "0" * 63, "0" * 65, "g" * 64, "--", "12:" + "0" * 64, " " * 64]
)
def test_a_malformed_anchor_is_bad_input(tmp_path: Path, value: str) -> None:
    path = fill(tmp_path / "j.sqlite3")
    for command in ("verify", "head"):
        code, _, err = invoke("journal", command, f"--expect-head={value}", "--journal", str(path))
        assert code == 2
        assert "64 hex digits" in one_error_line(err)


BAD_IDS = ["0", "-1", "-9223372036854775808", str(2**63), str(10**30), "1e3", "abc", "1.5", " "]


@pytest.mark.parametrize("value", BAD_IDS)
@pytest.mark.parametrize("command", ["show", "list --limit", "list -n", "restore"])
def test_ids_and_limits_out_of_range_are_one_line_exit_2(
    tmp_path: Path, command: str, value: str
) -> None:
    path = fill(tmp_path / "j.sqlite3")
    if command.startswith("list") and value == "0":
        return  # --limit 0 is valid: no entries
    args = [*command.split(), value, "--journal", str(path)]
    if command == "restore":
        args += ["--yes"]
    else:
        args = ["journal", *args]
    code, out, err = invoke(*args)
    assert code == 2 and out == ""
    one_error_line(err)


@pytest.mark.parametrize("entry_id", [0, -1, 2**63, 10**30, True])
def test_the_library_refuses_ids_out_of_range(tmp_path: Path, entry_id: int) -> None:
    with Journal(fill(tmp_path / "j.sqlite3"), readonly=True) as journal:
        for read in (journal.get, journal.verified_entry):
            with pytest.raises(UsageError, match="journal entry ids are 1 to"):
                read(entry_id)
        with pytest.raises(UsageError, match="limit must be 0 to"):
            journal.list(limit=entry_id if entry_id != 0 else -1)


@pytest.mark.parametrize("command", [("list",), ("show", "2"), ("verify",), ("export",), ("head",)])
@pytest.mark.parametrize("where", ["before", "after", "both, same", "env", "env and after"])
def test_journal_option_before_or_after_the_subcommand(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: tuple[str, ...], where: str
) -> None:
    path = fill(tmp_path / "j.sqlite3")
    other = tmp_path / "missing.sqlite3"
    flag = ["--journal", str(path)]
    monkeypatch.delenv("ROOTCTL_JOURNAL", raising=False)
    args = {
        "before": ["journal", *flag, *command],
        "after": ["journal", *command, *flag],
        "both, same": ["journal", *flag, *command, *flag],
        "env": ["journal", *command],
        "env and after": ["journal", *command, *flag],
    }[where]
    if where.startswith("env"):
        monkeypatch.setenv("ROOTCTL_JOURNAL", str(other if "after" in where else path))
    code, _, err = invoke(*args)
    assert code == 0, err
    assert not other.exists()


def test_two_different_journals_are_refused(tmp_path: Path) -> None:
    path = fill(tmp_path / "j.sqlite3")
    code, _, err = invoke(
        "journal", "--journal", str(path), "list", "--journal", str(tmp_path / "other")
    )
    assert code == 2
    assert "--journal given twice" in one_error_line(err)
