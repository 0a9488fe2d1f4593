"""Injected failures become per-account error results, never crashes."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from botocore.config import Config
from cred_helpers import expected_root, parsed_root, run_cli, targets

from rootctl.reports import writer_for
from rootctl.sandbox import FaultConfig, Sandbox

from support import DATA_PROD, PAYMENTS_PROD, checked_document, enabled_fixture


def test_failed_accounts_are_error_results(tmp_path: Path) -> None:
    with Sandbox.start(enabled_fixture()) as sb:
        sb.set_faults(
            FaultConfig(
                fail_assume_root={PAYMENTS_PROD: "AccessDenied", DATA_PROD: "InternalFailure"}
            )
        )
        proc = run_cli(sb, tmp_path / "j.db", "audit", "-o", "json")
        assert proc.returncode == 1, proc.stderr
        assert "Traceback" not in proc.stderr
        report = checked_document("audit", proc.stdout)
        by_id = {a["account_id"]: a for a in report["accounts"]}
        assert by_id[PAYMENTS_PROD]["status"] == "error"
        assert by_id[PAYMENTS_PROD]["error"]["code"] == "AccessDenied"
        assert by_id[PAYMENTS_PROD]["has_root_credentials"] is None
        assert by_id[DATA_PROD]["error"]["code"] == "InternalFailure"
        assert report["summary"]["errors"] == 2
        state = sb.root_state()
        for account_id in targets(sb) - {PAYMENTS_PROD, DATA_PROD}:
            assert by_id[account_id]["status"] == "ok"
            assert parsed_root(by_id[account_id]["root"]) == expected_root(state[account_id])


def test_transient_errors_are_retried(tmp_path: Path) -> None:
    """Every 3rd call answered 500/503 (by count): retries absorb them; the run ends consistent."""
    with Sandbox.start(enabled_fixture(), accounts=30, seed=3) as sb:
        sb.set_faults(FaultConfig(error_every=3))
        proc = run_cli(sb, tmp_path / "j.db", "audit", "-o", "json")
        assert "Traceback" not in proc.stderr
        report = checked_document("audit", proc.stdout)
        errors = [a for a in report["accounts"] if a["status"] == "error"]
        assert proc.returncode == (1 if errors else 0)
        assert {e["error"]["code"] for e in errors} <= {"InternalFailure", "ServiceUnavailable"}
        state = sb.root_state()
        for audit in report["accounts"]:
            if audit["status"] == "ok":
                assert parsed_root(audit["root"]) == expected_root(state[audit["account_id"]])
        assert sum(1 for c in sb.calls() if c["status"] >= 500) > 10  # faults did happen


def test_exhausted_retries_give_error_results(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Library level, retries off: every failed call makes its account an error value."""
    from rootctl.api import connect
    from rootctl.journal import Journal
    from rootctl.org.selection import SelectionSpec

    monkeypatch.setattr(
        "rootctl.aws.session.client_config",
        lambda max_pool_connections: Config(
            retries={"mode": "standard", "max_attempts": 1},
            max_pool_connections=max_pool_connections,
        ),
    )
    with Sandbox.start(enabled_fixture(), accounts=60, seed=4) as sb:
        for key, value in sb.env().items():
            monkeypatch.setenv(key, value)
        journal = Journal(tmp_path / "j.db")
        cc = connect(journal=journal).run("audit", None)
        selection = cc.select(SelectionSpec())
        sb.set_faults(FaultConfig(error_every=10))  # by count: it fires on any machine
        report = cc.audit(selection)
        sb.set_faults(FaultConfig())
        errors = [a for a in report.accounts if a.outcome == "error"]
        assert errors, "with every 10th call failing and no retries, some accounts must fail"
        assert {e.error.code for e in errors if e.error} <= {
            "InternalFailure",
            "ServiceUnavailable",
        }
        state = sb.root_state()
        ok = [a for a in report.accounts if a.outcome == "ok"]
        assert len(ok) + len(errors) == len(selection.targets)
        # The JSON the CLI prints for this report (`audit -o json`): schema-valid, read back.
        out = io.StringIO()
        writer_for("audit", "json").write(report, out)
        printed = {
            a["account_id"]: a for a in checked_document("audit", out.getvalue())["accounts"]
        }
        for audit in ok:
            assert audit.root is not None
            root = printed[audit.account_id]["root"]
            assert parsed_root(root) == expected_root(state[audit.account_id])
        for audit in errors:
            assert audit.error is not None
            assert printed[audit.account_id]["status"] == "error"
            assert printed[audit.account_id]["error"]["code"] == audit.error.code
        assert journal.verify().ok


def test_delete_session_refused_after_the_audit(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """AssumeRoot for the delete task fails in one account: an error value, the rest is done."""
    from rootctl.api import connect
    from rootctl.credentials import delete_planned, plan_deletion
    from rootctl.credentials.plan import COMMAND
    from rootctl.journal import Journal
    from rootctl.org.selection import SelectionSpec

    with Sandbox.start(enabled_fixture()) as sb:
        for key, value in sb.env().items():
            monkeypatch.setenv(key, value)
        journal = Journal(tmp_path / "j.db")
        cc = connect(journal=journal).run(COMMAND, "x")
        plan = plan_deletion(cc.audit(cc.select(SelectionSpec())))
        sb.set_faults(FaultConfig(fail_assume_root={PAYMENTS_PROD: "AccessDenied"}))
        results = {r.plan.account_id: r for r in delete_planned(cc.broker, plan, cc.recorder)}
        failed = results.pop(PAYMENTS_PROD)
        assert failed.outcome == "error" and failed.error is not None
        assert failed.error.code == "AccessDenied" and failed.steps == ()
        assert all(r.outcome == "ok" and r.verified for r in results.values())
        assert sb.root_state()[PAYMENTS_PROD]["access_keys"] != []
        assert journal.verify().ok
