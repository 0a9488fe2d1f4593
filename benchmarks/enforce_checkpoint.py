"""A pass's journal reads with and without the enforcement checkpoint (prints figures).

    .venv/bin/python benchmarks/enforce_checkpoint.py --entries 10000 100000 [--dynamodb 10000]

What an `enforce` pass reads from the journal for itself: the recovery windows and, with
`--notify-topic`, the previous pass's finding ids. Before: the whole journal, verified
(`verified_entries(action="recovery-window")`, `list(action="enforce")`). After: from the
head down to the latest checkpoint (`window_state`, `previous_ids`). The journal holds N
entries built as benchmarks/verify_anchor.py builds them (a recovery window among the first),
then a pass's checkpoint and 100 entries after it: what an operator or a joined account
appends between two scheduled passes.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from verify_anchor import _entry, build_sqlite

from rootctl.enforce.windows import ACTION, window_state
from rootctl.integrations.sns import previous_ids
from rootctl.journal import Journal, JournalEntry
from rootctl.results import iso

AFTER = 100


def _window(journal: Journal, account: str) -> None:
    until = datetime.now(UTC) + timedelta(hours=4)
    journal.append(
        JournalEntry(command="allow-password-recovery", action=ACTION, outcome="ok",
                     account_id=account, after={"until": iso(until)}, run_id="w")
    )  # fmt: skip


def _pass(journal: Journal) -> None:
    state = window_state(journal)
    journal.append(
        JournalEntry(command="enforce", action="enforce", outcome="ok", run_id="pass",
                     after={"finding_ids": ["x"], "checkpoint": state.checkpoint()})
    )  # fmt: skip


def prepare(journal: Journal) -> None:
    """A window, then the checkpoint of a pass, then AFTER entries (one more window)."""
    _window(journal, "111111111111")
    _pass(journal)
    for i in range(AFTER - 1):
        journal.append(_entry(i))
    _window(journal, "222222222222")


def before(journal: Journal) -> Any:
    windows = journal.verified_entries(action=ACTION, outcome="ok")
    enforce = journal.list(action="enforce")
    return len(windows), len(enforce)


def after(journal: Journal) -> Any:
    return len(window_state(journal).windows), previous_ids(journal, "this-run")


def timed(label: str, journal: Journal, count: int) -> None:
    for name, run in (("whole journal", before), ("checkpoint", after)):
        best = float("inf")
        for _ in range(3):
            start = time.perf_counter()
            run(journal)
            best = min(best, time.perf_counter() - start)
        print(f"{label:9} {count:>7} prior entries  {name:13} {best * 1000:10.1f} ms (best of 3)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, nargs="*", default=[10000, 100000])
    parser.add_argument("--dynamodb", type=int, nargs="*", default=[])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for count in args.entries:
            path = Path(tmp) / f"j{count}.sqlite3"
            build_sqlite(path, count)
            with Journal(path) as journal:
                prepare(journal)
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
        for i in range(1, count + 1):
            journal.append(_entry(i))
        prepare(journal)
        timed("dynamodb", journal, count)


if __name__ == "__main__":
    main()
