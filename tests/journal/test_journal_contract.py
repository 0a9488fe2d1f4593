"""One contract, two backends: the sqlite file and the DynamoDB table (sandbox, real HTTP).

Every test here runs against both; what differs is only how a backend is opened and how a
test edits it behind rootctl's back (`Backend.edit`, `Backend.drop`), as an attacker with
write access to the file or the table would.
"""

from __future__ import annotations

import itertools
import os
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from rootctl.errors import UsageError
from rootctl.journal import REDACTED, Journal, JournalEntry, UnverifiedJournal
from rootctl.journal.backend import open_journal
from rootctl.journal.dynamodb import TABLE_SPEC
from rootctl.sandbox import Sandbox

from support import client, enabled_fixture

ACCOUNT_A, ACCOUNT_B = "333333333333", "444444444444"
_tables = itertools.count(1)


@dataclass
class Backend:
    """A fresh journal plus the means to edit it as someone with write access would."""

    name: str
    open: Callable[..., Journal]
    edit: Callable[[int, str, str], None]  # entry id, field, new text
    drop: Callable[[int], None]  # delete entry id
    wipe: Callable[[], None]  # delete every entry, the head and the schema record
    set_head: Callable[[int, str], None]  # move the head record (count, hash)


@pytest.fixture(scope="module")
def sb() -> Iterator[Sandbox]:
    with Sandbox.start(enabled_fixture()) as sandbox:
        yield sandbox


@pytest.fixture
def aws_env(sb: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith(("AWS_", "ROOTCTL_")):
            monkeypatch.delenv(key)
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
    for key, value in sb.env().items():
        monkeypatch.setenv(key, value)


def _sqlite(tmp_path: Path) -> Backend:
    path = tmp_path / "journal.sqlite3"

    def edit(entry_id: int, field: str, text: str) -> None:
        with sqlite3.connect(path) as conn:
            conn.execute(f"UPDATE entries SET {field} = ? WHERE id = ?", (text, entry_id))
        conn.close()

    def drop(entry_id: int) -> None:
        with sqlite3.connect(path) as conn:
            conn.execute("DELETE FROM entries WHERE id = ?", (entry_id,))
        conn.close()

    def wipe() -> None:
        with sqlite3.connect(path) as conn:
            conn.execute("DELETE FROM entries")
            conn.execute("DELETE FROM head")
        conn.close()

    def set_head(count: int, digest: str) -> None:
        with sqlite3.connect(path) as conn:
            conn.execute("UPDATE head SET count = ?, hash = ?", (count, digest))
        conn.close()

    return Backend("sqlite", lambda **kw: open_journal(path, **kw), edit, drop, wipe, set_head)


def _dynamodb(sb: Sandbox) -> Backend:
    table = f"journal-{next(_tables)}"
    ddb = client(sb, "dynamodb")
    ddb.create_table(TableName=table, **TABLE_SPEC)

    def key(entry_id: int) -> dict[str, Any]:
        return {"pk": {"S": "entry"}, "sk": {"N": str(entry_id)}}

    def edit(entry_id: int, field: str, text: str) -> None:
        ddb.update_item(
            TableName=table,
            Key=key(entry_id),
            UpdateExpression="SET #f = :v",
            ExpressionAttributeNames={"#f": field},
            ExpressionAttributeValues={":v": {"S": text}},
        )

    def drop(entry_id: int) -> None:
        ddb.delete_item(TableName=table, Key=key(entry_id))

    def wipe() -> None:
        for item in ddb.scan(TableName=table)["Items"]:
            ddb.delete_item(TableName=table, Key={"pk": item["pk"], "sk": item["sk"]})

    def set_head(count: int, digest: str) -> None:
        ddb.update_item(
            TableName=table,
            Key={"pk": {"S": "head"}, "sk": {"N": "0"}},
            UpdateExpression="SET #c = :c, #h = :h",
            ExpressionAttributeNames={"#c": "count", "#h": "hash"},
            ExpressionAttributeValues={":c": {"N": str(count)}, ":h": {"S": digest}},
        )

    return Backend(
        "dynamodb",
        lambda **kw: open_journal(f"dynamodb://{table}", **kw),
        edit,
        drop,
        wipe,
        set_head,
    )


@pytest.fixture(params=["sqlite", "dynamodb"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    if request.param == "sqlite":
        return _sqlite(tmp_path)
    request.getfixturevalue("aws_env")
    return _dynamodb(request.getfixturevalue("sb"))


def _entry(i: int, **overrides: Any) -> JournalEntry:
    values: dict[str, Any] = {
        "command": "delete-credentials" if i % 2 else "unlock s3",
        "action": "assume-root" if i % 3 == 0 else "delete-access-key",
        "outcome": "error" if i == 4 else "ok",
        "account_id": ACCOUNT_A if i % 2 else ACCOUNT_B,
        "target": f"key-{i}",
        "before": {"n": i, "list": [1, 2.5, "x"]},
        "after": None if i == 2 else {"n": i},
        "error": "AccessDenied" if i == 4 else None,
        "run_id": f"run-{(i + 1) // 2}",
        "reason": "SEC-1 contract",
    }
    values.update(overrides)
    return JournalEntry(**values)


def _fill(backend: Backend, count: int = 6) -> Journal:
    journal = backend.open()
    for i in range(1, count + 1):
        journal.append(_entry(i))
    return journal


def test_append_chains_entries_and_get_reads_them_back(backend: Backend) -> None:
    journal = backend.open()
    stored = [journal.append(_entry(i)) for i in range(1, 4)]
    assert [s.id for s in stored] == [1, 2, 3]
    assert stored[0].prev_hash == "0" * 64
    assert [s.prev_hash for s in stored[1:]] == [s.hash for s in stored[:-1]]
    assert [journal.get(i) for i in (1, 2, 3)] == stored
    assert stored[1].after is None and stored[0].before == {"n": 1, "list": [1, 2.5, "x"]}
    with pytest.raises(UsageError, match="entry 9 does not exist"):
        journal.get(9)


def test_list_filters_match_the_sqlite_semantics(backend: Backend) -> None:
    journal = _fill(backend)
    assert [e.id for e in journal.list()] == [1, 2, 3, 4, 5, 6]
    assert [e.id for e in journal.list(account_id=ACCOUNT_B)] == [2, 4, 6]
    assert [e.id for e in journal.list(command="unlock s3")] == [2, 4, 6]
    assert [e.id for e in journal.list(action="assume-root")] == [3, 6]
    assert [e.id for e in journal.list(outcome="error")] == [4]
    assert [e.id for e in journal.list(run_id="run-2")] == [3, 4]
    assert [e.id for e in journal.list(limit=2)] == [5, 6]
    assert [e.id for e in journal.list(account_id=ACCOUNT_A, limit=1)] == [5]
    assert journal.list(limit=0) == []
    assert [e.id for e in journal.list(since=journal.get(4).time)] == [4, 5, 6]
    assert journal.list(since="2999-01-01") == []
    with pytest.raises(UsageError, match="ISO-8601"):
        journal.list(since="yesterday")


def test_verify_reports_the_head_and_checks_an_anchor(backend: Backend) -> None:
    journal = _fill(backend)
    result = journal.verify()
    assert result.ok and result.entries == 6 and result.head_hash == journal.get(6).hash
    assert journal.verify(expect_head=journal.get(3).hash).ok
    wrong = journal.verify(expect_head="f" * 64)
    assert not wrong.ok and "no entry has the expected head hash" in (wrong.problem or "")


def test_an_empty_journal_verifies(backend: Backend) -> None:
    result = backend.open().verify()
    assert result.ok and result.entries == 0


@pytest.mark.parametrize(
    ("field", "text", "problem"),
    [
        ("target", "key-forged", "entry 3 was edited"),
        ("before", '{"n": 99}', "entry 3 was edited"),
        ("before", "{not json", "entry 3 was edited (before is not valid JSON"),
        ("hash", "0" * 64, "entry 3"),
    ],
)
def test_an_edited_entry_is_named(backend: Backend, field: str, text: str, problem: str) -> None:
    journal = _fill(backend)
    backend.edit(3, field, text)
    result = journal.verify()
    assert not result.ok and result.first_bad_id == 3
    assert problem in (result.problem or "")


@pytest.mark.parametrize(("dropped", "first_bad"), [(2, 2), (6, 6)])
def test_a_deleted_entry_is_named(backend: Backend, dropped: int, first_bad: int) -> None:
    journal = _fill(backend)
    backend.drop(dropped)
    result = journal.verify()
    assert not result.ok and result.first_bad_id == first_bad
    assert "missing (deleted)" in (result.problem or "")


def test_verified_reads_refuse_a_tampered_journal(backend: Backend) -> None:
    journal = _fill(backend)
    assert journal.verified_entry(4).error == "AccessDenied"
    assert [e.id for e in journal.verified_entries(account_id=ACCOUNT_B)] == [2, 4, 6]
    with pytest.raises(UsageError, match="entry 12 does not exist"):
        journal.verified_entry(12)
    backend.edit(5, "outcome", "planned")
    with pytest.raises(UnverifiedJournal, match=r"does not verify \(entry 5 was edited"):
        journal.verified_entry(2)
    with pytest.raises(UnverifiedJournal):
        journal.verified_entries(command="unlock s3")
    assert [e.id for e in journal.list(command="unlock s3")] == [2, 4, 6]  # display still reads


def test_secrets_are_scrubbed_before_they_are_stored(backend: Backend) -> None:
    journal = backend.open()
    stored = journal.append(
        _entry(1, before={"SecretAccessKey": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"})
    )
    assert journal.get(stored.id).before == {"SecretAccessKey": REDACTED}


def test_export_writes_every_entry_as_list_reads_it(backend: Backend, tmp_path: Path) -> None:
    import json

    journal = _fill(backend, 4)
    out = tmp_path / "export.jsonl"
    with out.open("w") as handle:
        assert journal.export_jsonl(handle) == 4
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert lines == [e.to_dict() for e in journal.list()]


def test_a_reader_never_writes(backend: Backend) -> None:
    _fill(backend, 2).close()
    reader = backend.open(readonly=True)
    assert reader.verify().entries == 2
    with pytest.raises(Exception, match="read-only"):
        reader.append(_entry(3))
    assert backend.open().verify().entries == 2
