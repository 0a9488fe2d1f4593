"""Appending, reading back, filtering and exporting journal entries."""

from __future__ import annotations

import hashlib
import io
import json
import sqlite3
import stat
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from rootctl.errors import UsageError
from rootctl.journal import GENESIS_HASH, Journal, JournalEntry, StoredEntry, entry_hash
from rootctl.journal.model import ENTRY_FIELDS

POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": "arn:aws:s3:::locked-bucket/*",
                "Condition": {
                    "StringNotEquals": {"aws:PrincipalArn": "arn:aws:iam::333333333333:role/Admin"}
                },
            }
        ],
    },
    indent=4,
)


def _entry(i: int = 0, **overrides: object) -> JournalEntry:
    values: dict[str, object] = {
        "command": "delete-credentials",
        "action": "delete-access-key",
        "outcome": "ok",
        "account_id": f"{333333333333 + i % 3}",
        "task_policy": "IAMDeleteRootUserCredentials",
        "target": f"AKIAEXAMPLE{i:09d}",
        "reason": "INC-42 leftover root keys",
        "operator": "arn:aws:iam::111111111111:user/alice",
        "run_id": "run-1",
    }
    values.update(overrides)
    return JournalEntry(**values)  # type: ignore[arg-type]


@pytest.fixture
def journal(tmp_path: Path) -> Journal:
    with Journal(tmp_path / "journal.sqlite3") as opened:
        yield opened  # type: ignore[misc]


def test_append_returns_the_stored_entry_chained_to_the_previous(journal: Journal) -> None:
    first = journal.append(_entry(0, before={"Policy": POLICY}))
    second = journal.append(_entry(1))

    assert (first.id, second.id) == (1, 2)
    assert first.prev_hash == GENESIS_HASH
    assert second.prev_hash == first.hash
    assert first.time <= second.time
    assert datetime.fromisoformat(first.time).tzinfo == UTC
    values = {name: getattr(first, name) for name in ENTRY_FIELDS}
    assert first.hash == entry_hash(GENESIS_HASH, 1, first.time, values)


def test_get_returns_the_full_entry_with_before_verbatim(journal: Journal) -> None:
    before = {"Policy": POLICY, "Tags": [{"Key": "k", "Value": 1.5}], "Empty": None}
    stored = journal.append(_entry(before=before, after={"Policy": None}, error=None))

    got = journal.get(stored.id)
    assert got == stored
    assert got.before == before
    # restore writes this string back: it must come back byte for byte
    assert got.before["Policy"] == POLICY
    assert got.entry == _entry(before=before, after={"Policy": None})


def test_get_of_a_missing_entry_is_a_usage_error(journal: Journal) -> None:
    journal.append(_entry())
    with pytest.raises(UsageError, match=r"^journal entry 12 does not exist$"):
        journal.get(12)


def test_values_are_normalised_as_json_gives_them_back(journal: Journal) -> None:
    when = datetime(2025, 1, 31, 12, 0, tzinfo=UTC)
    stored = journal.append(
        _entry(before={"CreateDate": when, "ids": ("a", "b"), 7: {"x"}}, task_policy=None)
    )
    expected = {"CreateDate": "2025-01-31T12:00:00+00:00", "ids": ["a", "b"], "7": ["x"]}
    assert stored.before == expected
    assert journal.get(stored.id).before == expected
    assert journal.verify().ok


def test_values_that_are_not_json_are_refused(journal: Journal) -> None:
    with pytest.raises(TypeError, match="JSON-serialisable"):
        journal.append(_entry(before={"x": object()}))
    with pytest.raises(ValueError):
        journal.append(_entry(after=float("nan")))
    with pytest.raises(ValueError, match="command, an action and an outcome"):
        journal.append(JournalEntry(command="", action="x", outcome="ok"))
    assert journal.list() == []
    assert journal.verify().ok


def test_list_filters_and_limit_keeps_the_most_recent(journal: Journal) -> None:
    for i in range(9):
        journal.append(_entry(i, run_id=f"run-{i // 3}"))
    journal.append(
        _entry(9, command="s3-unlock", action="delete-bucket-policy", outcome="error", run_id="x")
    )

    assert [e.id for e in journal.list()] == list(range(1, 11))
    assert [e.id for e in journal.list(account_id="333333333333")] == [1, 4, 7, 10]
    assert [e.id for e in journal.list(command="s3-unlock")] == [10]
    assert [e.id for e in journal.list(action="delete-bucket-policy")] == [10]
    assert [e.id for e in journal.list(outcome="error")] == [10]
    assert [e.id for e in journal.list(run_id="run-1")] == [4, 5, 6]
    assert [e.id for e in journal.list(limit=3)] == [8, 9, 10]
    assert [e.id for e in journal.list(account_id="333333333333", limit=2)] == [7, 10]
    assert journal.list(limit=0) == []


def test_list_since_compares_times_in_utc(journal: Journal) -> None:
    first = journal.append(_entry(0))
    later = journal.append(_entry(1))
    assert [e.id for e in journal.list(since=later.time)] == [2]
    assert len(journal.list(since="2000-01-01T00:00:00Z")) == 2
    assert len(journal.list(since=datetime(2000, 1, 1))) == 2  # naive means UTC
    assert journal.list(since="2999-01-01T01:00:00+01:00") == []
    assert first.id == 1
    with pytest.raises(UsageError, match="not an ISO-8601 time"):
        journal.list(since="yesterday")


def test_reopening_continues_the_chain(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"
    with Journal(path) as journal:
        first = journal.append(_entry(0))
    with Journal(path) as journal:
        second = journal.append(_entry(1))
        assert second.id == 2
        assert second.prev_hash == first.hash
        assert journal.verify().ok


def test_new_journal_is_private_and_its_directory_is_created(tmp_path: Path) -> None:
    path = tmp_path / "state" / "rootctl" / "journal.sqlite3"
    with Journal(path) as journal:
        journal.append(_entry())
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_reading_never_creates_a_journal(tmp_path: Path) -> None:
    path = tmp_path / "missing.sqlite3"
    with pytest.raises(UsageError, match=r"journal .*missing.sqlite3 does not exist"):
        Journal(path, create=False)
    assert not path.exists()


def test_a_file_that_is_not_a_journal_is_a_usage_error(tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("not a database, just some text that is long enough to have a header\n" * 20)
    with pytest.raises(UsageError, match="not a rootctl journal"):
        Journal(text, create=False)

    other = tmp_path / "other.sqlite3"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE users (name TEXT)")
    conn.close()
    with pytest.raises(UsageError, match="not a rootctl journal"):
        Journal(other)
    with pytest.raises(UsageError, match="is a directory"):
        Journal(tmp_path)


def test_default_path_follows_env_and_xdg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ROOTCTL_JOURNAL", str(tmp_path / "explicit.sqlite3"))
    assert Journal.default_path() == tmp_path / "explicit.sqlite3"

    monkeypatch.delenv("ROOTCTL_JOURNAL")
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg"))
    assert Journal.default_path() == tmp_path / "xdg" / "rootctl" / "journal.sqlite3"

    monkeypatch.delenv("XDG_STATE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setattr(sys, "platform", "linux")
    assert (
        Journal.default_path()
        == tmp_path / "home" / ".local" / "state" / "rootctl" / "journal.sqlite3"
    )
    monkeypatch.setattr(sys, "platform", "darwin")
    assert Journal.default_path() == (
        tmp_path / "home" / "Library" / "Application Support" / "rootctl" / "journal.sqlite3"
    )


def test_export_jsonl_is_one_object_per_line_that_rechecks_with_hashlib(journal: Journal) -> None:
    for i in range(5):
        journal.append(
            _entry(i, before={"Policy": POLICY} if i == 2 else None, error="é" if i == 3 else None)
        )
    out = io.StringIO()
    assert journal.export_jsonl(out) == 5

    lines = out.getvalue().splitlines()
    assert len(lines) == 5
    prev = GENESIS_HASH
    for number, line in enumerate(lines, start=1):
        obj = json.loads(line)
        assert list(obj)[:4] == ["id", "time", "prev_hash", "hash"]
        assert set(obj) == {"id", "time", "prev_hash", "hash", *ENTRY_FIELDS}
        assert obj["id"] == number
        assert obj["prev_hash"] == prev
        # The recipe of docs/journal.md: no rootctl code needed to check an export.
        record = {k: v for k, v in obj.items() if k not in ("prev_hash", "hash")}
        document = json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        assert hashlib.sha256((prev + document).encode()).hexdigest() == obj["hash"]
        prev = obj["hash"]
    assert json.loads(lines[2])["before"]["Policy"] == POLICY
    assert StoredEntry(**json.loads(lines[4])) == journal.get(5)


def test_export_of_an_empty_journal_writes_nothing(journal: Journal) -> None:
    out = io.StringIO()
    assert journal.export_jsonl(out) == 0
    assert out.getvalue() == ""
