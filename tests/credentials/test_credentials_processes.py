"""`--processes N`: audit and delete-credentials spread over worker processes.

The sandbox runs in the test process; the workers are real processes (multiprocessing's
spawn) that reach it over HTTP, and journal through the parent (rootctl.processes).
"""

from __future__ import annotations

import itertools
import json
import multiprocessing
import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cred_helpers import targets

from rootctl.api import connect
from rootctl.errors import UsageError
from rootctl.journal import Journal
from rootctl.org.selection import SelectionSpec
from rootctl.processes import WORKER_FAILED, max_processes, resolve_processes
from rootctl.sandbox import FaultConfig, Sandbox

from support import DATA_PROD, PAYMENTS_PROD, enabled_fixture, run_cli

CONFIG = f"""
root_credentials:
  exceptions:
    - account_id: "{DATA_PROD}"
      reason: hardware token held by the data team
      expires: 2099-12-31
"""


@pytest.fixture(scope="module")
def org() -> Iterator[Sandbox]:
    """The sample organization plus 30 generated members (read-only tests share it)."""
    with Sandbox.start(enabled_fixture(), accounts=30, seed=3) as sb:
        yield sb


def _audit(sb: Sandbox, journal: Path, *args: str) -> tuple[int, dict[str, Any], str]:
    result = run_cli(sb, "audit", "-o", "json", *args, journal=journal)
    document: dict[str, Any] = json.loads(result.stdout)
    return result.returncode, document, result.stderr


def _chain(sb: Sandbox, journal: Path) -> list[dict[str, Any]]:
    """The journal's entries, after checking it verifies and is one linear chain."""
    verify = run_cli(sb, "journal", "verify", journal=journal)
    assert verify.returncode == 0, verify.stderr
    entries: list[dict[str, Any]] = json.loads(
        run_cli(sb, "journal", "list", "-o", "json", journal=journal).stdout
    )
    assert [e["id"] for e in entries] == list(range(1, len(entries) + 1))
    for before, after in itertools.pairwise(entries):
        assert after["prev_hash"] == before["hash"]
    return entries


def test_two_processes_audit_exactly_what_one_does(org: Sandbox, tmp_path: Path) -> None:
    one_code, one, _ = _audit(org, tmp_path / "one.db", "--processes", "1")
    org.reset_calls()
    two_code, two, stderr = _audit(org, tmp_path / "two.db", "--processes", "2")

    assert (one_code, two_code) == (0, 0), stderr
    del one["generated_at"], two["generated_at"]
    assert two == one
    entries = _chain(org, tmp_path / "two.db")
    member_ids = targets(org)
    assert len({e["run_id"] for e in entries}) == 1
    assert sorted(e["account_id"] for e in entries) == sorted(member_ids)
    assert {(e["action"], e["outcome"], e["command"]) for e in entries} == {
        ("assume-root", "ok", "audit")
    }
    # Each session the journal names is one the sandbox issued, once.
    assume = [c for c in org.calls() if c["action"] == "AssumeRoot"]
    assert len(assume) == len(member_ids)
    exported = run_cli(
        org, "journal", "export", "--format", "jsonl", journal=tmp_path / "two.db"
    ).stdout
    issued = org.secrets_issued()
    assert issued
    assert not [s for s in issued if s in exported or s in json.dumps(two) or s in stderr]


def test_a_failing_account_and_throttling_do_not_stop_the_others(
    org: Sandbox, tmp_path: Path
) -> None:
    journal = tmp_path / "journal.db"
    org.reset_calls()
    # By count: the 3rd answer and every 11th are throttled, the 7th is a 500.
    org.set_faults(
        FaultConfig(
            fail_assume_root={PAYMENTS_PROD: "AccessDenied"},
            throttle_calls=[3],
            throttle_every=11,
            error_calls=[7],
        )
    )
    try:
        code, report, stderr = _audit(org, journal, "--processes", "2", "--concurrency", "4")
    finally:
        org.set_faults(FaultConfig())
    statuses = [c["status"] for c in org.calls()]
    member_ids = targets(org)

    assert code == 1, stderr
    assert statuses.count(500) >= 1 and statuses.count(400) >= 3  # the faults fired
    by_id = {a["account_id"]: a for a in report["accounts"]}
    assert by_id[PAYMENTS_PROD]["status"] == "error"
    assert by_id[PAYMENTS_PROD]["error"]["code"] == "AccessDenied"
    assert {a for a in member_ids if by_id[a]["status"] == "ok"} == member_ids - {PAYMENTS_PROD}
    entries = _chain(org, journal)
    failed = [e for e in entries if e["outcome"] == "error"]
    assert [(e["action"], e["account_id"]) for e in failed] == [("assume-root", PAYMENTS_PROD)]
    assert "AccessDenied" in failed[0]["error"]
    assert len([e for e in entries if e["outcome"] == "ok"]) == len(member_ids) - 1


@pytest.mark.parametrize("value", ["0", "-1", "abc", "1.5", "", " ", "auto2", "1e3", "٣"])
@pytest.mark.parametrize("command", ["audit", "delete-credentials"])
def test_bad_processes_is_one_line_exit_2_and_nothing_done(
    org: Sandbox, tmp_path: Path, command: str, value: str
) -> None:
    journal = tmp_path / "journal.db"
    org.reset_calls()
    extra = ["--reason", "OPS-1", "--yes"] if command == "delete-credentials" else []
    result = run_cli(org, command, *extra, "--processes", value, journal=journal)

    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: --processes must be auto or"), lines
    assert "Traceback" not in result.stderr and result.stdout == ""
    assert org.calls() == [] and not journal.exists()


def test_too_many_processes_and_wrong_types_are_refused(
    org: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    too_many = str(max_processes() + 1)
    result = run_cli(org, "audit", "--processes", too_many, journal=tmp_path / "j.db")
    assert result.returncode == 2 and f"from 1 to {max_processes()}" in result.stderr
    for key, value in org.env().items():
        monkeypatch.setenv(key, value)
    with connect(journal=tmp_path / "lib.db") as rc:
        for bad in (0, True, 2.0, max_processes() + 1, "many"):
            with pytest.raises(UsageError, match="--processes must be"):
                rc.audit(processes=bad)  # type: ignore[arg-type]
    assert not (tmp_path / "lib.db").exists()


def test_a_killed_worker_fails_only_its_own_accounts(
    org: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Worker 0 is killed at its first result. With one thread per worker it cannot finish
    another account meanwhile: its next session waits for the parent's journal answer,
    which the parent (busy in on_result) has not given yet. No timing involved."""
    for key, value in org.env().items():
        monkeypatch.setenv(key, value)
    journal = tmp_path / "journal.db"
    with connect(journal=journal, concurrency=1) as rc:
        order = [a.id for a in rc.run("listing").select(SelectionSpec()).targets]
        first_share = set(order[0::2])
        seen: dict[str, str] = {}
        killed: list[int] = []

        def on_result(account: Any, audit: Any) -> None:
            seen[account.id] = audit.outcome
            if account.id in first_share and not killed:
                # Worker 0 still has accounts to do: it is alive, waiting for its next answer.
                workers = {p.name: p for p in multiprocessing.active_children()}
                pid = workers["rootctl-worker-0"].pid
                assert pid is not None
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)

        report = rc.audit(processes=2, on_result=on_result)

    by_id = {a.account_id: a for a in report.accounts}
    assert set(seen) == set(order)  # every account reached on_result, also the lost ones
    assert all(by_id[a].outcome == "ok" for a in order[1::2])
    share = [by_id[a] for a in order[0::2]]
    assert [a.outcome for a in share].count("ok") == 1
    lost = [a for a in share if a.outcome == "error"]
    assert len(lost) == len(share) - 1
    assert all(a.error is not None and a.error.code == WORKER_FAILED for a in lost)
    assert all("run the command again" in a.error.message for a in lost if a.error)
    assert Journal(journal).verify().ok


def test_auto_and_the_number_of_workers() -> None:
    cpus = os.cpu_count() or 1
    assert resolve_processes("auto", 499) == 1  # below 500 accounts: not worth a worker
    assert resolve_processes(" AUTO ", 100_000) == cpus  # at most one per CPU
    assert resolve_processes("auto", 750) == min(cpus, 3)
    assert resolve_processes(4, 3) == 3  # never more workers than accounts
    assert resolve_processes("02", 10) == 2
    assert resolve_processes(None, 10) == 1
    assert resolve_processes(2, 0) == 1
