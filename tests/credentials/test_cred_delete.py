"""`rootctl delete-credentials` end to end: plan, exceptions, delete, verify, journal."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cred_helpers import audit_json, changes, is_clean, journal_entries, run_cli, targets

from rootctl.fanout import DEFAULT_CONCURRENCY
from rootctl.sandbox import Sandbox

from support import (
    DATA_PROD,
    EXPERIMENTS,
    MANAGEMENT,
    PAYMENTS_DEV,
    PAYMENTS_PROD,
    SUSPENDED,
    enabled_fixture,
)

CONFIG = f"""
root_credentials:
  exceptions:
    - account_id: "{PAYMENTS_PROD}"
      reason: break-glass password during the payments migration
      expires: 2099-12-31
      keep: [password]
    - account_id: "{DATA_PROD}"
      reason: hardware token held by the data team
      expires: 2099-12-31
    - account_id: "{PAYMENTS_DEV}"
      reason: expired long ago
      expires: 2020-01-01
"""


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "rootctl.yaml"
    path.write_text(CONFIG)
    return path


@pytest.fixture
def big() -> Iterator[Sandbox]:
    """The sample plus 48 generated accounts: 3x the default concurrency (the deletion test
    asserts that more accounts than workers have something to delete: 31)."""
    with Sandbox.start(enabled_fixture(), accounts=48, seed=1) as sb:
        yield sb


def deletions_expected(before: dict[str, Any]) -> dict[str, set[str]]:
    """What the plan must delete per account, from the ground truth and CONFIG."""
    expected: dict[str, set[str]] = {}
    for account_id, state in before.items():
        if account_id in (MANAGEMENT, SUSPENDED, DATA_PROD):
            continue
        found = {k["access_key_id"] for k in state["access_keys"]}
        found |= {c["certificate_id"] for c in state["signing_certificates"]}
        found |= {d["serial_number"] for d in state["mfa_devices"]}
        if state["password"] is not None and account_id != PAYMENTS_PROD:
            found.add("login-profile")
        if found:
            expected[account_id] = found
    return expected


def test_delete_everything_except_exceptions(big: Sandbox, tmp_path: Path, config: Path) -> None:
    journal = tmp_path / "journal.db"
    before = big.root_state()
    expected = deletions_expected(before)
    assert len(expected) > DEFAULT_CONCURRENCY, len(expected)  # every worker, some twice
    big.reset_calls()

    proc = run_cli(
        big, journal, "delete-credentials", "-c", str(config), "--reason", "OPS-42 cleanup",
        "--yes", "-o", "json",
    )  # fmt: skip

    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "exception for 444444444444 expired" in proc.stderr
    report = json.loads(proc.stdout)
    assert report["schema"] == "rootctl.delete-credentials/v1"
    assert report["summary"]["errors"] == 0 and report["summary"]["failed"] == 0
    planned = {
        a["account_id"]: {s["target"] for s in a["steps"]} for a in report["accounts"] if a["steps"]
    }
    assert planned == expected
    assert all(a["verified"] for a in report["accounts"] if a["steps"])
    kept = {a["account_id"]: a["kept"] for a in report["accounts"] if a["kept"]}
    assert set(kept) == {PAYMENTS_PROD, DATA_PROD}
    assert [k["kind"] for k in kept[PAYMENTS_PROD]] == ["password"]
    assert "hardware token held by the data team" in kept[DATA_PROD][0]["reason"]

    after = big.root_state()
    for account_id in targets(big) - {PAYMENTS_PROD, DATA_PROD}:
        assert is_clean(after[account_id]), (account_id, after[account_id])
    assert after[DATA_PROD] == before[DATA_PROD]
    assert after[SUSPENDED] == before[SUSPENDED]
    payments = after[PAYMENTS_PROD]
    assert payments["password"] == before[PAYMENTS_PROD]["password"]
    assert is_clean({**payments, "password": None})
    # Nothing touched outside the plan: no delete session for untouched accounts.
    touched = {c["account_id"] for c in changes(big)}
    assert touched == set(expected)
    delete_sessions = {
        c["account_id"] for c in big.calls() if c["task"] == "IAMDeleteRootUserCredentials"
    }
    assert delete_sessions == set(expected)

    _check_journal(big, journal, expected)
    second = audit_json(big, journal, "-c", str(config))
    assert second["summary"]["errors"] == 0
    assert {a["account_id"] for a in second["accounts"] if a["has_root_credentials"]} == {
        PAYMENTS_PROD,
        DATA_PROD,
    }
    clean = run_cli(
        big, journal, "audit", "--exclude", f"{PAYMENTS_PROD},{DATA_PROD}", "--fail-on-findings"
    )
    assert clean.returncode == 0, clean.stdout[-2000:]
    again = run_cli(big, journal, "delete-credentials", "-c", str(config), "--reason", "x", "--yes")
    assert again.returncode == 0 and "Nothing to delete." in again.stderr


def _check_journal(sb: Sandbox, journal: Path, expected: dict[str, set[str]]) -> None:
    verify = run_cli(sb, journal, "journal", "verify")
    assert verify.returncode == 0, verify.stderr
    entries = journal_entries(sb, journal, "--command", "delete-credentials")
    assert {e["reason"] for e in entries} == {"OPS-42 cleanup"}
    done: dict[str, set[str]] = {}
    for entry in entries:
        if entry["action"].startswith(("delete-", "deactivate-")):
            assert entry["outcome"] == "ok", entry
            done.setdefault(entry["account_id"], set()).add(entry["target"])
    assert done == expected
    plans = [e for e in entries if e["action"] == "plan"]
    assert {e["account_id"] for e in plans} == set(expected)
    assert all(e["outcome"] == "planned" for e in plans)
    sessions = [e for e in entries if e["action"] == "assume-root"]
    assert {e["task_policy"] for e in sessions} == {
        "IAMAuditRootUserCredentials",
        "IAMDeleteRootUserCredentials",
    }
    exported = run_cli(sb, journal, "journal", "export", "--format", "jsonl").stdout
    assert not [secret for secret in sb.secrets_issued() if secret in exported]


def test_dry_run_and_only(tmp_path: Path) -> None:
    journal = tmp_path / "journal.db"
    with Sandbox.start(enabled_fixture()) as sb:
        before = sb.root_state()
        proc = run_cli(sb, journal, "delete-credentials", "--dry-run")
        assert proc.returncode == 0, proc.stderr
        assert "delete access key AKIAROOTPAYMENTS0001" in proc.stdout
        assert "Dry run: nothing changed." in proc.stderr
        assert changes(sb) == [] and sb.root_state() == before

        proc = run_cli(
            sb, journal, "delete-credentials", "--only", "access-keys,signing-certificates",
            "--reason", "keys first", "--yes",
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        assert "not selected by --only" in proc.stdout
        after = sb.root_state()
        for account_id in targets(sb):
            assert after[account_id]["access_keys"] == []
            assert after[account_id]["signing_certificates"] == []
            assert after[account_id]["password"] == before[account_id]["password"]
            assert after[account_id]["mfa_devices"] == before[account_id]["mfa_devices"]
        actions = {c["action"] for c in changes(sb)}
        assert actions == {"DeleteAccessKey", "DeleteSigningCertificate"}


def test_selection_limits_the_plan(tmp_path: Path) -> None:
    with Sandbox.start(enabled_fixture()) as sb:
        before = sb.root_state()
        proc = run_cli(
            sb, tmp_path / "j.db", "delete-credentials", "--accounts", PAYMENTS_DEV,
            "--reason", "one account", "--yes",
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        after = sb.root_state()
        assert is_clean(after[PAYMENTS_DEV])
        assert {a: s for a, s in after.items() if a != PAYMENTS_DEV} == {
            a: s for a, s in before.items() if a != PAYMENTS_DEV
        }
        assert {c["account_id"] for c in changes(sb)} == {PAYMENTS_DEV}
        assert EXPERIMENTS not in {c["account_id"] for c in sb.calls()}
