"""Every 20th call answered 500/503 and every 13th throttled: audit and delete stay correct and complete.

tests/credentials covers faults one at a time (accounts AWS refuses, 30% errors with some
accounts allowed to fail, retries switched off). Here both faults act at once on a normal
run, and nothing may be lost: every account audited and equal to the sandbox's ground
truth, every planned credential deleted, nothing else touched, the journal intact.

The faults are injected by count, not by rate or with a token bucket: a run makes far more
than 20 calls, so both faults fire however fast or loaded the machine is (a throttle by
requests per second did not fire on a busy machine, and the test failed).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

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

THROTTLED = {"Throttling", "ThrottlingException", "TooManyRequestsException", "SlowDown"}


def _when(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value.replace("Z", "+00:00"))


def truth(state: dict[str, Any]) -> dict[str, Any]:
    """The sandbox's view of one root user, in the audit report's terms (dates parsed)."""
    password = state["password"]
    return {
        "password": None if password is None else _when(password["created"]),
        "access_keys": sorted(
            (k["access_key_id"], k["status"], _when(k["created"]), _when(k["last_used_date"]))
            for k in state["access_keys"]
        ),
        "signing_certificates": sorted(
            (c["certificate_id"], c["status"]) for c in state["signing_certificates"]
        ),
        "mfa_devices": sorted(
            (d["serial_number"], d["kind"]) for d in state["mfa_devices"] if d["assigned"]
        ),
    }


def reported(root: dict[str, Any]) -> dict[str, Any]:
    """One account's `root` from `rootctl audit -o json`, in the same terms."""
    password = root["password"]
    return {
        "password": _when(password["created"]) if password["present"] else None,
        "access_keys": sorted(
            (k["access_key_id"], k["status"], _when(k["created"]), _when(k["last_used_date"]))
            for k in root["access_keys"]
        ),
        "signing_certificates": sorted(
            (c["certificate_id"], c["status"]) for c in root["signing_certificates"]
        ),
        "mfa_devices": sorted((d["serial_number"], d["type"]) for d in root["mfa_devices"]),
    }


def targets_of(state: dict[str, Any], keep_password: bool = False) -> set[str]:
    """What a full delete plans for one root user (the plan's step targets)."""
    found = {k["access_key_id"] for k in state["access_keys"]}
    found |= {c["certificate_id"] for c in state["signing_certificates"]}
    found |= {d["serial_number"] for d in state["mfa_devices"]}
    if state["password"] is not None and not keep_password:
        found.add("login-profile")
    return found


def assert_audit_matches(report: dict[str, Any], state: dict[str, Any]) -> None:
    by_id = {a["account_id"]: a for a in report["accounts"]}
    assert set(by_id) == {MANAGEMENT, *state}, "every account of the organization is reported"
    assert report["summary"]["errors"] == 0
    assert by_id[MANAGEMENT]["status"] == "skipped"
    for account_id, root in state.items():
        audit = by_id[account_id]
        if account_id == SUSPENDED:
            assert audit["status"] == "skipped", audit
            continue
        assert audit["status"] == "ok", audit
        assert reported(audit["root"]) == truth(root), account_id
        assert audit["has_root_credentials"] == any(truth(root).values())


def faults_happened(sb: Sandbox) -> tuple[int, int]:
    calls = sb.calls()
    errors = sum(1 for c in calls if c["status"] >= 500)
    throttled = sum(1 for c in calls if c["error_code"] in THROTTLED)
    return errors, throttled


SIZES = [
    pytest.param(30, id="30-accounts"),
    pytest.param(400, id="400-accounts", marks=pytest.mark.slow),
]
# About 5% errors and 8% throttling; coprime periods, so the two faults meet only every 260 calls.
FAULTS = FaultConfig(error_every=20, throttle_every=13)


@pytest.fixture
def faulty(request: pytest.FixtureRequest) -> Iterator[Sandbox]:
    accounts = request.param
    with Sandbox.start(enabled_fixture(), accounts=accounts, seed=accounts) as sb:
        sb.set_faults(FAULTS)
        yield sb


@pytest.mark.parametrize("faulty", SIZES, indirect=True)
def test_audit_is_complete_and_exact_under_errors_and_throttling(
    faulty: Sandbox, tmp_path: Path
) -> None:
    proc = run_cli(faulty, "audit", "-o", "json", journal=tmp_path / "j.db")

    assert "Traceback" not in proc.stderr
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert_audit_matches(json.loads(proc.stdout), faulty.root_state())
    errors, throttled = faults_happened(faulty)
    assert errors > 0 and throttled > 0, (errors, throttled)


@pytest.mark.parametrize("faulty", SIZES, indirect=True)
def test_delete_is_complete_and_exact_under_errors_and_throttling(
    faulty: Sandbox, tmp_path: Path
) -> None:
    journal = tmp_path / "j.db"
    config = tmp_path / "rootctl.yaml"
    config.write_text(EXCEPTIONS_CONFIG)
    before = faulty.root_state()
    in_scope = set(before) - {MANAGEMENT, SUSPENDED, DATA_PROD}
    planned = {
        a: t for a in in_scope if (t := targets_of(before[a], keep_password=a == PAYMENTS_PROD))
    }

    proc = run_cli(
        faulty, "delete-credentials", "-c", str(config), "--reason", "OPS-7 cleanup",
        "--yes", "-o", "json", journal=journal,
    )  # fmt: skip

    assert "Traceback" not in proc.stderr
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout)
    summary = report["summary"]
    assert summary["errors"] == 0 and summary["failed"] == 0, summary
    assert summary["deleted"] + summary["already_gone"] == summary["steps_planned"], summary
    done = {
        a["account_id"]: {s["target"] for s in a["steps"]} for a in report["accounts"] if a["steps"]
    }
    assert done == planned
    after = faulty.root_state()
    for account_id, root in after.items():
        if account_id in planned:
            left = targets_of(root, keep_password=account_id == PAYMENTS_PROD)
            assert not left, (account_id, left)
            assert root["mfa_devices"] == [], "virtual devices are deleted, not only detached"
        else:
            assert root == before[account_id], f"{account_id} was outside the plan"
    assert after[PAYMENTS_PROD]["password"] == before[PAYMENTS_PROD]["password"]
    errors, throttled = faults_happened(faulty)
    assert errors > 0 and throttled > 0, (errors, throttled)

    verify = run_cli(faulty, "journal", "verify", journal=journal)
    assert verify.returncode == 0, verify.stderr
    second = run_cli(faulty, "audit", "-o", "json", journal=journal)
    assert second.returncode == 0, second.stderr[-3000:]
    assert_audit_matches(json.loads(second.stdout), faulty.root_state())
    still = {
        a["account_id"] for a in json.loads(second.stdout)["accounts"] if a["has_root_credentials"]
    }
    assert still == {PAYMENTS_PROD, DATA_PROD} & {
        a for a in before if any(truth(before[a]).values())
    }
