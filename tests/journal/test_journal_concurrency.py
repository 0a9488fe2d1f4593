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


def _process_worker(path: str, name: str, count: int, start: float) -> None:
    # Both processes start together so their appends interleave.
    while time.time() < start:
        time.sleep(0.001)

    def append(i: int) -> None:
        journal.append(_entry(name, i))
        time.sleep(0.002)  # like a worker between AWS calls: the other process gets its turn

    with Journal(path) as journal, ThreadPoolExecutor(4) as pool:
        list(pool.map(append, range(count)))


def test_two_processes_appending_concurrently_keep_one_chain(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    count = 300
    Journal(path).close()  # as after any earlier run: the race to create the file is another test
    context = multiprocessing.get_context("spawn")
    start = time.time() + 1.5  # after both interpreters have imported rootctl
    workers = [
        context.Process(target=_process_worker, args=(str(path), name, count, start))
        for name in ("p1", "p2")
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
        assert worker.exitcode == 0
    _assert_whole(path, 2 * count)
    with Journal(path, create=False) as journal:
        runs = [e.run_id for e in journal.list()]
    # the two writers really overlapped: their entries alternate somewhere in the chain
    assert sum(1 for a, b in pairwise(runs) if a != b) > 1


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
