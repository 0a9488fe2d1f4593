"""`rootctl exec`: the AWS CLI runs with the session; credentials never printed; status kept."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from rootctl.journal import Journal
from rootctl.sandbox import Sandbox

from support import PAYMENTS_PROD

AWS = shutil.which("aws", path=str(Path(sys.executable).parent)) or shutil.which("aws")


def rootctl(sb: Sandbox, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **sb.env(), "ROOTCTL_JOURNAL": str(tmp_path / "j.sqlite3")}
    return subprocess.run(
        [sys.executable, "-m", "rootctl", *args],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=120,
    )


def assert_no_secrets(sb: Sandbox, *texts: str) -> None:
    secrets = [s for s in sb.secrets_issued() if len(s) >= 16]
    assert secrets, "the sandbox issued session secrets"
    for text in texts:
        for secret in secrets:
            assert secret not in text


@pytest.mark.skipif(AWS is None, reason="awscli is a dev dependency")
def test_exec_runs_the_aws_cli_as_the_member_root(enabled_sandbox: Sandbox, tmp_path: Path) -> None:
    assert AWS is not None
    proc = rootctl(
        enabled_sandbox, tmp_path,
        "exec", "--account", PAYMENTS_PROD, "--task", "s3-unlock", "--reason", "OPS-9",
        "--", AWS, "sts", "get-caller-identity", "--output", "json",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["Arn"] == f"arn:aws:iam::{PAYMENTS_PROD}:root"
    assert_no_secrets(enabled_sandbox, proc.stdout, proc.stderr)
    [entry] = Journal(tmp_path / "j.sqlite3").list(action="exec")
    assert entry.outcome == "ok" and entry.after["exit_status"] == 0
    assert entry.target is not None and entry.target.endswith(
        "sts get-caller-identity --output json"
    )
    assert entry.task_policy == "S3UnlockBucketPolicy" and entry.reason == "OPS-9"
    [session] = Journal(tmp_path / "j.sqlite3").list(action="assume-root")
    assert session.after["access_key_id"] == entry.after["access_key_id"]
    exported = json.dumps([e.to_dict() for e in Journal(tmp_path / "j.sqlite3").list()])
    assert_no_secrets(enabled_sandbox, exported)


@pytest.mark.skipif(AWS is None, reason="awscli is a dev dependency")
def test_the_session_is_scoped_by_its_task(enabled_sandbox: Sandbox, tmp_path: Path) -> None:
    assert AWS is not None
    proc = rootctl(
        enabled_sandbox, tmp_path,
        "exec", "--account", PAYMENTS_PROD, "--task", "S3UnlockBucketPolicy", "--reason", "OPS-9",
        "--", AWS, "s3api", "get-bucket-tagging", "--bucket", "payments-prod-artifacts",
    )  # fmt: skip
    assert proc.returncode != 0  # GetBucketTagging is outside S3UnlockBucketPolicy
    assert "AccessDenied" in proc.stderr
    [entry] = Journal(tmp_path / "j.sqlite3").list(action="exec")
    assert entry.outcome == "error" and entry.after["exit_status"] == proc.returncode


def test_the_childs_exit_status_and_environment(enabled_sandbox: Sandbox, tmp_path: Path) -> None:
    script = (
        "import os, sys\n"
        "print(sorted(k for k in os.environ if k.startswith('AWS_')))\n"
        "print(os.environ['AWS_ENDPOINT_URL'])\n"
        "sys.exit(3)\n"
    )
    proc = rootctl(
        enabled_sandbox, tmp_path,
        "exec", "--account", PAYMENTS_PROD, "--task", "audit", "--reason", "OPS-9",
        "--", sys.executable, "-c", script,
    )  # fmt: skip
    assert proc.returncode == 3
    names, endpoint = proc.stdout.splitlines()
    assert endpoint == enabled_sandbox.endpoint_url  # AWS_ENDPOINT_URL is kept
    assert "AWS_SESSION_TOKEN" in names
    assert "exit status 3" in proc.stderr
    [entry] = Journal(tmp_path / "j.sqlite3").list(action="exec")
    assert (entry.outcome, entry.after["exit_status"]) == ("error", 3)


def test_a_missing_command_exits_127_and_is_journaled(
    enabled_sandbox: Sandbox, tmp_path: Path
) -> None:
    proc = rootctl(
        enabled_sandbox, tmp_path,
        "exec", "--account", PAYMENTS_PROD, "--task", "audit", "--reason", "OPS-9",
        "--", "no-such-command-rootctl",
    )  # fmt: skip
    assert proc.returncode == 127
    [entry] = Journal(tmp_path / "j.sqlite3").list(action="exec")
    assert entry.error == "command not found: no-such-command-rootctl"


def test_the_child_environment_drops_other_credentials() -> None:
    from datetime import UTC, datetime

    from rootctl.aws import Credentials
    from rootctl.sessions.execute import session_environment

    base = {
        "AWS_PROFILE": "admin",
        "AWS_SECRET_ACCESS_KEY": "operator-secret",
        "AWS_WEB_IDENTITY_TOKEN_FILE": "/token",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:1",
        "PATH": "/bin",
    }
    creds = Credentials("ASIAEXAMPLE", "session-secret", "session-token", datetime.now(UTC))
    env = session_environment(base, creds, "eu-west-1")
    assert "AWS_PROFILE" not in env and "AWS_WEB_IDENTITY_TOKEN_FILE" not in env
    assert env["AWS_SECRET_ACCESS_KEY"] == "session-secret"
    assert env["AWS_SESSION_TOKEN"] == "session-token"
    assert (env["AWS_REGION"], env["AWS_DEFAULT_REGION"]) == ("eu-west-1", "eu-west-1")
    assert env["AWS_ENDPOINT_URL"] == "http://127.0.0.1:1" and env["PATH"] == "/bin"
    assert base["AWS_SECRET_ACCESS_KEY"] == "operator-secret"  # the parent's is untouched
