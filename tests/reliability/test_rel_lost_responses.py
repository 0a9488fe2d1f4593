"""Lost responses in delete-credentials: the change is applied, then the answer fails.

The sandbox's `lost_response_*` faults let a successful change through and then replace its
answer (500/503 or a dropped connection), so the client's retry meets the change already
made (NoSuchEntity for IAM deletions). With retries off the lost answer is final, and the
fresh audit after the deletions decides: a target it no longer lists is `verified-gone`.
Each test checks that the end state equals the plan, that nothing outside it was touched,
that a rerun finishes the job (or has nothing to do), that the journal verifies, and that
the per-account results and exit code say what really happened. (unlock: test_rel_lost_unlock.py)
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from lost_helpers import LOST_CODES, invoke_without_retries, journal_entries, lost, retries_off

from rootctl.sandbox import FaultConfig, Sandbox

from support import (
    DATA_PROD,
    EXCEPTIONS_CONFIG,
    MANAGEMENT,
    PAYMENTS_PROD,
    SUSPENDED,
    enabled_fixture,
    run_cli,
)

CHANGES = (
    "DeleteLoginProfile",
    "DeleteAccessKey",
    "DeleteSigningCertificate",
    "DeactivateMFADevice",
    "DeleteVirtualMFADevice",
)
STEP_ACTIONS = (
    "delete-login-profile",
    "delete-access-key",
    "delete-signing-certificate",
    "deactivate-mfa-device",
    "delete-virtual-mfa-device",
)
STEP_OF = dict(zip(CHANGES, STEP_ACTIONS, strict=True))


def planned_steps(before: dict[str, Any]) -> set[tuple[str, str, str]]:
    """(account, action, target) of every call the plan must make, from the first state."""
    steps: set[tuple[str, str, str]] = set()
    for account_id, root in before.items():
        if account_id in (MANAGEMENT, SUSPENDED, DATA_PROD):
            continue
        if root["password"] is not None and account_id != PAYMENTS_PROD:
            steps.add((account_id, "delete-login-profile", "login-profile"))
        steps |= {
            (account_id, "delete-access-key", k["access_key_id"]) for k in root["access_keys"]
        }
        steps |= {
            (account_id, "delete-signing-certificate", c["certificate_id"])
            for c in root["signing_certificates"]
        }
        for device in root["mfa_devices"]:
            steps.add((account_id, "deactivate-mfa-device", device["serial_number"]))
            if device["kind"] == "virtual":
                steps.add((account_id, "delete-virtual-mfa-device", device["serial_number"]))
    return steps


def assert_state_is_the_plan(
    before: dict[str, Any], after: dict[str, Any], planned: set[tuple[str, str, str]]
) -> None:
    """Every planned credential gone (virtual MFA devices deleted, not only detached);
    every account outside the plan exactly as it was; the kept password kept."""
    accounts = {a for a, _, _ in planned}
    for account_id, root in after.items():
        if account_id not in accounts:
            assert root == before[account_id], f"{account_id} was outside the plan"
            continue
        assert root["access_keys"] == [] and root["signing_certificates"] == [], account_id
        assert root["mfa_devices"] == [], account_id
        assert root["password"] == (
            before[account_id]["password"] if account_id == PAYMENTS_PROD else None
        ), account_id


def journaled_done(entries: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    return [
        (e["account_id"], e["action"], e["target"])
        for e in entries
        if e["action"] in STEP_ACTIONS and e["outcome"] == "ok"
    ]


@pytest.fixture
def org(tmp_path: Path) -> Iterator[tuple[Sandbox, Path, Path]]:
    """The sample plus 30 generated accounts, a config with two exceptions, a journal path."""
    config = tmp_path / "rootctl.yaml"
    config.write_text(EXCEPTIONS_CONFIG)
    with Sandbox.start(enabled_fixture(), accounts=30, seed=30) as sb:
        yield sb, config, tmp_path / "journal.db"


def test_delete_converges_in_one_run_when_answers_are_lost(
    org: tuple[Sandbox, Path, Path],
) -> None:
    """Botocore's retries (rootctl's default policy) meet NoSuchEntity: "already gone", ok.

    Every third change loses its answer (AssumeRoot too: the session is opened, the client
    never sees it and asks again), plus every 33rd call an ordinary error before the change.
    """
    sb, config, journal = org
    before = sb.root_state()
    planned = planned_steps(before)
    sb.set_faults(FaultConfig(error_every=33, lost_response_every=3))  # by count: see docs

    # One account at a time: which call is "every third" must not depend on how workers
    # interleave (concurrent retries could land on lost slots past the retry budget).
    proc = run_cli(
        sb, "delete-credentials", "-c", str(config), "--reason", "OPS-9 cleanup", "--yes",
        "-o", "json", "--concurrency", "1", journal=journal,
    )  # fmt: skip

    assert "Traceback" not in proc.stderr
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout)
    summary = report["summary"]
    assert summary["errors"] == 0 and summary["failed"] == 0, summary
    assert summary["steps_planned"] == len(planned)
    assert summary["deleted"] + summary["already_gone"] == len(planned), summary
    lost_changes = lost(sb, *CHANGES)
    assert lost_changes and lost(sb, "AssumeRoot"), "the fault must have hit changes and sessions"
    # Every lost answer was retried into NoSuchEntity: counted as already gone, not failed.
    assert summary["already_gone"] >= len(lost_changes), summary
    assert {c["applied_status"] for c in lost_changes} == {200}
    for account in report["accounts"]:
        if account["steps"]:
            assert (account["status"], account["verified"]) == ("ok", True), account
    steps = {
        (a["account_id"], s["action"], s["target"]) for a in report["accounts"] for s in a["steps"]
    }
    assert steps == planned
    assert_state_is_the_plan(before, sb.root_state(), planned)
    # Calls answered by an injected error never reached an account (account_id "").
    reached = [c for c in sb.calls() if c["fault"] not in ("error", "throttle")]
    touched = {c["account_id"] for c in reached if c["action"] in CHANGES}
    assert touched <= {a for a, _, _ in planned}

    done = journaled_done(journal_entries(sb, journal))
    assert sorted(done) == sorted(planned), "each planned call journaled ok exactly once"

    sb.reset_calls()
    # The faults are still on: one account at a time here too, or concurrent retries of one
    # account's AssumeRoot can all land on lost slots (seen beside two CPU hogs).
    rerun = run_cli(
        sb, "delete-credentials", "-c", str(config), "--reason", "OPS-9 cleanup", "--yes",
        "-o", "json", "--concurrency", "1", journal=journal,
    )  # fmt: skip
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    again = json.loads(rerun.stdout)["summary"]
    assert (again["steps_planned"], again["reconciled"], again["errors"]) == (0, 0, 0), again
    assert not [c for c in sb.calls() if c["action"] in CHANGES], "the rerun changes nothing"


def _delete(sb: Sandbox, journal: Path, *args: str) -> Any:
    return run_cli(
        sb, "delete-credentials", *args, "--reason", "OPS-9 cleanup", "--yes", "-o", "json",
        journal=journal,
    )  # fmt: skip


def test_delete_with_no_retries_verifies_lost_answers_and_reports_the_accounts_done(
    org: tuple[Sandbox, Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Retries off: a lost answer is the call's final answer, and the fresh audit decides.

    Every second change whose end state an audit can see loses its answer. Each such step
    is `verified-gone` (the call's error kept, a note saying why it is done anyway), its
    account ok and verified, exit 0; a virtual MFA device whose deactivation "failed" is
    deleted in the same run once the audit lists it no more. The journal has the failed
    call (error), then the step verified (ok, with the note); the rerun has nothing to do.
    """
    sb, config, journal = org
    before = sb.root_state()
    planned = planned_steps(before)
    visible = [change for change in CHANGES if change != "DeleteVirtualMFADevice"]
    sb.set_faults(FaultConfig(lost_response_every=2, lost_response_actions=visible))

    first = invoke_without_retries(
        monkeypatch, sb, journal, "delete-credentials", "-c", str(config), "--reason", "OPS-9",
        "--yes", "-o", "json",
    )  # fmt: skip

    sb.set_faults(FaultConfig())
    assert first.exit_code == 0, first.stderr[-3000:]
    report = json.loads(first.stdout)
    lost_calls = lost(sb, *CHANGES)
    assert lost_calls, "the fault must have hit some changes"
    lost_steps = Counter((c["account_id"], STEP_OF[c["action"]]) for c in lost_calls)
    summary = report["summary"]
    assert (summary["errors"], summary["failed"]) == (0, 0), summary
    assert summary["verified_gone"] == len(lost_calls), summary
    assert summary["deleted"] + summary["already_gone"] + summary["verified_gone"] == len(planned)
    steps = [(a["account_id"], step) for a in report["accounts"] for step in a["steps"]]
    assert {(account, s["action"], s["target"]) for account, s in steps} == planned
    gone = [(account, s) for account, s in steps if s["outcome"] == "verified-gone"]
    assert Counter((account, s["action"]) for account, s in gone) == lost_steps
    for _, step in gone:
        assert step["error"]["code"] in LOST_CODES, step
        assert step["note"].startswith("answer lost (") and "verified gone" in step["note"], step
    for account in report["accounts"]:
        if account["steps"]:
            assert (account["status"], account["verified"], account["error"]) == (
                "ok", True, None
            ), account  # fmt: skip
    assert_state_is_the_plan(before, sb.root_state(), planned)

    entries = journal_entries(sb, journal)
    assert sorted(journaled_done(entries)) == sorted(planned), "each step journaled ok once"
    steps_entries = [e for e in entries if e["action"] in STEP_ACTIONS]
    failed = Counter(
        (e["account_id"], e["action"]) for e in steps_entries if e["outcome"] == "error"
    )
    assert failed == lost_steps, "each lost answer journaled as the call's error"
    verified = [
        e
        for e in steps_entries
        if e["outcome"] == "ok" and "answer lost" in e["after"].get("note", "")
    ]
    assert Counter((e["account_id"], e["action"]) for e in verified) == lost_steps

    sb.reset_calls()
    rerun = _delete(sb, journal, "-c", str(config))
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    again = json.loads(rerun.stdout)["summary"]
    assert (again["steps_planned"], again["reconciled"], again["errors"]) == (0, 0, 0), again
    assert not [c for c in sb.calls() if c["action"] in CHANGES], "the rerun changes nothing"


def test_a_lost_deactivation_is_verified_and_the_virtual_device_deleted_in_the_same_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every DeactivateMFADevice answer lost: the audit no longer lists either device, so
    both deactivations are verified, and the virtual device is then deleted (the call its
    "failed" deactivation had held back): exit 0, both accounts ok, no device left."""
    journal = tmp_path / "j.db"
    with Sandbox.start(enabled_fixture()) as sb:
        sb.set_faults(
            FaultConfig(lost_response_rate=1.0, lost_response_actions=["DeactivateMFADevice"])
        )

        first = invoke_without_retries(
            monkeypatch, sb, journal, "delete-credentials", "--accounts",
            f"{PAYMENTS_PROD},{DATA_PROD}", "--only", "mfa-devices", "--reason", "OPS-9", "--yes",
            "-o", "json",
        )  # fmt: skip

        sb.set_faults(FaultConfig())
        assert first.exit_code == 0, first.stderr[-3000:]
        assert len(lost(sb, "DeactivateMFADevice")) == 2
        report = json.loads(first.stdout)
        outcomes = {
            a["account_id"]: ([(s["action"], s["outcome"]) for s in a["steps"]], a["status"])
            for a in report["accounts"]
        }
        assert outcomes == {
            PAYMENTS_PROD: (
                [
                    ("deactivate-mfa-device", "verified-gone"),
                    ("delete-virtual-mfa-device", "deleted"),
                ],
                "ok",
            ),
            DATA_PROD: ([("deactivate-mfa-device", "verified-gone")], "ok"),
        }
        state = sb.root_state()
        assert state[PAYMENTS_PROD]["mfa_devices"] == state[DATA_PROD]["mfa_devices"] == []
        entries = journal_entries(sb, journal, "--account", PAYMENTS_PROD)
        assert [
            (e["action"], e["outcome"]) for e in entries if e["action"] in (*STEP_ACTIONS, "verify")
        ] == [
            ("deactivate-mfa-device", "error"),
            ("verify", "ok"),
            ("deactivate-mfa-device", "ok"),
            ("delete-virtual-mfa-device", "ok"),
        ]


def test_a_lost_virtual_mfa_deletion_cannot_be_verified_and_the_rerun_finishes_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No read an audit makes lists a deleted (unassigned) virtual MFA device, so a lost
    DeleteVirtualMFADevice answer stays the step's failure: the account is an error (exit 1)
    although `verified` is true. The rerun plans the deletion again from the journal and
    meets NoSuchEntity: already gone, exit 0."""
    journal = tmp_path / "j.db"
    args = ("--accounts", PAYMENTS_PROD, "--only", "mfa-devices")
    with Sandbox.start(enabled_fixture()) as sb:
        sb.set_faults(
            FaultConfig(lost_response_rate=1.0, lost_response_actions=["DeleteVirtualMFADevice"])
        )

        first = invoke_without_retries(
            monkeypatch, sb, journal, "delete-credentials", *args, "--reason", "OPS-9", "--yes",
            "-o", "json",
        )  # fmt: skip

        sb.set_faults(FaultConfig())
        assert first.exit_code == 1, first.stderr[-3000:]
        [account] = json.loads(first.stdout)["accounts"]
        assert (account["status"], account["verified"]) == ("error", True), account
        assert [(s["action"], s["outcome"]) for s in account["steps"]] == [
            ("deactivate-mfa-device", "deleted"),
            ("delete-virtual-mfa-device", "failed"),
        ]
        assert account["error"]["code"] in LOST_CODES
        assert sb.root_state()[PAYMENTS_PROD]["mfa_devices"] == [], "deleted in fact"

        rerun = _delete(sb, journal, *args)
        assert rerun.returncode == 0, rerun.stderr[-3000:]
        document = json.loads(rerun.stdout)
        assert document["summary"]["reconciled"] == 0
        [again] = document["accounts"]
        assert [(s["action"], s["outcome"]) for s in again["steps"]] == [
            ("delete-virtual-mfa-device", "already-gone")
        ]
        entries = journal_entries(sb, journal, "--action", "delete-virtual-mfa-device")
        assert [e["outcome"] for e in entries] == ["error", "ok"]
        assert entries[1]["after"]["note"] == "NoSuchEntity: already done"


def test_a_failed_call_the_verification_could_not_see_is_reconciled_naming_the_call(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The verification cannot run (its AssumeRoot answer is lost too), so the run cannot
    tell that the lost DeleteAccessKey was applied: the step failed, the account is an
    error, `verified` unknown. The rerun finds the key gone and journals the step as done
    with a note naming the failed call's entry, not an interrupted run.

    The library API (the same code the CLI runs), to open the delete session before the
    fault is switched on.
    """
    from rootctl.api import connect
    from rootctl.credentials.delete import delete_planned
    from rootctl.credentials.plan import COMMAND, plan_deletion
    from rootctl.journal import Journal
    from rootctl.org.selection import SelectionSpec
    from rootctl.tasks import Task

    journal = tmp_path / "j.db"
    with Sandbox.start(enabled_fixture()) as sb:
        for key, value in sb.env().items():
            monkeypatch.setenv(key, value)
        retries_off(monkeypatch)
        cc = connect(journal=Journal(journal)).run(COMMAND, "x")
        report = cc.audit(cc.select(SelectionSpec(accounts=(PAYMENTS_PROD,))))
        plan = plan_deletion(report, only=("access-keys",))
        cc.broker.credentials(PAYMENTS_PROD, Task.DELETE)
        sb.set_faults(
            FaultConfig(
                lost_response_rate=1.0,
                lost_response_actions=["DeleteAccessKey", "AssumeRoot"],
                lost_response_kinds=["error"],
            )
        )

        [result] = delete_planned(cc.broker, plan, cc.recorder)

        sb.set_faults(FaultConfig())
        cc.recorder.journal.close()
        assert (result.outcome, result.verified) == ("error", None)
        [step] = result.steps
        assert step.outcome == "failed" and step.error is not None
        assert step.error.code in ("InternalFailure", "ServiceUnavailable")
        assert sb.root_state()[PAYMENTS_PROD]["access_keys"] == [], "applied in fact"

        rerun = _delete(sb, journal, "--accounts", PAYMENTS_PROD, "--only", "access-keys")
        assert rerun.returncode == 0, rerun.stderr[-3000:]
        document = json.loads(rerun.stdout)
        assert (document["summary"]["steps_planned"], document["summary"]["reconciled"]) == (0, 1)
        [found] = document["accounts"][0]["reconciled"]
        failed, done = journal_entries(sb, journal, "--action", "delete-access-key")
        assert (failed["outcome"], done["outcome"]) == ("error", "ok")
        note = done["after"]["note"]
        assert found["note"] == note
        assert f"journal entry {failed['id']}: {step.error.code}" in note, note
        assert "answer was lost" in note and "interrupted" not in note, note
