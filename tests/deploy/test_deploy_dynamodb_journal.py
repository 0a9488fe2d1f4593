"""The DynamoDB journal beyond the shared contract: concurrent writers, a writer stopped
between its two writes, anchors outside the table, and bad tables (sandbox, real HTTP)."""

from __future__ import annotations

import itertools
import json
import os
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from rootctl.errors import UsageError
from rootctl.journal import JournalEntry
from rootctl.journal.backend import open_journal
from rootctl.journal.dynamodb import TABLE_SPEC, DynamoJournal, _entry_item
from rootctl.journal.model import entry_hash
from rootctl.journal.store import now_stamp, prepare_values
from rootctl.sandbox import Sandbox

from support import checked_document, client, enabled_fixture, run_cli

_names = itertools.count(1)


@pytest.fixture(scope="module")
def sb() -> Iterator[Sandbox]:
    with Sandbox.start(enabled_fixture()) as sandbox:
        yield sandbox


@pytest.fixture(autouse=True)
def aws_env(sb: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith(("AWS_", "ROOTCTL_")):
            monkeypatch.delenv(key)
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
    for key, value in sb.env().items():
        monkeypatch.setenv(key, value)


def _table(sb: Sandbox) -> str:
    name = f"journal-{next(_names)}"
    client(sb, "dynamodb").create_table(TableName=name, **TABLE_SPEC)
    return name


def _entry(n: int, writer: int = 0) -> JournalEntry:
    return JournalEntry(
        command="enforce", action="enforce", outcome="ok", target=f"w{writer}-{n}", after={"n": n}
    )


def test_concurrent_writers_never_fork_the_chain(sb: Sandbox) -> None:
    """8 writers (each its own journal object, as separate Lambdas are) released together by
    a barrier append 10 entries each: 80 entries, one chain, every entry once."""
    table, writers, each = _table(sb), 8, 10
    barrier = threading.Barrier(writers, timeout=120)

    def write(writer: int) -> None:
        journal = DynamoJournal(table)
        barrier.wait()
        for n in range(each):
            journal.append(_entry(n, writer))

    with ThreadPoolExecutor(writers) as pool:
        for future in [pool.submit(write, w) for w in range(writers)]:
            future.result()  # an append that failed fails the test with its own error
    journal = DynamoJournal(table, readonly=True)
    result = journal.verify()
    assert result.ok and result.entries == writers * each
    targets = [e.target for e in journal.list()]
    assert sorted(targets) == sorted(f"w{w}-{n}" for w in range(writers) for n in range(each))


def _counting(journal: DynamoJournal) -> list[str]:
    """The DynamoDB operations `journal` makes from now on (its own call wrapper, observed)."""
    made: list[str] = []
    call = journal._call

    def counted(operation: str, **kwargs: object) -> object:
        made.append(operation)
        return call(operation, **kwargs)

    journal._call = counted  # type: ignore[method-assign]
    return made


def test_a_writer_appends_with_two_calls_after_its_first_entry(sb: Sandbox) -> None:
    """The head a writer left is where its next entry goes: put + move head, no head read."""
    journal = DynamoJournal(_table(sb))
    made = _counting(journal)
    for n in range(5):
        journal.append(_entry(n))
    assert (
        made
        == ["get_item", "put_item", "put_item", "update_item"]
        + [
            "put_item",
            "update_item",
        ]
        * 4
    )
    assert DynamoJournal(journal.table, readonly=True).verify().entries == 5


def test_a_writer_whose_head_is_stale_chains_after_the_other_writers(sb: Sandbox) -> None:
    """Writer A's remembered head is 2 entries old when it appends again: its put of entry 2
    fails on the taken id, it checks that entry links to its own, reads the head and appends
    entry 4."""
    table = _table(sb)
    first, other = DynamoJournal(table), DynamoJournal(table)
    assert first.append(_entry(1, writer=1)).id == 1
    assert [other.append(_entry(n, writer=2)).id for n in (2, 3)] == [2, 3]
    made = _counting(first)
    assert first.append(_entry(4, writer=1)).id == 4
    assert made[:2] == ["put_item", "get_item"]  # the taken id, then the entry found there
    journal = DynamoJournal(table, readonly=True)
    result = journal.verify()
    assert result.ok and result.entries == 4
    assert [e.target for e in journal.list()] == ["w1-1", "w2-2", "w2-3", "w1-4"]


def _stopped_writer(journal: DynamoJournal) -> None:
    """Put entry N+1 and stop before moving the head (a Lambda killed between the writes)."""
    head = journal.verify()
    values = prepare_values(_entry(99))
    stamp = now_stamp()
    digest = entry_hash(head.head_hash, head.entries + 1, stamp, values)
    item = _entry_item(head.entries + 1, stamp, head.head_hash, digest, values)
    journal._ddb().put_item(TableName=journal.table, Item=item)


def test_a_writer_stopped_between_its_writes_is_completed_by_the_next(sb: Sandbox) -> None:
    table = _table(sb)
    journal = DynamoJournal(table)
    for n in range(3):
        journal.append(_entry(n))
    _stopped_writer(journal)
    seen = DynamoJournal(table, readonly=True).verify()
    assert not seen.ok and "entry 4 was not appended by rootctl" in (seen.problem or "")
    assert [e.id for e in journal.verified_entries()] == [1, 2, 3, 4]  # a writer settles first
    assert journal.append(_entry(5)).id == 5
    assert DynamoJournal(table, readonly=True).verify().entries == 5


def test_missing_table_and_wrong_shape_are_one_line_exit_2(sb: Sandbox) -> None:
    result = run_cli(sb, "journal", "verify", "--journal", "dynamodb://no-such-table")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: journal dynamodb://no-such-table: the table does not exist in us-east-1 "
        "(deploy/ creates it; see docs/deploy.md)"
    ]
    client(sb, "dynamodb").create_table(
        TableName="not-a-journal",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    result = run_cli(sb, "journal", "list", "--journal", "dynamodb://not-a-journal")
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert "not a rootctl journal" in result.stderr
    for bad in ("dynamodb://x", "dynamodb://bad/name", "ftp://host/journal"):
        result = run_cli(sb, "journal", "verify", "--journal", bad)
        assert result.returncode == 2 and result.stderr.startswith("error: journal"), bad
    with pytest.raises(UsageError, match="does not exist"):
        open_journal("dynamodb://no-such-table")


def test_cli_reads_a_table_journal_from_rootctl_journal(sb: Sandbox) -> None:
    table = _table(sb)
    journal = DynamoJournal(table)
    for n in range(3):
        journal.append(_entry(n))
    env = {"ROOTCTL_JOURNAL": f"dynamodb://{table}"}
    listed = run_cli(sb, "journal", "list", "-o", "json", env=env)
    assert listed.returncode == 0 and [e["id"] for e in json.loads(listed.stdout)] == [1, 2, 3]
    shown = run_cli(sb, "journal", "show", "2", "-o", "json", env=env)
    assert json.loads(shown.stdout)["after"] == {"n": 1}
    exported = run_cli(sb, "journal", "export", env=env)
    assert len(exported.stdout.splitlines()) == 3
    head = run_cli(sb, "journal", "head", env=env)
    assert json.loads(head.stdout) == {"entries": 3, "head": journal.get(3).hash}


@pytest.mark.parametrize(
    "anchor", ["ssm:///rootctl/journal-head", "s3://anchors/rootctl/head.json"]
)
def test_an_anchor_outside_the_table_detects_a_wholesale_rewrite(sb: Sandbox, anchor: str) -> None:
    client(sb, "s3").create_bucket(Bucket="anchors")
    table = _table(sb)
    journal = DynamoJournal(table)
    for n in range(4):
        journal.append(_entry(n))
    ref = ["--journal", f"dynamodb://{table}"]
    assert run_cli(sb, "journal", "head", "--to", anchor, *ref).returncode == 0
    assert run_cli(sb, "journal", "verify", "--anchor", anchor, *ref).returncode == 0
    journal.append(_entry(4))  # later entries keep the anchored one
    assert run_cli(sb, "journal", "verify", "--anchor", anchor, *ref).returncode == 0
    # Rewrite the whole table: every item deleted, a new, self-consistent chain written.
    ddb = client(sb, "dynamodb")
    for item in ddb.scan(TableName=table)["Items"]:
        ddb.delete_item(TableName=table, Key={"pk": item["pk"], "sk": item["sk"]})
    forged = DynamoJournal(table)
    for n in range(5):
        forged.append(_entry(n, writer=7))
    assert run_cli(sb, "journal", "verify", *ref).returncode == 0  # the chain alone is intact
    result = run_cli(sb, "journal", "verify", "--anchor", anchor, *ref)
    assert result.returncode == 1
    assert "no entry has the expected head hash" in result.stderr


def test_bad_anchor_references_are_exit_2_before_any_call(sb: Sandbox) -> None:
    table = _table(sb)
    for bad in ("ssm://", "s3://bucket", "http://x/y", "s3://B/k"):
        result = run_cli(
            sb, "journal", "verify", "--anchor", bad, "--journal", f"dynamodb://{table}"
        )
        assert result.returncode == 2, bad
    result = run_cli(
        sb, "journal", "verify", "--anchor", "ssm://missing", "--journal", f"dynamodb://{table}"
    )
    assert result.returncode == 2 and "does not exist" in result.stderr


def test_enforce_journals_into_the_table_named_by_rootctl_journal(
    sb: Sandbox, tmp_path: Path
) -> None:
    table = _table(sb)
    config = tmp_path / "rootctl.yaml"
    config.write_text("root_credentials:\n  policy: delete\n")
    env = {"ROOTCTL_JOURNAL": f"dynamodb://{table}"}
    result = run_cli(sb, "enforce", "--yes", "-c", str(config), "-o", "json", env=env)
    assert result.returncode == 0, result.stderr
    changed = checked_document("enforce", result.stdout)["summary"]["changed"]
    journal = DynamoJournal(table, readonly=True)
    assert changed > 0 and journal.verify().ok
    assert [e.action for e in journal.list(command="enforce")] == ["enforce"]
    assert not Path("dynamodb:").exists()  # no file named after the reference
