"""`--processes N`: one audit or deletion run spread over worker processes.

Why: every client thread of one process shares one interpreter lock, so rootctl's CPU per
call (~1.6 ms) caps one process near 600 calls/s whatever the latency
(docs/performance.md). Workers have their own interpreter, threads, clients and broker.

What stays in the parent, and why:

- **The journal.** Workers never open it. Every entry a worker would write (a session it
  opened, an AssumeRoot that failed, a deletion step) travels over its pipe; the parent
  appends it with the run's one `Recorder` and answers. One writer: the hash chain stays
  linear, one run id, one operator.
- **A session is journaled before its first use**, as in one process: the worker's broker
  calls `on_session_opened`, which waits for the parent's answer; an error answer raises
  `JournalError`, so the broker drops the session unused.
- **No secret crosses.** Each worker resolves the operator's credentials itself (the same
  profile, environment and SSO cache as the parent) and calls AssumeRoot itself; the root
  session's keys never leave the worker that opened it. The pipe carries accounts, plans,
  results and journal entries (access key ids and expirations, never a secret or token).
- **Results.** Each worker streams its accounts' results; the parent puts them in input
  order, calls `on_result` and advances the progress bar (one bar for the whole run).
- **Stopping.** A worker's circuit breaker (or a broken journal, or an operator error)
  stops every worker: the parent forwards the first reason, and the accounts not started
  become "not attempted: REASON" as in one process. Ctrl-C reaches the parent only (workers
  ignore SIGINT): it stops the workers, waits for what is running (so every change made is
  journaled), then raises KeyboardInterrupt; a second Ctrl-C stops waiting.
- **One failed worker never aborts the run.** A worker that dies (killed, out of memory)
  leaves its unfinished accounts as `WorkerFailed` errors; what it did is journaled, so
  a re-run of delete-credentials resumes as after any interruption.

Accounts are dealt round-robin (account i to worker i mod N): audits cost about the same per
account, so static shares balance, and no per-account round trip to the parent is needed.
Workers start with multiprocessing's "spawn" method (a fresh interpreter: forking a process
that already runs threads is unsafe).
"""

from __future__ import annotations

import contextlib
import itertools
import os
import signal
import threading
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final, Literal, TypeVar, cast

from rootctl.errors import RootctlError, UsageError
from rootctl.journal.record import Recorder
from rootctl.journal.store import JournalError
from rootctl.text import clean

if TYPE_CHECKING:
    from multiprocessing.connection import Connection
    from multiprocessing.process import BaseProcess

    from rootctl.credentials.delete import AccountDeletion
    from rootctl.credentials.models import AccountAudit, AuditReport
    from rootctl.credentials.plan import DeletionPlan
    from rootctl.journal.model import StoredEntry
    from rootctl.org.selection import Selection
    from rootctl.progress import ProgressLike
    from rootctl.results import Account
    from rootctl.run import RunContext
    from rootctl.tasks import Task

T = TypeVar("T")
R = TypeVar("R")

AUTO: Final = "auto"
DEFAULT_PROCESSES = 1
# Worker processes per CPU at most: beyond a few per core they only add start-up and memory.
MAX_PER_CPU = 4
# `auto`: one worker per this many accounts, at most one per CPU (a worker costs ~0.4 s of CPU
# to start and ~60 MB: not worth it for a few hundred accounts).
ACCOUNTS_PER_PROCESS = 250
# The error code of an account whose worker process ended before its result.
WORKER_FAILED = "WorkerFailed"
# How often (s) the parent looks at a Ctrl-C while waiting for its workers.
_POLL_SECONDS = 0.2

Job = Literal["audit", "delete"]
Processes = int | Literal["auto"]


def max_processes() -> int:
    return (os.cpu_count() or 1) * MAX_PER_CPU


def check_processes(value: object) -> Processes:
    """`auto` or a whole number 1..MAX_PER_CPU x CPUs (UsageError otherwise, before any AWS
    call). None means the default, 1: everything in this process, as before the option."""
    if value is None:
        return DEFAULT_PROCESSES
    top = max_processes()
    if isinstance(value, str):
        text = value.strip().lower()
        if text == AUTO:
            return AUTO
        number = int(text) if text.isascii() and text.isdigit() else None
    elif isinstance(value, int) and not isinstance(value, bool):
        number = value
    else:
        number = None
    if number is None or not 1 <= number <= top:
        shown = clean(value if len(str(value)) <= 40 else f"{str(value)[:40]}...")
        raise UsageError(
            f"--processes must be auto or a whole number from 1 to {top} "
            f"({MAX_PER_CPU} per CPU; got {shown}); the default is {DEFAULT_PROCESSES}"
        )
    return number


def resolve_processes(value: object, accounts: int) -> int:
    """How many workers a run of `accounts` gets: never more than accounts; 1 = in-process."""
    checked = check_processes(value)
    if checked == AUTO:
        wanted = min(os.cpu_count() or 1, accounts // ACCOUNTS_PER_PROCESS)
    else:
        wanted = checked
    return max(1, min(wanted, accounts))


# -- the facade's two entry points ---------------------------------------------------------------


def audit(
    run: RunContext,
    selection: Selection,
    processes: object,
    progress: ProgressLike | None = None,
    on_result: Callable[[Account, AccountAudit], None] | None = None,
) -> AuditReport:
    """`run.audit(selection)` over `processes` workers (in this process when it resolves to 1)."""
    workers = resolve_processes(processes, len(selection.targets))
    if workers == 1:
        return run.audit(selection, progress, on_result)
    from rootctl.credentials.audit import audit_report, error_audit
    from rootctl.results import ErrorInfo

    generated_at = datetime.now(UTC)
    organization_id = run.inventory.organization_id
    operator = run.operator
    audits = fan_out(
        run,
        "audit",
        selection.targets,
        workers,
        on_result=on_result,
        progress=progress,
        lost=lambda account, why: error_audit(account, ErrorInfo(WORKER_FAILED, why)),
    )
    return audit_report(
        audits,
        selection,
        organization_id=organization_id,
        operator=operator,
        generated_at=generated_at,
    )


def delete(
    run: RunContext,
    plan: DeletionPlan,
    processes: object,
    progress: ProgressLike | None = None,
) -> list[AccountDeletion]:
    """`delete_planned` over `processes` workers: the plans are journaled here first."""
    from rootctl.credentials.delete import AccountDeletion, delete_planned, record_plans
    from rootctl.results import ErrorInfo

    workers = resolve_processes(processes, len(plan.changes))
    if workers == 1:
        return delete_planned(
            run.broker, plan, run.recorder, concurrency=run.concurrency, progress=progress
        )
    record_plans(plan, run.recorder)
    return fan_out(
        run,
        "delete",
        plan.changes,
        workers,
        progress=progress,
        # What the worker did before it died is journaled; a re-run re-audits and resumes.
        lost=lambda account, why: AccountDeletion(
            account, "error", error=ErrorInfo(WORKER_FAILED, why)
        ),
    )


# -- the parent ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WorkerSpec:
    """Everything a worker needs (pickled to it at start): no secret, no journal."""

    number: int
    job: Job
    command: str
    profile: str | None
    region: str
    concurrency: int
    duration_seconds: int
    refresh_margin_seconds: int
    items: tuple[tuple[int, Any], ...]


@dataclass
class _Worker:
    spec: WorkerSpec
    process: BaseProcess
    conn: Connection
    done: bool = False


class _Parent:
    """The one writer: journals for the workers, collects results, forwards stops."""

    def __init__(self, run: RunContext, total: int) -> None:
        self.recorder = run.recorder
        self.results: list[object] = [_UNSET] * total
        self.workers: dict[Connection, _Worker] = {}
        self.stopped: str | None = None
        self.journal_broken = False
        self.raised: BaseException | None = None
        self.interrupts = 0

    def send(self, worker: _Worker, message: tuple[Any, ...]) -> None:
        # A worker that is gone is handled when its pipe closes.
        with contextlib.suppress(OSError, ValueError):
            worker.conn.send(message)

    def stop(self, reason: str) -> None:
        """Stop every worker (the first reason wins)."""
        if self.stopped is not None:
            return
        self.stopped = reason
        for worker in self.workers.values():
            self.send(worker, ("stop", reason))

    def journal(self, worker: _Worker, request: int, entry: dict[str, Any]) -> None:
        try:
            stored: StoredEntry | None = self.recorder.append(**entry)
            error = None
        except JournalError as exc:
            stored, error = None, str(exc)
        self.send(worker, ("ack", request, stored, error))
        failure = self.recorder.failure
        if failure is not None and not self.journal_broken:
            self.journal_broken = True
            for other in self.workers.values():
                self.send(other, ("journal-failed", str(failure)))
            self.stop(f"journal unavailable: {failure}")


_UNSET: Final = object()


def fan_out(
    run: RunContext,
    job: Job,
    items: Sequence[T],
    processes: int,
    *,
    lost: Callable[[T, str], R],
    on_result: Callable[[T, R], None] | None = None,
    progress: ProgressLike | None = None,
) -> list[R]:
    """Run `job` over `items` in `processes` workers; one result per item, in input order.

    Each worker makes its own "not attempted" results when the run stops (its gate); `lost`
    makes the result of an item whose worker ended before answering for it.
    """
    import multiprocessing
    from multiprocessing.connection import wait

    context = multiprocessing.get_context("spawn")
    parent = _Parent(run, len(items))
    broker = run.broker  # its settings; the parent's broker opens no session here
    numbered = list(enumerate(items))
    previous = _catch_interrupts(parent)
    try:
        for number in range(processes):
            spec = WorkerSpec(
                number=number,
                job=job,
                command=run.command,
                profile=run.factory.profile,
                region=run.factory.region,
                concurrency=run.concurrency,
                duration_seconds=broker.duration_seconds,
                refresh_margin_seconds=broker.refresh_margin_seconds,
                items=tuple(numbered[number::processes]),
            )
            ours, theirs = context.Pipe(duplex=True)
            process = context.Process(
                target=worker_main,
                args=(theirs, spec),
                name=f"rootctl-worker-{number}",
                daemon=True,
            )
            process.start()
            theirs.close()
            parent.workers[ours] = _Worker(spec, process, ours)
            if parent.stopped is not None:  # Ctrl-C while starting
                parent.send(parent.workers[ours], ("stop", parent.stopped))
        live = dict(parent.workers)
        while live:
            if parent.interrupts:
                parent.stop("interrupted")
            for ready in wait(list(live), timeout=_POLL_SECONDS):
                conn = cast("Connection", ready)
                worker = live[conn]
                try:
                    message = conn.recv()
                except (EOFError, OSError):
                    del live[conn]
                    continue
                if _handle(parent, worker, message, items, on_result, progress):
                    del live[conn]
    except BaseException:
        for worker in parent.workers.values():
            worker.process.terminate()
        raise
    finally:
        _restore_interrupts(previous)
        for worker in parent.workers.values():
            worker.process.join()
            worker.conn.close()
    if parent.raised is not None:
        raise parent.raised
    for worker in parent.workers.values():
        code = worker.process.exitcode
        for index, item in worker.spec.items:
            if parent.results[index] is _UNSET:
                why = (
                    f"worker process {worker.spec.number} ended (exit code {code}) before "
                    "this account's result: run the command again"
                )
                _settle(parent, index, item, lost(item, why), on_result, progress)
    if parent.interrupts:
        raise KeyboardInterrupt
    return cast(list[R], parent.results)


def _handle(
    parent: _Parent,
    worker: _Worker,
    message: tuple[Any, ...],
    items: Sequence[Any],
    on_result: Callable[[Any, Any], None] | None,
    progress: ProgressLike | None,
) -> bool:
    """One message of a worker; True when that worker has finished."""
    kind = message[0]
    if kind == "journal":
        parent.journal(worker, message[1], message[2])
    elif kind == "result":
        index, value = message[1], message[2]
        try:
            _settle(parent, index, items[index], value, on_result, progress)
        except Exception as exc:  # noqa: BLE001 - the caller's on_result: stop, raise at the end
            if parent.raised is None:
                parent.raised = exc
            parent.stop("the run stopped on an error")
    elif kind == "unjournaled":
        parent.recorder.note_unjournaled(message[1])
    elif kind == "closed":
        parent.stop(message[1])
    elif kind == "raised":
        if parent.raised is None:
            parent.raised = message[1]
        parent.stop(str(message[1]) or type(message[1]).__name__)
    elif kind == "done":
        worker.done = True
        return True
    return False


def _settle(
    parent: _Parent,
    index: int,
    item: Any,
    value: Any,
    on_result: Callable[[Any, Any], None] | None,
    progress: ProgressLike | None,
) -> None:
    parent.results[index] = value
    if on_result is not None:
        on_result(item, value)
    if progress is not None:
        progress.advance(1)


def _catch_interrupts(parent: _Parent) -> Any:
    """First Ctrl-C: stop the workers and wait for them; second: stop waiting. Only the main
    thread can take signals; elsewhere Ctrl-C keeps Python's default (KeyboardInterrupt).

    A SIGINT this process was started ignoring stays ignored (a background job of a
    non-interactive shell, `nohup`): Python keeps that disposition for a one-process run, and
    a run with workers must not answer a Ctrl-C that the same run without them ignores."""
    if threading.current_thread() is not threading.main_thread():
        return None
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        return None

    def interrupted(signum: int, frame: object) -> None:
        parent.interrupts += 1
        if parent.interrupts > 1:
            raise KeyboardInterrupt

    return signal.signal(signal.SIGINT, interrupted)


def _restore_interrupts(previous: Any) -> None:
    if previous is not None:
        signal.signal(signal.SIGINT, previous)


# -- the worker ----------------------------------------------------------------------------------


class _Reply:
    __slots__ = ("done", "entry", "error")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.entry: StoredEntry | None = None
        self.error: str | None = None


class _Link:
    """The worker's end of its pipe: many sending threads, one listening thread."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self._send_lock = threading.Lock()
        self._lock = threading.Lock()
        self._pending: dict[int, _Reply] = {}
        self._ids = itertools.count()
        self.stop_reason: str | None = None
        self.gone = False
        self.on_journal_failed: Callable[[str], None] | None = None

    def send(self, message: tuple[Any, ...]) -> bool:
        try:
            with self._send_lock:
                self.conn.send(message)
        except (OSError, ValueError):
            return False
        return True

    def journal(self, entry: dict[str, Any]) -> StoredEntry:
        """Ask the parent to append `entry`; wait for its answer (JournalError on failure)."""
        reply = _Reply()
        request = next(self._ids)
        with self._lock:
            if self.gone:
                raise JournalError("journal unavailable: the rootctl parent process ended")
            self._pending[request] = reply
        if not self.send(("journal", request, entry)):
            with self._lock:
                self._pending.pop(request, None)
            raise JournalError("journal unavailable: the rootctl parent process ended")
        reply.done.wait()
        if reply.error is not None:
            raise JournalError(reply.error)
        assert reply.entry is not None
        return reply.entry

    def closed(self, reason: str) -> None:
        """The worker's gate closed: tell the parent (unless the parent said so first)."""
        if reason != self.stop_reason:
            self.send(("closed", reason))

    def listen(self) -> None:
        while True:
            try:
                message = self.conn.recv()
            except (EOFError, OSError):
                self._parent_gone()
                return
            kind = message[0]
            if kind == "ack":
                with self._lock:
                    reply = self._pending.pop(message[1], None)
                if reply is not None:
                    reply.entry, reply.error = message[2], message[3]
                    reply.done.set()
            elif kind == "stop":
                if self.stop_reason is None:
                    self.stop_reason = message[1]
            elif kind == "journal-failed" and self.on_journal_failed is not None:
                self.on_journal_failed(message[1])

    def _parent_gone(self) -> None:
        if self.stop_reason is None:
            self.stop_reason = "the rootctl parent process ended"
        with self._lock:
            self.gone = True
            pending, self._pending = self._pending, {}
        for reply in pending.values():
            reply.error = "journal unavailable: the rootctl parent process ended"
            reply.done.set()


class RemoteRecorder(Recorder):
    """A worker's recorder: every entry is appended by the parent (`_Link.journal`).

    The rest is `Recorder`'s own code (session entries, failure, unjournaled notes), so a
    worker journals exactly what one process would. Notes of what could not be journaled go
    to the parent's recorder too, for the run's report.
    """

    def __init__(self, link: _Link, command: str) -> None:
        from rootctl.results import iso

        super().__init__(
            journal=cast(Any, None), command=command, operator="", format_expiration=iso
        )
        self.link = link
        link.on_journal_failed = self.journal_failed

    def append(
        self,
        action: str,
        outcome: str,
        *,
        account_id: str | None = None,
        task: Task | None = None,
        target: str | None = None,
        before: Any = None,
        after: Any = None,
        error: str | None = None,
    ) -> StoredEntry:
        entry = {
            "action": action,
            "outcome": outcome,
            "account_id": account_id,
            "task": task,
            "target": target,
            "before": before,
            "after": after,
            "error": error,
        }
        try:
            return self.link.journal(entry)
        except JournalError as exc:
            raise self._failed(exc) from exc

    def note_unjournaled(self, what: str) -> None:
        super().note_unjournaled(what)
        self.link.send(("unjournaled", what))

    def journal_failed(self, message: str) -> None:
        """The parent's journal broke (in another worker's entry, say): no more changes here."""
        self._failed(JournalError(message))


def worker_main(conn: Connection, spec: WorkerSpec) -> None:
    """A worker process: run the job over its share, stream results, then say done."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    link = _Link(conn)
    threading.Thread(target=link.listen, name="rootctl-worker-link", daemon=True).start()
    try:
        _run_job(link, spec)
    except BaseException as exc:  # noqa: BLE001 - handed to the parent, which raises it
        link.send(("raised", _portable(exc)))
    else:
        link.send(("done",))


def _run_job(link: _Link, spec: WorkerSpec) -> None:
    from rootctl.aws import RootSessionBroker
    from rootctl.aws.session import SessionFactory
    from rootctl.credentials.audit import audit_targets, endpoint_failed
    from rootctl.credentials.delete import delete_accounts
    from rootctl.fanout import RunGate

    factory = SessionFactory(spec.profile, spec.region, concurrency=spec.concurrency)
    recorder = RemoteRecorder(link, spec.command)
    broker = RootSessionBroker(
        factory,
        duration_seconds=spec.duration_seconds,
        refresh_margin_seconds=spec.refresh_margin_seconds,
        on_session_opened=recorder.session_opened,
        on_session_failed=lambda account, task, error: _discard(
            recorder.session_failed(account, task, error)
        ),
    )
    index = {id(item): number for number, item in spec.items}
    items = [item for _, item in spec.items]

    def on_result(item: Any, value: Any) -> None:
        link.send(("result", index[id(item)], value))

    def check() -> str | None:
        return link.stop_reason or recorder.problem()

    gate: RunGate[Any] = RunGate.for_concurrency(
        spec.concurrency,
        lambda result: endpoint_failed(result.error),
        check=check,
        on_close=link.closed,
    )
    if spec.job == "audit":
        audit_targets(broker, items, concurrency=spec.concurrency, on_result=on_result, gate=gate)
    else:
        delete_accounts(
            broker,
            items,
            recorder,
            concurrency=spec.concurrency,
            on_result=on_result,
            gate=gate,
        )


def _discard(value: object) -> None:
    del value


def _portable(exc: BaseException) -> BaseException:
    """`exc` as the parent can unpickle it: a rootctl error as it is (one line for the user);
    anything else (a bug) keeps the worker's traceback as a note."""
    import pickle

    if not isinstance(exc, RootctlError):
        exc.add_note("in a rootctl worker process:\n" + "".join(traceback.format_exception(exc)))
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:  # noqa: BLE001 - an exception that does not pickle travels as text
        return RuntimeError(
            f"{type(exc).__name__}: {exc}\n{''.join(getattr(exc, '__notes__', []))}"
        )
    return exc
