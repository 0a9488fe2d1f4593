"""Emergency-access rules from rootctl.yaml: checked before any session, refusals journaled."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result

from rootctl.cli.main import cli
from rootctl.journal import Journal
from rootctl.sandbox import Sandbox

from support import PAYMENTS_PROD

STATE = "payments-prod-terraform-state"
ARTIFACTS = "payments-prod-artifacts"
Run = Callable[..., Result]


@pytest.fixture
def run(enabled_sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Run:
    monkeypatch.chdir(tmp_path)
    env = {**enabled_sandbox.env(), "ROOTCTL_JOURNAL": str(tmp_path / "j.sqlite3")}

    def invoke(*args: str) -> Result:
        return CliRunner().invoke(cli, list(args), env=env)

    return invoke


def write_config(tmp_path: Path, **root_sessions: Any) -> None:
    """./rootctl.yaml with these root_sessions rules (picked up from the working directory)."""
    (tmp_path / "rootctl.yaml").write_text(yaml.safe_dump({"root_sessions": root_sessions}))


def assume_roots(sb: Sandbox) -> int:
    return sum(1 for c in sb.calls() if c["action"] == "AssumeRoot")


def refusals(tmp_path: Path) -> list[Any]:
    return Journal(tmp_path / "j.sqlite3").list(outcome="refused")


def test_a_protected_bucket_is_refused_with_the_reason(
    run: Run, enabled_sandbox: Sandbox, tmp_path: Path
) -> None:
    write_config(
        tmp_path,
        protected_resources=[
            {
                "account_id": PAYMENTS_PROD,
                "s3_buckets": ["*-terraform-state"],
                "reason": "Terraform state: platform runbook only",
            }
        ],
    )
    enabled_sandbox.reset_calls()
    result = run(
        "unlock", "s3", "--account", PAYMENTS_PROD, "--bucket", STATE, "--reason", "OPS-1", "--yes"
    )
    assert result.exit_code == 2
    assert (
        "protected" in result.stderr and "Terraform state: platform runbook only" in result.stderr
    )
    assert result.stderr.count("\n") == 1
    assert assume_roots(enabled_sandbox) == 0
    [entry] = refusals(tmp_path)
    assert (entry.command, entry.account_id) == ("unlock s3", PAYMENTS_PROD)
    assert entry.target == f"arn:aws:s3:::{STATE}"
    assert "protected_resources[0]" in (entry.error or "")
    # The other bucket is not covered by the pattern.
    other = run(
        "unlock",
        "s3",
        "--account",
        PAYMENTS_PROD,
        "--bucket",
        ARTIFACTS,
        "--reason",
        "OPS-1",
        "--dry-run",
    )
    assert other.exit_code == 0, other.output


def test_reason_must_match_the_pattern(run: Run, enabled_sandbox: Sandbox, tmp_path: Path) -> None:
    write_config(tmp_path, reason_pattern="^[A-Z]+-[0-9]+$")
    enabled_sandbox.reset_calls()
    bad = run(
        "unlock",
        "sqs",
        "--account",
        PAYMENTS_PROD,
        "--queue",
        "payments-events",
        "--reason",
        "because",
        "--yes",
    )
    assert bad.exit_code == 2 and "reason_pattern" in bad.stderr
    missing = run("list-locked", "s3", "--account", PAYMENTS_PROD)  # no default reason then
    assert missing.exit_code == 2 and "reason is required" in missing.stderr
    assert assume_roots(enabled_sandbox) == 0
    assert [e.command for e in refusals(tmp_path)] == ["unlock sqs", "list-locked s3"]
    good = run("list-locked", "s3", "--account", PAYMENTS_PROD, "--reason", "OPS-42")
    assert good.exit_code == 0, good.output
    assert Journal(tmp_path / "j.sqlite3").list(action="assume-root")[0].reason == "OPS-42"


def test_tasks_outside_allowed_tasks_are_refused(
    run: Run, enabled_sandbox: Sandbox, tmp_path: Path
) -> None:
    write_config(tmp_path, allowed_tasks=["audit", "sqs-unlock"])
    enabled_sandbox.reset_calls()
    s3 = run(
        "unlock",
        "s3",
        "--account",
        PAYMENTS_PROD,
        "--bucket",
        ARTIFACTS,
        "--reason",
        "OPS-1",
        "--yes",
    )
    assert s3.exit_code == 2 and "allowed_tasks" in s3.stderr
    ex = run(
        "exec", "--account", PAYMENTS_PROD, "--task", "delete", "--reason", "OPS-1", "--", "true"
    )
    assert ex.exit_code == 2 and "IAMDeleteRootUserCredentials" in ex.stderr
    assert assume_roots(enabled_sandbox) == 0
    assert [e.task_policy for e in refusals(tmp_path)] == [
        "S3UnlockBucketPolicy",
        "IAMDeleteRootUserCredentials",
    ]


def test_max_session_seconds_is_the_session_duration(run: Run, tmp_path: Path) -> None:
    write_config(tmp_path, max_session_seconds=300)
    result = run("list-locked", "s3", "--account", PAYMENTS_PROD)
    assert result.exit_code == 0, result.output
    [entry] = Journal(tmp_path / "j.sqlite3").list(action="assume-root")
    expiration = datetime.fromisoformat(entry.after["expiration"])
    opened = datetime.fromisoformat(entry.time.replace("Z", "+00:00"))
    assert 280 <= (expiration - opened).total_seconds() <= 302
