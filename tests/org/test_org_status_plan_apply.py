"""status / plan / apply against the sandbox, end to end through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rootctl.sandbox import Sandbox

from support import SECURITY, mutating_calls, run_cli, sample_fixture

FULL_CONFIG = f"""
centralize_root_access:
  enabled: true
  features: [RootCredentialsManagement, RootSessions]
delegated_administrator: "{SECURITY}"
guardrails:
  - policy_name: scp_root_ou
    target_ou_paths: [/root]
    template_names: [deny_actions_as_root_except_centralized_root]
"""


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "rootctl.yaml"
    path.write_text(FULL_CONFIG)
    return path


def status(sb: Sandbox) -> dict[str, object]:
    proc = run_cli(sb, "status", "--output", "json")
    assert proc.returncode == 0, proc.stderr
    data: dict[str, object] = json.loads(proc.stdout)
    return data


def test_status_of_a_fresh_organization_shows_what_is_missing(sandbox: Sandbox) -> None:
    data = status(sandbox)
    assert data["organization_id"] == sandbox.organization_id
    assert data["management_account_id"] == sandbox.management_account_id
    assert data["caller"]["role"] == "management"  # type: ignore[index]
    assert data["iam_trusted_access"] is False
    assert data["enabled_features"] == []
    assert data["iam_delegated_administrators"] == []
    table = run_cli(sandbox, "status")
    assert "missing:" in table.stdout and "IAM trusted access" in table.stdout


def test_apply_converges_then_is_a_no_op(sandbox: Sandbox, config: Path, tmp_path: Path) -> None:
    journal = tmp_path / "journal.sqlite3"
    planned = run_cli(sandbox, "plan", "-c", str(config))
    assert planned.returncode == 2, planned.stderr  # changes pending
    order = [
        line.split(". ", 1)[1].split(" ")[0] for line in planned.stdout.splitlines() if ". " in line
    ]
    assert order == [
        "enable-trusted-access",
        "register-delegated-administrator",
        "enable-feature",
        "enable-feature",
        "create-scp",
        "attach-scp",
    ]
    applied = run_cli(sandbox, "apply", "-c", str(config), "--yes", journal=journal)
    assert applied.returncode == 0, applied.stderr
    assert "Verified" in applied.stdout
    data = status(sandbox)
    assert data["iam_trusted_access"] is True
    assert data["enabled_features"] == ["RootCredentialsManagement", "RootSessions"]
    assert data["iam_delegated_administrators"] == [SECURITY]
    assert [g["name"] for g in data["root_guardrails"]] == ["scp_root_ou"]  # type: ignore[union-attr]
    assert data["conflicts"] == []
    sandbox.reset_calls()
    again = run_cli(sandbox, "apply", "-c", str(config), "--yes", journal=journal)
    assert again.returncode == 0 and "No changes" in again.stdout
    assert mutating_calls(sandbox) == []
    assert run_cli(sandbox, "plan", "-c", str(config)).returncode == 0
    listed = run_cli(None, "journal", "--journal", str(journal), "list", "--output", "json")
    actions = [e["action"] for e in json.loads(listed.stdout)]
    assert sorted(actions) == sorted(
        [
            "enable-trusted-access",
            "register-delegated-administrator",
            "enable-feature",
            "enable-feature",
            "create-scp",
            "attach-scp",
        ]
    )


def test_apply_refuses_without_tty_or_yes(sandbox: Sandbox, config: Path) -> None:
    proc = run_cli(sandbox, "apply", "-c", str(config))
    assert proc.returncode == 2
    assert "--yes" in proc.stderr
    assert mutating_calls(sandbox) == []


def test_enabled_false_disables_features() -> None:
    with Sandbox.start(
        sample_fixture(
            trusted_access=["iam.amazonaws.com"],
            centralized_root_access=["RootCredentialsManagement", "RootSessions"],
        )
    ) as sb:
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "rootctl.yaml"
            path.write_text("centralize_root_access: {enabled: false}\n")
            planned = run_cli(sb, "plan", "-c", str(path))
            assert "disable-feature RootSessions" in planned.stdout
            assert planned.stdout.index("RootSessions") < planned.stdout.index(
                "RootCredentialsManagement"
            )
            assert (
                run_cli(
                    sb, "apply", "-c", str(path), "--yes", journal=Path(tmp) / "j.sqlite3"
                ).returncode
                == 0
            )
            assert sb.features() == []


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        (
            "centralize_root_access: {enabled: true, features: [RootSession]}\n",
            "centralize_root_access.features",
        ),
        (
            "centralize_root_access: {enabled: true, features: [RootSessions, RootSessions]}\n",
            "centralize_root_access.features",
        ),
        ("delegated_administrator: '12345'\n", "delegated_administrator"),
        ("centralise_root_access: {enabled: true}\n", "centralise_root_access"),
        ("centralize_root_access: {enabled: yes-please}\n", "centralize_root_access.enabled"),
    ],
)
def test_bad_config_never_reaches_aws(
    sandbox: Sandbox, tmp_path: Path, text: str, fragment: str
) -> None:
    path = tmp_path / "rootctl.yaml"
    path.write_text(text)
    sandbox.reset_calls()
    for command in ("plan", "apply"):
        proc = run_cli(
            sandbox, command, "-c", str(path), "--yes" if command == "apply" else "--output=table"
        )
        assert proc.returncode == 2, proc.stderr
        assert fragment in proc.stderr
        assert proc.stderr.strip().count("\n") == 0 and "Traceback" not in proc.stderr
    assert sandbox.calls() == []


def test_delegated_admin_sees_status_and_is_told_which_account_can_apply(tmp_path: Path) -> None:
    fixture = sample_fixture(
        trusted_access=["iam.amazonaws.com"], delegated_administrators=[{"account": SECURITY}]
    )
    with Sandbox.start(fixture) as sb:
        admin_env = sb.env(sb.credentials_for(SECURITY))
        proc = run_cli(sb, "status", "--output", "json", env=admin_env)
        assert proc.returncode == 0, proc.stderr
        data = json.loads(proc.stdout)
        assert data["caller"]["role"] == "delegated-administrator"
        assert data["enabled_features"] == []
        path = tmp_path / "rootctl.yaml"
        path.write_text("centralize_root_access: {enabled: true}\n")
        sb.reset_calls()
        proc = run_cli(
            sb, "apply", "-c", str(path), "--yes", env=admin_env, journal=tmp_path / "j.sqlite3"
        )
        assert proc.returncode == 2
        assert sb.management_account_id in proc.stderr and "management account" in proc.stderr
        assert mutating_calls(sb) == []


def test_status_reports_a_blocking_scp_as_an_error() -> None:
    fixture = sample_fixture(
        trusted_access=["iam.amazonaws.com"],
        centralized_root_access=["RootCredentialsManagement", "RootSessions"],
        policies=[
            {
                "name": "deny-root",
                "template": "deny_actions_as_root",
                "targets": ["/root/workloads/prod"],
            }
        ],
    )
    with Sandbox.start(fixture) as sb:
        proc = run_cli(sb, "status", "--output", "json")
        assert proc.returncode == 1
        conflicts = json.loads(proc.stdout)["conflicts"]
        assert (
            len(conflicts) == 1
            and "deny-root" in conflicts[0]
            and "/root/workloads/prod" in conflicts[0]
        )
