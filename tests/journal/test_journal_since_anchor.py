"""Verification from a trusted anchor (`Journal.verify_since`, `journal verify --since-anchor`),
against both backends: what it detects, and that it never reads an entry before the anchor.

The read proofs observe, they do not fake: for sqlite, a trace callback on the journal's
own connections records every statement with its bound values; for DynamoDB, a botocore
event handler on the journal's own client records every Query and the items it returned.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import test_journal_contract as contract
from journal_helpers import fill, invoke, one_error_line
from test_journal_contract import Backend, _dynamodb, _entry, _fill

import rootctl.journal.dynamodb as dynamodb_backend
import rootctl.journal.store as sqlite_backend
from rootctl.journal import GENESIS_HASH, Journal
from rootctl.journal.anchor import Anchor
from rootctl.journal.verify import BadRow, Row
from rootctl.sandbox import Sandbox

# The contract suite's fixtures: both backends, the module's sandbox, its AWS environment.
backend = contract.backend
sb = contract.sb
aws_env = contract.aws_env


def _anchor_at(journal: Journal, entry_id: int) -> Anchor:
    return Anchor(entry_id, journal.get(entry_id).hash)


@pytest.fixture
def rows_read(backend: Backend, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """The id of every entry row the backend decodes while verifying (both backends turn
    each row read into a Row through their module's `_row`)."""
    seen: list[int] = []
    module: Any = sqlite_backend if backend.name == "sqlite" else dynamodb_backend
    real = module._row

    def spy(raw: Any) -> Row | BadRow:
        row = real(raw)
        seen.append(row.id if isinstance(row, Row) else -1)
        return row

    monkeypatch.setattr(module, "_row", spy)
    yield seen


def test_after_appends_only_the_entries_since_the_anchor_are_read(
    backend: Backend, rows_read: list[int]
) -> None:
    journal = _fill(backend, 6)
    anchor = _anchor_at(journal, 4)
    for i in range(7, 10):
        journal.append(_entry(i))
    head = journal.verify().head_hash
    rows_read.clear()
    result = journal.verify_since(anchor)
    assert result.ok and result.entries == 9 and result.head_hash == head
    assert sorted(set(rows_read)) == [4, 5, 6, 7, 8, 9]  # the anchor's entry and after


def test_at_the_head_only_the_head_entry_is_read(backend: Backend, rows_read: list[int]) -> None:
    journal = _fill(backend, 6)
    anchor = _anchor_at(journal, 6)
    rows_read.clear()
    assert journal.verify_since(anchor).ok
    assert rows_read == [6]


def test_an_anchor_before_the_first_entry_is_a_full_verify(backend: Backend) -> None:
    journal = _fill(backend, 3)
    assert journal.verify_since(Anchor(0, GENESIS_HASH)).ok
    assert backend.open().verify_since(Anchor(0, GENESIS_HASH)).entries == 3
    wrong = journal.verify_since(Anchor(0, "a" * 64))
    assert not wrong.ok and "genesis" in (wrong.problem or "")


@pytest.mark.parametrize(
    ("field", "text", "first_bad"),
    [("target", "key-forged", 5), ("before", '{"n": 99}', 6), ("hash", "0" * 64, 5)],
)
def test_an_edited_entry_after_the_anchor_is_named(
    backend: Backend, field: str, text: str, first_bad: int
) -> None:
    journal = _fill(backend, 6)
    anchor = _anchor_at(journal, 3)
    backend.edit(first_bad, field, text)
    result = journal.verify_since(anchor)
    assert not result.ok and result.first_bad_id == first_bad
    assert f"entry {first_bad}" in (result.problem or "")


def test_an_edited_anchor_entry_is_named(backend: Backend) -> None:
    journal = _fill(backend, 6)
    anchor = _anchor_at(journal, 3)
    backend.edit(3, "target", "key-forged")  # its stored hash left as it was
    result = journal.verify_since(anchor)
    assert not result.ok and result.problem == "entry 3 was edited"


def test_a_rewritten_journal_fails_against_its_anchor_but_verifies_alone(
    backend: Backend,
) -> None:
    journal = _fill(backend, 6)
    anchor = _anchor_at(journal, 4)
    backend.wipe()  # a wholesale rewrite: new entries, a consistent new chain and head
    forged = backend.open()
    for i in range(1, 7):
        forged.append(_entry(i, reason="rewritten"))
    assert forged.verify().ok  # alone, the forgery is a valid journal
    result = forged.verify_since(anchor)
    assert not result.ok and result.first_bad_id == 4
    assert "does not hold the anchor's hash: the journal was rewritten" in (result.problem or "")


def test_a_truncated_tail_after_the_anchor_is_named(backend: Backend) -> None:
    journal = _fill(backend, 6)
    anchor = _anchor_at(journal, 3)
    backend.drop(6)
    backend.drop(5)
    result = journal.verify_since(anchor)
    assert not result.ok and result.first_bad_id == 5
    assert "entry 5 is missing (deleted)" in (result.problem or "")


def test_a_hole_after_the_anchor_is_named(backend: Backend) -> None:
    journal = _fill(backend, 6)
    anchor = _anchor_at(journal, 2)
    backend.drop(4)
    result = journal.verify_since(anchor)
    assert not result.ok and result.first_bad_id == 4


def test_truncation_to_before_the_anchor_is_named(backend: Backend) -> None:
    journal = _fill(backend, 6)
    anchor = _anchor_at(journal, 5)
    for entry_id in (6, 5, 4):
        backend.drop(entry_id)
    backend.set_head(3, journal.get(3).hash)  # head moved back too: a clean, shorter chain
    assert journal.verify().ok  # alone, nothing is wrong with it
    result = journal.verify_since(anchor)
    assert not result.ok and "before the anchor (entry 5)" in (result.problem or "")


def test_a_dropped_anchor_entry_is_named(backend: Backend) -> None:
    journal = _fill(backend, 6)
    anchor = _anchor_at(journal, 4)
    backend.drop(4)
    result = journal.verify_since(anchor)
    assert not result.ok and "entry 4 (the anchor) is missing" in (result.problem or "")


def test_edits_before_the_anchor_are_not_read_so_not_seen(
    backend: Backend, rows_read: list[int]
) -> None:
    """The trade: O(entries since the anchor) means entries before it are trusted. The
    full verify still names the edit; the since-anchor verify never read that row."""
    journal = _fill(backend, 6)
    anchor = _anchor_at(journal, 4)
    backend.edit(2, "before", "{not json")
    rows_read.clear()
    assert journal.verify_since(anchor).ok
    assert min(rows_read) == 4
    assert journal.verify().first_bad_id == 2


def test_sqlite_asks_only_for_ids_from_the_anchor(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = fill(tmp_path / "j.sqlite3", 8)
    statements: list[str] = []
    real = sqlite_backend.connect

    def traced(*args: Any, **kwargs: Any) -> Any:
        conn, before = real(*args, **kwargs)
        conn.set_trace_callback(statements.append)  # the expanded SQL, values bound
        return conn, before

    monkeypatch.setattr(sqlite_backend, "connect", traced)
    with Journal(path, readonly=True) as journal:
        anchor = Anchor(6, journal.get(6).hash)
        statements.clear()
        assert journal.verify_since(anchor).ok
    reads = [s for s in statements if "FROM entries" in s]
    assert len(reads) == 1 and reads[0].endswith("id >= 6 ORDER BY id"), reads


@pytest.mark.usefixtures("aws_env")
def test_dynamodb_queries_only_keys_from_the_anchor(sb: Sandbox) -> None:
    journal = _fill(_dynamodb(sb), 8)
    anchor = _anchor_at(journal, 6)
    queries: list[dict[str, Any]] = []
    returned: list[int] = []
    client = journal._ddb()  # the journal's own client: observe its requests

    def on_params(params: dict[str, Any], **_: Any) -> None:
        queries.append(params)

    def on_answer(parsed: dict[str, Any], **_: Any) -> None:
        returned.extend(int(item["sk"]["N"]) for item in parsed.get("Items", []))

    client.meta.events.register("provide-client-params.dynamodb.Query", on_params)
    client.meta.events.register("after-call.dynamodb.Query", on_answer)
    try:
        assert journal.verify_since(anchor).ok
    finally:
        client.meta.events.unregister("provide-client-params.dynamodb.Query", on_params)
        client.meta.events.unregister("after-call.dynamodb.Query", on_answer)
    assert [q["ExpressionAttributeValues"][":first"] for q in queries] == [{"N": "6"}]
    assert sorted(returned) == [6, 7, 8]


@pytest.mark.usefixtures("aws_env")
def test_cli_since_anchor_verifies_and_names_an_edit(tmp_path: Path) -> None:
    """`journal verify --anchor REF --since-anchor`, the anchor in the sandbox's SSM."""
    path = fill(tmp_path / "j.sqlite3", 5)
    code, out, err = invoke("journal", "head", "--to", "ssm:///t/head", "--journal", str(path))
    assert code == 0, err
    fill(path, 2)  # later runs append
    code, out, err = invoke(
        "journal", "verify", "--anchor", "ssm:///t/head", "--since-anchor", "--journal", str(path)
    )
    assert code == 0, err
    assert out.startswith("ok: 2 entries after the anchor (entry 5) chain from it, 7 in all")
    code, out, err = invoke(
        "journal", "verify", "--anchor", "ssm:///t/head", "--since-anchor", "-o", "json",
        "--journal", str(path),
    )  # fmt: skip
    assert code == 0 and '"checked": 2' in out
    with sqlite3.connect(path) as conn:  # entry 5 edited, hash kept
        conn.execute("UPDATE entries SET target = 'x' WHERE id = 5")
    conn.close()
    code, out, err = invoke(
        "journal", "verify", "--anchor", "ssm:///t/head", "--since-anchor", "--journal", str(path)
    )
    assert code == 1 and out == ""
    assert "entry 5 was edited" in one_error_line(err)
    missing = invoke(
        "journal", "verify", "--anchor", "ssm:///t/none", "--since-anchor", "--journal", str(path)
    )
    assert missing[0] == 2 and "does not exist" in one_error_line(missing[2])


@pytest.mark.parametrize(
    "args",
    [
        ("--since-anchor",),
        ("--since-anchor", "--anchor", "ssm:///t/head", "--expect-head", "a" * 64),
    ],
)
def test_cli_since_anchor_needs_an_anchor_alone(tmp_path: Path, args: tuple[str, ...]) -> None:
    path = fill(tmp_path / "j.sqlite3", 2)
    code, out, err = invoke("journal", "verify", *args, "--journal", str(path))
    assert code == 2 and out == ""
    assert "--since-anchor needs --anchor" in one_error_line(err)
