"""Accounts joining the sandbox organization: invitation + handshake, CreateAccount, events."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from rootctl.sandbox import Sandbox
from rootctl.sandbox.joins import root_access_key

from support import client, error_code, keyed_client

INVITED = "777788889999"


def as_root_user(sb: Sandbox, account_id: str, service: str) -> Any:
    """A client signed with the account's root access key (a standalone account's root)."""
    key = root_access_key(sb.state, account_id)
    assert key is not None
    return keyed_client(sb, service, key[0], key[1])


def invite_and_accept(sb: Sandbox, account_id: str = INVITED) -> dict[str, Any]:
    """The management account invites; the invited account's root accepts. The handshake."""
    org = client(sb, "organizations")
    handshake = org.invite_account_to_organization(Target={"Type": "ACCOUNT", "Id": account_id})
    accepted: dict[str, Any] = as_root_user(sb, account_id, "organizations").accept_handshake(
        HandshakeId=handshake["Handshake"]["Id"]
    )["Handshake"]
    return accepted


def management_events(sb: Sandbox, name: str) -> list[dict[str, Any]]:
    """The management account's CloudTrail events of one name in us-east-1, via LookupEvents."""
    trail = client(sb, "cloudtrail")
    found = trail.lookup_events(
        LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": name}]
    )["Events"]
    return [json.loads(e["CloudTrailEvent"]) for e in found]


def test_an_invited_account_joins_with_its_root_credentials_and_the_event_is_recorded(
    sandbox: Sandbox,
) -> None:
    sb = sandbox
    accepted = invite_and_accept(sb)
    assert accepted["State"] == "ACCEPTED"
    account = client(sb, "organizations").describe_account(AccountId=INVITED)["Account"]
    assert account["JoinedMethod"] == "INVITED"
    root = sb.root_state()[INVITED]
    assert root["password"] and root["access_keys"] and root["mfa_devices"]
    (event,) = management_events(sb, "AccountJoinedOrganization")
    assert event["eventType"] == "AwsServiceEvent"
    assert event["eventSource"] == "organizations.amazonaws.com"
    assert event["awsRegion"] == "us-east-1"
    assert event["recipientAccountId"] == sb.management_account_id
    details = event["serviceEventDetails"]
    assert details["accountId"] == INVITED and details["joinedMethod"] == "Invited"
    assert details["joinedTime"] == event["eventTime"]
    # The acceptance was a call signed with the root access key: recorded in the invited
    # account's own trail as Root without assumedRoot (what the root-usage watch flags).
    recorded = sb.state.events[INVITED]
    accept = next(e for e in recorded if e["eventName"] == "AcceptHandshake")
    assert accept["userIdentity"]["type"] == "Root"
    assert "sessionContext" not in accept["userIdentity"]


def test_created_accounts_record_the_result_and_join_without_root_credentials(
    enabled_sandbox: Sandbox,
) -> None:
    sb = enabled_sandbox
    status = client(sb, "organizations").create_account(
        AccountName="new-workload", Email="new-workload@example.com"
    )["CreateAccountStatus"]
    account_id = status["AccountId"]
    assert status["State"] == "SUCCEEDED"
    (result,) = management_events(sb, "CreateAccountResult")
    created = result["serviceEventDetails"]["createAccountStatus"]
    assert created["accountId"] == account_id and created["state"] == "SUCCEEDED"
    (joined,) = management_events(sb, "AccountJoinedOrganization")
    assert joined["serviceEventDetails"]["joinedMethod"] == "Created"
    root = sb.root_state()[account_id]
    assert not root["password"] and not root["access_keys"] and not root["mfa_devices"]


def test_invitation_refusals(sandbox: Sandbox) -> None:
    sb = sandbox
    org = client(sb, "organizations")
    member = next(
        a["Id"] for a in org.list_accounts()["Accounts"] if a["Id"] != sb.management_account_id
    )
    cases = [
        ({"Type": "ACCOUNT", "Id": member}, "HandshakeConstraintViolationException"),
        ({"Type": "EMAIL", "Id": "x@example.com"}, "InvalidInputException"),
        ({"Type": "ACCOUNT", "Id": "12345"}, "InvalidInputException"),
    ]
    for target, code in cases:
        with pytest.raises(ClientError) as exc:
            org.invite_account_to_organization(Target=target)
        assert error_code(exc) == code
    handshake = org.invite_account_to_organization(Target={"Type": "ACCOUNT", "Id": INVITED})
    with pytest.raises(ClientError) as exc:
        org.invite_account_to_organization(Target={"Type": "ACCOUNT", "Id": INVITED})
    assert error_code(exc) == "DuplicateHandshakeException"
    # Only the invited account can accept; the management account cannot accept for it.
    with pytest.raises(ClientError) as exc:
        org.accept_handshake(HandshakeId=handshake["Handshake"]["Id"])
    assert error_code(exc) == "HandshakeNotFoundException"
    invited = as_root_user(sb, INVITED, "organizations")
    invited.accept_handshake(HandshakeId=handshake["Handshake"]["Id"])
    with pytest.raises(ClientError) as exc:
        invited.accept_handshake(HandshakeId=handshake["Handshake"]["Id"])
    assert error_code(exc) == "HandshakeAlreadyInStateException"


def test_root_sign_in_control_route_records_a_console_login_without_assumed_root(
    sandbox: Sandbox,
) -> None:
    sb = sandbox
    member = next(a for a in sb.root_state() if a != sb.management_account_id)
    status, answer = sb.control("root-sign-in", "POST", {"account_id": member})
    assert status == 200, answer
    event = next(e for e in sb.state.events[member] if e["eventID"] == answer["event_id"])
    assert event["eventName"] == "ConsoleLogin" and event["eventType"] == "AwsConsoleSignIn"
    assert event["userIdentity"]["type"] == "Root"
    assert "sessionContext" not in event["userIdentity"]
    assert sb.control("root-sign-in", "POST", {"account_id": "000000000000"})[0] == 404
