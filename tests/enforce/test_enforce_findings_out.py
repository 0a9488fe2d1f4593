"""Findings out of `rootctl enforce`: OCSF/ASFF, Security Hub import, SNS summary (sandbox)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from enforce_helpers import _client, document, invoke, write_config

from rootctl.permissions import policy_document, requirements_for
from rootctl.sandbox import Sandbox

from support import MANAGEMENT, PAYMENTS_PROD

HUB = ("--security-hub", "--yes")
FLAGS = ["enforce", "enforce --security-hub", "enforce --notify-topic"]


def _validate_asff(findings: list[dict[str, Any]]) -> None:
    """botocore's own model of BatchImportFindings (the audit's ASFF test does the same)."""
    import botocore.session
    from botocore.validate import ParamValidator

    model = botocore.session.get_session().get_service_model("securityhub")
    shape = model.operation_model("BatchImportFindings").input_shape
    report = ParamValidator().validate({"Findings": findings}, shape)
    assert not report.has_errors(), report.generate_report()


def _hub(sb: Sandbox) -> dict[str, dict[str, Any]]:
    """Security Hub's rootctl enforce findings by Id; asserts there is one record per Id."""
    found = _client(sb, "securityhub").get_findings(MaxResults=100)["Findings"]
    ours = [f for f in found if f["GeneratorId"].startswith("rootctl-enforce-")]
    assert len({f["Id"] for f in ours}) == len(ours)
    return {f["Id"]: f for f in ours}


def test_asff_and_ocsf_validate_and_carry_the_controls(
    enabled_sandbox: Sandbox, tmp_path: Path
) -> None:
    from py_ocsf_models.events.findings.compliance_finding import (  # type: ignore[import-untyped]
        ComplianceFinding,
    )

    sb, journal = enabled_sandbox, tmp_path / "journal.db"
    config = write_config(tmp_path, "report")
    asff = invoke(sb, "enforce", "-c", str(config), "--yes", "-o", "asff", journal=journal)
    assert asff.exit_code == 3, asff.output
    findings = json.loads(asff.stdout)
    _validate_asff(findings)
    assert findings and all(f["AwsAccountId"] == MANAGEMENT for f in findings)
    assert all(f["ProductArn"].endswith(f":product/{MANAGEMENT}/default") for f in findings)
    for finding in findings:
        required = finding["Compliance"]["RelatedRequirements"]
        assert "CIS AWS Foundations Benchmark v7.0.0/2.1.1" in required
        assert finding["Remediation"]["Recommendation"]["Text"]
        assert finding["Resources"][0]["Id"].startswith("AWS::::Account:")
        kinds = finding["Title"]
        if "access-keys" in kinds:
            assert (
                "AWS Security Hub/IAM.4" in required and finding["Severity"]["Label"] == "CRITICAL"
            )
        if "password" in kinds:
            assert {"AWS Security Hub/IAM.6", "AWS Security Hub/IAM.9"} <= set(required)
    ocsf = invoke(sb, "enforce", "-c", str(config), "--yes", "-o", "ocsf", journal=journal)
    documents = json.loads(ocsf.stdout)
    assert len(documents) == len(findings)
    for item in documents:
        model = ComplianceFinding.model_validate(item)
        assert model.compliance.requirements and model.finding_info.uid.startswith("rootctl/")
    # Same ids as the report's, so both formats update one record per finding.
    assert {d["finding_info"]["uid"] for d in documents} == {f["Id"] for f in findings}


def test_security_hub_imports_once_updates_then_archives_what_is_gone(
    enabled_sandbox: Sandbox, tmp_path: Path
) -> None:
    sb, journal = enabled_sandbox, tmp_path / "journal.db"
    report_cfg = write_config(tmp_path, "report")
    first = invoke(sb, "enforce", "-c", str(report_cfg), *HUB, "-o", "json", journal=journal)
    assert first.exit_code == 3, first.output
    ids = {f"rootctl/enforce/{f['id']}" for f in document(first)["findings"]}
    target = f"rootctl/enforce/root-credentials:{PAYMENTS_PROD}"
    assert target in ids
    hub = _hub(sb)
    assert set(hub) == ids and all(f["RecordState"] == "ACTIVE" for f in hub.values())
    _validate_asff(list(hub.values()))

    second = invoke(sb, "enforce", "-c", str(report_cfg), *HUB, "-o", "json", journal=journal)
    assert second.exit_code == 3, second.output
    again = _hub(sb)
    assert set(again) == ids  # updated in place: still one finding each
    assert again[target]["UpdatedAt"] > hub[target]["UpdatedAt"]
    assert again[target]["CreatedAt"] == hub[target]["CreatedAt"]

    # The credentials go (a delete pass on one account, without --security-hub) ...
    delete_cfg = tmp_path / "delete" / "rootctl.yaml"
    delete_cfg.parent.mkdir()
    write_config(delete_cfg.parent, "delete")
    gone = invoke(
        sb, "enforce", "-c", str(delete_cfg), "--accounts", PAYMENTS_PROD, "--yes", journal=journal
    )
    assert gone.exit_code == 0, gone.output
    # ... and the next report pass archives its finding, found through GetFindings.
    third = invoke(sb, "enforce", "-c", str(report_cfg), *HUB, journal=journal)
    assert third.exit_code == 3, third.output
    assert "1 archived as resolved" in third.stderr
    last = _hub(sb)
    assert set(last) == ids
    assert last[target]["RecordState"] == "ARCHIVED"
    assert last[target]["Compliance"]["Status"] == "PASSED"
    assert last[target]["Workflow"]["Status"] == "RESOLVED"
    assert all(f["RecordState"] == "ACTIVE" for i, f in last.items() if i != target)


def test_sns_summary_on_new_findings_only(enabled_sandbox: Sandbox, tmp_path: Path) -> None:
    sb, journal = enabled_sandbox, tmp_path / "journal.db"
    config = write_config(tmp_path, "report")
    sns, sqs = _client(sb, "sns"), _client(sb, "sqs")
    topic = sns.create_topic(Name="rootctl-enforce")["TopicArn"]
    queue = sqs.create_queue(QueueName="enforce-summaries")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]
    sns.subscribe(
        TopicArn=topic,
        Protocol="sqs",
        Endpoint=arn["QueueArn"],
        Attributes={"RawMessageDelivery": "true"},
    )
    first = invoke(
        sb,
        "enforce",
        "-c",
        str(config),
        "--yes",
        "-o",
        "json",
        "--notify-topic",
        topic,
        journal=journal,
    )
    assert first.exit_code == 3, first.output
    messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
    assert len(messages) == 1
    body = json.loads(messages[0]["Body"])
    assert body["schema"] == "rootctl.enforce-summary/v1"
    assert set(body["new_finding_ids"]) == {f["id"] for f in document(first)["findings"]}
    assert "AccessKeyId" not in messages[0]["Body"] and "secret" not in messages[0]["Body"].lower()
    sqs.delete_message(QueueUrl=queue, ReceiptHandle=messages[0]["ReceiptHandle"])

    second = invoke(
        sb, "enforce", "-c", str(config), "--yes", "--notify-topic", topic, journal=journal
    )
    assert second.exit_code == 3, second.output
    assert "no summary sent" in second.stderr
    assert not sqs.receive_message(QueueUrl=queue).get("Messages")


def test_malformed_topic_is_exit_2_before_any_aws_call(
    enabled_sandbox: Sandbox, tmp_path: Path
) -> None:
    sb, journal = enabled_sandbox, tmp_path / "journal.db"
    config = write_config(tmp_path, "delete")
    sb.reset_calls()
    for bad in ("arn:aws:sqs:us-east-1:111111111111:q", "arn:aws:sns:us-east-1:1:t", "topic"):
        result = invoke(
            sb, "enforce", "-c", str(config), "--yes", "--notify-topic", bad, journal=journal
        )
        assert result.exit_code == 2, result.output
        assert result.stderr.count("\n") == 1 and result.stderr.startswith("error:")
        assert "Traceback" not in result.output
    assert sb.calls() == []


def test_permissions_cover_the_import_and_the_publish(
    enabled_sandbox: Sandbox, tmp_path: Path
) -> None:
    sb, journal = enabled_sandbox, tmp_path / "journal.db"
    config = write_config(tmp_path, "report")
    topic = _client(sb, "sns").create_topic(Name="t")["TopicArn"]
    operator = sb.operator
    assert operator is not None
    sb.reset_calls()
    result = invoke(
        sb, "enforce", "-c", str(config), *HUB, "--notify-topic", topic, journal=journal
    )
    assert result.exit_code == 3, result.output
    granted = {
        action
        for statement in policy_document(requirements_for(FLAGS))["Statement"]
        for action in (
            [statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"]
        )
    }
    calls = {
        f"{c['service']}:{c['action']}"
        for c in sb.calls()
        if c["access_key_id"] == operator.access_key_id
    }
    assert {"securityhub:BatchImportFindings", "securityhub:GetFindings", "sns:Publish"} <= calls
    assert calls <= granted
