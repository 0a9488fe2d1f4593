"""Helpers of the deployment tests: the Lambda's environment in the sandbox, joins, logs."""

from __future__ import annotations

import json
import os
from typing import Any

import boto3
import pytest
from botocore.config import Config

from rootctl.journal.dynamodb import TABLE_SPEC
from rootctl.sandbox import Sandbox

from support import client

TABLE = "rootctl-journal"
CONFIG_PARAMETER = "/rootctl/config"
ANCHOR = "ssm:///rootctl/journal-head"
DELETE_CONFIG = "root_credentials:\n  policy: delete\n"


def lambda_env(sb: Sandbox, monkeypatch: pytest.MonkeyPatch, config: str = DELETE_CONFIG) -> None:
    """The environment deploy/ gives the function, pointed at the sandbox: the config in
    SSM, the journal table, the anchor parameter; nothing of the machine's AWS setup."""
    for key in list(os.environ):
        if key.startswith(("AWS_", "ROOTCTL_")):
            monkeypatch.delenv(key)
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
    for key, value in sb.env().items():
        monkeypatch.setenv(key, value)
    client(sb, "dynamodb").create_table(TableName=TABLE, **TABLE_SPEC)
    put_config(sb, config)
    monkeypatch.setenv("ROOTCTL_CONFIG", f"ssm://{CONFIG_PARAMETER}")
    monkeypatch.setenv("ROOTCTL_JOURNAL", f"dynamodb://{TABLE}")
    monkeypatch.setenv("ROOTCTL_ANCHOR", ANCHOR)


def put_config(sb: Sandbox, text: str) -> None:
    client(sb, "ssm").put_parameter(
        Name=CONFIG_PARAMETER, Value=text, Type="String", Overwrite=True
    )


def invite_and_accept(sb: Sandbox, account_id: str) -> tuple[str, str]:
    """The management account invites a standalone account; its root access key accepts.
    Returns the root access key (id, secret) the account had."""
    from rootctl.sandbox.joins import root_access_key

    handshake = client(sb, "organizations").invite_account_to_organization(
        Target={"Type": "ACCOUNT", "Id": account_id}
    )
    key = root_access_key(sb.state, account_id)
    assert key is not None
    boto3.Session(
        aws_access_key_id=key[0], aws_secret_access_key=key[1], region_name=sb.region
    ).client(
        "organizations", endpoint_url=sb.endpoint_url, config=Config(retries={"max_attempts": 1})
    ).accept_handshake(HandshakeId=handshake["Handshake"]["Id"])
    return key


def sandbox_event(sb: Sandbox, name: str) -> dict[str, Any]:
    """The sandbox's latest management-account event of this name, as EventBridge delivers
    CloudTrail service events ("AWS Service Event via CloudTrail")."""
    found = client(sb, "cloudtrail").lookup_events(
        LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": name}]
    )["Events"]
    detail: dict[str, Any] = json.loads(found[0]["CloudTrailEvent"])
    return {
        "version": "0",
        "id": "0d0c2a8e-4f4f-4e7c-9c3e-3c1f4b7f9a10",
        "detail-type": "AWS Service Event via CloudTrail",
        "source": "aws.organizations",
        "account": detail["recipientAccountId"],
        "time": detail["eventTime"],
        "region": detail["awsRegion"],
        "resources": [],
        "detail": detail,
    }


def scheduled_event() -> dict[str, Any]:
    return {
        "version": "0",
        "id": "89d1a02d-5ec7-412e-82f5-13505f849b41",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "111111111111",
        "time": "2026-12-02T10:00:00Z",
        "region": "us-east-1",
        "resources": ["arn:aws:events:us-east-1:111111111111:rule/rootctl-schedule"],
        "detail": {},
    }


def log_lines(text: str) -> list[dict[str, Any]]:
    """Every stdout line is one JSON object (a line that is not fails the test)."""
    return [json.loads(line) for line in text.splitlines()]


def holders(sb: Sandbox) -> set[str]:
    """Accounts whose root user still has any credential."""
    return {
        account
        for account, root in sb.root_state().items()
        if root["password"]
        or root["access_keys"]
        or root["signing_certificates"]
        or any(d["assigned"] for d in root["mfa_devices"])
    }


class Context:
    """What the handler reads of Lambda's context object."""

    aws_request_id = "3f1c9a2e-0000-4000-8000-000000000001"
