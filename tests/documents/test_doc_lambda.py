"""The Lambda handler's result (`rootctl.lambda/v1`) is its own summary, not a
`rootctl.enforce/v1` document: it adds `shard`, `delivered` and `anchor` and leaves out the
per-account lists (they go to the log lines). Its `scope` and `summary` are the enforce
document's parts, so they validate against those parts of the shipped schema and read back
with the same models."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import jsonschema
import pytest

from rootctl.documents import shipped_schema
from rootctl.sandbox import Sandbox

from support import client, enabled_fixture, invite_and_accept, sandbox_event

INVITED = "888888888888"
TABLE = "rootctl-journal-docs"
SCHEDULED: dict[str, Any] = {
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


class Context:
    aws_request_id = "3f1c9a2e-0000-4000-8000-000000000002"


@pytest.fixture
def sb(monkeypatch: pytest.MonkeyPatch) -> Iterator[Sandbox]:
    """The handler's environment against the sandbox: config in SSM, journal in DynamoDB."""
    from rootctl.journal.dynamodb import TABLE_SPEC

    with Sandbox.start(enabled_fixture()) as sandbox:
        for key in list(os.environ):
            if key.startswith(("AWS_", "ROOTCTL_")):
                monkeypatch.delenv(key)
        monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
        monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
        for key, value in sandbox.env().items():
            monkeypatch.setenv(key, value)
        client(sandbox, "dynamodb").create_table(TableName=TABLE, **TABLE_SPEC)
        client(sandbox, "ssm").put_parameter(
            Name="/rootctl/docs-config",
            Value="root_credentials:\n  policy: delete\n",
            Type="String",
        )
        monkeypatch.setenv("ROOTCTL_CONFIG", "ssm:///rootctl/docs-config")
        monkeypatch.setenv("ROOTCTL_JOURNAL", f"dynamodb://{TABLE}")
        yield sandbox


def _validate_part(value: Any, part: str) -> None:
    schema = shipped_schema("enforce")
    ref = {"$ref": f"#/$defs/{part}", "$defs": schema["$defs"]}
    jsonschema.validate(value, ref, cls=jsonschema.Draft202012Validator)


def test_the_handlers_scope_and_summary_are_the_enforce_documents_parts(
    sb: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    from rootctl.documents.enforce import ScopePart, SummaryPart
    from rootctl.lambda_handler import handler

    invite_and_accept(sb, INVITED)
    joined = handler(sandbox_event(sb, "AccountJoinedOrganization"), Context())
    scheduled = handler(SCHEDULED, Context())
    capsys.readouterr()  # the JSON log lines: not what this test reads
    for result in (joined, scheduled):
        assert result["schema"] == "rootctl.lambda/v1"
        _validate_part(result["scope"], "ScopePart")
        _validate_part(result["summary"], "SummaryPart")
        assert ScopePart.model_validate(result["scope"]).model_dump(mode="json") == result["scope"]
        assert SummaryPart.model_validate(result["summary"]).model_dump() == result["summary"]
    assert joined["scope"]["event"]["kind"] == "joined" and joined["summary"]["changed"] == 1
    assert scheduled["scope"]["event"]["kind"] == "scheduled"
    assert scheduled["summary"]["accounts"] > 1


def test_a_summary_with_a_key_the_document_does_not_define_is_refused() -> None:
    summary = dict.fromkeys(
        ("accounts", "found", "changed", "refused", "failed", "findings"), 0
    ) | dict.fromkeys(("organization_changed", "organization_pending", "organization_failed"), 0)
    _validate_part(summary, "SummaryPart")
    with pytest.raises(jsonschema.ValidationError):
        _validate_part({**summary, "deleted": 1}, "SummaryPart")
    with pytest.raises(jsonschema.ValidationError):
        _validate_part({"event": {"kind": "weekly"}}, "ScopePart")
