"""run_over_accounts: order, the concurrency bound, exceptions as values, flat memory, Ctrl-C.

Also the progress helper the fan-out reports to.
"""

from __future__ import annotations

import io
import os
import random
import signal
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, overload

import pytest

from rootctl.errors import UsageError
from rootctl.fanout import DEFAULT_CONCURRENCY, WINDOW_PER_WORKER, run_over_accounts
from rootctl.progress import NoProgress, progress_for, should_show_progress
from rootctl.results import ErrorInfo


@dataclass(frozen=True)
class Result:
    item: int
    value: int | None = None
    error: ErrorInfo | None = None


def as_error(item: int, exc: BaseException) -> Result:
    return Result(item, error=ErrorInfo.from_exception(exc))


class InFlight:
    """Counts calls running at once and the maximum reached."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.now = 0
        self.max = 0
        self.started = 0
        self.finished = 0

    def __enter__(self) -> None:
        with self.lock:
            self.now += 1
            self.started += 1
            self.max = max(self.max, self.now)

    def __exit__(self, *exc: object) -> None:
        with self.lock:
            self.now -= 1
            self.finished += 1


class CountingSequence(Sequence[int]):
    """A sequence that counts how many items the fan-out has taken from it."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.taken = 0

    def __len__(self) -> int:
        return self.n

    @overload
    def __getitem__(self, index: int) -> int: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[int]: ...
    def __getitem__(self, index: int | slice) -> int | Sequence[int]:
        if isinstance(index, slice):
            raise TypeError("no slices")
        if index >= self.n:
            raise IndexError(index)
        self.taken += 1
        return index


def test_results_come_back_in_input_order() -> None:
    rng = random.Random(7)
    delays = [rng.uniform(0, 0.01) for _ in range(200)]

    def work(i: int) -> Result:
        time.sleep(delays[i])
        return Result(i, value=i * i)

    results = run_over_accounts(list(range(200)), work, on_exception=as_error, concurrency=8)
    assert [r.item for r in results] == list(range(200))
    assert [r.value for r in results] == [i * i for i in range(200)]


@pytest.mark.parametrize("concurrency", [1, 4, 16])
def test_concurrency_bound_is_respected_and_reached(concurrency: int) -> None:
    gauge = InFlight()

    def work(i: int) -> Result:
        with gauge:
            time.sleep(0.05)
        return Result(i, value=i)

    results = run_over_accounts(
        list(range(concurrency * 6)), work, on_exception=as_error, concurrency=concurrency
    )
    assert len(results) == concurrency * 6
    assert gauge.max == concurrency


def test_an_exception_becomes_that_items_result_and_the_run_goes_on() -> None:
    def work(i: int) -> Result:
        if i % 3 == 0:
            raise RuntimeError(f"boom {i}")
        return Result(i, value=i)

    seen: list[tuple[int, BaseException]] = []

    def on_exception(item: int, exc: BaseException) -> Result:
        seen.append((item, exc))
        return as_error(item, exc)

    results = run_over_accounts(list(range(30)), work, on_exception=on_exception, concurrency=4)
    assert len(results) == 30
    for r in results:
        if r.item % 3 == 0:
            assert r.error == ErrorInfo("RuntimeError", f"boom {r.item}")
        else:
            assert r.value == r.item and r.error is None
    assert sorted(item for item, _ in seen) == list(range(0, 30, 3))


def test_callbacks_run_on_the_calling_thread_once_per_item() -> None:
    caller = threading.get_ident()
    threads: set[int] = set()
    reported: list[int] = []

    class Counter:
        advanced = 0

        def advance(self, n: int = 1) -> None:
            threads.add(threading.get_ident())
            self.advanced += n

    def on_result(item: int, result: Result) -> None:
        threads.add(threading.get_ident())
        reported.append(result.item)

    progress = Counter()
    run_over_accounts(
        list(range(50)),
        lambda i: Result(i, value=i),
        on_exception=as_error,
        concurrency=8,
        on_result=on_result,
        progress=progress,
    )
    assert sorted(reported) == list(range(50))
    assert progress.advanced == 50
    assert threads == {caller}


@pytest.mark.parametrize("concurrency", [1, 3, 16])
def test_memory_window_never_more_than_two_per_worker_outstanding(concurrency: int) -> None:
    items = CountingSequence(2_000)
    settled = 0
    peak = 0

    def on_result(item: int, result: Result) -> None:
        nonlocal settled, peak
        peak = max(peak, items.taken - settled)
        settled += 1

    results = run_over_accounts(
        items,
        lambda i: Result(i, value=i),
        on_exception=as_error,
        concurrency=concurrency,
        on_result=on_result,
    )
    assert len(results) == 2_000
    assert items.taken == 2_000
    assert 0 < peak <= WINDOW_PER_WORKER * concurrency


def test_ten_thousand_items_keep_a_small_window() -> None:
    items = CountingSequence(10_000)
    outstanding: list[int] = []

    def on_result(item: int, result: Result) -> None:
        outstanding.append(items.taken - len(outstanding))

    results = run_over_accounts(
        items, lambda i: Result(i, value=i), on_exception=as_error, on_result=on_result
    )
    assert [r.item for r in results] == list(range(10_000))
    assert max(outstanding) <= WINDOW_PER_WORKER * DEFAULT_CONCURRENCY


def test_keyboard_interrupt_stops_new_work_lets_running_items_finish_and_reraises() -> None:
    gauge = InFlight()
    reported: list[int] = []

    def work(i: int) -> Result:
        with gauge:
            time.sleep(0.01)
        return Result(i, value=i)

    def on_result(item: int, result: Result) -> None:
        reported.append(item)
        if len(reported) == 5:
            raise KeyboardInterrupt  # as if Ctrl-C arrived while the caller handled a result

    with pytest.raises(KeyboardInterrupt):
        run_over_accounts(
            list(range(1_000)), work, on_exception=as_error, concurrency=4, on_result=on_result
        )
    # Nothing runs after the call returns, nothing started beyond the window, and every
    # item that did run was reported (so a journal would hold every change made).
    assert gauge.now == 0
    assert gauge.started == gauge.finished
    assert gauge.started <= 5 + WINDOW_PER_WORKER * 4
    assert len(reported) == gauge.finished
    time.sleep(0.05)
    assert gauge.started == gauge.finished  # and nothing started later either


@pytest.mark.skipif(
    threading.current_thread() is not threading.main_thread(), reason="needs the main thread"
)
def test_real_sigint_while_waiting_reraises_after_running_items_finish() -> None:
    gauge = InFlight()
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)

    def work(i: int) -> Result:
        with gauge:
            if i == 3:
                os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.05)
        return Result(i, value=i)

    try:
        with pytest.raises(KeyboardInterrupt):
            run_over_accounts(list(range(500)), work, on_exception=as_error, concurrency=4)
    finally:
        signal.signal(signal.SIGINT, previous)
    assert gauge.now == 0
    assert gauge.started == gauge.finished
    assert gauge.started < 500


def test_keyboard_interrupt_raised_inside_fn_is_not_an_account_error() -> None:
    def work(i: int) -> Result:
        if i == 2:
            raise KeyboardInterrupt
        return Result(i, value=i)

    with pytest.raises(KeyboardInterrupt):
        run_over_accounts(list(range(20)), work, on_exception=as_error, concurrency=2)


def test_a_failing_on_exception_is_the_callers_bug_and_propagates() -> None:
    def on_exception(item: int, exc: BaseException) -> Result:
        raise ValueError("bad handler")

    def work(i: int) -> Result:
        raise RuntimeError("boom")

    with pytest.raises(ValueError, match="bad handler"):
        run_over_accounts(list(range(10)), work, on_exception=on_exception, concurrency=2)


def test_empty_input_and_small_inputs() -> None:
    def never(i: int) -> Result:
        raise AssertionError("not called")

    assert run_over_accounts([], never, on_exception=as_error) == []
    assert run_over_accounts([1], lambda i: Result(i, value=i), on_exception=as_error) == [
        Result(1, value=1)
    ]


@pytest.mark.parametrize("concurrency", [0, -1, 10_000])
def test_concurrency_out_of_range_is_a_usage_error(concurrency: int) -> None:
    with pytest.raises(UsageError, match="--concurrency"):
        run_over_accounts([1], lambda i: i, on_exception=lambda i, e: i, concurrency=concurrency)


# -- progress ------------------------------------------------------------------------------------


class FakeStream(io.StringIO):
    def __init__(self, tty: bool) -> None:
        super().__init__()
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


@pytest.mark.parametrize(
    ("output", "tty", "shown"),
    [
        ("table", True, True),
        ("table", False, False),
        ("json", True, False),
        ("csv", True, False),
        ("JSON", True, False),
    ],
)
def test_should_show_progress(output: str, tty: bool, shown: bool) -> None:
    assert should_show_progress(output, FakeStream(tty)) is shown


def test_should_show_progress_defaults_to_stderr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stderr", FakeStream(False))
    assert should_show_progress("table") is False
    monkeypatch.setattr("sys.stderr", FakeStream(True))
    assert should_show_progress("table") is True


def test_disabled_progress_is_a_no_op() -> None:
    with progress_for(10, enabled=False, label="audit") as progress:
        assert isinstance(progress, NoProgress)
        progress.advance()
        progress.advance(3)


def test_enabled_progress_counts_to_total(capsys: pytest.CaptureFixture[str]) -> None:
    with progress_for(4, enabled=True, label="audit") as progress:
        run_over_accounts(
            list(range(4)),
            lambda i: Result(i, value=i),
            on_exception=as_error,
            progress=progress,
        )
        bar: Any = progress
        assert bar._progress.tasks[0].completed == 4
        assert bar._progress.tasks[0].description == "audit"
    assert capsys.readouterr().out == ""  # the bar never touches stdout
