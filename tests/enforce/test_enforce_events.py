"""`enforce --event`: EventBridge events narrow the pass; anything else is exit 2, no call."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from enforce_helpers import credential_holders, document, invoke, write_config

from rootctl.sandbox import Sandbox

from support import PAYMENTS_DEV, PAYMENTS_PROD


def joined(account: str, method: str = "Invited") -> dict[str, Any]:
    """AccountJoinedOrganization as EventBridge delivers it (docs/commands/enforce.md)."""
    return {
        "version": "0",
        "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
        "detail-type": "AWS Service Event via CloudTrail",
        "source": "aws.organizations",
        "account": "111111111111",
        "time": "2026-12-02T10:00:00Z",
        "region": "us-east-1",
        "resources": [],
        "detail": {
            "eventVersion": "1.11",
            "userIdentity": {"accountId": "111111111111", "invokedBy": "AWS Internal"},
            "eventSource": "organizations.amazonaws.com",
            "eventName": "AccountJoinedOrganization",
            "awsRegion": "us-east-1",
            "eventType": "AwsServiceEvent",
            "serviceEventDetails": {
                "accountId": account,
                "joinedMethod": method,
                "joinedTime": "2026-12-02T10:00:00Z",
            },
            "recipientAccountId": "111111111111",
        },
    }


def created(account: str, state: str = "SUCCEEDED") -> dict[str, Any]:
    event = joined(account)
    event["detail"]["eventName"] = "CreateAccountResult"
    event["detail"]["serviceEventDetails"] = {
        "createAccountStatus": {"id": "car-0123456789", "state": state, "accountId": account}
    }
    return event


SCHEDULED = {
    "version": "0",
    "id": "89d1a02d-5ec7-412e-82f5-13505f849b41",
    "detail-type": "Scheduled Event",
    "source": "aws.events",
    "account": "111111111111",
    "time": "2026-12-02T10:00:00Z",
    "region": "us-east-1",
    "resources": ["arn:aws:events:us-east-1:111111111111:rule/rootctl-enforce"],
    "detail": {},
}


def test_a_joined_account_event_narrows_the_pass_to_that_account(
    enabled_sandbox: Sandbox, tmp_path: Path
) -> None:
    sb, journal = enabled_sandbox, tmp_path / "journal.db"
    config = write_config(tmp_path, "delete")
    before = credential_holders(sb)
    event = json.dumps(joined(PAYMENTS_DEV))
    result = invoke(
        sb, "enforce", "-c", str(config), "--event", "-", "--yes", "-o", "json",
        journal=journal, stdin=event,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    doc = document(result)
    assert doc["scope"]["event"]["account_id"] == PAYMENTS_DEV
    assert doc["summary"]["accounts"] == 1
    assert credential_holders(sb) == before - {PAYMENTS_DEV}


def test_a_scheduled_event_is_a_full_pass(enabled_sandbox: Sandbox, tmp_path: Path) -> None:
    sb, journal = enabled_sandbox, tmp_path / "journal.db"
    path = tmp_path / "event.json"
    path.write_text(json.dumps(SCHEDULED))
    config = write_config(tmp_path, "report")
    result = invoke(
        sb, "enforce", "-c", str(config), "--event", str(path), "--yes", "-o", "json",
        journal=journal,
    )  # fmt: skip
    assert result.exit_code == 3, result.output
    assert document(result)["summary"]["accounts"] > 1


def test_a_failed_create_account_has_nothing_to_do(
    enabled_sandbox: Sandbox, tmp_path: Path
) -> None:
    sb, journal = enabled_sandbox, tmp_path / "journal.db"
    sb.reset_calls()
    event = json.dumps(created(PAYMENTS_PROD, "FAILED"))
    config = write_config(tmp_path, "delete")
    result = invoke(
        sb, "enforce", "-c", str(config), "--event", "-", "--yes", journal=journal, stdin=event
    )
    assert result.exit_code == 0, result.output
    assert not [c for c in sb.calls() if c["action"] not in ("GetCallerIdentity",)]


def _bad_events() -> list[tuple[str, str]]:
    wrong_source = {**SCHEDULED, "source": "aws.ec2"}
    wrong_name = joined(PAYMENTS_DEV)
    wrong_name["detail"]["eventName"] = "LeaveOrganization"
    bad_account = joined("12345")
    bad_method = joined(PAYMENTS_DEV, "Stolen")
    no_details = joined(PAYMENTS_DEV)
    del no_details["detail"]["serviceEventDetails"]
    return [
        ("not json", "not JSON"),
        ("[1, 2]", "expected a JSON object"),
        (json.dumps(wrong_source), "is not an event rootctl enforce handles"),
        (json.dumps(wrong_name), "eventName 'LeaveOrganization' is not handled"),
        (json.dumps(bad_account), "not a 12-digit account id"),
        (json.dumps(bad_method), "joinedMethod 'Stolen'"),
        (json.dumps(no_details), "without serviceEventDetails"),
        (json.dumps(created(PAYMENTS_DEV, "WHATEVER")), "is not a CreateAccount state"),
        (json.dumps({**SCHEDULED, "detail": None, "source": "aws.organizations"}), "handles"),
    ]


@pytest.mark.parametrize(("text", "message"), _bad_events())
def test_a_malformed_or_unknown_event_is_exit_2_one_line_no_call(
    enabled_sandbox: Sandbox, tmp_path: Path, text: str, message: str
) -> None:
    sb = enabled_sandbox
    sb.reset_calls()
    config = write_config(tmp_path, "delete")
    result = invoke(
        sb, "enforce", "-c", str(config), "--event", "-", "--yes",
        journal=tmp_path / "j.db", stdin=text,
    )  # fmt: skip
    assert result.exit_code == 2
    assert result.stderr.startswith("error: --event: ") and message in result.stderr
    assert result.stderr.count("\n") == 1
    assert sb.calls() == []


def test_event_with_accounts_is_refused(enabled_sandbox: Sandbox, tmp_path: Path) -> None:
    result = invoke(
        enabled_sandbox, "enforce", "--event", "-", "--accounts", PAYMENTS_DEV, "--yes",
        journal=tmp_path / "j.db", stdin=json.dumps(SCHEDULED),
    )  # fmt: skip
    assert result.exit_code == 2 and "leave out --accounts" in result.stderr
