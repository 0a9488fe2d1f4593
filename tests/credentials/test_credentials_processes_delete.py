"""`delete-credentials --processes N`: plan, confirm, journal, verify and resume with workers.

Each test starts its own sandbox (one per process: moto's state is global), in the test
process; the workers reach it over HTTP and journal through the parent.
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from cred_helpers import changes, cli_env, is_clean, journal_entries, targets
from cred_helpers import run_cli as run_process

from rootctl.sandbox import FaultConfig, Sandbox

from support import DATA_PROD, enabled_fixture, run_cli

CONFIG = f"""
root_credentials:
  exceptions:
    - account_id: "{DATA_PROD}"
      reason: hardware token held by the data team
      expires: 2099-12-31
"""


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


def test_delete_credentials_with_two_processes(tmp_path: Path) -> None:
    journal = tmp_path / "journal.db"
    config = tmp_path / "rootctl.yaml"
    config.write_text(CONFIG)
    with Sandbox.start(enabled_fixture(), accounts=16, seed=9) as sb:
        before = sb.root_state()
        in_scope = targets(sb) - {DATA_PROD}
        args = ["delete-credentials", "-c", str(config), "--reason", "OPS-42 cleanup"]
        result = run_cli(sb, *args, "--yes", "-o", "json", "--processes", "2", journal=journal)
        assert result.returncode == 0, result.stderr
        after = sb.root_state()
        for account_id in in_scope:
            assert is_clean(after[account_id]), account_id
        assert {a: s for a, s in after.items() if a not in in_scope} == {
            a: s for a, s in before.items() if a not in in_scope
        }
        document = json.loads(result.stdout)
        acted = [a for a in document["accounts"] if a["status"] not in ("planned", "unchanged")]
        touched = {a["account_id"] for a in acted}
        assert touched and touched <= in_scope
        assert all(a["status"] == "ok" and a["verified"] for a in acted), acted
        assert document["summary"]["failed"] == 0 and document["summary"]["errors"] == 0
        entries = _chain(sb, journal)
        assert len({e["run_id"] for e in entries}) == 1
        plans = [e for e in entries if e["action"] == "plan"]
        first_change = min(
            e["id"] for e in entries if e["action"].startswith(("delete-", "deactivate-"))
        )
        assert {e["account_id"] for e in plans} == touched
        assert max(e["id"] for e in plans) < first_change  # every plan before any change
        for entry in entries:
            if entry["action"].startswith(("delete-", "deactivate-")):
                session = [
                    e["id"]
                    for e in entries
                    if e["action"] == "assume-root"
                    and e["account_id"] == entry["account_id"]
                    and e["task_policy"] == "IAMDeleteRootUserCredentials"
                ]
                assert session and min(session) < entry["id"]  # journaled before use
        exported = run_cli(sb, "journal", "export", "--format", "jsonl", journal=journal).stdout
        assert not [s for s in sb.secrets_issued() if s in exported or s in result.stdout]
        made = len(changes(sb))
        again = run_cli(sb, *args, "--yes", "--processes", "2", journal=journal)
        assert again.returncode == 0, again.stderr
        assert len(changes(sb)) == made  # nothing left to do


def test_killed_run_with_processes_resumes(tmp_path: Path) -> None:
    """SIGKILL of the parent mid-run: the workers stop (their journal answers fail), and a
    second run with two processes finishes the plan; the journal stays one verified chain."""
    journal = tmp_path / "journal.db"
    config = tmp_path / "rootctl.yaml"
    config.write_text(CONFIG)
    # 40 generated accounts (43 deletion steps): the kill after 20 changes is mid-run (asserted
    # below: the rerun still has changes to make); a bigger organization only costs audits.
    with Sandbox.start(enabled_fixture(), accounts=40, seed=7) as sb:
        in_scope = targets(sb) - {DATA_PROD}
        sb.set_faults(FaultConfig(latency_ms=25))
        args = ["delete-credentials", "-c", str(config), "--reason", "OPS-7", "--yes"]
        proc = subprocess.Popen(
            [sys.executable, "-m", "rootctl", *args, "--processes", "2"],
            env=cli_env(sb, journal),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 180
        while len(changes(sb)) < 20 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        assert _orphans(journal, deadline=time.monotonic() + 60) == []
        first = len([c for c in changes(sb) if c["status"] == 200])
        assert first > 0
        sb.set_faults(FaultConfig())

        rerun = run_process(sb, journal, *args, "--processes", "2")

        assert rerun.returncode == 0, rerun.stderr[-2000:]
        assert len([c for c in changes(sb) if c["status"] == 200]) > first  # it resumed
        after = sb.root_state()
        assert all(is_clean(after[a]) for a in in_scope)
        assert run_process(sb, journal, "journal", "verify").returncode == 0
        entries = journal_entries(sb, journal, "--command", "delete-credentials")
        assert len({e["run_id"] for e in entries}) == 2


def _orphans(journal: Path, deadline: float) -> list[int]:
    """Worker processes of the killed run still alive at `deadline` (their environment names
    its journal). They stop on their own: the parent's end of their pipe is closed, so every
    journal answer fails and their gate closes."""
    marker = f"ROOTCTL_JOURNAL={journal}".encode()
    while True:
        alive = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                cmdline = (entry / "cmdline").read_bytes()
                environ = (entry / "environ").read_bytes()
                state = (entry / "stat").read_text().split(") ", 1)[1][0]
            except OSError:
                continue
            if b"multiprocessing.spawn" in cmdline and marker in environ and state != "Z":
                alive.append(int(entry.name))
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.1)


def _start_audit(sb: Sandbox, journal: Path, processes: str, sigint: Any) -> subprocess.Popen[str]:
    """`rootctl audit` as a process whose SIGINT starts as `sigint`: a terminal's foreground
    job has the default (Python turns it into KeyboardInterrupt); a background job of a
    non-interactive shell starts with it ignored, and exec keeps an ignored signal ignored.
    Set here, in the main thread, for the spawn only: how pytest itself was started (a
    `&` in a script ignores SIGINT) must not decide what the test checks."""
    argv = ["audit", "-o", "json", "--processes", processes, "--concurrency", "2"]
    previous = signal.signal(signal.SIGINT, sigint)
    try:
        return subprocess.Popen(
            [sys.executable, "-m", "rootctl", *argv],
            env=cli_env(sb, journal),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
    finally:
        signal.signal(signal.SIGINT, previous)


@pytest.mark.parametrize("processes", ["1", "2"])
def test_ctrl_c_stops_every_worker_and_journals_what_ran(tmp_path: Path, processes: str) -> None:
    """SIGINT to the process group (what a terminal's Ctrl-C does): the workers ignore it, the
    parent stops them, waits for what runs, and exits as one process does; every session
    opened is in the journal and nothing runs after the exit."""
    journal = tmp_path / "journal.db"
    with Sandbox.start(enabled_fixture(), accounts=200, seed=2) as sb:
        sb.set_faults(FaultConfig(latency_ms=50))
        proc = _start_audit(sb, journal, processes, signal.default_int_handler)
        deadline = time.monotonic() + 180
        while _assume_roots(sb) < 10 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        os.killpg(proc.pid, signal.SIGINT)
        out, err = proc.communicate(timeout=120)
        opened = _assume_roots(sb)
        assert _orphans(journal, deadline=time.monotonic() + 30) == []

        assert proc.returncode == 1 and err.strip().splitlines()[-1] == "Aborted!", err
        assert "Traceback" not in err and out == ""
        assert 10 <= opened < 200  # stopped early
        assert _assume_roots(sb) == opened  # nothing after the exit
        entries = _chain(sb, journal)
        assert len([e for e in entries if e["action"] == "assume-root"]) == opened


@pytest.mark.parametrize("processes", ["1", "2"])
def test_a_run_started_with_sigint_ignored_ignores_ctrl_c_whatever_the_processes(
    tmp_path: Path, processes: str
) -> None:
    """Started as a background job of a script (SIGINT ignored, kept through exec), a
    Ctrl-C to the group is ignored by the run with workers exactly as by the run without:
    it finishes, exit 0, every account audited. (It once made the test above fail for
    --processes 1 only: the worker path installed its own handler over the ignore.)"""
    journal = tmp_path / "journal.db"
    with Sandbox.start(enabled_fixture(), accounts=20, seed=2) as sb:
        sb.set_faults(FaultConfig(latency_ms=50))
        proc = _start_audit(sb, journal, processes, signal.SIG_IGN)
        deadline = time.monotonic() + 180
        while _assume_roots(sb) < 3 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGINT)
        out, err = proc.communicate(timeout=180)
        assert _orphans(journal, deadline=time.monotonic() + 30) == []
        assert proc.returncode == 0, err
        report = json.loads(out)
        audited = [a for a in report["accounts"] if a["status"] != "skipped"]
        assert len(audited) > 20  # the generated accounts and the sample's
        assert not [a for a in audited if a.get("error")]
        assert _assume_roots(sb) == len(audited)  # one session each: it ran to the end


def _assume_roots(sb: Sandbox) -> int:
    return len([c for c in sb.calls() if c["action"] == "AssumeRoot"])
