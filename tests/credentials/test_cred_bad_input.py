"""Bad input: exit 2 with one line saying what to fix, and no change reached the sandbox."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from cred_helpers import cli_env, invoke, mutating, run_cli

from rootctl.sandbox import Sandbox

from support import (
    EXPERIMENTS,
    MANAGEMENT,
    PAYMENTS_PROD,
    SECURITY,
    SUSPENDED,
    client,
    enabled_fixture,
)


@pytest.fixture(scope="module")
def sb() -> Iterator[Sandbox]:
    with Sandbox.start(enabled_fixture()) as sandbox:
        yield sandbox


CASES = [
    (["audit", "--accounts", "999999999999"], "999999999999 not in this organization"),
    (["audit", "--accounts", "12345"], "--accounts: '12345' is not an account id"),
    (["audit", "--exclude", "99999999999x"], "--exclude"),
    (["audit", "--ou", "/root/nope"], "selected OU /root/nope is not"),
    (["audit", "--ou", "root/workloads"], "did you mean '/root/workloads'"),
    (["audit", "--exclude-ou", "/root/Workloads"], "excluded OU /root/Workloads is not"),
    (["audit", "--accounts", MANAGEMENT], "no account AssumeRoot can target"),
    (["audit", "--accounts", SUSPENDED], "SUSPENDED"),
    (["audit", "--ou", "/root/workloads", "--exclude-ou", "/root/workloads"], "selection is empty"),
    (["audit", "--concurrency", "0"], "--concurrency must be between 1"),
    (["audit", "-o", "xml"], "'xml' is not one of"),
    (
        ["audit", "--out", "/nonexistent/dir/report.json"],
        "directory /nonexistent/dir does not exist",
    ),
    (["delete-credentials", "--yes"], "--reason is required"),
    (["delete-credentials", "--reason", "  ", "--yes"], "--reason is required"),
    (["delete-credentials", "--only", "passwords", "--reason", "x", "--yes"], "--only: passwords"),
    (["delete-credentials", "--only", "", "--reason", "x", "--yes"], "--only"),
    (["delete-credentials", "--accounts", "999999999999", "--reason", "x", "--yes"], "not in"),
    (["delete-credentials", "--ou", "/root/x", "--dry-run"], "selected OU /root/x is not"),
    (["delete-credentials", "--reason", "x"], "without a TTY"),
    (
        ["allow-password-recovery", "12345", "--reason", "x", "--yes"],
        "'12345' is not an account id",
    ),
    (["allow-password-recovery", PAYMENTS_PROD, "--yes"], "--reason is required"),
    (["allow-password-recovery", PAYMENTS_PROD, "--reason", "x"], "without a TTY"),
    (["allow-password-recovery", "999999999999", "--reason", "x", "--yes"], "not in this"),
    (["allow-password-recovery", MANAGEMENT, "--reason", "x", "--yes"], "management account"),
]


@pytest.mark.parametrize(("args", "message"), CASES, ids=[" ".join(c[0]) for c in CASES])
def test_bad_input_exits_2_before_any_change(
    sb: Sandbox, tmp_path: Path, args: list[str], message: str
) -> None:
    sb.reset_calls()
    result = invoke(sb, tmp_path / "j.db", *args)
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    assert message in lines[0]
    assert mutating(sb) == []


def test_bad_config_exits_2(sb: Sandbox, tmp_path: Path) -> None:
    config = tmp_path / "rootctl.yaml"
    config.write_text("root_credentials:\n  exceptions:\n    - account_id: '1234'\n")
    sb.reset_calls()
    proc = run_cli(sb, tmp_path / "j.db", "delete-credentials", "-c", str(config), "--dry-run")
    assert proc.returncode == 2, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert "root_credentials.exceptions[0]" in proc.stderr
    assert mutating(sb) == []


def test_reason_pattern_from_config(sb: Sandbox, tmp_path: Path) -> None:
    config = tmp_path / "rootctl.yaml"
    config.write_text("root_sessions:\n  reason_pattern: '^OPS-[0-9]+$'\n")
    sb.reset_calls()
    result = invoke(
        sb, tmp_path / "j.db", "delete-credentials", "-c", str(config), "--reason", "cleanup",
        "--yes",
    )  # fmt: skip
    assert result.exit_code == 2 and "reason_pattern" in result.output
    assert mutating(sb) == []


def test_a_member_account_caller_is_refused_up_front(sb: Sandbox, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from rootctl.cli.main import cli

    env = {**cli_env(sb, tmp_path / "j.db"), **sb.env(sb.credentials_for(PAYMENTS_PROD))}
    for args in (
        ["audit"],
        ["delete-credentials", "--reason", "x", "--yes"],
        ["allow-password-recovery", EXPERIMENTS, "--reason", "x", "--yes"],
    ):
        sb.reset_calls()
        result = CliRunner().invoke(cli, args, env=env, catch_exceptions=False)
        assert result.exit_code == 2, result.output
        assert "neither the management account (111111111111) nor the IAM delegated" in (
            result.output
        )
        assert [c["action"] for c in sb.calls() if c["action"] == "AssumeRoot"] == []


def test_the_iam_delegated_administrator_may_audit(sb: Sandbox, tmp_path: Path) -> None:
    org = client(sb, "organizations")
    org.register_delegated_administrator(AccountId=SECURITY, ServicePrincipal="iam.amazonaws.com")
    try:
        env = {**cli_env(sb, tmp_path / "j.db"), **sb.env(sb.credentials_for(SECURITY))}
        proc = subprocess.run(
            [sys.executable, "-m", "rootctl", "audit", "--accounts", PAYMENTS_PROD, "-o", "json"],
            env=env, capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        assert json.loads(proc.stdout)["operator"].startswith(f"arn:aws:iam::{SECURITY}:")
    finally:
        org.deregister_delegated_administrator(
            AccountId=SECURITY, ServicePrincipal="iam.amazonaws.com"
        )
