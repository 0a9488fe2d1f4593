"""Organization findings out of `rootctl enforce`: archived in Security Hub once converged,
and an organization-only change is worth an SNS summary (sandbox, CLI in-process)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from enforce_helpers import _client, document, invoke

from rootctl.sandbox import Sandbox

from support import EXCEPTIONS_CONFIG, MANAGEMENT, sample_fixture

ORG = """centralize_root_access:
  enabled: true
  features: [RootCredentialsManagement, RootSessions]
"""
GUARDRAIL = """guardrails:
  - policy_name: scp_root_ou
    target_ou_paths: [/root]
    template_names: [deny_actions_as_root_except_centralized_root]
"""
HUB = ("--security-hub", "--yes")
ORG_IDS = {
    f"rootctl/enforce/organization:{MANAGEMENT}:{key}"
    for key in (
        "enable-trusted-access:iam.amazonaws.com",
        "enable-feature:RootCredentialsManagement",
        "enable-feature:RootSessions",
    )
}


@pytest.fixture
def features_off() -> Iterator[Sandbox]:
    with Sandbox.start(sample_fixture()) as sb:
        yield sb


def _config(directory: Path, policy: str, org: str = "") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "rootctl.yaml"
    path.write_text(
        org
        + EXCEPTIONS_CONFIG.replace(
            "root_credentials:\n", f"root_credentials:\n  policy: {policy}\n"
        )
    )
    return path


def _hub(sb: Sandbox) -> dict[str, dict[str, Any]]:
    found = _client(sb, "securityhub").get_findings(MaxResults=100)["Findings"]
    ours = [f for f in found if f["GeneratorId"].startswith("rootctl-enforce-")]
    assert len({f["Id"] for f in ours}) == len(ours)
    return {f["Id"]: f for f in ours}


def _states(sb: Sandbox, ids: set[str]) -> set[str]:
    hub = _hub(sb)
    assert ids <= set(hub)
    return {hub[i]["RecordState"] for i in ids}


def test_organization_findings_are_archived_once_the_organization_converged(
    features_off: Sandbox, tmp_path: Path
) -> None:
    sb, journal = features_off, tmp_path / "journal.db"
    report_cfg = _config(tmp_path / "report", "report", ORG)
    first = invoke(sb, "enforce", "-c", str(report_cfg), *HUB, "-o", "json", journal=journal)
    assert first.exit_code == 3, first.output
    assert {f"rootctl/enforce/{f['id']}" for f in document(first)["findings"]} == ORG_IDS
    assert _states(sb, ORG_IDS) == {"ACTIVE"}

    # A pass whose config manages no organization section did not look at it: proves nothing.
    plain = _config(tmp_path / "plain", "report")
    blind = invoke(sb, "enforce", "-c", str(plain), *HUB, journal=journal)
    assert "security hub: 0 imported, 0 archived as resolved" in blind.stderr, blind.output
    assert _states(sb, ORG_IDS) == {"ACTIVE"}

    # A delete pass converges the organization: the findings it no longer reports are resolved.
    delete_cfg = _config(tmp_path / "delete", "delete", ORG)
    done = invoke(sb, "enforce", "-c", str(delete_cfg), *HUB, "-o", "json", journal=journal)
    assert done.exit_code == 0, done.output
    assert document(done)["organization"]["verified"] is True
    assert "archived as resolved" in done.stderr
    hub = _hub(sb)
    for finding_id in ORG_IDS:
        assert hub[finding_id]["RecordState"] == "ARCHIVED"
        assert hub[finding_id]["Compliance"]["Status"] == "PASSED"


def test_a_partial_organization_read_archives_no_organization_finding(
    enabled_sandbox: Sandbox, tmp_path: Path
) -> None:
    from rootctl.sandbox.model import FaultConfig

    sb, journal = enabled_sandbox, tmp_path / "journal.db"
    made = invoke(
        sb,
        "enforce",
        "-c",
        str(_config(tmp_path / "d", "delete", GUARDRAIL)),
        "--yes",
        journal=journal,
    )
    assert made.exit_code == 0, made.output
    # Someone edits the guardrail: the next full read plans to update it back.
    org = _client(sb, "organizations")
    policies = org.list_policies(Filter="SERVICE_CONTROL_POLICY")["Policies"]
    scp = next(p for p in policies if p["Name"] == "scp_root_ou")
    edited = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Deny", "Action": "s3:*", "Resource": "*"}],
    }
    org.update_policy(PolicyId=scp["Id"], Content=json.dumps(edited))
    report_cfg = _config(tmp_path / "r", "report", GUARDRAIL)
    first = invoke(sb, "enforce", "-c", str(report_cfg), *HUB, "-o", "json", journal=journal)
    update = f"rootctl/enforce/organization:{MANAGEMENT}:update-scp:scp_root_ou"
    assert update in {f"rootctl/enforce/{f['id']}" for f in document(first)["findings"]}
    assert _states(sb, {update}) == {"ACTIVE"}
    # SCPs unreadable now: this pass does not see the edit (it plans a create instead), so
    # the update finding is absent from it, yet nothing says the guardrail was put back.
    sb.set_faults(FaultConfig(fail_actions={"ListPolicies": "AccessDeniedException"}))
    second = invoke(sb, "enforce", "-c", str(report_cfg), *HUB, "-o", "json", journal=journal)
    assert document(second)["organization"]["errors"], second.output
    assert update not in {f"rootctl/enforce/{f['id']}" for f in document(second)["findings"]}
    assert _states(sb, {update}) == {"ACTIVE"}
    # Readable again, and put back by a delete pass: resolved.
    sb.set_faults(FaultConfig())
    fixed = invoke(
        sb,
        "enforce",
        "-c",
        str(_config(tmp_path / "d", "delete", GUARDRAIL)),
        *HUB,
        journal=journal,
    )
    assert fixed.exit_code == 0, fixed.output
    assert _states(sb, {update}) == {"ARCHIVED"}


def test_an_organization_only_change_sends_the_summary(
    enabled_sandbox: Sandbox, tmp_path: Path
) -> None:
    sb, journal = enabled_sandbox, tmp_path / "journal.db"
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

    def received() -> list[dict[str, Any]]:
        messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
        for message in messages:
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
        return [json.loads(m["Body"]) for m in messages]

    plain = _config(tmp_path / "plain", "delete")
    notify = ("--yes", "--notify-topic", topic)
    assert invoke(sb, "enforce", "-c", str(plain), *notify, journal=journal).exit_code == 0
    assert len(received()) == 1  # the credentials deleted
    again = invoke(sb, "enforce", "-c", str(plain), *notify, journal=journal)
    assert again.exit_code == 0 and "no summary sent" in again.stderr
    assert received() == []

    # Only the organization changes now (a guardrail to create and attach).
    guarded = _config(tmp_path / "guarded", "delete", GUARDRAIL)
    result = invoke(sb, "enforce", "-c", str(guarded), *notify, "-o", "json", journal=journal)
    assert result.exit_code == 0, result.output
    assert [i["kind"] for i in document(result)["organization"]["changed"]] == [
        "create-scp",
        "attach-scp",
    ]
    sent = received()
    assert len(sent) == 1, result.stderr
    body = sent[0]
    assert body["changed_accounts"] == [] and body["new_finding_ids"] == []
    assert body["organization_changes"] == [
        "create-scp scp_root_ou (deny_actions_as_root_except_centralized_root)",
        "attach-scp scp_root_ou (/root)",
    ]
    assert body["summary"]["organization_changed"] == 2
    # Converged: the next pass changes nothing and sends nothing.
    quiet = invoke(sb, "enforce", "-c", str(guarded), *notify, journal=journal)
    assert quiet.exit_code == 0 and "no summary sent" in quiet.stderr
    assert received() == []
