"""`rootctl events`: AssumeRoot sessions and their member-account actions, one timeline."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from rootctl.cli.main import cli
from rootctl.sandbox import Sandbox
from rootctl.sessions.events import parse_since, scrub_event
from rootctl.tasks import Task

from support import PAYMENTS_DEV, PAYMENTS_PROD, client, root_client

Run = Callable[..., Result]


@pytest.fixture
def run(enabled_sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Run:
    monkeypatch.chdir(tmp_path)
    env = {**enabled_sandbox.env(), "ROOTCTL_JOURNAL": str(tmp_path / "j.sqlite3")}

    def invoke(*args: str) -> Result:
        return CliRunner().invoke(cli, list(args), env=env)

    return invoke


def sessions_and_actions(doc: dict[str, Any]) -> tuple[list[Any], list[Any]]:
    items = doc["timeline"]
    return [i for i in items if i["type"] == "session"], [i for i in items if i["type"] == "action"]


def test_events_show_sessions_with_actions_and_flag_outside_ones(
    run: Run, enabled_sandbox: Sandbox
) -> None:
    unlock = run(
        "unlock", "s3", "--account", PAYMENTS_PROD, "--bucket", "payments-prod-artifacts",
        "--reason", "OPS-1", "--yes",
    )  # fmt: skip
    assert unlock.exit_code == 0, unlock.output
    # A session opened with plain boto3, not through rootctl.
    outside = root_client(enabled_sandbox, PAYMENTS_DEV, Task.AUDIT, "iam")
    outside.get_account_summary()

    result = run("events", "--since", "1h", "-o", "json")
    assert result.exit_code == 0, result.output
    sessions, actions = sessions_and_actions(json.loads(result.stdout))
    by_account = {s["account_id"]: s for s in sessions}
    ours, theirs = by_account[PAYMENTS_PROD], by_account[PAYMENTS_DEV]
    assert (ours["task"], ours["started_outside_rootctl"]) == ("S3UnlockBucketPolicy", False)
    assert (theirs["task"], theirs["started_outside_rootctl"]) == (
        "IAMAuditRootUserCredentials",
        True,
    )
    ours_done = [a["event"] for a in actions if a["access_key_id"] == ours["access_key_id"]]
    assert ours_done == ["s3:GetBucketPolicy", "s3:DeleteBucketPolicy", "s3:GetBucketPolicy"]
    theirs_done = [a["event"] for a in actions if a["access_key_id"] == theirs["access_key_id"]]
    assert theirs_done == ["iam:GetAccountSummary"]
    times = [i["time"] for i in json.loads(result.stdout)["timeline"]]
    assert times == sorted(times)
    assert all(t.endswith("Z") and "+" not in t for t in times)  # docs/output.md: UTC, Z suffix
    for secret in enabled_sandbox.secrets_issued():
        assert secret not in result.stdout

    table = run("events", "--since", "1h")
    assert table.exit_code == 0, table.output
    assert "started outside rootctl" in table.stdout and "DeleteBucketPolicy" in table.stdout
    assert "2 sessions, 4 actions, 1 started outside rootctl." in table.stdout


def test_events_filter_by_account(run: Run, enabled_sandbox: Sandbox) -> None:
    root_client(enabled_sandbox, PAYMENTS_DEV, Task.AUDIT, "iam").get_account_summary()
    root_client(enabled_sandbox, PAYMENTS_PROD, Task.AUDIT, "iam").get_account_summary()
    result = run("events", "--account", PAYMENTS_DEV, "-o", "json")
    assert result.exit_code == 0, result.output
    sessions, actions = sessions_and_actions(json.loads(result.stdout))
    assert {s["account_id"] for s in sessions} == {PAYMENTS_DEV}
    assert {a["account_id"] for a in actions} == {PAYMENTS_DEV}


def test_events_read_member_trails_through_the_member_role(
    run: Run, enabled_sandbox: Sandbox
) -> None:
    root_client(enabled_sandbox, PAYMENTS_DEV, Task.AUDIT, "iam").get_account_summary()
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{enabled_sandbox.management_account_id}:root"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    member = enabled_sandbox.credentials_for(PAYMENTS_DEV)
    client(enabled_sandbox, "iam", member).create_role(
        RoleName="AuditReader", AssumeRolePolicyDocument=json.dumps(trust)
    )
    enabled_sandbox.reset_calls()
    result = run("events", "--member-role", "AuditReader", "-o", "json")
    assert result.exit_code == 0, result.output
    calls = enabled_sandbox.calls()
    assert any(c["action"] == "AssumeRole" for c in calls)
    member_lookups = [
        c for c in calls if c["action"] == "LookupEvents" and c["account_id"] == PAYMENTS_DEV
    ]
    assert member_lookups and all("AuditReader" in c["principal_arn"] for c in member_lookups)
    assert not [c for c in calls if c["action"] == "AssumeRoot"]  # reading opens no root session


def test_session_tokens_are_scrubbed_from_events() -> None:
    event = {
        "eventName": "AssumeRoot",
        "responseElements": {
            "credentials": {
                "accessKeyId": "ASIAIOSFODNN7EXAMPLE",
                "sessionToken": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                "expiration": "Oct 25, 2024, 9:07:11 PM",
            }
        },
    }
    scrubbed = scrub_event(event)
    assert "sessionToken" not in json.dumps(scrubbed)
    assert scrubbed["responseElements"]["credentials"]["accessKeyId"] == "ASIAIOSFODNN7EXAMPLE"


def test_since_accepts_durations_and_dates() -> None:
    from datetime import UTC, datetime, timedelta

    now = datetime(2026, 11, 24, 12, tzinfo=UTC)
    assert parse_since("7d", now) == now - timedelta(days=7)
    assert parse_since("90m", now) == now - timedelta(minutes=90)
    assert parse_since("2026-11-01", now) == datetime(2026, 11, 1, tzinfo=UTC)


def test_events_read_every_region_iam_included(
    run: Run, enabled_sandbox: Sandbox, tmp_path: Path
) -> None:
    """Run in eu-west-1: AssumeRoot is recorded there, IAM's own events in us-east-1."""
    env = {
        **enabled_sandbox.env(),
        "ROOTCTL_JOURNAL": str(tmp_path / "eu.sqlite3"),
        "AWS_REGION": "eu-west-1",
        "AWS_DEFAULT_REGION": "eu-west-1",
    }

    def eu(*args: str) -> Result:
        return CliRunner().invoke(cli, list(args), env=env)

    audit = eu("audit", "--accounts", PAYMENTS_DEV, "-o", "json")
    assert audit.exit_code == 0, audit.output

    both = eu("events", "--since", "1h", "-o", "json")
    assert both.exit_code == 0, both.output
    sessions, actions = sessions_and_actions(json.loads(both.stdout))
    assert [(s["account_id"], s["region"]) for s in sessions] == [(PAYMENTS_DEV, "eu-west-1")]
    assert not sessions[0]["started_outside_rootctl"]
    iam_reads = {a["event"] for a in actions if a["access_key_id"] == sessions[0]["access_key_id"]}
    assert {"iam:GetUser", "iam:ListAccessKeys", "iam:ListMFADevices"} <= iam_reads
    assert {a["region"] for a in actions} == {"us-east-1"}

    # One region only: the session is found, its IAM actions (recorded in us-east-1) are not.
    eu_only = eu("events", "--since", "1h", "-o", "json", "--regions", "eu-west-1")
    assert eu_only.exit_code == 0, eu_only.output
    sessions, actions = sessions_and_actions(json.loads(eu_only.stdout))
    assert len(sessions) == 1 and actions == []


@pytest.mark.parametrize("value", ["", "eu-west-1,aws-global", "mars-1"])
def test_events_bad_regions_are_one_line_usage_errors(run: Run, value: str) -> None:
    result = run("events", "--regions", value)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) <= 2
