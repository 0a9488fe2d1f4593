"""`rootctl enforce` against the sandbox: converge under delete, findings under report."""

from __future__ import annotations

from pathlib import Path

from enforce_helpers import credential_holders, document, entries, invoke, verifies

from rootctl.sandbox import Sandbox

from support import (
    DATA_PROD,
    EXCEPTIONS_CONFIG,
    MANAGEMENT,
    PAYMENTS_PROD,
    SUSPENDED,
    mutating_calls,
)


def _config(tmp_path: Path, policy: str) -> Path:
    path = tmp_path / "rootctl.yaml"
    path.write_text(
        EXCEPTIONS_CONFIG.replace("root_credentials:\n", f"root_credentials:\n  policy: {policy}\n")
    )
    return path


def test_delete_converges_and_a_second_pass_changes_nothing(
    enabled_sandbox: Sandbox, tmp_path: Path
) -> None:
    sb, journal = enabled_sandbox, tmp_path / "journal.db"
    config = _config(tmp_path, "delete")
    before = credential_holders(sb) - {SUSPENDED, MANAGEMENT}  # no AssumeRoot into these
    first = invoke(sb, "enforce", "-c", str(config), "--yes", "-o", "json", journal=journal)
    assert first.exit_code == 0, first.output
    doc = document(first)
    assert doc["schema"] == "rootctl.enforce/v1"
    assert doc["policy"] == "delete" and doc["findings"] == [] and doc["failed"] == []
    changed = {c["account_id"] for c in doc["changed"]}
    assert changed == before - {DATA_PROD}  # DATA_PROD's exception keeps everything
    assert all(c["verified"] for c in doc["changed"])
    kept = {(r["account_id"], r["kind"]) for r in doc["refused"]}
    assert (PAYMENTS_PROD, "password") in kept
    assert {a for a, _ in kept} == {PAYMENTS_PROD, DATA_PROD}
    assert credential_holders(sb) - {SUSPENDED, MANAGEMENT} == {PAYMENTS_PROD, DATA_PROD}
    assert entries(journal, doc["run_id"]) == ["enforce"]
    deletion = entries(journal, doc["deletion_run_id"])
    assert "plan" in deletion and "delete-login-profile" in deletion

    sb.reset_calls()
    second = invoke(sb, "enforce", "-c", str(config), "--yes", "-o", "json", journal=journal)
    assert second.exit_code == 0, second.output
    again = document(second)
    assert again["changed"] == [] and again["findings"] == []
    assert again["deletion_run_id"] is None
    assert again["summary"]["refused"] == doc["summary"]["refused"]
    # Only the pass's own summary is journaled; no plan, no deletion, no session beyond audit.
    assert set(entries(journal, again["run_id"])) == {"enforce"}
    assert not [c for c in mutating_calls(sb) if c["action"] != "AssumeRoot"]
    assert verifies(journal)


def test_report_lists_findings_with_stable_ids_and_changes_nothing(
    enabled_sandbox: Sandbox, tmp_path: Path
) -> None:
    sb, journal = enabled_sandbox, tmp_path / "journal.db"
    config = _config(tmp_path, "report")
    before = credential_holders(sb) - {SUSPENDED, MANAGEMENT}  # no AssumeRoot into these
    result = invoke(sb, "enforce", "-c", str(config), "--yes", "-o", "json", journal=journal)
    assert result.exit_code == 3, result.output
    doc = document(result)
    ids = {f["id"] for f in doc["findings"]}
    assert ids == {f"root-credentials:{a}" for a in before - {DATA_PROD}}
    assert doc["changed"] == []
    assert credential_holders(sb) - {SUSPENDED, MANAGEMENT} == before
    assert not [c for c in mutating_calls(sb) if c["action"] != "AssumeRoot"]
    again = document(
        invoke(sb, "enforce", "-c", str(config), "--yes", "-o", "json", journal=journal)
    )
    assert {f["id"] for f in again["findings"]} == ids
    assert verifies(journal)


def test_dry_run_under_delete_reports_what_it_would_delete(
    enabled_sandbox: Sandbox, tmp_path: Path
) -> None:
    sb, journal = enabled_sandbox, tmp_path / "journal.db"
    before = credential_holders(sb) - {SUSPENDED, MANAGEMENT}  # no AssumeRoot into these
    result = invoke(
        sb, "enforce", "-c", str(_config(tmp_path, "delete")), "--dry-run", journal=journal
    )
    assert result.exit_code == 3, result.output
    assert "dry run: nothing changed" in result.stdout
    assert credential_holders(sb) - {SUSPENDED, MANAGEMENT} == before


def test_without_yes_and_without_a_tty_it_refuses_before_any_call(
    enabled_sandbox: Sandbox, tmp_path: Path
) -> None:
    sb, journal = enabled_sandbox, tmp_path / "journal.db"
    sb.reset_calls()
    result = invoke(sb, "enforce", "-c", str(_config(tmp_path, "delete")), journal=journal)
    assert result.exit_code == 2
    assert result.stderr.startswith("error: refusing to change anything without a TTY")
    assert sb.calls() == []
