"""deploy/: the CloudFormation template lints, deploys into the sandbox and runs the handler
with the function's own environment; the Terraform module parses and declares the same
stack; both grant exactly `rootctl permissions enforce` (plus the function's own state)."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import warnings
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import hcl2
import pytest
import yaml
from deploy_helpers import Context, holders, scheduled_event

from rootctl.journal.dynamodb import DynamoJournal
from rootctl.lambda_handler import handler
from rootctl.sandbox import Sandbox

from support import client, enabled_fixture, run_cli

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "deploy" / "cloudformation" / "rootctl.yaml"
TERRAFORM = ROOT / "deploy" / "terraform"
# Resource types of the template that moto 5.2.5's CloudFormation skips (with a warning):
# the stack still reaches CREATE_COMPLETE without them.
MOTO_UNSUPPORTED = {
    "AWS::SQS::QueuePolicy",
    "AWS::Lambda::EventInvokeConfig",
    "AWS::Events::EventBusPolicy",  # also only created in the delegated administrator
}


class _CfnLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short tags (!Ref, !Sub, ...) read as {Fn: value}."""


def _tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        return {name: loader.construct_scalar(node)}
    if isinstance(node, yaml.SequenceNode):
        return {name: loader.construct_sequence(node, deep=True)}
    return {name: loader.construct_mapping(node, deep=True)}  # type: ignore[arg-type]


_CfnLoader.add_multi_constructor("!", _tag)


def _template() -> dict[str, Any]:
    data: dict[str, Any] = yaml.load(TEMPLATE.read_text(), Loader=_CfnLoader)
    return data


def _generated_policy() -> Any:
    result = run_cli(None, "permissions", "enforce")
    assert result.returncode == 0
    return json.loads(result.stdout)


def test_the_template_passes_cfn_lint() -> None:
    own = Path(sys.executable).with_name("cfn-lint")  # the dev extra's, pinned in pyproject
    linter = str(own) if own.exists() else shutil.which("cfn-lint")
    if linter is None:
        pytest.skip("cfn-lint is not installed (pip install '.[dev]')")
    done = subprocess.run([linter, str(TEMPLATE)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_both_grant_exactly_the_enforce_policy() -> None:
    generated = _generated_policy()
    assert json.loads((TERRAFORM / "policies" / "enforce.json").read_text()) == generated
    policies = _template()["Resources"]["FunctionRole"]["Properties"]["Policies"]
    named = {p["PolicyName"]: p["PolicyDocument"] for p in policies}
    assert named["rootctl-permissions-enforce"] == generated


def _unquote(value: Any) -> Any:
    """python-hcl2 8 keeps the quotes of labels and strings: drop them to compare."""
    if isinstance(value, dict):
        return {_unquote(k): _unquote(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_unquote(v) for v in value]
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


def _tf() -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for path in sorted(TERRAFORM.glob("*.tf")):
        with path.open() as handle:
            for key, value in _unquote(hcl2.load(handle)).items():
                if isinstance(value, list):
                    merged.setdefault(key, []).extend(value)
    return merged


def test_the_terraform_module_parses_and_declares_the_stack() -> None:
    tf = _tf()
    variables = {name for block in tf["variable"] for name in block}
    assert {
        "schedule_expression", "config_yaml", "config_file", "journal_table_name",
        "notify_topic_arn", "security_hub_enabled", "shard_count", "package_file",
    } <= variables  # fmt: skip
    resources = {(kind, name) for block in tf["resource"] for kind in block for name in block[kind]}
    kinds = {kind for kind, _ in resources}
    assert {
        "aws_lambda_function", "aws_iam_role", "aws_iam_role_policy", "aws_dynamodb_table",
        "aws_cloudwatch_log_group", "aws_sqs_queue", "aws_cloudwatch_event_rule",
        "aws_cloudwatch_event_target", "aws_sfn_state_machine", "aws_lambda_permission",
    } <= kinds  # fmt: skip
    rules = next(
        b["aws_cloudwatch_event_rule"] for b in tf["resource"] if "aws_cloudwatch_event_rule" in b
    )
    assert "eventName" in rules["joined"]["event_pattern"]
    assert "AccountJoinedOrganization" in rules["joined"]["event_pattern"]
    assert "CreateAccountResult" in rules["joined"]["event_pattern"]
    tables = next(b["aws_dynamodb_table"] for b in tf["resource"] if "aws_dynamodb_table" in b)
    assert tables["journal"]["hash_key"] == "pk" and tables["journal"]["range_key"] == "sk"


def _terraform() -> str:
    binary = shutil.which("terraform")
    if binary is None:
        pytest.skip("no terraform binary on this machine (deploy/terraform/README.md: Checks)")
    return binary


def test_terraform_fmt() -> None:
    done = subprocess.run(
        [_terraform(), "fmt", "-check", "-no-color", str(TERRAFORM)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout


def test_terraform_validate(tmp_path: Path) -> None:
    binary = _terraform()
    work = tmp_path / "module"
    shutil.copytree(TERRAFORM, work)
    init = subprocess.run(
        [binary, "init", "-backend=false", "-input=false", "-no-color"],
        cwd=work, capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip
    if init.returncode != 0:
        pytest.skip(
            "terraform init cannot install the hashicorp/aws provider here (no registry "
            "access and no plugin mirror): run `terraform init && terraform validate` in "
            "deploy/terraform where it can"
        )
    done = subprocess.run(
        [binary, "validate", "-no-color"], cwd=work, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.fixture
def sb(monkeypatch: pytest.MonkeyPatch) -> Iterator[Sandbox]:
    with Sandbox.start(enabled_fixture()) as sandbox:
        for key in list(os.environ):
            if key.startswith(("AWS_", "ROOTCTL_")):
                monkeypatch.delenv(key)
        monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
        monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
        for key, value in sandbox.env().items():
            monkeypatch.setenv(key, value)
        yield sandbox


def _deploy(sb: Sandbox, **parameters: str) -> dict[str, Any]:
    s3 = client(sb, "s3")
    s3.create_bucket(Bucket="rootctl-packages")
    package = io.BytesIO()
    with zipfile.ZipFile(package, "w") as archive:
        archive.writestr("rootctl/__init__.py", "")  # moto stores the code, never runs it
    s3.put_object(Bucket="rootctl-packages", Key="rootctl-lambda.zip", Body=package.getvalue())
    cfn = client(sb, "cloudformation")
    with warnings.catch_warnings(record=True):  # moto warns of the types it skips
        cfn.create_stack(
            StackName="rootctl",
            TemplateBody=TEMPLATE.read_text(),
            Capabilities=["CAPABILITY_NAMED_IAM"],
            Parameters=[
                {"ParameterKey": k, "ParameterValue": v}
                for k, v in {
                    "PackageBucket": "rootctl-packages",
                    "ConfigYaml": "root_credentials:\n  policy: delete\n",
                    "ShardCount": "4",
                    **parameters,
                }.items()
            ],
        )
    stack: dict[str, Any] = cfn.describe_stacks(StackName="rootctl")["Stacks"][0]
    return stack


def test_the_template_deploys_into_the_sandbox_and_the_function_runs_there(
    sb: Sandbox, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    stack = _deploy(sb)
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
    assert outputs["Journal"] == "dynamodb://rootctl-journal"
    declared = {r["Type"] for r in _template()["Resources"].values()}
    created = {
        r["ResourceType"]
        for r in client(sb, "cloudformation").describe_stack_resources(StackName="rootctl")[
            "StackResources"
        ]
        if "ResourceType" in r
    }
    assert declared - created == MOTO_UNSUPPORTED
    rules = client(sb, "events").list_rules()["Rules"]
    joined = json.loads(
        next(r for r in rules if r["Name"] == "rootctl-account-joined")["EventPattern"]
    )
    assert joined["detail"]["eventName"] == ["AccountJoinedOrganization", "CreateAccountResult"]
    assert any(r.get("ScheduleExpression") == "rate(1 day)" for r in rules)
    env = client(sb, "lambda").get_function_configuration(FunctionName="rootctl")["Environment"]
    for key, value in env["Variables"].items():
        monkeypatch.setenv(key, value)  # the function's own environment, as deployed
    before = holders(sb)
    result = handler(scheduled_event(), Context())
    assert result["summary"]["changed"] > 0 and holders(sb) < before
    assert DynamoJournal("rootctl-journal", readonly=True).verify().ok
    verified = run_cli(
        sb, "journal", "verify", "--journal", outputs["Journal"], "--anchor", outputs["Anchor"]
    )
    assert verified.returncode == 0, verified.stderr


FORWARD_TEMPLATE = ROOT / "deploy" / "cloudformation" / "forward-org-events.yaml"
FORWARD_MODULE = TERRAFORM / "modules" / "forward-org-events"
DA_BUS = "arn:aws:events:us-east-1:222222222222:event-bus/default"


def test_the_forwarding_template_passes_cfn_lint() -> None:
    own = Path(sys.executable).with_name("cfn-lint")
    linter = str(own) if own.exists() else shutil.which("cfn-lint")
    if linter is None:
        pytest.skip("cfn-lint is not installed (pip install '.[dev]')")
    done = subprocess.run(
        [linter, str(FORWARD_TEMPLATE)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


def _resources(tf: dict[str, Any], kind: str) -> dict[str, Any]:
    return {n: v for b in tf.get("resource", []) if kind in b for n, v in b[kind].items()}


def test_terraform_wires_findings_out_and_the_forwarding_module_parses() -> None:
    tf = _tf()
    variables = _resources(tf, "aws_lambda_function")["rootctl"]["environment"][0]["variables"]
    assert variables["ROOTCTL_SECURITY_HUB"] == '${var.security_hub_enabled ? "true" : "false"}'
    assert "var.notify_topic_arn" in variables["ROOTCTL_NOTIFY_TOPIC"]
    state = next(
        b["aws_iam_policy_document"]["function_state"]
        for b in tf["data"]
        if "function_state" in b.get("aws_iam_policy_document", {})
    )
    dynamic = [s["content"][0] for s in state["dynamic"] for s in s.values()]
    granted = {(tuple(c["actions"]), tuple(c["resources"])) for c in dynamic}
    assert (("sns:Publish",), ("${statement.value}",)) in granted  # the topic only
    assert any(a == ("securityhub:BatchImportFindings",) and r[0].endswith(
        ":product/${data.aws_caller_identity.current.account_id}/default"
    ) for a, r in granted)  # fmt: skip
    assert (("securityhub:GetFindings",), ("*",)) in granted
    assert "org_events" in _resources(tf, "aws_cloudwatch_event_bus_policy")

    forward: dict[str, Any] = {}
    for path in sorted(FORWARD_MODULE.glob("*.tf")):
        with path.open() as handle:
            for key, value in _unquote(hcl2.load(handle)).items():
                forward.setdefault(key, []).extend(value)
    rule = _resources(forward, "aws_cloudwatch_event_rule")["forward"]
    assert "AccountJoinedOrganization" in rule["event_pattern"]
    assert "CreateAccountResult" in rule["event_pattern"]
    target = _resources(forward, "aws_cloudwatch_event_target")["forward"]
    assert target["arn"] == "${var.target_event_bus_arn}"
    assert target["role_arn"] == "${aws_iam_role.forward.arn}"
    assert {n for b in forward["variable"] for n in b} == {"name", "target_event_bus_arn", "tags"}


def test_the_forwarding_template_deploys_and_forwards_to_the_bus(sb: Sandbox) -> None:
    cfn = client(sb, "cloudformation")
    cfn.create_stack(
        StackName="forward",
        TemplateBody=FORWARD_TEMPLATE.read_text(),
        Capabilities=["CAPABILITY_NAMED_IAM"],
        Parameters=[{"ParameterKey": "TargetEventBusArn", "ParameterValue": DA_BUS}],
    )
    stack = cfn.describe_stacks(StackName="forward")["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    events = client(sb, "events")
    (target,) = events.list_targets_by_rule(Rule="rootctl-forward-org-events")["Targets"]
    assert target["Arn"] == DA_BUS and target["RoleArn"].endswith(
        ":role/rootctl-forward-org-events"
    )
    rule = events.describe_rule(Name="rootctl-forward-org-events")
    pattern = json.loads(rule["EventPattern"])
    assert pattern["source"] == ["aws.organizations"]
    assert pattern["detail"]["eventName"] == ["AccountJoinedOrganization", "CreateAccountResult"]
    # moto stores inline role policies of a stack as text that is not JSON: read the
    # template's statement instead.
    forward = yaml.load(FORWARD_TEMPLATE.read_text(), Loader=_CfnLoader)
    (policy,) = forward["Resources"]["ForwardRole"]["Properties"]["Policies"]
    assert policy["PolicyDocument"]["Statement"] == [
        {"Effect": "Allow", "Action": "events:PutEvents", "Resource": {"Ref": "TargetEventBusArn"}}
    ]


def test_deployed_in_the_delegated_administrator_with_findings_out(
    sb: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The DA variant: the bus policy lets the management account put events; Security Hub
    and the topic reach the function's environment and its role, and the handler run with
    that environment imports the findings and publishes the summary."""
    sns, sqs = client(sb, "sns"), client(sb, "sqs")
    topic = sns.create_topic(Name="rootctl")["TopicArn"]
    queue = sqs.create_queue(QueueName="summaries")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])
    sns.subscribe(
        TopicArn=topic, Protocol="sqs", Endpoint=queue_arn["Attributes"]["QueueArn"],
        Attributes={"RawMessageDelivery": "true"},
    )  # fmt: skip
    stack = _deploy(
        sb,
        SecurityHubEnabled="true",
        NotifyTopicArn=topic,
        OrgEventsSourceAccountId="111111111111",
        ConfigYaml="root_credentials:\n  policy: report\n",
    )
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    # moto's CloudFormation skips AWS::Events::EventBusPolicy (MOTO_UNSUPPORTED): check
    # the declared statement instead.
    bus = _template()["Resources"]["OrgEventsBusPolicy"]
    assert bus["Condition"] == "ForwardedOrgEvents"
    statement = bus["Properties"]["Statement"]
    assert statement["Action"] == "events:PutEvents"
    assert statement["Principal"] == {
        "AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${OrgEventsSourceAccountId}:root"}
    }
    env = client(sb, "lambda").get_function_configuration(FunctionName="rootctl")["Environment"]
    assert env["Variables"]["ROOTCTL_SECURITY_HUB"] == "true"
    assert env["Variables"]["ROOTCTL_NOTIFY_TOPIC"] == topic
    policies = _template()["Resources"]["FunctionRole"]["Properties"]["Policies"]
    state = next(p for p in policies if p["PolicyName"] == "rootctl-state")
    statements = {
        s["Fn::If"][1]["Sid"]: s["Fn::If"][1]
        for s in state["PolicyDocument"]["Statement"]
        if "Fn::If" in s
    }
    assert statements["Notify"]["Action"] == "sns:Publish"
    assert statements["Notify"]["Resource"] == {"Ref": "NotifyTopicArn"}  # that topic only
    assert statements["SecurityHubImport"]["Action"] == "securityhub:BatchImportFindings"
    assert statements["SecurityHubImport"]["Resource"]["Fn::Sub"].endswith(
        ":product/${AWS::AccountId}/default"
    )
    assert statements["SecurityHubRead"] == {
        "Sid": "SecurityHubRead", "Effect": "Allow", "Action": "securityhub:GetFindings",
        "Resource": "*",
    }  # fmt: skip
    for key, value in env["Variables"].items():
        monkeypatch.setenv(key, value)
    result = handler(scheduled_event(), Context())
    assert result["delivered"]["ok"] and result["delivered"]["security_hub"]["imported"] > 0
    assert len(sqs.receive_message(QueueUrl=queue).get("Messages", [])) == 1
