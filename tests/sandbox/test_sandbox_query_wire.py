"""Query-protocol services on the wire: an injected error (`fail_actions`) on SNS or
CloudFormation is the XML error botocore parses, with the status AWS documents for the code,
and every service rootctl calls is answered in the protocol botocore speaks to it.

Before, only iam and sts were query services in rootctl.sandbox.wire: an injected SNS
Publish error was a JSON body botocore could not parse (ResponseParserError, no error code),
and SNS successes were sent with a JSON Content-Type.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from wire_validator import capture_http, problems

import rootctl
from rootctl.sandbox import FaultConfig, Sandbox
from rootctl.sandbox.wire import QUERY_SERVICES, XML_NAMESPACES, AwsRequest, fault_status

from support import enabled_fixture, session_for

ONE_ATTEMPT = Config(retries={"mode": "standard", "total_max_attempts": 1})
# botocore protocol -> the sandbox's protocol family (AwsRequest.protocol)
FAMILY = {"query": "query", "rest-xml": "rest-xml", "json": "json", "rest-json": "json"}


@pytest.fixture(scope="module")
def sb() -> Iterator[Sandbox]:
    with Sandbox.start(enabled_fixture()) as sandbox:
        yield sandbox


@pytest.fixture(autouse=True)
def no_faults(sb: Sandbox) -> Iterator[None]:
    yield
    sb.set_faults(FaultConfig())


def one_attempt(sb: Sandbox, service: str) -> Any:
    return session_for(sb).client(service, endpoint_url=sb.endpoint_url, config=ONE_ATTEMPT)


def services_rootctl_calls() -> set[str]:
    """Every service rootctl's own code builds a client for (`.client("NAME"`), read from
    the source so a new one is checked without editing this test."""
    found: set[str] = set()
    for path in Path(rootctl.__file__).parent.rglob("*.py"):
        if "sandbox" not in path.parts:
            found |= set(re.findall(r"\.client\(\s*\"([a-z0-9-]+)\"", path.read_text("utf-8")))
    return found


def test_every_service_is_answered_in_the_protocol_botocore_speaks() -> None:
    services = services_rootctl_calls()
    assert {"iam", "sts", "sns", "organizations", "s3", "sqs"} <= services  # the scan works
    models = botocore.session.get_session()
    for service in sorted(services | {"cloudformation"}):  # cloudformation: tests/deploy
        model = models.get_service_model(service)
        assert (
            AwsRequest("POST", "/", {}, {}, b"", service=service).protocol == FAMILY[model.protocol]
        ), service
        if model.protocol == "query":
            assert service in QUERY_SERVICES
            assert XML_NAMESPACES[service] == model.metadata["xmlNamespace"], service
    assert "sns" in QUERY_SERVICES  # rootctl's enforce summary (rootctl.integrations.sns)


def test_a_failed_sns_publish_through_rootctl_is_its_error_code(
    sb: Sandbox, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """rootctl's publish (enforce --notify-topic, the Lambda's delivery), its own clients:
    a topic policy that refuses the publish is AuthorizationError, HTTP 403, sent once."""
    from rootctl.api import connect
    from rootctl.integrations.sns import parse_topic, publish

    arn = one_attempt(sb, "sns").create_topic(Name="rootctl-enforce")["TopicArn"]
    for key, value in sb.env().items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(tmp_path)  # no rootctl.yaml: the defaults
    rc = connect(journal=tmp_path / "j.db")
    message = {"summary": {"changed": 1, "findings": 0}, "new_finding_ids": [], "run_id": "r-1"}
    sb.set_faults(FaultConfig(fail_actions={"Publish": "AuthorizationError"}))
    sb.reset_calls()
    with capture_http() as recorder, pytest.raises(ClientError) as raised:
        publish(rc.factory, parse_topic(arn), message)
    error = raised.value.response
    assert error["Error"]["Code"] == "AuthorizationError"
    assert error["Error"]["Message"] == "Injected failure of Publish."
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 403
    [capture] = [c for c in recorder.captures if c.name == "sns:Publish"]
    assert problems(capture) == []
    assert [c["action"] for c in sb.calls() if c["action"] == "Publish"] == ["Publish"]

    sb.set_faults(FaultConfig())
    with capture_http() as recorder:
        assert publish(rc.factory, parse_topic(arn), message)
    assert [p for c in recorder.captures for p in problems(c)] == []
    rc.close()


@pytest.mark.parametrize(
    ("service", "action", "call", "code", "status"),
    [
        ("sns", "Publish", "publish", "AuthorizationError", 403),  # modeled for Publish
        ("sns", "Publish", "publish", "InternalFailure", 500),  # a common error
        ("sns", "CreateTopic", "create_topic", "Throttling", 400),  # query's spelling
        ("cloudformation", "DescribeStacks", "describe_stacks", "ValidationError", 400),
        ("cloudformation", "DescribeStacks", "describe_stacks", "AccessDenied", 403),
    ],
)
def test_an_injected_query_error_is_parsed_and_valid_on_the_wire(
    sb: Sandbox, service: str, action: str, call: str, code: str, status: int
) -> None:
    aws = one_attempt(sb, service)
    args: dict[str, Any] = {}
    if call == "publish":
        args = {"TopicArn": aws.create_topic(Name="t")["TopicArn"], "Message": "m"}
    elif call == "create_topic":
        args = {"Name": "u"}
    sb.set_faults(FaultConfig(fail_actions={action: code}))
    with capture_http() as recorder, pytest.raises(ClientError) as raised:
        getattr(aws, call)(**args)
    assert raised.value.response["Error"]["Code"] == code
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == status
    [capture] = recorder.captures
    assert capture.header("content-type") == "text/xml"
    assert problems(capture) == []


def test_fault_status_follows_the_model_then_the_common_errors() -> None:
    def status(service: str, action: str, code: str) -> int:
        return fault_status(
            AwsRequest("POST", "/", {}, {}, b"", service=service, action=action), code
        )

    assert status("securityhub", "BatchImportFindings", "InvalidAccessException") == 401
    assert status("sns", "Publish", "NotFound") == 404
    assert status("sqs", "GetQueueUrl", "AWS.SimpleQueueService.NonExistentQueue") == 400
    assert status("iam", "ListPolicies", "AccessDenied") == 403
    assert status("organizations", "ListPolicies", "AccessDeniedException") == 403
    assert status("iam", "ListPolicies", "InternalFailure") == 500
    assert status("iam", "ListPolicies", "ServiceUnavailable") == 503
    assert status("iam", "NoSuchOperation", "Whatever") == 400
    assert status("", "", "AccessDenied") == 403  # no service: no model, the common rule
