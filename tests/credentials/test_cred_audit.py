"""`rootctl audit` end to end against the sandbox over HTTP."""

from __future__ import annotations

import csv
import io
import json
import math
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from cred_helpers import (
    audit_json,
    expected_root,
    mutating,
    parsed_root,
    run_cli,
    targets,
)

from rootctl.org.selection import MANAGEMENT_SKIP_REASON
from rootctl.sandbox import Sandbox

from support import (
    EXPERIMENTS,
    MANAGEMENT,
    PAYMENTS_PROD,
    SECURITY,
    SUSPENDED,
    enabled_fixture,
)


@pytest.fixture(scope="module")
def big() -> Iterator[Sandbox]:
    """The sample organization plus 80 generated accounts, 5x the default concurrency
    (read-only tests share it)."""
    with Sandbox.start(enabled_fixture(), accounts=80, seed=1) as sb:
        yield sb


def test_audit_json_matches_the_sandbox_exactly(big: Sandbox, tmp_path: Path) -> None:
    state = big.root_state()
    kinds = Counter()
    for entry in state.values():
        kinds.update(
            {
                "password": entry["password"] is not None,
                "access_keys": bool(entry["access_keys"]),
                "signing_certificates": bool(entry["signing_certificates"]),
                **{d["kind"]: True for d in entry["mfa_devices"]},
            }
        )
    assert all(kinds[k] >= 5 for k in ("password", "access_keys", "virtual", "hardware")), kinds
    assert kinds["signing_certificates"] >= 5
    big.reset_calls()

    report = audit_json(big, tmp_path / "journal.db")

    assert report["schema"] == "rootctl.audit/v1"
    assert report["organization_id"] == big.organization_id
    assert report["operator"].endswith(":user/rootctl-operator")
    assert report["generated_at"].endswith("Z")
    by_id = {a["account_id"]: a for a in report["accounts"]}
    assert set(by_id) == set(state) | {MANAGEMENT}
    for account_id in targets(big):
        audit = by_id[account_id]
        assert audit["status"] == "ok" and audit["error"] is None, audit
        assert parsed_root(audit["root"]) == expected_root(state[account_id]), account_id
        expected = expected_root(state[account_id])
        has_any = expected["password"]["present"] or any(
            expected[k] for k in ("access_keys", "signing_certificates", "mfa_devices")
        )
        assert audit["has_root_credentials"] is has_any
        assert audit["ou_path"] == big.ou_path_of(account_id)
    assert by_id[MANAGEMENT]["status"] == "skipped"
    assert by_id[MANAGEMENT]["error"]["message"] == MANAGEMENT_SKIP_REASON
    assert by_id[SUSPENDED]["status"] == "skipped"
    assert "SUSPENDED" in by_id[SUSPENDED]["error"]["message"]
    assert by_id[SUSPENDED]["has_root_credentials"] is None
    with_creds = sum(1 for a in targets(big) if by_id[a]["has_root_credentials"])
    assert report["summary"] == {
        "accounts": len(state) + 1,
        "with_root_credentials": with_creds,
        "without_root_credentials": len(targets(big)) - with_creds,
        "errors": 0,
        "skipped": 2,
    }


def test_one_audit_session_per_account_and_an_ou_walk(big: Sandbox, tmp_path: Path) -> None:
    big.reset_calls()
    proc = run_cli(big, tmp_path / "j.db", "audit", "-o", "json")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""  # no progress bar on a pipe
    calls = big.calls()
    assume = [c for c in calls if c["action"] == "AssumeRoot"]
    assert sorted(c["account_id"] for c in assume) == [MANAGEMENT] * len(targets(big))
    assert {c["status"] for c in assume} == {200}
    sessions = {c["access_key_id"] for c in calls if c["principal_kind"] == "root-session"}
    assert len(sessions) == len(targets(big))
    assert {c["task"] for c in calls if c["task"]} == {"IAMAuditRootUserCredentials"}
    assert [c for c in mutating(big) if c["action"] != "AssumeRoot"] == []
    # The walk: calls grow with OUs and pages of 20 accounts, not with accounts.
    org = Counter(c["action"] for c in calls if c["service"] == "organizations")
    parents = 6  # root, security, workloads, workloads/prod, workloads/dev, sandbox
    assert org["ListOrganizationalUnitsForParent"] == parents
    assert org["ListAccountsForParent"] <= parents + math.ceil(len(big.root_state()) / 20)


def test_audit_sessions_are_journaled(big: Sandbox, tmp_path: Path) -> None:
    journal = tmp_path / "j.db"
    assert run_cli(big, journal, "audit", "--ou", "/root/security", "-o", "json").returncode == 0
    listed = run_cli(big, journal, "journal", "list", "-o", "json")
    entries = json.loads(listed.stdout)
    assert [(e["command"], e["action"], e["account_id"]) for e in entries] == [
        ("audit", "assume-root", SECURITY)
    ]
    assert entries[0]["task_policy"] == "IAMAuditRootUserCredentials"
    assert entries[0]["after"]["access_key_id"].startswith("ASIA")
    assert run_cli(big, journal, "journal", "verify").returncode == 0


def test_csv_table_out_file_and_fail_on_findings(big: Sandbox, tmp_path: Path) -> None:
    journal = tmp_path / "j.db"
    proc = run_cli(big, journal, "audit", "-o", "csv", "--ou", "/root/workloads/prod")
    assert proc.returncode == 0, proc.stderr
    rows = list(csv.DictReader(io.StringIO(proc.stdout)))
    prod = {a for a in big.root_state() if big.ou_path_of(a) == "/root/workloads/prod"}
    assert {r["account_id"] for r in rows} == prod
    payments = next(r for r in rows if r["account_id"] == PAYMENTS_PROD)
    assert payments["access_key_ids"] == "AKIAROOTPAYMENTS0001"
    assert payments["password_present"] == "true" and payments["mfa_devices"] == "1"
    assert payments["password_last_used"].startswith("2024-08-30")

    out = tmp_path / "report.txt"
    proc = run_cli(big, journal, "audit", "--accounts", PAYMENTS_PROD, "--out", str(out))
    assert proc.returncode == 0 and proc.stdout == ""
    assert "wrote table report" in proc.stderr
    text = out.read_text()
    assert PAYMENTS_PROD in text and "FINDING" in text and "1 with root credentials" in text

    findings = run_cli(big, journal, "audit", "--accounts", PAYMENTS_PROD, "--fail-on-findings")
    assert findings.returncode == 3
    clean = run_cli(big, journal, "audit", "--accounts", EXPERIMENTS, "--fail-on-findings")
    assert clean.returncode == 0, clean.stderr
