"""A bulk delete killed at any point and run again converges to the plan, journal intact."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cred_helpers import changes, cli_env, is_clean, journal_entries, run_cli, targets

from rootctl.api import connect
from rootctl.credentials.delete import record_plans
from rootctl.credentials.plan import COMMAND, plan_deletion
from rootctl.journal import Journal, Recorder
from rootctl.org.selection import SelectionSpec
from rootctl.sandbox import FaultConfig, Sandbox
from rootctl.tasks import Task

from support import DATA_PROD, EXPERIMENTS, PAYMENTS_PROD, enabled_fixture, root_client

CONFIG = f"""
root_credentials:
  exceptions:
    - account_id: "{DATA_PROD}"
      reason: hardware token held by the data team
      expires: 2099-12-31
"""


def planned_targets(state: dict[str, dict[str, object]]) -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for account_id, root in state.items():
        if root["password"] is not None:
            found.add((account_id, "login-profile"))
        for key in root["access_keys"]:  # type: ignore[attr-defined]
            found.add((account_id, key["access_key_id"]))
        for cert in root["signing_certificates"]:  # type: ignore[attr-defined]
            found.add((account_id, cert["certificate_id"]))
        for device in root["mfa_devices"]:  # type: ignore[attr-defined]
            found.add((account_id, device["serial_number"]))
    return found


def test_killed_run_resumes_to_the_plan(tmp_path: Path) -> None:
    journal = tmp_path / "journal.db"
    config = tmp_path / "rootctl.yaml"
    config.write_text(CONFIG)
    # 60 generated accounts: ~45 with something to delete, so the kill after 25 changes
    # lands half-way (the first run's plan is well over 25 changes).
    with Sandbox.start(enabled_fixture(), accounts=60, seed=7) as sb:
        before = sb.root_state()
        in_scope = {a: s for a, s in before.items() if a in targets(sb) - {DATA_PROD}}
        plan = planned_targets(in_scope)
        sb.set_faults(FaultConfig(latency_ms=25))
        args = ["delete-credentials", "-c", str(config), "--reason", "OPS-7", "--yes"]
        proc = subprocess.Popen(
            [sys.executable, "-m", "rootctl", *args],
            env=cli_env(sb, journal),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 120
        while len(changes(sb)) < 25 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        done_first = len([c for c in changes(sb) if c["status"] == 200])
        assert 0 < done_first < len(plan), "the first run must be interrupted half-way"
        assert len(plan) > 2 * 25
        sb.set_faults(FaultConfig())

        rerun = run_cli(sb, journal, *args)

        assert rerun.returncode == 0, rerun.stderr[-2000:]
        after = sb.root_state()
        for account_id in in_scope:
            assert is_clean(after[account_id]), after[account_id]
        assert {a: s for a, s in after.items() if a not in in_scope} == {
            a: s for a, s in before.items() if a not in in_scope
        }
        touched = {(c["account_id"], c["action"]) for c in changes(sb)}
        assert {account for account, _ in touched} <= set(in_scope)
        assert run_cli(sb, journal, "journal", "verify").returncode == 0
        entries = journal_entries(sb, journal, "--command", "delete-credentials")
        assert len({e["run_id"] for e in entries}) == 2
        deleted = {
            (e["account_id"], e["target"])
            for e in entries
            if e["action"].startswith(("delete-", "deactivate-")) and e["outcome"] == "ok"
        }
        assert deleted == plan


def _planned(sb: Sandbox, journal: Path, mp: pytest.MonkeyPatch, only: str) -> Recorder:
    """Journal a plan for PAYMENTS_PROD as a run does before its first change."""
    for key, value in sb.env().items():
        mp.setenv(key, value)
    cc = connect(journal=Journal(journal)).run(COMMAND, "x")
    report = cc.audit(cc.select(SelectionSpec(accounts=(PAYMENTS_PROD,))))
    record_plans(plan_deletion(report, only=(only,)), cc.recorder)
    return cc.recorder


def _interrupted_after_deactivation(sb: Sandbox, journal: Path, mp: pytest.MonkeyPatch) -> str:
    """What a run killed between DeactivateMFADevice and DeleteVirtualMFADevice leaves."""
    recorder = _planned(sb, journal, mp, "mfa-devices")
    serial = f"arn:aws:iam::{PAYMENTS_PROD}:mfa/root-account-mfa-device"
    root_client(sb, PAYMENTS_PROD, Task.DELETE, "iam").deactivate_mfa_device(SerialNumber=serial)
    recorder.append(
        action="deactivate-mfa-device",
        outcome="ok",
        account_id=PAYMENTS_PROD,
        task=Task.DELETE,
        target=serial,
    )
    recorder.journal.close()
    return serial


def test_deactivated_virtual_mfa_is_deleted_from_the_journal_plan(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    journal = tmp_path / "journal.db"
    with Sandbox.start(enabled_fixture()) as sb:
        serial = _interrupted_after_deactivation(sb, journal, monkeypatch)
        device = sb.root_state()[PAYMENTS_PROD]["mfa_devices"][0]
        assert (device["serial_number"], device["assigned"]) == (serial, False)

        dry = run_cli(sb, journal, "delete-credentials", "--accounts", PAYMENTS_PROD, "--dry-run")
        assert f"delete virtual MFA {serial}" in dry.stdout.replace("\n│", "")
        proc = run_cli(
            sb, journal, "delete-credentials", "--accounts", f"{PAYMENTS_PROD},{EXPERIMENTS}",
            "--reason", "OPS-1", "--yes", "-o", "json",
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        assert is_clean(sb.root_state()[PAYMENTS_PROD])
        deleted = [c for c in changes(sb) if c["action"] == "DeleteVirtualMFADevice"]
        assert [(c["account_id"], c["status"]) for c in deleted] == [(PAYMENTS_PROD, 200)]
        report = json.loads(proc.stdout)
        steps = report["accounts"][0]["steps"]
        assert {"action": "delete-virtual-mfa-device", "target": serial} in [
            {"action": s["action"], "target": s["target"]} for s in steps
        ]
        # Done: the journal no longer lists it as pending, so a third run plans nothing.
        third = run_cli(
            sb, journal, "delete-credentials", "--accounts", PAYMENTS_PROD, "--reason", "OPS-1",
            "--yes",
        )  # fmt: skip
        assert third.returncode == 0 and "Nothing to delete." in third.stderr
        assert run_cli(sb, journal, "journal", "verify").returncode == 0


def test_without_the_journal_a_deactivated_device_is_invisible(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The documented limit: the plan lives in the journal; another journal cannot see it."""
    with Sandbox.start(enabled_fixture()) as sb:
        serial = _interrupted_after_deactivation(sb, tmp_path / "first.db", monkeypatch)
        proc = run_cli(
            sb, tmp_path / "other.db", "delete-credentials", "--accounts", PAYMENTS_PROD,
            "--reason", "OPS-1", "--yes",
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        devices = sb.root_state()[PAYMENTS_PROD]["mfa_devices"]
        assert [(d["serial_number"], d["assigned"]) for d in devices] == [(serial, False)]


def test_a_deletion_made_but_not_journaled_is_reconciled(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Killed after DeleteAccessKey answered, before the journal append: the re-run notes it."""
    journal = tmp_path / "journal.db"
    with Sandbox.start(enabled_fixture()) as sb:
        _planned(sb, journal, monkeypatch, "access-keys").journal.close()
        iam = root_client(sb, PAYMENTS_PROD, Task.DELETE, "iam")
        iam.delete_access_key(AccessKeyId="AKIAROOTPAYMENTS0001")

        proc = run_cli(
            sb, journal, "delete-credentials", "--accounts", PAYMENTS_PROD, "--only",
            "access-keys", "--reason", "x", "--yes",
        )  # fmt: skip

        assert proc.returncode == 0 and "Nothing to delete." in proc.stderr
        entries = journal_entries(sb, journal, "--action", "delete-access-key")
        assert [(e["target"], e["outcome"]) for e in entries] == [("AKIAROOTPAYMENTS0001", "ok")]
        assert "interrupted run" in entries[0]["after"]["note"]
        assert entries[0]["before"]["access_key_id"] == "AKIAROOTPAYMENTS0001"
        again = run_cli(
            sb, journal, "delete-credentials", "--accounts", PAYMENTS_PROD, "--only",
            "access-keys", "--reason", "x", "--yes",
        )  # fmt: skip
        assert again.returncode == 0
        assert len(journal_entries(sb, journal, "--action", "delete-access-key")) == 1
