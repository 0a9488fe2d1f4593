"""`rootctl enforce` converges the organization sections of rootctl.yaml as `apply` does.

Features off -> on, then root credentials deleted in the same pass; a second pass changes
nothing; `report` and `--dry-run` change nothing; from the delegated administrator the
changes only the management account can make are pending with its id; a feature that cannot
be enabled fails the pass once, with the credentials part saying why.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from enforce_helpers import credential_holders, document, entries, invoke, verifies

from rootctl.permissions import policy_document, requirements_for
from rootctl.sandbox import Sandbox
from rootctl.sandbox.model import FaultConfig

from support import (
    DATA_PROD,
    EXCEPTIONS_CONFIG,
    MANAGEMENT,
    PAYMENTS_PROD,
    SECURITY,
    SUSPENDED,
    checked_document,
    enabled_fixture,
    mutating_calls,
    run_cli,
    sample_fixture,
)

FEATURES = ["RootCredentialsManagement", "RootSessions"]
ORG = """centralize_root_access:
  enabled: true
  features: [RootCredentialsManagement, RootSessions]
"""
GUARDRAIL = """guardrails:
  - policy_name: scp_root_ou
    target_ou_paths: [/root]
    template_names: [deny_actions_as_root_except_centralized_root]
"""
ENABLE = [
    ("enable-trusted-access", "iam.amazonaws.com"),
    ("enable-feature", "RootCredentialsManagement"),
    ("enable-feature", "RootSessions"),
]
FAIL_ENABLE = FaultConfig(
    fail_actions={"EnableOrganizationsRootCredentialsManagement": "AccessDenied"}
)


@pytest.fixture
def features_off() -> Iterator[Sandbox]:
    """The sample organization before centralizing root: no trusted access, no feature."""
    with Sandbox.start(sample_fixture()) as sb:
        yield sb


def _config(tmp_path: Path, policy: str, org: str = ORG) -> Path:
    path = tmp_path / "rootctl.yaml"
    path.write_text(
        org
        + EXCEPTIONS_CONFIG.replace(
            "root_credentials:\n", f"root_credentials:\n  policy: {policy}\n"
        )
    )
    return path


def _enforce(sb: Sandbox, config: Path, journal: Path, *extra: str) -> tuple[int, dict[str, Any]]:
    result = invoke(sb, "enforce", "-c", str(config), "-o", "json", *extra, journal=journal)
    return result.exit_code, document(result)


def _changes(items: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(i["kind"], i["target"]) for i in items]


def _holders(sb: Sandbox) -> set[str]:
    return credential_holders(sb) - {SUSPENDED, MANAGEMENT}  # no AssumeRoot into these


def test_features_off_converge_then_credentials_go_in_the_same_pass_and_twice_is_a_no_op(
    features_off: Sandbox, tmp_path: Path
) -> None:
    sb, journal = features_off, tmp_path / "journal.db"
    config = _config(tmp_path, "delete")
    before = _holders(sb)
    code, doc = _enforce(sb, config, journal, "--yes")
    assert code == 0, doc
    org = doc["organization"]
    assert _changes(org["changed"]) == ENABLE  # apply's safe order
    assert org["pending"] == [] and org["failed"] == [] and org["errors"] == []
    assert org["verified"] is True and org["enabled_features"] == FEATURES
    assert sb.features() == FEATURES
    assert doc["credentials_skipped"] is None
    # The same pass then deleted what no exception keeps.
    assert {c["account_id"] for c in doc["changed"]} == before - {DATA_PROD}
    assert _holders(sb) == {PAYMENTS_PROD, DATA_PROD}
    assert doc["summary"]["organization_changed"] == 3
    # Each organization change is journaled by the pass itself, before its summary entry.
    assert entries(journal, doc["run_id"]) == [
        "enable-trusted-access",
        "enable-feature",
        "enable-feature",
        "enforce",
    ]

    sb.reset_calls()
    code, again = _enforce(sb, config, journal, "--yes")
    assert code == 0, again
    assert again["organization"]["changed"] == [] and again["organization"]["pending"] == []
    assert again["changed"] == [] and again["findings"] == []
    assert entries(journal, again["run_id"]) == ["enforce"]
    assert not [c for c in mutating_calls(sb) if c["action"] != "AssumeRoot"]
    assert verifies(journal)


def test_report_policy_lists_the_organization_changes_as_findings_and_makes_none(
    features_off: Sandbox, tmp_path: Path
) -> None:
    sb, journal = features_off, tmp_path / "journal.db"
    sb.reset_calls()
    code, doc = _enforce(sb, _config(tmp_path, "report"), journal, "--yes")
    assert code == 3, doc
    assert _changes(doc["organization"]["pending"]) == ENABLE
    assert all("policy: report" in i["why"] for i in doc["organization"]["pending"])
    ids = [f["id"] for f in doc["findings"]]
    assert ids == [f"organization:{MANAGEMENT}:{kind}:{target}" for kind, target in ENABLE]
    # AssumeRoot would refuse every account: one reason instead of a failure per account.
    assert doc["failed"] == [] and doc["summary"]["accounts"] == 0
    assert "RootCredentialsManagement feature is not enabled" in doc["credentials_skipped"]
    assert mutating_calls(sb) == [] and sb.features() == []
    assert not [c for c in sb.calls() if c["action"] == "AssumeRoot"]
    assert entries(journal, doc["run_id"]) == ["enforce"]


def test_dry_run_reports_pending_changes_and_changes_nothing(
    features_off: Sandbox, tmp_path: Path
) -> None:
    sb, journal = features_off, tmp_path / "journal.db"
    before = _holders(sb)
    sb.reset_calls()
    result = invoke(
        sb, "enforce", "-c", str(_config(tmp_path, "delete")), "--dry-run", journal=journal
    )
    assert result.exit_code == 3, result.output
    assert "pending enable-feature RootCredentialsManagement: dry run: not changed" in result.stdout
    assert "this pass would enable it first (dry run)" in result.stdout
    assert mutating_calls(sb) == [] and sb.features() == [] and _holders(sb) == before
    assert not journal.exists() or _journal_outcomes(journal, None) == []


def test_from_the_delegated_administrator_management_changes_are_pending_with_that_account(
    tmp_path: Path,
) -> None:
    fixture = sample_fixture(
        trusted_access=["iam.amazonaws.com"], delegated_administrators=[{"account": SECURITY}]
    )
    with Sandbox.start(fixture) as sb:
        admin = sb.env(sb.credentials_for(SECURITY))
        sb.reset_calls()
        proc = run_cli(
            sb,
            "enforce",
            "-c",
            str(_config(tmp_path, "delete")),
            "--yes",
            "-o",
            "json",
            env=admin,
            journal=tmp_path / "j.db",
        )
        assert proc.returncode == 3, proc.stdout + proc.stderr
        doc = checked_document("enforce", proc.stdout)
        org = doc["organization"]
        assert org["caller_role"] == "delegated-administrator"
        assert _changes(org["pending"]) == ENABLE[1:]
        assert {i["needs"] for i in org["pending"]} == {MANAGEMENT}
        assert org["failed"] == [] and doc["failed"] == []  # not failed, per account or at all
        assert f"needs the management account {MANAGEMENT}" in doc["credentials_skipped"]
        assert mutating_calls(sb) == [] and sb.features() == []


def test_delegated_administrator_still_cleans_credentials_when_only_a_guardrail_is_pending(
    tmp_path: Path,
) -> None:
    fixture = enabled_fixture(delegated_administrators=[{"account": SECURITY}])
    with Sandbox.start(fixture) as sb:
        admin = sb.env(sb.credentials_for(SECURITY))
        config = _config(tmp_path, "delete", ORG + GUARDRAIL)
        proc = run_cli(
            sb,
            "enforce",
            "-c",
            str(config),
            "--yes",
            "-o",
            "json",
            env=admin,
            journal=tmp_path / "j.db",
        )
        assert proc.returncode == 3, proc.stdout + proc.stderr  # the guardrail remains
        doc = checked_document("enforce", proc.stdout)
        assert _changes(doc["organization"]["pending"]) == [
            ("create-scp", "scp_root_ou"),
            ("attach-scp", "scp_root_ou"),
        ]
        assert doc["credentials_skipped"] is None and doc["changed"]
        assert _holders(sb) == {PAYMENTS_PROD, DATA_PROD}
        assert {f["type"] for f in doc["findings"]} == {"organization"}


def test_a_feature_that_cannot_be_enabled_fails_the_pass_once_and_credentials_say_why(
    features_off: Sandbox, tmp_path: Path
) -> None:
    sb, journal = features_off, tmp_path / "journal.db"
    config = _config(tmp_path, "delete")
    before = _holders(sb)
    sb.set_faults(FAIL_ENABLE)  # every EnableOrganizationsRootCredentialsManagement refused
    sb.reset_calls()
    code, doc = _enforce(sb, config, journal, "--yes")
    assert code == 1, doc
    org = doc["organization"]
    assert _changes(org["changed"]) == ENABLE[:1]
    assert _changes(org["failed"]) == [ENABLE[1]]
    assert org["failed"][0]["error"].startswith("AccessDenied: ")
    assert _changes(org["pending"]) == [ENABLE[2]]
    assert "enable-feature RootCredentialsManagement failed first" in org["pending"][0]["why"]
    assert org["verified"] is False
    skipped = doc["credentials_skipped"]
    assert "enable-feature RootCredentialsManagement failed: AccessDenied" in skipped
    # No account was tried: no AssumeRoot, no per-account failure, nothing deleted.
    assert not [c for c in sb.calls() if c["action"] == "AssumeRoot"]
    assert doc["failed"] == [] and doc["changed"] == [] and _holders(sb) == before
    with_outcomes = _journal_outcomes(journal, doc["run_id"])
    assert with_outcomes == [
        ("enable-trusted-access", "ok"),
        ("enable-feature", "error"),
        ("enforce", "error"),
    ]
    assert verifies(journal)

    text = invoke(sb, "enforce", "-c", str(config), "--yes", journal=journal)
    assert text.exit_code == 1
    assert "failed  enable-feature RootCredentialsManagement: AccessDenied" in text.stdout
    assert "skipped  root credentials not checked" in text.stdout

    sb.set_faults(FaultConfig())  # the permission fixed: the next pass converges
    code, fixed = _enforce(sb, config, journal, "--yes")
    assert code == 0, fixed
    assert _changes(fixed["organization"]["changed"]) == ENABLE[1:]
    assert _holders(sb) == {PAYMENTS_PROD, DATA_PROD}
    assert verifies(journal)


def test_a_shard_other_than_the_first_leaves_organization_changes_to_shard_one(
    features_off: Sandbox, tmp_path: Path
) -> None:
    sb, journal = features_off, tmp_path / "journal.db"
    sb.reset_calls()
    code, doc = _enforce(sb, _config(tmp_path, "delete"), journal, "--yes", "--shard", "2/2")
    assert code == 3, doc
    assert _changes(doc["organization"]["pending"]) == ENABLE
    assert "shard 1/N" in doc["organization"]["pending"][0]["why"]
    assert mutating_calls(sb) == []


def test_permissions_enforce_cover_the_organization_calls(
    features_off: Sandbox, tmp_path: Path
) -> None:
    sb, journal = features_off, tmp_path / "journal.db"
    operator = sb.operator
    assert operator is not None
    sb.reset_calls()
    code, doc = _enforce(sb, _config(tmp_path, "delete", ORG + GUARDRAIL), journal, "--yes")
    assert code == 0, doc
    granted = {
        a
        for s in policy_document(requirements_for(["enforce"]))["Statement"]
        for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    }
    calls = {
        f"{c['service']}:{c['action']}"
        for c in sb.calls()
        if c["access_key_id"] == operator.access_key_id
    }
    assert {"organizations:EnableAWSServiceAccess", "organizations:CreatePolicy"} <= calls
    assert "iam:EnableOrganizationsRootCredentialsManagement" in calls
    assert calls <= granted, calls - granted


def _journal_outcomes(journal: Path, run_id: str | None) -> list[tuple[str, str]]:
    from rootctl.journal import Journal

    with Journal(journal, create=False) as j:
        found = j.list(run_id=run_id) if run_id is not None else j.list()
        return [(e.action, e.outcome) for e in found]


@pytest.mark.parametrize("output", ["ocsf", "asff"])
def test_organization_findings_export_with_the_central_root_control(
    features_off: Sandbox, tmp_path: Path, output: str
) -> None:
    import json

    sb, journal = features_off, tmp_path / "journal.db"
    config = _config(tmp_path, "report")
    result = invoke(sb, "enforce", "-c", str(config), "--yes", "-o", output, journal=journal)
    assert result.exit_code == 3, result.output
    text = result.stdout
    assert f"rootctl/enforce/organization:{MANAGEMENT}:enable-feature:RootSessions" in text
    assert "2.1.1" in text  # CIS v7.0.0: root credentials management enabled
    assert json.loads(text)  # one JSON document, parseable


def test_unreadable_scps_matter_only_when_guardrails_are_configured(
    enabled_sandbox: Sandbox, tmp_path: Path
) -> None:
    sb, journal = enabled_sandbox, tmp_path / "journal.db"
    # What a delegated administrator without organizations:ListPolicies meets.
    sb.set_faults(FaultConfig(fail_actions={"ListPolicies": "AccessDeniedException"}))
    code, doc = _enforce(sb, _config(tmp_path, "delete"), journal, "--yes")
    assert code == 0, doc
    assert doc["organization"]["errors"] == []
    assert any("service control policies" in n for n in doc["notes"])
    assert _holders(sb) == {PAYMENTS_PROD, DATA_PROD}

    code, doc = _enforce(sb, _config(tmp_path, "delete", ORG + GUARDRAIL), journal, "--yes")
    assert code == 1, doc
    assert doc["organization"]["errors"] == [
        "could not read service control policies: AccessDeniedException"
    ]
    assert doc["organization"]["changed"] == []  # a plan it cannot trust is not applied
