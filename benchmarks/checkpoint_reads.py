"""The two reads issue 15's remainder bounded: unfinished deletion steps and the watch cursor.

    .venv/bin/python benchmarks/checkpoint_reads.py --entries 10000 100000

Before: the whole journal, verified (`verified_entries(command="delete-credentials")` then the
plan/done/failed fold; `verified_entries(action="watch-cursor")`), the code before the change,
copied here. After: `unfinished_steps` and `last_cursor` (from the head down to the newest
checkpoint; rootctl.enforce.checkpoint). The journal holds N prior delete-credentials entries
(a plan of one access key, then its deletion, for 50,000 accounts in turn), an interrupted
plan and a watch cursor among the first, then a pass's checkpoint and 100 entries after it:
the cursor read goes all the way down to the checkpoint (no cursor after it), its worst case.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import verify_anchor
from verify_anchor import build_sqlite

from rootctl.credentials.resume import _steps, unfinished_steps
from rootctl.enforce.watch import CURSOR_ACTION, last_cursor
from rootctl.enforce.windows import window_state
from rootctl.journal import Journal, JournalEntry
from rootctl.results import iso

AFTER = 100
ACCOUNT = "111111111111"


def _prior(i: int) -> JournalEntry:
    """Entry i of the journal: a plan of one key (even), then its deletion (odd)."""
    account = f"{100000000000 + (i // 2) % 50000:012d}"
    key = f"AKIA{i // 2:016d}"
    if i % 2 == 0:
        step = {"action": "delete-access-key", "kind": "access-keys", "target": key, "before": {}}
        return JournalEntry(
            command="delete-credentials", action="plan", outcome="planned", account_id=account,
            before={"account_id": account, "steps": [step], "kept": [], "reconciled": []},
            run_id=f"run-{i // 500}",
        )  # fmt: skip
    return JournalEntry(
        command="delete-credentials", action="delete-access-key", outcome="ok",
        account_id=account, target=key, after={"deleted": True}, run_id=f"run-{i // 500}",
    )  # fmt: skip


def prepare(journal: Journal) -> None:
    """An interrupted plan and a cursor, a pass's checkpoint, AFTER entries."""
    step = {"action": "delete-login-profile", "kind": "password", "target": "login-profile",
            "before": {}}  # fmt: skip
    journal.append(
        JournalEntry(command="delete-credentials", action="plan", outcome="planned",
                     account_id=ACCOUNT, before={"steps": [step]}, run_id="killed")
    )  # fmt: skip
    journal.append(
        JournalEntry(command="watch", action=CURSOR_ACTION, outcome="ok", run_id="watch",
                     after={"until": iso(datetime.now(UTC)), "recent": ["ev-1"]})
    )  # fmt: skip
    state = window_state(journal)
    journal.append(
        JournalEntry(command="enforce", action="enforce", outcome="ok", run_id="pass",
                     after={"finding_ids": [], "checkpoint": state.checkpoint()})
    )  # fmt: skip
    for i in range(AFTER):
        journal.append(_prior(i))


def before_steps(journal: Journal) -> Any:
    wanted = {ACCOUNT}
    entries = [
        e for e in journal.verified_entries(command="delete-credentials") if e.account_id in wanted
    ]
    planned: dict[Any, Any] = {}
    for entry in entries:
        if entry.action == "plan" and isinstance(entry.before, dict):
            for step in _steps(entry):
                planned[(entry.account_id, step.action, step.target)] = (entry.id, step)
    done: dict[Any, int] = {}
    failed: dict[Any, Any] = {}
    for entry in entries:
        if entry.target is not None and entry.outcome in ("ok", "error"):
            key = (entry.account_id, entry.action, entry.target)
            if entry.outcome == "ok":
                done[key] = entry.id
            else:
                failed[key] = (entry.id, entry.error)
    pending = []
    for key, (plan_id, step) in planned.items():
        if plan_id > done.get(key, 0):
            error_id, error = failed.get(key, (0, None))
            if error_id > plan_id:
                step = replace(step, failed_call=f"journal entry {error_id}: {error}")
            pending.append(step)
    return len(pending)


def before_cursor(journal: Journal) -> Any:
    return len(journal.verified_entries(action=CURSOR_ACTION, outcome="ok"))


def after_steps(journal: Journal) -> Any:
    return len(unfinished_steps(journal, [ACCOUNT]).get(ACCOUNT, ()))


def after_cursor(journal: Journal) -> Any:
    return last_cursor(journal)


def timed(journal: Journal, count: int) -> None:
    assert before_steps(journal) == after_steps(journal) == 1
    assert after_cursor(journal) is not None
    for name, run in (
        ("unfinished steps, whole journal", before_steps),
        ("unfinished steps, checkpoint", after_steps),
        ("watch cursor, whole journal", before_cursor),
        ("watch cursor, checkpoint", after_cursor),
    ):
        best = float("inf")
        for _ in range(3):
            start = time.perf_counter()
            run(journal)
            best = min(best, time.perf_counter() - start)
        print(f"sqlite {count:>7} prior entries  {name:32} {best * 1000:10.1f} ms (best of 3)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, nargs="*", default=[10000, 100000])
    args = parser.parse_args()
    verify_anchor._entry = _prior  # type: ignore[assignment]  # the prior entries built fast
    with tempfile.TemporaryDirectory() as tmp:
        for count in args.entries:
            path = Path(tmp) / f"j{count}.sqlite3"
            build_sqlite(path, count)
            with Journal(path) as journal:
                prepare(journal)
                timed(journal, count)


if __name__ == "__main__":
    main()
