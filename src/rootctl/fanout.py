"""Run a per-account function over many accounts with bounded concurrency.

Why 16 workers by default: every worker spends nearly all its time waiting on AWS (an
AssumeRoot round trip, then a handful of IAM/S3/SQS calls), so threads scale well until the
APIs' rate limits do. At ~1.5 s per account (one AssumeRoot, ~6 IAM reads), 16 workers audit
10,000 accounts in ~16 minutes at ~10 AssumeRoot and ~65 IAM calls per second: a moderate
rate (AWS publishes no limit for AssumeRoot, so this is a judgement, not a measured ceiling);
botocore's adaptive retries and the broker's backoff absorb the throttling that remains. Raise it with `--concurrency` on quiet organizations, lower it if a run
throttles.

Memory stays flat: at most `2 x workers` items are taken from the input and not yet settled,
so a 10,000-account run holds a few dozen pending items, not 10,000.

`fn` returns a result value (STYLE.md: results are values). If it raises anyway, the
exception becomes a value through `on_exception`, so one account never aborts a run.
`on_result` and `progress` run on the calling thread, in completion order: callers may
write to a journal or a sqlite connection from them without locks.

A `RunGate` stops a run that can no longer succeed: after `2 x concurrency` accounts in a row
failed on the endpoint (it is down: every account would pay the whole timeout budget), or when
the caller closes it (the journal cannot be written). No new account starts; the items not
started become values through `on_not_started` ("not attempted: REASON"), so the caller still
gets one result per account.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Generic, TypeVar, cast

from rootctl.errors import UsageError

if TYPE_CHECKING:
    from rootctl.progress import ProgressLike

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")

DEFAULT_CONCURRENCY = 16
MAX_CONCURRENCY = 256
# Items in flight (running or queued) per worker: enough to keep workers busy, small enough
# that memory does not grow with the number of accounts.
WINDOW_PER_WORKER = 2

# Consecutive endpoint failures that stop a run, per worker: the accounts in flight when the
# endpoint dies all fail (one wave); a second whole wave failing means it stays down.
BREAKER_WAVES = 2

_UNSET = object()


class RunGate(Generic[R]):
    """Whether new accounts may start: closed by a circuit breaker or by the caller.

    `endpoint_failed(result)` tells an account that failed on the endpoint; `limit` of them
    in a row (in completion order; any other result resets the count) close the gate.
    `check()` (optional) is polled for a run-level reason to stop (a broken journal).
    `close` may be called from any thread; the first reason wins. `on_close(reason)`
    (optional) hears that first reason once: a worker process tells its parent, which stops
    the other workers (rootctl.processes).
    """

    def __init__(
        self,
        limit: int,
        endpoint_failed: Callable[[R], bool],
        check: Callable[[], str | None] | None = None,
        on_close: Callable[[str], None] | None = None,
    ) -> None:
        if limit < 1:
            raise ValueError("a circuit breaker needs a limit of at least 1")
        self.limit = limit
        self._endpoint_failed = endpoint_failed
        self._check = check
        self._on_close = on_close
        self._consecutive = 0
        self._reason: str | None = None
        self._lock = threading.Lock()

    @classmethod
    def for_concurrency(
        cls,
        concurrency: int,
        endpoint_failed: Callable[[R], bool],
        check: Callable[[], str | None] | None = None,
        on_close: Callable[[str], None] | None = None,
    ) -> RunGate[R]:
        """The documented rule: `BREAKER_WAVES x concurrency` endpoint failures in a row."""
        return cls(BREAKER_WAVES * concurrency, endpoint_failed, check, on_close)

    @property
    def reason(self) -> str | None:
        """Why the run stopped (None while it goes on)."""
        if self._reason is None and self._check is not None:
            found = self._check()
            if found is not None:
                self.close(found)
        return self._reason

    @property
    def closed(self) -> bool:
        return self.reason is not None

    def close(self, reason: str) -> None:
        with self._lock:
            if self._reason is not None:
                return
            self._reason = reason
        if self._on_close is not None:
            self._on_close(reason)

    def observe(self, result: R) -> None:
        """Count one settled account (calling thread only)."""
        if not self._endpoint_failed(result):
            self._consecutive = 0
            return
        self._consecutive += 1
        if self._consecutive >= self.limit:
            self.close(
                f"endpoint unavailable ({self._consecutive} accounts in a row could not reach it)"
            )


class _NotStarted(Exception):
    """A worker's answer for an item it took after the gate closed."""


def check_concurrency(concurrency: int) -> int:
    """`--concurrency` must be 1..MAX_CONCURRENCY."""
    if not 1 <= concurrency <= MAX_CONCURRENCY:
        raise UsageError(
            f"--concurrency must be between 1 and {MAX_CONCURRENCY} (got {concurrency}); "
            f"the default is {DEFAULT_CONCURRENCY}"
        )
    return concurrency


def run_over_accounts(
    accounts: Sequence[T],
    fn: Callable[[T], R],
    *,
    on_exception: Callable[[T, BaseException], R],
    concurrency: int = DEFAULT_CONCURRENCY,
    on_result: Callable[[T, R], None] | None = None,
    progress: ProgressLike | None = None,
    gate: RunGate[R] | None = None,
    on_not_started: Callable[[T, str], R] | None = None,
) -> list[R]:
    """Call `fn(item)` for every item on a bounded thread pool; results in input order.

    On KeyboardInterrupt no new item starts; items already running finish (their results
    still reach `on_result`, so the journal records every change made), then the interrupt
    is re-raised. An error raised by `on_exception` or `on_result` stops the run the same
    way: those are the caller's bugs, not an account's.

    With a `gate`, a closed gate starts nothing more: every item not started (queued or never
    taken) gets `on_not_started(item, gate.reason)` and reaches `on_result` and `progress`
    like the others.
    """
    check_concurrency(concurrency)
    if gate is not None and on_not_started is None:
        raise ValueError("a gate needs on_not_started")
    total = len(accounts)
    if total == 0:
        return []
    workers = min(concurrency, total)
    window = workers * WINDOW_PER_WORKER
    results: list[object] = [_UNSET] * total

    def settle(outcome: _Outcome[T, R]) -> None:
        index, item, value, error = outcome
        if isinstance(error, _NotStarted):
            assert gate is not None and on_not_started is not None
            value = on_not_started(item, gate.reason or "the run stopped")
        else:
            if error is not None:
                if not isinstance(error, Exception):  # KeyboardInterrupt, SystemExit inside fn
                    raise error
                value = on_exception(item, error)
            if gate is not None:
                gate.observe(cast(R, value))
        results[index] = value
        if on_result is not None:
            on_result(item, cast(R, value))
        if progress is not None:
            progress.advance(1)

    pool = _Pool(fn, gate)
    items = iter(enumerate(accounts))
    outstanding = 0
    try:
        pool.start(workers)
        while True:
            while outstanding < window and not (gate is not None and gate.closed):
                step = next(items, None)
                if step is None:
                    break
                pool.tasks.put(step)
                outstanding += 1
            if outstanding == 0:
                break
            outcome = pool.done.get()
            outstanding -= 1
            settle(outcome)
        for index, item in items:  # the gate closed: what never started
            settle((index, item, None, _NotStarted()))
    except BaseException:
        pool.stop()
        pool.collect(settle)
        raise
    pool.stop()
    return cast(list[R], results)


# (index, item, value, error): what a worker hands back for one item.
_Outcome = tuple[int, T, R | None, BaseException | None]


class _Pool(Generic[T, R]):
    """Worker threads fed from a queue the calling thread keeps short.

    Hand-rolled instead of ThreadPoolExecutor because of Ctrl-C: the interrupt lands in the
    calling thread at any bytecode, even half-way through `executor.submit` (a worker
    started but not yet tracked). Here every worker is tracked before it starts and every
    finished item goes to `done`, so after an interrupt `stop` + `collect` account for all
    items that ran, whatever the calling thread was doing when the interrupt hit.
    """

    def __init__(self, fn: Callable[[T], R], gate: RunGate[R] | None = None) -> None:
        self.fn = fn
        self.gate = gate
        self.tasks: queue.SimpleQueue[tuple[int, T] | None] = queue.SimpleQueue()
        self.done: queue.SimpleQueue[_Outcome[T, R]] = queue.SimpleQueue()
        self.stopping = threading.Event()
        self.threads: list[threading.Thread] = []

    def start(self, workers: int) -> None:
        for n in range(workers):
            thread = threading.Thread(target=self._work, name=f"rootctl-fanout-{n}")
            self.threads.append(thread)
            thread.start()

    def _work(self) -> None:
        while True:
            task = self.tasks.get()
            if task is None or self.stopping.is_set():
                return
            index, item = task
            if self.gate is not None and self.gate.closed:
                self.done.put((index, item, None, _NotStarted()))
                continue
            try:
                outcome: _Outcome[T, R] = (index, item, self.fn(item), None)
            except BaseException as exc:  # noqa: BLE001 - handed to the calling thread, not lost
                outcome = (index, item, None, exc)
            self.done.put(outcome)

    def stop(self) -> None:
        """No new item starts; wait for running ones. A second Ctrl-C stops the wait."""
        self.stopping.set()
        for _ in self.threads:
            self.tasks.put(None)
        for thread in self.threads:
            if thread.ident is not None:
                thread.join()

    def collect(self, settle: Callable[[_Outcome[T, R]], None]) -> None:
        """Settle the items that finished but were not yet handed to the caller."""
        while True:
            try:
                outcome = self.done.get_nowait()
            except queue.Empty:
                return
            if outcome[3] is not None and not isinstance(outcome[3], Exception):
                continue  # an interrupt raised inside fn: the run is already stopping
            try:
                settle(outcome)
            except Exception:
                # The error being raised already stops the run; report this one, keep going.
                log.exception("fan-out: while stopping, handling item %d failed", outcome[0])
