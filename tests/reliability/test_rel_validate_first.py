"""Validate before acting (issue 12.7), against the sandbox, the CLI in-process.

- allow-password-recovery: every refusal names what the user typed, never a flag
  (ACCOUNT, --accounts) or a "selection" they did not give; exit 2, one line, no session.
- unlock sqs --queue URL: the host must be SQS's (sqs.REGION.SUFFIX in the region's
  partition, REGION.queue.SUFFIX, queue.amazonaws.com) or the configured endpoint's; any
  other is exit 2, one line, before any session.
- A refused AssumeRoot is journaled (`assume-root`, error) in audit and delete-credentials
  as in the session commands; an audit with the RootCredentialsManagement feature off is
  one `error:` line naming the fix (`rootctl apply`), exit 1, and the JSON output still
  has every account's result.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from rootctl.journal import Journal
from rootctl.sandbox import FaultConfig, Sandbox

from support import (
    MANAGEMENT,
    PAYMENTS_DEV,
    PAYMENTS_PROD,
    SUSPENDED,
    enabled_fixture,
    mutating_calls,
    sample_fixture,
)


def invoke(sb: Sandbox, journal: Path, *args: str) -> Any:
    from rootctl.cli.main import cli

    env: dict[str, str | None] = {k: None for k in os.environ if k.startswith(("AWS_", "ROOTCTL_"))}
    env.update(sb.env(), ROOTCTL_JOURNAL=str(journal), NO_COLOR="1", COLUMNS="200")
    env.update(AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull)
    result = CliRunner().invoke(cli, list(args), env=env)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def assert_refused(result: Any, sb: Sandbox, *fragments: str) -> str:
    """Exit 2, exactly one stderr line `error: ...` holding `fragments`, no mutating call."""
    assert result.exit_code == 2, (result.exit_code, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    assert not mutating_calls(sb), "refused before any session"
    line: str = lines[0]
    return line


@pytest.fixture
def sb() -> Iterator[Sandbox]:
    with Sandbox.start(enabled_fixture()) as sandbox:
        yield sandbox


# -- allow-password-recovery names what the user typed ------------------------------------

RECOVERY_CASES = [
    ("123", "'123' is not an account id"),
    ("abc", "'abc' is not an account id"),
    ("", "'' is not an account id"),
    ("1234567890123", "'1234567890123' is not an account id"),
    (f"{PAYMENTS_DEV},{PAYMENTS_PROD}", f"'{PAYMENTS_DEV},{PAYMENTS_PROD}' is not an account id"),
    ("12345678901x", "'12345678901x' is not an account id"),
    ("-1", "'-1' is not an account id"),
    ("999999999999", "account 999999999999 is not in this organization"),
    (MANAGEMENT, f"account {MANAGEMENT} cannot be a target: management account"),
    (SUSPENDED, f"account {SUSPENDED} cannot be a target: account is SUSPENDED"),
]


@pytest.mark.parametrize(("typed", "expected"), RECOVERY_CASES)
@pytest.mark.parametrize("dry_run", [False, True])
def test_allow_password_recovery_names_what_was_typed(
    sb: Sandbox, tmp_path: Path, typed: str, expected: str, dry_run: bool
) -> None:
    extra = ("--dry-run",) if dry_run else ("--yes",)
    result = invoke(
        sb, tmp_path / "j.db", "allow-password-recovery", "--reason", "SEC-1 x", *extra, "--", typed
    )
    line = assert_refused(result, sb, expected)
    for never_typed in ("ACCOUNT", "--account", "selection", "selected"):
        assert never_typed not in line


# -- unlock sqs --queue: SQS hosts only ----------------------------------------------------

REFUSED_HOSTS = [
    "https://evil.example.com",
    "https://sqs.us-east-1.amazonaws.com.evil.io",
    "https://sqs.us-east-1.amazonaws.co",
    "https://sqs.cn-north-1.amazonaws.com",  # China's partition is amazonaws.com.cn
    "https://s3.us-east-1.amazonaws.com",
    "https://amazonaws.com",
    "https://sqs.amazonaws.com",
    "http://127.0.0.2:{port}",  # the sandbox's port on another host
    "http://127.0.0.1:{other}",  # the sandbox's host on another port
    "http://localhost.evil.io:{port}",
]


@pytest.mark.parametrize("host", REFUSED_HOSTS)
def test_unlock_sqs_refuses_a_queue_url_of_another_host(
    sb: Sandbox, tmp_path: Path, host: str
) -> None:
    base = host.format(port=sb.port, other=sb.port + 1)
    url = f"{base}/{PAYMENTS_PROD}/payments-events"
    result = invoke(
        sb, tmp_path / "j.db", "unlock", "sqs", "--account", PAYMENTS_PROD, "--queue", url,
        "--reason", "OPS-1 x", "--yes",
    )  # fmt: skip
    assert_refused(result, sb, "is not an SQS URL", url)


ACCEPTED_HOSTS = [
    "https://sqs.us-east-1.amazonaws.com",
    "https://us-east-1.queue.amazonaws.com",
    "https://queue.amazonaws.com",
    "https://sqs-fips.us-east-1.amazonaws.com",
    "http://127.0.0.1:{port}",
]


@pytest.mark.parametrize("host", ACCEPTED_HOSTS)
def test_unlock_sqs_accepts_sqs_and_the_configured_endpoint(
    sb: Sandbox, tmp_path: Path, host: str
) -> None:
    url = f"{host.format(port=sb.port)}/{PAYMENTS_PROD}/payments-events"
    result = invoke(
        sb, tmp_path / "j.db", "unlock", "sqs", "--account", PAYMENTS_PROD, "--queue", url,
        "--reason", "OPS-1 x", "--dry-run",
    )  # fmt: skip
    assert "is not an SQS URL" not in result.stderr
    assert result.exit_code == 0, result.stderr


# -- refused AssumeRoot: journaled, and one line for a feature that is off -----------------


def assume_root_errors(journal: Path) -> list[Any]:
    with Journal(journal, create=False) as j:
        assert j.verify().ok
        return [e for e in j.list(action="assume-root") if e.outcome == "error"]


@pytest.mark.parametrize(
    "organization",
    [
        {},  # nothing enabled, not even trusted access
        {"trusted_access": ["iam.amazonaws.com"]},
        {
            "trusted_access": ["iam.amazonaws.com"],
            "centralized_root_access": ["RootSessions"],
        },
    ],
    ids=["nothing", "trusted-access-only", "root-sessions-only"],
)
def test_audit_with_the_credentials_feature_off_is_one_line(
    tmp_path: Path, organization: dict[str, Any]
) -> None:
    journal = tmp_path / "j.db"
    with Sandbox.start(sample_fixture(**organization), accounts=50, seed=7) as sb:
        table = invoke(sb, journal, "audit")
        listed = invoke(sb, tmp_path / "j2.db", "audit", "-o", "json")

    assert table.exit_code == 1 and "Traceback" not in table.stderr
    lines = table.stderr.strip().splitlines()
    assert len(lines) == 1, table.stderr
    assert "RootCredentialsManagement feature is not enabled" in lines[0]
    assert "rootctl apply" in lines[0]
    assert "not authorized" not in table.stdout, "no row repeats AWS's refusal"
    report = json.loads(listed.stdout)
    errors = [a for a in report["accounts"] if a["status"] == "error"]
    assert listed.exit_code == 1 and len(errors) == report["summary"]["errors"] >= 50
    assert {a["error"]["code"] for a in errors} == {"AccessDenied"}
    refused = assume_root_errors(journal)
    assert sorted(e.account_id for e in refused) == sorted(a["account_id"] for a in errors)
    assert {e.command for e in refused} == {"audit"}


def test_delete_credentials_journals_a_refused_delete_session(tmp_path: Path) -> None:
    """The audit's sessions open; the delete session is refused in one account: journaled
    like unlock and exec journal theirs (task, account, AWS's error)."""
    journal = tmp_path / "j.db"
    with Sandbox.start(enabled_fixture()) as sb:
        from rootctl import connect

        env = {**sb.env(), "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull}
        saved = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        try:
            with connect(journal=journal, concurrency=2) as rc:
                planned = rc.plan_deletion(reason="SEC-9 cleanup")
                sb.set_faults(FaultConfig(fail_assume_root={PAYMENTS_DEV: "AccessDenied"}))
                done = rc.delete(planned)
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
    failed = [r for r in done.results if r.outcome == "error"]
    assert [r.plan.account_id for r in failed] == [PAYMENTS_DEV]
    refused = assume_root_errors(journal)
    assert [(e.account_id, e.task_policy, e.command) for e in refused] == [
        (PAYMENTS_DEV, "IAMDeleteRootUserCredentials",
         "delete-credentials"),
    ]  # fmt: skip
    assert refused[0].error is not None and refused[0].error.startswith("AccessDenied: ")
