"""`rootctl guardrails check` against the sandbox: what it reports, and that it is true.

The sandbox enforces the SCPs on an account's path on root-session calls, so every claim of
the check is compared with what a real root session (or long-term root key) gets.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from rootctl.sandbox import Sandbox
from rootctl.tasks import Task

from support import (
    DATA_PROD,
    EXPERIMENTS,
    MANAGEMENT,
    PAYMENTS_DEV,
    PAYMENTS_PROD,
    SECURITY,
    checked_document,
    enabled_fixture,
    error_code,
    mutating_calls,
    root_client,
    run_cli,
    sample_fixture,
)

PROD = "/root/workloads/prod"
ALL_TASKS = ["audit", "create-password", "delete", "s3-unlock", "sqs-unlock"]
# The sample organization's OUs: security, workloads, workloads/prod, workloads/dev, sandbox.
SAMPLE_OUS = 5


def deny_root(template: str = "deny_actions_as_root") -> list[dict[str, Any]]:
    return [{"name": "deny-root", "template": template, "targets": [PROD]}]


def check_json(sb: Sandbox, *args: str, env: dict[str, str] | None = None) -> tuple[int, Any]:
    proc = run_cli(sb, "guardrails", "check", "--output", "json", *args, env=env)
    assert proc.returncode in (0, 1), proc.stderr
    return proc.returncode, checked_document("guardrails-check", proc.stdout)


def by_id(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {account["account_id"]: account for account in data["accounts"]}


def calls(sb: Sandbox) -> Counter[str]:
    return Counter(call["action"] for call in sb.calls())


def long_term_root_iam(sb: Sandbox, account_id: str) -> Any:
    """An IAM client signed with the account's long-term root access key (fixture data)."""
    from support import keyed_client

    key = next(k for k in sb.state.root_users[account_id].access_keys if k.status == "Active")
    return keyed_client(sb, "iam", key.access_key_id, key.secret_access_key, retries=True)


@pytest.fixture
def blocked() -> Iterator[Sandbox]:
    """Features enabled, `deny_actions_as_root` attached to /root/workloads/prod only."""
    with Sandbox.start(enabled_fixture(policies=deny_root())) as sb:
        yield sb


def test_check_names_the_blocking_scp_in_one_ou_and_the_session_really_fails(
    blocked: Sandbox,
) -> None:
    blocked.reset_calls()
    code, data = check_json(blocked)
    assert code == 1
    assert mutating_calls(blocked) == []
    accounts = by_id(data)
    assert MANAGEMENT not in accounts  # SCPs do not apply to it; members only by default
    in_prod = {a for a, v in accounts.items() if v["ou_path"] == PROD}
    assert {PAYMENTS_PROD, DATA_PROD} <= in_prod
    for account_id, account in accounts.items():
        if account_id in in_prod:
            assert account["blocked_tasks"] == ALL_TASKS
            for task in account["tasks"]:
                assert task["denied_by"] == {
                    "policy": "deny-root",
                    "sid": "DenyActionsAsRootUser",
                    "index": 0,
                }
            assert account["long_term_root_denied"] is True
        else:
            assert account["blocked_tasks"] == [], account_id
            assert account["long_term_root_denied"] is False
    [cause] = data["causes"]
    assert cause["policy"] == "deny-root" and cause["sid"] == "DenyActionsAsRootUser"
    assert cause["attached_at"] == [f"ou:{PROD}"]
    assert sorted(cause["accounts"]) == sorted(in_prod)

    # What the check says is what AWS (the sandbox) does.
    with pytest.raises(ClientError) as denied:
        root_client(blocked, PAYMENTS_PROD, Task.AUDIT, "iam").list_access_keys()
    assert error_code(denied) == "AccessDenied"
    assert "deny-root" in str(denied.value) and "service control policy" in str(denied.value)
    works = root_client(blocked, PAYMENTS_DEV, Task.AUDIT, "iam").list_access_keys()
    assert works["AccessKeyMetadata"] == []

    table = run_cli(blocked, "guardrails", "check")
    assert table.returncode == 1 and table.stderr == ""
    assert (
        "error: SCP deny-root (statement DenyActionsAsRootUser, attached to /root/workloads/prod)"
        in table.stdout
    )
    assert "deny_actions_as_root_except_centralized_root" in table.stdout


def test_except_centralized_root_blocks_nothing_and_denies_long_term_root() -> None:
    fixture = enabled_fixture(policies=deny_root("deny_actions_as_root_except_centralized_root"))
    with Sandbox.start(fixture) as sb:
        code, data = check_json(sb)
        assert code == 0
        assert data["causes"] == [] and data["conflicts"] == [] and data["failed"] is False
        accounts = by_id(data)
        assert all(account["blocked_tasks"] == [] for account in accounts.values())
        prod = accounts[PAYMENTS_PROD]
        assert prod["long_term_root_denied"] is True
        assert prod["long_term_root_denied_by"]["policy"] == "deny-root"
        assert accounts[PAYMENTS_DEV]["long_term_root_denied"] is False

        # The audit session works; the long-term root key of the same account is denied.
        keys = root_client(sb, PAYMENTS_PROD, Task.AUDIT, "iam").list_access_keys()
        assert [k["AccessKeyId"] for k in keys["AccessKeyMetadata"]] == ["AKIAROOTPAYMENTS0001"]
        with pytest.raises(ClientError) as denied:
            long_term_root_iam(sb, PAYMENTS_PROD).list_users()
        assert error_code(denied) == "AccessDenied" and "deny-root" in str(denied.value)

        table = run_cli(sb, "guardrails", "check")
        assert table.returncode == 0
        row = next(line for line in table.stdout.splitlines() if PAYMENTS_PROD in line)
        assert "none" in row and "denied by deny-root" in row


def test_blocking_scp_without_the_features_is_a_warning_exit_0() -> None:
    with Sandbox.start(sample_fixture(policies=deny_root())) as sb:
        code, data = check_json(sb)
        assert code == 0 and data["enabled_features"] == [] and data["failed"] is False
        assert by_id(data)[PAYMENTS_PROD]["blocked_tasks"] == ALL_TASKS
        table = run_cli(sb, "guardrails", "check")
        assert table.returncode == 0
        assert "warning: SCP deny-root" in table.stdout
        assert "once centralized root access is enabled" in table.stdout


def test_accounts_selects_and_reads_only_their_paths(blocked: Sandbox) -> None:
    blocked.reset_calls()
    code, data = check_json(blocked, "--accounts", f"{PAYMENTS_PROD},{EXPERIMENTS},{MANAGEMENT}")
    assert code == 1
    accounts = by_id(data)
    assert list(accounts) == [MANAGEMENT, EXPERIMENTS, PAYMENTS_PROD]  # tree order
    assert accounts[MANAGEMENT]["scp_exempt"] is True and accounts[MANAGEMENT]["tasks"] == []
    assert accounts[EXPERIMENTS]["blocked_tasks"] == []
    assert accounts[PAYMENTS_PROD]["blocked_tasks"] == ALL_TASKS
    made = calls(blocked)
    # Targets: root, /root/sandbox, /root/workloads, /root/workloads/prod and the 3 accounts;
    # nothing for /root/security, /root/workloads/dev or the other accounts.
    assert made["ListPoliciesForTarget"] == 7
    assert made["DescribePolicy"] == 2  # FullAWSAccess and deny-root, each read once


@pytest.mark.parametrize(
    ("value", "fragment"),
    [("12345", "--accounts"), ("999999999999", "999999999999 not in organization")],
)
def test_bad_accounts_are_usage_errors(blocked: Sandbox, value: str, fragment: str) -> None:
    blocked.reset_calls()
    proc = run_cli(blocked, "guardrails", "check", "--accounts", value)
    assert proc.returncode == 2
    assert fragment in proc.stderr and proc.stderr.count("\n") == 1
    assert "Traceback" not in proc.stderr
    if value == "12345":
        assert blocked.calls() == []  # validated before any AWS call


def test_calls_grow_with_ous_and_accounts_not_with_policies() -> None:
    policies = [
        *deny_root("deny_actions_as_root_except_centralized_root"),
        {"name": "extra-root", "content": _deny("s3:DeleteBucket"), "targets": ["/root"]},
        {"name": "extra-dev", "content": _deny("ec2:*"), "targets": ["/root/workloads/dev"]},
        {"name": "extra-acct", "content": _deny("kms:*"), "targets": [PAYMENTS_DEV]},
    ]
    with Sandbox.start(enabled_fixture(policies=policies), accounts=120, seed=11) as sb:
        sb.reset_calls()
        code, data = check_json(sb)
        assert code == 0
        members = len(data["accounts"])
        assert members >= 120
        made = calls(sb)
        assert made["ListPoliciesForTarget"] == 1 + SAMPLE_OUS + members
        assert made["DescribePolicy"] == 5  # FullAWSAccess + the four above
        assert made["ListOrganizationalUnitsForParent"] == 1 + SAMPLE_OUS
        # One page per parent, plus one per further 20 accounts (the API's page size).
        assert 1 + SAMPLE_OUS <= made["ListAccountsForParent"] <= 1 + SAMPLE_OUS + members // 20
        assert "ListTargetsForPolicy" not in made and "ListParents" not in made


def _deny(action: str) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [{"Sid": "Deny", "Effect": "Deny", "Action": action, "Resource": "*"}],
    }


def test_levels_match_what_the_sandbox_enforces(
    blocked: Sandbox, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from rootctl.aws.session import SessionFactory
    from rootctl.guardrails.fetch import read_scp_paths
    from rootctl.sandbox.orgview import org_context

    _point_at(blocked, monkeypatch, tmp_path)
    snapshot = read_scp_paths(SessionFactory())
    assert snapshot.management_account_id == MANAGEMENT
    assert {a.id for a in snapshot.accounts} >= {MANAGEMENT, SECURITY, PAYMENTS_PROD}
    org = org_context(PAYMENTS_PROD)
    assert org is not None
    for account in snapshot.accounts:
        ours = [(name, list(policies)) for name, policies in snapshot.levels(account.id)]
        assert ours == org.scp_levels(account.id), account.id
        assert account.ou_path == blocked.ou_path_of(account.id)


# --------------------------------------------------------------------------- delegated admin


def delegated_fixture() -> dict[str, Any]:
    return enabled_fixture(delegated_administrators=[{"account": SECURITY}], policies=deny_root())


def test_delegated_administrator_reads_scps_where_the_sandbox_allows_it() -> None:
    # AWS answers AccessDenied here unless Organizations delegates policy reads to the account
    # (see the next test); the sandbox lets delegated administrators call every List/Describe.
    with Sandbox.start(delegated_fixture()) as sb:
        admin = sb.env(sb.credentials_for(SECURITY))
        code, data = check_json(sb, env=admin)
        assert code == 1
        assert by_id(data)[PAYMENTS_PROD]["blocked_tasks"] == ALL_TASKS


def test_access_denied_on_policy_apis_names_the_management_account(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """AWS's answer to an IAM delegated administrator without Organizations policy delegation."""
    from click.testing import CliRunner

    from rootctl.aws.session import SessionFactory
    from rootctl.cli.main import cli

    original = SessionFactory.client

    def client(self: SessionFactory, service: str, **kwargs: Any) -> Any:
        made = original(self, service, **kwargs)
        if service == "organizations":
            for operation in ("ListPoliciesForTarget", "DescribePolicy"):
                made.meta.events.register(
                    f"before-call.organizations.{operation}",
                    _access_denied,
                    unique_id=f"test-deny-{operation}",
                )
        return made

    monkeypatch.setattr(SessionFactory, "client", client)
    with Sandbox.start(delegated_fixture()) as sb:
        _point_at(sb, monkeypatch, tmp_path, sb.credentials_for(SECURITY))
        sb.reset_calls()
        result = CliRunner().invoke(cli, ["guardrails", "check"])
        assert result.exit_code == 2, result.output
        message = result.stderr.strip()
        assert message.count("\n") == 0
        assert message.startswith(
            f"error: SCPs can only be read from the management account {MANAGEMENT}"
        )
        assert f"arn:aws:iam::{SECURITY}:user/" in message
        assert mutating_calls(sb) == []


class _Forbidden:
    status_code = 400


def _access_denied(**_: Any) -> tuple[_Forbidden, dict[str, Any]]:
    return _Forbidden(), {
        "Error": {
            "Code": "AccessDeniedException",
            "Message": "You don't have permissions to access this resource.",
        },
        "ResponseMetadata": {"HTTPStatusCode": 400},
    }


def _point_at(
    sb: Sandbox, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, creds: Any = None
) -> None:
    """Environment of a user's shell pointed at the sandbox (nothing from the real one)."""
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    for name in ("config", "credentials"):
        (tmp_path / name).write_text("")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    for name, value in sb.env(creds).items():
        monkeypatch.setenv(name, value)
