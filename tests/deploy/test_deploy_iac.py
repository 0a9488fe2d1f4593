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
MOTO_UNSUPPORTED = {"AWS::SQS::QueuePolicy", "AWS::Lambda::EventInvokeConfig"}


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


def _deploy(sb: Sandbox) -> dict[str, Any]:
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
                {"ParameterKey": "PackageBucket", "ParameterValue": "rootctl-packages"},
                {"ParameterKey": "ConfigYaml", "ParameterValue": "root_credentials:\n  policy: delete\n"},
                {"ParameterKey": "ShardCount", "ParameterValue": "4"},
            ],
        )  # fmt: skip
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
