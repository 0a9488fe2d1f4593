"""The Lambda handler in-process against the sandbox: events in, root credentials gone,
journal entries in the sandbox's DynamoDB that verify against the anchor, JSON logs."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from deploy_helpers import (
    ANCHOR,
    TABLE,
    Context,
    holders,
    invite_and_accept,
    lambda_env,
    log_lines,
    put_config,
    sandbox_event,
    scheduled_event,
)

from rootctl.journal.dynamodb import DynamoJournal
from rootctl.lambda_handler import InvocationError, handler
from rootctl.sandbox import Sandbox

from support import enabled_fixture, mutating_calls, run_cli

INVITED = "888888888888"


@pytest.fixture
def sb(monkeypatch: pytest.MonkeyPatch) -> Iterator[Sandbox]:
    with Sandbox.start(enabled_fixture()) as sandbox:
        lambda_env(sandbox, monkeypatch)
        yield sandbox


def test_an_invited_account_is_cleaned_journaled_and_anchored(
    sb: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    key_id, secret = invite_and_accept(sb, INVITED)
    assert INVITED in holders(sb)
    result = handler(sandbox_event(sb, "AccountJoinedOrganization"), Context())
    assert INVITED not in holders(sb)
    assert result["summary"]["accounts"] == 1 and result["summary"]["changed"] == 1
    assert result["exit_code"] == 0 and result["scope"]["event"]["account_id"] == INVITED
    entries = DynamoJournal(TABLE, readonly=True).list(account_id=INVITED)
    assert {"assume-root", "delete-access-key"} <= {e.action for e in entries}
    assert result["anchor"]["head"] == DynamoJournal(TABLE, readonly=True).verify().head_hash
    verified = run_cli(
        sb, "journal", "verify", "--anchor", ANCHOR, "--journal", f"dynamodb://{TABLE}"
    )
    assert verified.returncode == 0, verified.stderr
    out = capsys.readouterr().out
    lines = log_lines(out)
    accounts = [line for line in lines if line["event"] == "account"]
    assert [(a["account_id"], a["outcome"]) for a in accounts] == [(INVITED, "changed")]
    assert lines[-1]["event"] == "run" and lines[-1]["summary"] == result["summary"]
    assert all(line["request_id"] == Context.aws_request_id for line in lines)
    assert secret not in out and key_id in accounts[0]["deleted"]  # the id, never the secret


def test_a_second_event_for_the_same_account_changes_nothing(
    sb: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    invite_and_accept(sb, INVITED)
    event = sandbox_event(sb, "AccountJoinedOrganization")
    handler(event, Context())
    sb.reset_calls()
    again = handler(event, Context())  # EventBridge delivers at least once
    assert again["summary"]["changed"] == 0 and again["exit_code"] == 0
    assert {c["action"] for c in mutating_calls(sb)} <= {"AssumeRoot", "PutParameter"}


def test_a_scheduled_pass_with_a_failing_account_still_succeeds(
    sb: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    from rootctl.sandbox.model import FaultConfig

    # Every AssumeRoot for one account is refused: only a fault can make one account fail.
    sb.set_faults(FaultConfig(fail_assume_root={"444444444444": "AccessDenied"}))
    result = handler(scheduled_event(), Context())
    assert result["summary"]["failed"] == 1 and result["exit_code"] == 1
    failed = [
        line for line in log_lines(capsys.readouterr().out) if line.get("outcome") == "failed"
    ]
    assert [line["account_id"] for line in failed] == ["444444444444"]


@pytest.mark.parametrize(
    ("event", "config", "message"),
    [
        ({"source": "aws.s3"}, None, "is not an event rootctl enforce handles"),
        ([], None, "expected a JSON object"),
        ({"shard": "3/2"}, None, "shard '3/2'"),
        ({"shard": "0/0"}, None, "shard '0/0'"),
        ({**scheduled_event(), "shard": "x"}, None, "shard 'x'"),
        (None, "root_credentials:\n  policy: nuke\n", "policy"),
        (None, "root_credentials: [", "YAML"),
    ],
)
def test_bad_event_or_config_fails_with_one_line_and_no_change(
    sb: Sandbox,
    capsys: pytest.CaptureFixture[str],
    event: Any,
    config: str | None,
    message: str,
) -> None:
    if config is not None:
        put_config(sb, config)
    sb.reset_calls()
    with pytest.raises(InvocationError, match=message):
        handler(scheduled_event() if event is None else event, Context())
    lines = log_lines(capsys.readouterr().out)
    assert len(lines) == 1 and lines[0]["level"] == "ERROR" and message in lines[0]["error"]
    assert [c for c in mutating_calls(sb)] == []


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("ROOTCTL_CONFIG", "ssm:///no/such/parameter", "does not exist"),
        ("ROOTCTL_CONFIG", "file:///etc/passwd", "expected ssm://NAME or s3://BUCKET/KEY"),
        ("ROOTCTL_JOURNAL", "dynamodb://no-such-table", "the table does not exist"),
        ("ROOTCTL_JOURNAL", "/tmp/journal.sqlite3", "must be dynamodb://TABLE"),
        ("ROOTCTL_ANCHOR", "s3://bucket", "expected s3://BUCKET/KEY"),
    ],
)
def test_bad_environment_fails_with_one_line(
    sb: Sandbox,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    variable: str,
    value: str,
    message: str,
) -> None:
    monkeypatch.setenv(variable, value)
    sb.reset_calls()
    with pytest.raises(InvocationError, match=message):
        handler(scheduled_event(), Context())
    assert len(log_lines(capsys.readouterr().out)) == 1
    assert mutating_calls(sb) == []
