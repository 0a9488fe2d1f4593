"""Verify from the anchor vs the full verify, on journals of N entries (prints figures).

    .venv/bin/python benchmarks/verify_anchor.py --entries 10000 100000 [--dynamodb 10000]

The sqlite journal is built in one transaction with the same chain `Journal.append`
writes (model.entry_hash over the prepared values); the DynamoDB one through
`DynamoJournal.append` into the sandbox's table (moto over HTTP). The anchor sits 100
entries before the head: what a run appends between two invocations.
"""

from __future__ import annotations

import argparse
import sqlite3
import tempfile
import time
from pathlib import Path

from rootctl.journal import GENESIS_HASH, Journal, JournalEntry
from rootctl.journal.anchor import Anchor
from rootctl.journal.model import ENTRY_FIELDS, JSON_FIELDS, canonical_json, entry_hash
from rootctl.journal.schema import COLUMNS
from rootctl.journal.store import now_stamp, prepare_values

SINCE = 100


def _entry(i: int) -> JournalEntry:
    return JournalEntry(
        command="enforce", action="delete-access-key", outcome="ok",
        account_id=f"{100000000000 + i % 50000:012d}", target=f"AKIA{i:016d}",
        before={"status": "Active", "n": i}, after={"deleted": True}, run_id=f"run-{i // 500}",
    )  # fmt: skip


def build_sqlite(path: Path, count: int) -> None:
    Journal(path).close()  # schema
    conn = sqlite3.connect(path, isolation_level=None)
    insert = f"INSERT INTO entries ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
    conn.execute("BEGIN")
    prev, stamp = GENESIS_HASH, now_stamp()
    for i in range(1, count + 1):
        values = prepare_values(_entry(i))
        digest = entry_hash(prev, i, stamp, values)
        stored = [
            canonical_json(values[n]) if n in JSON_FIELDS and values[n] is not None else values[n]
            for n in ENTRY_FIELDS
        ]
        conn.execute(insert, (i, stamp, prev, digest, *stored))
        prev = digest
    conn.execute(
        "INSERT INTO head (one, count, hash, time) VALUES (1, ?, ?, ?)", (count, prev, stamp)
    )
    conn.execute("COMMIT")
    conn.close()


def timed(label: str, journal: Journal, count: int) -> None:
    anchor = Anchor(count - SINCE, journal.get(count - SINCE).hash)
    for name, run in (
        ("full verify", journal.verify),
        ("verify_since", lambda: journal.verify_since(anchor)),
    ):
        best = float("inf")
        for _ in range(3):
            start = time.perf_counter()
            result = run()
            best = min(best, time.perf_counter() - start)
            assert result.ok and result.entries == count, result
        print(f"{label:9} {count:>7} entries  {name:13} {best * 1000:10.1f} ms (best of 3)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, nargs="*", default=[10000, 100000])
    parser.add_argument("--dynamodb", type=int, nargs="*", default=[])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for count in args.entries:
            path = Path(tmp) / f"j{count}.sqlite3"
            build_sqlite(path, count)
            with Journal(path, readonly=True) as journal:
                timed("sqlite", journal, count)
    for count in args.dynamodb:
        timed_dynamodb(count)


def timed_dynamodb(count: int) -> None:
    import os

    from rootctl.journal.dynamodb import TABLE_SPEC, DynamoJournal
    from rootctl.sandbox import Sandbox

    with Sandbox.start() as sb:
        os.environ.update(sb.env())
        from rootctl.aws import SessionFactory

        SessionFactory().client("dynamodb").create_table(TableName="bench", **TABLE_SPEC)
        journal = DynamoJournal("bench")
        start = time.perf_counter()
        for i in range(1, count + 1):
            journal.append(_entry(i))
        print(f"dynamodb  {count:>7} entries  appended in {time.perf_counter() - start:.1f} s")
        timed("dynamodb", journal, count)


if __name__ == "__main__":
    main()
