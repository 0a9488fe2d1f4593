"""The handler sends findings out as `enforce --security-hub --notify-topic` does, from its
environment (ROOTCTL_SECURITY_HUB, ROOTCTL_NOTIFY_TOPIC), and verifies the journal from the
anchor before acting; all in-process against the sandbox."""

from __future__ import annotations

import json
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

from support import client, enabled_fixture, mutating_calls

INVITED = "888888888888"
REPORT_CONFIG = "root_credentials:\n  policy: report\n"
ANCHOR_NAME = ANCHOR[len("ssm://") :]


@pytest.fixture
def sb(monkeypatch: pytest.MonkeyPatch) -> Iterator[Sandbox]:
    with Sandbox.start(enabled_fixture()) as sandbox:
        lambda_env(sandbox, monkeypatch)
        yield sandbox


def subscribe(sb: Sandbox) -> tuple[str, str]:
    """A topic with an SQS queue subscribed (raw delivery): the topic ARN and queue URL."""
    sns, sqs = client(sb, "sns"), client(sb, "sqs")
    topic = sns.create_topic(Name="rootctl-enforce")["TopicArn"]
    queue = sqs.create_queue(QueueName="summaries")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]
    sns.subscribe(
        TopicArn=topic,
        Protocol="sqs",
        Endpoint=arn["QueueArn"],
        Attributes={"RawMessageDelivery": "true"},
    )
    return topic, queue


def messages(sb: Sandbox, queue: str) -> list[dict[str, Any]]:
    sqs = client(sb, "sqs")
    found = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
    for message in found:
        sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
    return [json.loads(m["Body"]) for m in found]


def hub_findings(sb: Sandbox) -> dict[str, dict[str, Any]]:
    found = client(sb, "securityhub").get_findings(MaxResults=100)["Findings"]
    return {f["Id"]: f for f in found if f["GeneratorId"].startswith("rootctl-enforce-")}


def test_findings_go_to_security_hub_and_the_summary_to_sns(
    sb: Sandbox, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    put_config(sb, REPORT_CONFIG)
    topic, queue = subscribe(sb)
    monkeypatch.setenv("ROOTCTL_SECURITY_HUB", "true")
    monkeypatch.setenv("ROOTCTL_NOTIFY_TOPIC", topic)
    result = handler(scheduled_event(), Context())
    assert result["summary"]["findings"] > 0 and result["exit_code"] == 3
    hub = hub_findings(sb)
    assert len(hub) == result["summary"]["findings"]
    assert result["delivered"]["security_hub"] == {
        "imported": len(hub),
        "archived": 0,
        "refused": 0,
    }
    assert all(f["RecordState"] == "ACTIVE" for f in hub.values())
    sent = messages(sb, queue)
    assert len(sent) == 1 and sent[0]["schema"] == "rootctl.enforce-summary/v1"
    assert {f"rootctl/enforce/{i}" for i in sent[0]["new_finding_ids"]} == set(hub)
    assert result["delivered"]["sns_message_id"]
    assert not [line for line in log_lines(capsys.readouterr().out) if line["level"] == "ERROR"]

    # The next pass finds nothing new: Security Hub updated in place, no summary sent.
    again = handler(scheduled_event(), Context())
    assert set(hub_findings(sb)) == set(hub) and messages(sb, queue) == []
    assert again["delivered"]["sns_skipped"] is True


def test_a_cleaned_account_is_in_the_summary(sb: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    topic, queue = subscribe(sb)
    monkeypatch.setenv("ROOTCTL_NOTIFY_TOPIC", topic)
    monkeypatch.setenv("ROOTCTL_SECURITY_HUB", "FALSE")  # any case, as deploy/ writes it
    invite_and_accept(sb, INVITED)
    result = handler(sandbox_event(sb, "AccountJoinedOrganization"), Context())
    assert INVITED not in holders(sb) and result["exit_code"] == 0
    (sent,) = messages(sb, queue)
    assert sent["changed_accounts"] == [INVITED]
    assert hub_findings(sb) == {}  # Security Hub off: nothing imported
    assert result["delivered"]["security_hub"] is None


def test_without_either_variable_nothing_is_sent(sb: Sandbox) -> None:
    sb.reset_calls()
    result = handler(scheduled_event(), Context())
    assert result["delivered"] is None
    services = {c["service"] for c in sb.calls()}
    assert not services & {"securityhub", "sns"}


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("ROOTCTL_SECURITY_HUB", "yes", "ROOTCTL_SECURITY_HUB must be true or false, not 'yes'"),
        ("ROOTCTL_SECURITY_HUB", "1", "must be true or false"),
        ("ROOTCTL_NOTIFY_TOPIC", "arn:aws:sqs:us-east-1:111111111111:q", "not an SNS topic ARN"),
        ("ROOTCTL_NOTIFY_TOPIC", "arn:aws:sns:us-east-1:1:t", "ROOTCTL_NOTIFY_TOPIC"),
        ("ROOTCTL_NOTIFY_TOPIC", "topic\nforged line", "not an SNS topic ARN"),
    ],
)
def test_a_bad_value_fails_with_one_line_before_any_call(
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
    lines = log_lines(capsys.readouterr().out)  # one JSON line: a newline in it is escaped
    assert len(lines) == 1 and lines[0]["level"] == "ERROR" and message in lines[0]["error"]
    assert sb.calls() == []


def test_a_failed_publish_is_an_error_line_not_a_failed_invocation(
    sb: Sandbox, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    put_config(sb, REPORT_CONFIG)
    monkeypatch.setenv("ROOTCTL_NOTIFY_TOPIC", "arn:aws:sns:us-east-1:111111111111:no-such-topic")
    result = handler(scheduled_event(), Context())  # the pass ran and is journaled
    assert result["delivered"]["ok"] is False and result["exit_code"] == 1
    errors = [line for line in log_lines(capsys.readouterr().out) if line["level"] == "ERROR"]
    assert len(errors) == 1 and errors[0]["event"] == "delivery-failed"
    assert errors[0]["error"].startswith("sns: NotFound")


# -- the journal, verified from its anchor ------------------------------------------------


def _anchor() -> dict[str, Any]:
    return {"entries": 0, "head": "0" * 64}


def _stored_anchor(sb: Sandbox) -> dict[str, Any]:
    value = client(sb, "ssm").get_parameter(Name=ANCHOR_NAME)["Parameter"]["Value"]
    document: dict[str, Any] = json.loads(value)
    return document


def _verified(out: str) -> dict[str, Any]:
    (line,) = [line for line in log_lines(out) if line["event"] == "journal-verified"]
    return line


def test_first_run_verifies_all_then_each_run_only_what_came_since(
    sb: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    first = handler(scheduled_event(), Context())  # no anchor stored yet
    seen = _verified(capsys.readouterr().out)
    assert seen["mode"] == "full" and seen["checked"] == 0
    stored = _stored_anchor(sb)
    assert stored == {"entries": first["anchor"]["entries"], "head": first["anchor"]["head"]}
    assert first["anchor"]["written"] is True

    invite_and_accept(sb, INVITED)
    second = handler(sandbox_event(sb, "AccountJoinedOrganization"), Context())
    seen = _verified(capsys.readouterr().out)
    assert seen["mode"] == "since-anchor" and seen["anchor"] == stored["entries"]
    assert seen["checked"] == 0  # nothing was appended between the runs
    assert second["anchor"]["entries"] > stored["entries"]
    assert _stored_anchor(sb)["head"] == DynamoJournal(TABLE, readonly=True).verify().head_hash


def test_the_deployed_initial_anchor_is_a_full_verify(
    sb: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    client(sb, "ssm").put_parameter(Name=ANCHOR_NAME, Value=json.dumps(_anchor()), Type="String")
    handler(scheduled_event(), Context())
    seen = _verified(capsys.readouterr().out)
    assert seen["mode"] == "since-anchor" and seen["anchor"] == 0


def _edit(sb: Sandbox, entry_id: int, field: str, text: str) -> None:
    client(sb, "dynamodb").update_item(
        TableName=TABLE,
        Key={"pk": {"S": "entry"}, "sk": {"N": str(entry_id)}},
        UpdateExpression="SET #f = :v",
        ExpressionAttributeNames={"#f": field},
        ExpressionAttributeValues={":v": {"S": text}},
    )


def _refused(sb: Sandbox, capsys: pytest.CaptureFixture[str], message: str) -> None:
    sb.reset_calls()
    invite_and_accept(sb, INVITED)
    sb.reset_calls()
    capsys.readouterr()
    with pytest.raises(InvocationError, match=message):
        handler(sandbox_event(sb, "AccountJoinedOrganization"), Context())
    lines = log_lines(capsys.readouterr().out)
    assert len(lines) == 1 and lines[0]["level"] == "ERROR"
    assert "does not verify from the anchor" in lines[0]["error"]
    assert mutating_calls(sb) == [] and INVITED in holders(sb)


def test_an_entry_edited_after_the_anchor_stops_the_run(
    sb: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    handler(scheduled_event(), Context())
    anchored = _stored_anchor(sb)["entries"]
    journal = DynamoJournal(TABLE)
    from rootctl.journal import JournalEntry

    journal.append(JournalEntry(command="unlock s3", action="delete-policy", outcome="ok"))
    _edit(sb, anchored + 1, "outcome", "planned")
    _refused(sb, capsys, f"entry {anchored + 1} was edited")


def test_a_rewritten_table_stops_the_run(sb: Sandbox, capsys: pytest.CaptureFixture[str]) -> None:
    handler(scheduled_event(), Context())
    ddb = client(sb, "dynamodb")
    for item in ddb.scan(TableName=TABLE)["Items"]:
        ddb.delete_item(TableName=TABLE, Key={"pk": item["pk"], "sk": item["sk"]})
    from rootctl.journal import JournalEntry

    forged = DynamoJournal(TABLE)
    for _ in range(_stored_anchor(sb)["entries"] + 2):
        forged.append(JournalEntry(command="audit", action="assume-root", outcome="ok"))
    assert forged.verify().ok  # a valid journal on its own
    _refused(sb, capsys, "does not hold the anchor's hash")


def test_a_truncated_table_stops_the_run(sb: Sandbox, capsys: pytest.CaptureFixture[str]) -> None:
    handler(scheduled_event(), Context())
    anchored = _stored_anchor(sb)["entries"]
    ddb = client(sb, "dynamodb")
    ddb.delete_item(TableName=TABLE, Key={"pk": {"S": "entry"}, "sk": {"N": str(anchored)}})
    _refused(sb, capsys, f"entry {anchored} \\(the anchor\\) is missing")
