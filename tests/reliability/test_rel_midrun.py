"""Honest results when the world fails mid-run (issue 12.6).

Two failures in the middle of `delete-credentials`, injected by count, never by time:

- the endpoint dies: the sandbox is stopped (`Sandbox.stop()`) once K accounts are done
  (counted by the progress callback the facade and the CLI call once per finished account).
  Every planned account still gets a result; the accounts after the stop fail on the
  endpoint until the circuit breaker (2 x concurrency in a row) stops the run, and the rest
  are "not attempted: endpoint unavailable". Exit 1 with one line, the JSON document
  written, every change the sandbox applied journaled, and a rerun (sandbox restarted)
  finishes the plan.
- the journal fills up: a `Journal` whose append raises OSError(ENOSPC) after N appends
  (the sandbox cannot fill a disk; this is the fault the brief names). No traceback, no new
  session after the failure, every change made either journaled or reported as not
  journaled, a session that could not be journaled never used, exit 1 with one line
  naming the journal problem.
"""

from __future__ import annotations

import errno
import json
import os
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from rootctl import connect
from rootctl.api import Rootctl
from rootctl.aws import RootSessionBroker, SessionFactory
from rootctl.credentials.delete import AccountDeletion, run_problem
from rootctl.journal import Journal, JournalEntry, Recorder, StoredEntry
from rootctl.sandbox import Sandbox
from rootctl.tasks import Task

from support import EXCEPTIONS_CONFIG, PAYMENTS_DEV, enabled_fixture

CHANGES = {
    "DeleteLoginProfile": "delete-login-profile",
    "DeleteAccessKey": "delete-access-key",
    "DeleteSigningCertificate": "delete-signing-certificate",
    "DeactivateMFADevice": "deactivate-mfa-device",
    "DeleteVirtualMFADevice": "delete-virtual-mfa-device",
}
ACCOUNTS = 50
SMALL_ACCOUNTS = 20
REASON = "OPS-12 mid-run failure"


def _org(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, accounts: int
) -> Iterator[tuple[Sandbox, Path]]:
    config = tmp_path / "rootctl.yaml"
    config.write_text(EXCEPTIONS_CONFIG)
    with Sandbox.start(enabled_fixture(), accounts=accounts, seed=12) as sb:
        for name in [k for k in os.environ if k.startswith(("AWS_", "ROOTCTL_"))]:
            monkeypatch.delenv(name)
        for name, value in sb.env().items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
        monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
        yield sb, config


@pytest.fixture
def org(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Sandbox, Path]]:
    """The sample plus 50 generated accounts (about 35 with something to delete), the
    config with two exceptions, the sandbox's environment in this process."""
    yield from _org(tmp_path, monkeypatch, ACCOUNTS)


@pytest.fixture
def small_org(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Sandbox, Path]]:
    """As `org` with 20 generated accounts: the full-disk tests stop within the first few
    accounts (at most 20 entries after the plans); a bigger plan only costs its audit."""
    yield from _org(tmp_path, monkeypatch, SMALL_ACCOUNTS)


# Generated accounts per concurrency (planned: 20 -> 15, 35 -> 23, 50 -> 33): the breaker
# opens after 2 x concurrency failures, so a bigger concurrency needs more accounts for some to
# be never attempted (the test asserts there are); a bigger organization only costs audits.
ACCOUNTS_FOR = {1: 20, 2: 35, 4: ACCOUNTS}


@pytest.fixture
def sized_org(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Sandbox, Path]]:
    """As `org`, with ACCOUNTS_FOR the test's `concurrency` parameter generated accounts."""
    concurrency = request.node.callspec.params["concurrency"]
    yield from _org(tmp_path, monkeypatch, ACCOUNTS_FOR[concurrency])


class StopAfter:
    """A progress display that stops the sandbox once `accounts` deletions are done."""

    def __init__(self, sb: Sandbox, accounts: int) -> None:
        self.sb = sb
        self.accounts = accounts
        self.done = 0

    def advance(self, n: int = 1) -> None:
        self.done += n
        if self.done == self.accounts:
            self.sb.stop()

    @contextmanager
    def factory(self, total: int, label: str) -> Iterator[Any]:
        yield self if label.startswith("Deleting") else _Quiet()


class _Quiet:
    def advance(self, n: int = 1) -> None:
        pass


def applied_changes(sb: Sandbox) -> Counter[tuple[str, str]]:
    """(account, step action) of every change call the sandbox applied."""
    return Counter(
        (c["account_id"], CHANGES[c["action"]])
        for c in sb.calls()
        if c["action"] in CHANGES and (c["status"] == 200 or c["applied_status"] == 200)
    )


def journaled_steps(journal: Path, *outcomes: str) -> Counter[tuple[str, str, str]]:
    """(account, step action, target) of the step entries with these outcomes."""
    with Journal(journal, create=False) as j:
        assert j.verify().ok
        return Counter(
            (e.account_id or "", e.action, e.target or "")
            for e in j.list()
            if e.action in CHANGES.values() and e.outcome in outcomes
        )


def per_action(steps: Counter[tuple[str, str, str]]) -> Counter[tuple[str, str]]:
    counts: Counter[tuple[str, str]] = Counter()
    for (account, action, _), n in steps.items():
        counts[account, action] += n
    return counts


# -- the endpoint dies -----------------------------------------------------------------------


def plan_and_delete(
    sb: Sandbox, config: Path, journal: Path | Journal, concurrency: int, stop_after: int | None
) -> tuple[Rootctl, Any, list[AccountDeletion]]:
    rc = connect(config=config, journal=journal, concurrency=concurrency)
    planned = rc.plan_deletion(reason=REASON)
    sb.reset_calls()  # the calls of the deletions only
    progress = StopAfter(sb, stop_after).factory if stop_after is not None else None
    done = rc.delete(planned, progress=progress)
    return rc, planned, list(done.results)


@pytest.mark.parametrize(
    ("concurrency", "stop_after"),
    [(1, 1), (1, 4), (2, 1), (2, 3), (4, 2), (4, 6)],
)
def test_endpoint_dies_mid_delete_through_the_facade(
    sized_org: tuple[Sandbox, Path], tmp_path: Path, concurrency: int, stop_after: int
) -> None:
    sb, config = sized_org
    journal = tmp_path / "journal.db"
    rc, planned, results = plan_and_delete(sb, config, journal, concurrency, stop_after)

    planned_ids = [a.account_id for a in planned.plan.changes]
    assert [r.plan.account_id for r in results] == planned_ids, "one result per planned account"
    by_code = Counter(r.error.code if r.error else "ok" for r in results)
    ok = by_code.pop("ok", 0)
    skipped = by_code.pop("NotAttempted", 0)
    assert ok >= stop_after
    # The breaker opens after 2 x concurrency endpoint failures in a row. Besides those, the
    # accounts in flight or handed out when it opened (at most 2 per worker) still fail, and
    # as many again may fail before an account in flight at the stop ends ok (a reset).
    endpoint = sum(by_code.values())
    assert set(by_code) <= {"EndpointConnectionError", "ConnectionClosedError"}, by_code
    assert 2 * concurrency <= endpoint <= 6 * concurrency, by_code
    assert skipped == len(results) - ok - endpoint > 0
    for result in results:
        if result.error is not None and result.error.code == "NotAttempted":
            assert result.error.message.startswith("not attempted: endpoint unavailable")
            assert {s.outcome for s in result.steps} == {"not-attempted"}
    problem = run_problem(results, planned.run.recorder)
    assert problem is not None and "endpoint unavailable" in problem
    assert f"{skipped} accounts not attempted" in problem
    rc.close()

    # Every change the sandbox applied is journaled (ok, or error when its answer was lost).
    assert applied_changes(sb) <= per_action(journaled_steps(journal, "ok", "error"))
    # Accounts not attempted were not touched: not even a root session.
    untouched = {r.plan.account_id for r in results if r.error and r.error.code == "NotAttempted"}
    assert not {c["account_id"] for c in sb.calls() if c["task"]} & untouched

    # The endpoint comes back: a rerun finishes the plan, nothing twice.
    sb.serve_in_thread()
    _, again, rerun = plan_and_delete(sb, config, journal, concurrency, None)
    assert {r.outcome for r in rerun} <= {"ok"}, [r.error for r in rerun if r.error]
    assert not again.plan.audit.summary.errors
    final = rc_audit(config, journal)
    assert final == set(), f"credentials left outside the exceptions: {final}"
    ok_steps = journaled_steps(journal, "ok")
    assert all(n == 1 for n in ok_steps.values()), "each deletion journaled ok once"


def rc_audit(config: Path, journal: Path) -> set[str]:
    """Accounts an audit still plans deletions in (the exceptions keep the rest)."""
    with connect(config=config, journal=journal) as rc:
        planned = rc.plan_deletion(dry_run=True)
        return {a.account_id for a in planned.plan.changes}


def invoke(*args: str) -> Any:
    from rootctl.cli.main import cli

    result = CliRunner().invoke(cli, list(args), env={"NO_COLOR": "1", "COLUMNS": "200"})
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("error:")]


@pytest.mark.parametrize(("concurrency", "stop_after", "output"), [(1, 2, "json"), (3, 2, "table")])
def test_endpoint_dies_mid_delete_through_the_cli(
    org: tuple[Sandbox, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    concurrency: int,
    stop_after: int,
    output: str,
) -> None:
    """Exit 1 (never 2), the per-account results and the document, one error line."""
    sb, config = org
    journal = tmp_path / "journal.db"
    stopper = StopAfter(sb, stop_after)
    # The CLI's progress factory is the per-account count (the fault is the real stop).
    monkeypatch.setattr("rootctl.cli.credentials._progress", lambda _output: stopper.factory)

    result = invoke(
        "delete-credentials", "-c", str(config), "--journal", str(journal), "--reason", REASON,
        "--yes", "-o", output, "--concurrency", str(concurrency),
    )  # fmt: skip

    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.stderr
    lines = error_lines(result.stderr)
    assert len(lines) == 1, result.stderr
    assert "endpoint unavailable" in lines[0] and "accounts not attempted" in lines[0]
    if output == "json":
        report = json.loads(result.stdout)
        statuses = Counter(a["status"] for a in report["accounts"])
        assert statuses["ok"] >= stop_after and statuses["error"] > 2 * concurrency
        codes = Counter(a["error"]["code"] for a in report["accounts"] if a.get("error"))
        assert codes["NotAttempted"] > 0
        assert report["summary"]["errors"] >= statuses["error"]
    else:
        assert "not attempted: endpoint unavailable" in result.stdout
    assert applied_changes(sb) <= per_action(journaled_steps(journal, "ok", "error"))


# -- the journal fills up --------------------------------------------------------------------


class FullJournal(Journal):
    """A journal on a disk that fills up: after `room` more appends, ENOSPC."""

    room: int | None = None

    def append(self, entry: JournalEntry) -> StoredEntry:
        if self.room is not None:
            if self.room <= 0:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(self.path))
            self.room -= 1
        return super().append(entry)


def journal_entries(path: Path) -> list[StoredEntry]:
    with Journal(path, create=False) as j:
        assert j.verify().ok, "what was written still verifies"
        return j.list()


def run_with_full_disk(
    sb: Sandbox, config: Path, path: Path, concurrency: int, room_after_plans: int
) -> tuple[Any, Any, list[StoredEntry]]:
    journal = FullJournal(path)
    rc = connect(config=config, journal=journal, concurrency=concurrency)
    planned = rc.plan_deletion(reason=REASON)
    sb.reset_calls()
    journal.room = len(planned.plan.changes) + room_after_plans  # the plans, then N more
    done = rc.delete(planned)
    rc.close()
    return planned, done, journal_entries(path)


# room after the plans: 0 = the first delete session's entry fails, 1 = the first step's, ...
@pytest.mark.parametrize("room", [0, 1, 2, 3, 4, 5, 7, 9, 12, 17])
def test_full_disk_mid_delete_one_account_at_a_time(
    small_org: tuple[Sandbox, Path], tmp_path: Path, room: int
) -> None:
    sb, config = small_org
    path = tmp_path / "journal.db"
    planned, done, entries = run_with_full_disk(sb, config, path, 1, room)
    recorder = planned.run.recorder
    results = list(done.results)

    assert recorder.failure is not None and "No space left on device" in str(recorder.failure)
    problem = run_problem(results, recorder)
    assert problem is not None and problem.startswith(f"journal {path}: could not append")
    assert done.failed and len(results) == len(planned.plan.changes)
    assert_every_change_journaled_or_reported(sb, entries, results, recorder)
    assert_unjournaled_sessions_never_used(sb, entries, recorder)
    # One account at a time: after the failing append, no AssumeRoot at all.
    sessions = [c for c in sb.calls() if c["action"] == "AssumeRoot"]
    assert len(sessions) == len(delete_sessions(entries)) + unjournaled_sessions(recorder)
    assert unjournaled_sessions(recorder) <= 1
    # Accounts after the failing one were not attempted, and say why.
    stopped = [r for r in results if r.error is not None and r.error.code == "NotAttempted"]
    assert stopped and all("journal unavailable" in r.error.message for r in stopped if r.error)


@pytest.mark.parametrize("room", [0, 3, 8, 20])
def test_full_disk_mid_delete_concurrently(
    small_org: tuple[Sandbox, Path], tmp_path: Path, room: int
) -> None:
    sb, config = small_org
    path = tmp_path / "journal.db"
    concurrency = 4
    planned, done, entries = run_with_full_disk(sb, config, path, concurrency, room)
    recorder = planned.run.recorder
    results = list(done.results)

    assert recorder.failure is not None and done.failed
    assert_every_change_journaled_or_reported(sb, entries, results, recorder)
    assert_unjournaled_sessions_never_used(sb, entries, recorder)
    # After the failure only the accounts already running may have opened a session.
    sessions = [c for c in sb.calls() if c["action"] == "AssumeRoot"]
    assert len(sessions) - len(delete_sessions(entries)) <= concurrency


def test_full_disk_while_the_plans_are_journaled_changes_nothing(
    small_org: tuple[Sandbox, Path], tmp_path: Path
) -> None:
    from rootctl.journal import JournalError

    sb, config = small_org
    journal = FullJournal(tmp_path / "journal.db")
    rc = connect(config=config, journal=journal, concurrency=2)
    planned = rc.plan_deletion(reason=REASON)
    sb.reset_calls()
    journal.room = 2
    with pytest.raises(JournalError, match="No space left on device"):
        rc.delete(planned)
    assert not [c for c in sb.calls() if c["mutating"]], "no session, no change"


def delete_sessions(entries: list[StoredEntry]) -> list[StoredEntry]:
    """Session entries journaled after the plans (the delete phase)."""
    last_plan = max(e.id for e in entries if e.action == "plan")
    return [e for e in entries if e.action == "assume-root" and e.id > last_plan]


def unjournaled_sessions(recorder: Recorder) -> int:
    return sum(1 for what in recorder.unjournaled if "root session" in what)


def assert_every_change_journaled_or_reported(
    sb: Sandbox, entries: list[StoredEntry], results: list[AccountDeletion], recorder: Recorder
) -> None:
    journaled = Counter(
        (e.account_id or "", e.action)
        for e in entries
        if e.action in CHANGES.values() and e.outcome in ("ok", "error")
    )
    noted = Counter(
        (r.plan.account_id, s.step.action)
        for r in results
        for s in r.steps
        if s.note and "not journaled" in s.note
    )
    assert sum(noted.values()) == len(recorder.unjournaled) - unjournaled_sessions(recorder)
    missing = applied_changes(sb) - journaled
    assert missing <= noted, f"changes neither journaled nor reported: {missing - noted}"


def assert_unjournaled_sessions_never_used(
    sb: Sandbox, entries: list[StoredEntry], recorder: Recorder
) -> None:
    journaled_keys = {
        e.after["access_key_id"] for e in entries if e.action == "assume-root" and e.after
    }
    used = {c["access_key_id"] for c in sb.calls() if c["task"]}
    assert used <= journaled_keys, "a root session was used without its journal entry"
    for what in recorder.unjournaled:
        if "root session" in what:
            key = what.split("(key ")[1].split(")")[0]
            assert key not in used


def test_broker_drops_a_session_its_journal_entry_could_not_record(
    org: tuple[Sandbox, Path],
) -> None:
    """on_session_opened raises: the session is not cached, so never used; the next ask
    opens (and journals) a new one."""
    sb, _ = org
    opened: list[str] = []

    def journal_fails_once(account_id: str, task: Task, key: str, _expiration: Any) -> None:
        opened.append(key)
        if len(opened) == 1:
            raise OSError(errno.ENOSPC, "No space left on device")

    broker = RootSessionBroker(SessionFactory(), on_session_opened=journal_fails_once)
    with pytest.raises(OSError):
        broker.credentials(PAYMENTS_DEV, Task.AUDIT)
    summary = broker.call(PAYMENTS_DEV, Task.AUDIT, "iam", lambda iam: iam.list_access_keys())
    assert "AccessKeyMetadata" in summary
    assert len(opened) == 2 and opened[0] != opened[1]
    used = {c["access_key_id"] for c in sb.calls() if c["task"]}
    assert used == {opened[1]}, "the unjournaled session was never used"


def test_cli_full_disk_is_one_line_and_exit_1(
    small_org: tuple[Sandbox, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The CLI with the journal failing after the plans and a few entries (in-process: the
    sandbox cannot fill a disk, so Journal.append is wrapped)."""
    _, config = small_org
    journal = tmp_path / "journal.db"
    full: list[bool] = []
    real: Callable[[Journal, JournalEntry], StoredEntry] = Journal.append

    def append(self: Journal, entry: JournalEntry) -> StoredEntry:
        if entry.action in CHANGES.values():
            full.append(True)  # the disk fills up with the first deletion's entry
        if full:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(self, entry)

    monkeypatch.setattr(Journal, "append", append)
    result = invoke(
        "delete-credentials", "-c", str(config), "--journal", str(journal), "--reason", REASON,
        "--yes", "-o", "json", "--concurrency", "1",
    )  # fmt: skip
    monkeypatch.undo()

    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.stderr
    lines = error_lines(result.stderr)
    assert len(lines) == 1 and "could not append: No space left on device" in lines[0], lines
    assert "not journaled" in lines[0]
    report = json.loads(result.stdout)
    notes = [s.get("note") or "" for a in report["accounts"] for s in a["steps"]]
    assert any("not journaled" in n for n in notes)
    assert Counter(a["status"] for a in report["accounts"])["ok"] == 0
