"""Helpers of the deployment tests: the Lambda's environment in the sandbox, joins, logs."""

from __future__ import annotations

import json
import os
from typing import Any

import pytest

from rootctl.journal.dynamodb import TABLE_SPEC
from rootctl.sandbox import Sandbox

from support import client, credential_holders
from support import invite_and_accept as invite_and_accept
from support import sandbox_event as sandbox_event

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


class Context:
    """What the handler reads of Lambda's context object."""

    aws_request_id = "3f1c9a2e-0000-4000-8000-000000000001"


holders = credential_holders  # the deploy tests' name for the shared helper
