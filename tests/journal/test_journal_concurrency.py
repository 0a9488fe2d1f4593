"""Many threads and several processes append to one journal; a killed process leaves it whole."""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest

from rootctl.journal import Journal, JournalEntry

THREADS = 8
PER_THREAD = 200


def _entry(worker: str, i: int) -> JournalEntry:
    return JournalEntry(
        command="delete-credentials",
        action="delete-access-key",
        outcome="ok",
        account_id=f"{100000000000 + i:012d}",
        target=f"{worker}-{i}",
        before={"AccessKeys": [{"AccessKeyId": f"AKIA{i:016d}", "Status": "Active"}]},
        run_id=worker,
    )


def _assert_whole(path: Path, expected: int) -> None:
    with Journal(path, create=False) as journal:
        result = journal.verify()
        assert result.ok, result.problem
        assert result.entries == expected
        entries = journal.list()
    assert [e.id for e in entries] == list(range(1, expected + 1))
    assert all(a.time <= b.time for a, b in pairwise(entries))
    assert len({e.target for e in entries}) == expected  # nothing lost, nothing doubled


def test_threads_appending_concurrently_keep_one_chain(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    with Journal(path) as journal:

        def work(worker: int) -> list[int]:
            return [journal.append(_entry(f"t{worker}", i)).id for i in range(PER_THREAD)]

        with ThreadPoolExecutor(THREADS) as pool:
            ids = [i for chunk in pool.map(work, range(THREADS)) for i in chunk]
    assert sorted(ids) == list(range(1, THREADS * PER_THREAD + 1))
    _assert_whole(path, THREADS * PER_THREAD)


def _lockstep_worker(path: str, name: str, rounds: int, barrier: Any) -> None:
    """One append per round; a round starts when every process has finished the last one.

    The barrier forces the overlap the test is about (both processes appending in every
    round) without relying on timing; which one wins each round is left to sqlite.
    """
    with Journal(path) as journal:
        for i in range(rounds):
            barrier.wait(timeout=120)
            journal.append(_entry(name, i))


def test_two_processes_appending_concurrently_keep_one_chain(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    rounds = 150
    names = ("p1", "p2")
    Journal(path).close()  # as after any earlier run: the race to create the file is another test
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(len(names))
    workers = [
        context.Process(target=_lockstep_worker, args=(str(path), name, rounds, barrier))
        for name in names
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=300)
        assert worker.exitcode == 0
    _assert_whole(path, len(names) * rounds)
    with Journal(path, create=False) as journal:
        runs = [e.run_id for e in journal.list()]
    # Round k's two appends are entries 2k+1 and 2k+2, in either order: one of each writer,
    # for any interleaving the scheduler picks.
    assert all(set(runs[i : i + 2]) == set(names) for i in range(0, len(runs), 2)), runs


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork on this platform")
def test_a_journal_inherited_across_fork_reconnects_in_the_child(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    with Journal(path) as journal:
        journal.append(_entry("parent", 0))

        def in_child() -> None:
            journal.append(_entry("child", 1))

        context = multiprocessing.get_context("fork")
        child = context.Process(target=in_child)
        child.start()
        child.join(timeout=60)
        assert child.exitcode == 0
        journal.append(_entry("parent", 2))
    _assert_whole(path, 3)


_KILLED_WRITER = textwrap.dedent(
    """
    import sys
    from concurrent.futures import ThreadPoolExecutor
    from rootctl.journal import Journal, JournalEntry

    journal = Journal(sys.argv[1])
    print("ready", flush=True)

    def forever(worker):
        i = 0
        while True:
            journal.append(JournalEntry(command="c", action="a", outcome="ok", target=f"{worker}-{i}",
                                        before={"padding": "x" * 2000}))
            i += 1

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(forever, range(4)))
    """
)


def _wait_for_more_entries(path: Path, timeout: float) -> None:
    """Until the writer has committed some entries since it started: then kill it mid-stream."""
    with Journal(path, create=False) as journal:
        start = len(journal.list())
        deadline = time.monotonic() + timeout
        while len(journal.list()) < start + 50:
            assert time.monotonic() < deadline, "the writer appended nothing"
            time.sleep(0.02)


def test_a_process_killed_mid_append_leaves_a_journal_that_verifies(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    for _ in range(3):
        writer = subprocess.Popen(
            [sys.executable, "-c", _KILLED_WRITER, str(path)], stdout=subprocess.PIPE, text=True
        )
        assert writer.stdout is not None
        assert writer.stdout.readline().strip() == "ready"
        _wait_for_more_entries(path, timeout=30)
        writer.send_signal(signal.SIGKILL)
        writer.wait(timeout=30)
        assert writer.returncode == -signal.SIGKILL
    with Journal(path, create=False) as journal:
        result = journal.verify()
        assert result.ok, result.problem
        assert result.entries > 0
        # the next run appends after whatever committed last
        assert (
            journal.append(JournalEntry(command="c", action="a", outcome="ok")).id
            == result.entries + 1
        )


def _create_and_append(path: str, name: str, start: float) -> None:
    while time.time() < start:
        time.sleep(0.001)
    with Journal(path) as journal:
        for i in range(50):
            journal.append(_entry(name, i))


def test_processes_racing_to_create_a_new_journal_agree(tmp_path: Path) -> None:
    path = tmp_path / "new" / "journal.sqlite3"
    context = multiprocessing.get_context("spawn")
    start = time.time() + 1.5
    names = ("p1", "p2", "p3", "p4")
    workers = [
        context.Process(target=_create_and_append, args=(str(path), name, start)) for name in names
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
        assert worker.exitcode == 0
    _assert_whole(path, 50 * len(names))
