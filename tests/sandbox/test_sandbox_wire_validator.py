"""Every answer of every root-access flow, checked on the wire against botocore's models.

The flows run with ordinary boto3 clients over HTTP; `wire_validator` checks the raw
answers. Differences between AWS's real behaviour and its model are in ALLOWED, each with
its source; anything else fails the test.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import pytest
from botocore.exceptions import ClientError
from wire_validator import Capture, Recorder, capture_http, problems

from rootctl.sandbox import Sandbox
from rootctl.tasks import Task

from support import (
    DATA_PROD,
    EXPERIMENTS,
    PAYMENTS_DEV,
    PAYMENTS_PROD,
    SECURITY,
    client,
    root_client,
    sample_fixture,
)

# (operation, problem fragment) -> why AWS differs from its own model here.
ALLOWED: dict[tuple[str, str], str] = {
    # The root user has no user name or path: AWS's GetUser answer for the root user carries
    # UserId (the account id), Arn (arn:aws:iam::<account>:root) and CreateDate only. IAM API
    # reference, GetUser: "If you do not specify a user name, IAM determines the user name
    # implicitly based on the AWS access key ID used to sign the request"; IAM user guide
    # "AWS account root user" (the root user is not an IAM user and has no user name).
    ("iam:GetUser", "User: required member Path missing"): "root user has no path",
    ("iam:GetUser", "User: required member UserName missing"): "root user has no user name",
    # The root user's unique id is the account id (12 digits), below the model's min of 16
    # for user ids: IAM user guide, "IAM policy elements: Variables and tags", table of
    # aws:userid values ("AWS account root user: account ID").
    ("iam:GetUser", "User.UserId: length 12 below the model's min 16"): "root user id",
}


def _allowed(problem: str) -> bool:
    return any(op in problem and fragment in problem for op, fragment in ALLOWED)


def _expect_error(call: Callable[[], Any], code: str) -> None:
    with pytest.raises(ClientError) as exc:
        call()
    assert exc.value.response["Error"]["Code"] == code


def _org_flow(sb: Sandbox) -> None:
    """Features, trusted access, delegated administration and the Organizations listings."""
    org = client(sb, "organizations")
    iam = client(sb, "iam")
    _expect_error(iam.list_organizations_features, "ServiceAccessNotEnabledException")
    org.enable_aws_service_access(ServicePrincipal="iam.amazonaws.com")
    org.list_aws_service_access_for_organization()
    org.register_delegated_administrator(AccountId=SECURITY, ServicePrincipal="iam.amazonaws.com")
    org.list_delegated_administrators(ServicePrincipal="iam.amazonaws.com")
    org.list_delegated_services_for_account(AccountId=SECURITY)
    iam.enable_organizations_root_credentials_management()
    iam.enable_organizations_root_sessions()
    iam.list_organizations_features()
    org.describe_organization()
    root_id = org.list_roots()["Roots"][0]["Id"]
    org.list_organizational_units_for_parent(ParentId=root_id)
    org.list_accounts_for_parent(ParentId=root_id)
    org.list_accounts()
    org.describe_account(AccountId=PAYMENTS_PROD)
    org.list_parents(ChildId=PAYMENTS_PROD)
    policies = org.list_policies(Filter="SERVICE_CONTROL_POLICY")["Policies"]
    org.describe_policy(PolicyId=policies[0]["Id"])
    org.list_policies_for_target(TargetId=PAYMENTS_PROD, Filter="SERVICE_CONTROL_POLICY")
    org.list_targets_for_policy(PolicyId=policies[0]["Id"])
    _expect_error(
        lambda: org.describe_account(AccountId="999999999999"), "AccountNotFoundException"
    )
    client(sb, "sts").get_caller_identity()


def _credentials_flow(sb: Sandbox) -> None:
    """Audit, delete and password recovery: every root-user IAM call and its errors."""
    for account in (PAYMENTS_PROD, PAYMENTS_DEV, DATA_PROD, EXPERIMENTS):
        iam = root_client(sb, account, Task.AUDIT, "iam")
        iam.get_user()
        iam.get_account_summary()
        iam.list_access_keys()
        iam.list_signing_certificates()
        iam.list_mfa_devices()
        try:
            iam.get_login_profile()
        except ClientError as exc:
            assert exc.response["Error"]["Code"] == "NoSuchEntity"
        for key in iam.list_access_keys()["AccessKeyMetadata"]:
            iam.get_access_key_last_used(AccessKeyId=key["AccessKeyId"])
        _expect_error(iam.delete_login_profile, "AccessDenied")  # task policy
        root_client(sb, account, Task.AUDIT, "sts").get_caller_identity()
    iam = root_client(sb, PAYMENTS_PROD, Task.DELETE, "iam")
    iam.delete_login_profile()
    _expect_error(iam.delete_login_profile, "NoSuchEntity")
    iam.delete_access_key(AccessKeyId="AKIAROOTPAYMENTS0001")
    _expect_error(lambda: iam.delete_access_key(AccessKeyId="AKIAROOTPAYMENTS0001"), "NoSuchEntity")
    serial = iam.list_mfa_devices()["MFADevices"][0]["SerialNumber"]
    _expect_error(lambda: iam.delete_virtual_mfa_device(SerialNumber=serial), "DeleteConflict")
    iam.deactivate_mfa_device(SerialNumber=serial)
    iam.delete_virtual_mfa_device(SerialNumber=serial)
    _expect_error(lambda: iam.deactivate_mfa_device(SerialNumber=serial), "NoSuchEntity")
    dev = root_client(sb, PAYMENTS_DEV, Task.DELETE, "iam")
    cert = dev.list_signing_certificates()["Certificates"][0]["CertificateId"]
    dev.delete_signing_certificate(CertificateId=cert)
    _expect_error(lambda: dev.delete_signing_certificate(CertificateId=cert), "NoSuchEntity")
    recover = root_client(sb, PAYMENTS_PROD, Task.CREATE_PASSWORD, "iam")
    with pytest.raises(ClientError):
        recover.create_login_profile(Password="Not-allowed-1")  # type: ignore[call-arg]
    recover.create_login_profile()
    _expect_error(recover.create_login_profile, "EntityAlreadyExists")
    recover.get_login_profile()


def _unlock_flow(sb: Sandbox) -> None:
    """S3 and SQS unlock: read, delete and restore a resource policy."""
    s3 = root_client(sb, PAYMENTS_PROD, Task.S3_UNLOCK, "s3")
    s3.list_buckets()
    bucket = "payments-prod-artifacts"
    policy = s3.get_bucket_policy(Bucket=bucket, ExpectedBucketOwner=PAYMENTS_PROD)["Policy"]
    s3.delete_bucket_policy(Bucket=bucket, ExpectedBucketOwner=PAYMENTS_PROD)
    _expect_error(lambda: s3.get_bucket_policy(Bucket=bucket), "NoSuchBucketPolicy")
    s3.put_bucket_policy(Bucket=bucket, Policy=policy, ExpectedBucketOwner=PAYMENTS_PROD)
    sqs = root_client(sb, PAYMENTS_PROD, Task.SQS_UNLOCK, "sqs")
    sqs.list_queues(MaxResults=1000)
    url = sqs.get_queue_url(QueueName="payments-events", QueueOwnerAWSAccountId=PAYMENTS_PROD)[
        "QueueUrl"
    ]
    text = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"])["Attributes"]["Policy"]
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": ""})
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": text})
    _expect_error(lambda: sqs.purge_queue(QueueUrl=url), "AccessDenied")  # not in the task


def _events_flow(sb: Sandbox) -> None:
    trail = client(sb, "cloudtrail")
    trail.lookup_events(
        LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "AssumeRoot"}]
    )
    member = client(sb, "cloudtrail", sb.credentials_for(PAYMENTS_PROD))
    events = member.lookup_events(MaxResults=50)["Events"]
    assert events and all(json.loads(e["CloudTrailEvent"]) for e in events)


def _expiry_flow(sb: Sandbox) -> None:
    sts = root_client(sb, EXPERIMENTS, Task.AUDIT, "sts", DurationSeconds=60)
    iam = root_client(sb, EXPERIMENTS, Task.AUDIT, "iam", DurationSeconds=60)
    sqs = root_client(sb, PAYMENTS_PROD, Task.SQS_UNLOCK, "sqs", DurationSeconds=60)
    s3 = root_client(sb, PAYMENTS_PROD, Task.S3_UNLOCK, "s3", DurationSeconds=60)
    sb.advance_clock(61)
    _expect_error(sts.get_caller_identity, "ExpiredToken")
    _expect_error(iam.get_user, "ExpiredToken")
    _expect_error(lambda: sqs.list_queues(MaxResults=10), "ExpiredToken")
    _expect_error(s3.list_buckets, "ExpiredToken")


def _run_all(sb: Sandbox) -> Recorder:
    with capture_http() as recorder:
        _org_flow(sb)
        _credentials_flow(sb)
        _unlock_flow(sb)
        _events_flow(sb)
        _expiry_flow(sb)
    return recorder


FLOW_FIXTURE = sample_fixture(
    policies=[
        {
            "name": "deny-leave",
            "targets": ["/root/workloads"],
            "content": {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Deny", "Action": "organizations:LeaveOrganization", "Resource": "*"}
                ],
            },
        }
    ]
)

EXPECTED_OPERATIONS = {
    *(
        f"organizations:{op}"
        for op in (
            "EnableAWSServiceAccess",
            "RegisterDelegatedAdministrator",
            "DescribeOrganization",
            "ListRoots",
            "ListAccounts",
            "DescribeAccount",
            "ListPolicies",
            "DescribePolicy",
        )
    ),
    *(
        f"iam:{op}"
        for op in (
            "EnableOrganizationsRootCredentialsManagement",
            "EnableOrganizationsRootSessions",
            "ListOrganizationsFeatures",
            "GetUser",
            "GetAccountSummary",
            "ListAccessKeys",
            "GetAccessKeyLastUsed",
            "DeleteAccessKey",
            "ListSigningCertificates",
            "DeleteSigningCertificate",
            "ListMFADevices",
            "DeactivateMFADevice",
            "DeleteVirtualMFADevice",
            "GetLoginProfile",
            "CreateLoginProfile",
            "DeleteLoginProfile",
        )
    ),
    "sts:AssumeRoot",
    "sts:GetCallerIdentity",
    *(
        f"s3:{op}"
        for op in ("ListBuckets", "GetBucketPolicy", "DeleteBucketPolicy", "PutBucketPolicy")
    ),
    *(
        f"sqs:{op}"
        for op in ("ListQueues", "GetQueueUrl", "GetQueueAttributes", "SetQueueAttributes")
    ),
    "cloudtrail:LookupEvents",
}


@pytest.fixture(scope="module")
def captures() -> list[Capture]:
    with Sandbox.start(FLOW_FIXTURE) as sb:
        return _run_all(sb).captures


def test_the_flows_cover_every_root_access_operation(captures: list[Capture]) -> None:
    seen = {c.name for c in captures}
    assert seen >= EXPECTED_OPERATIONS, sorted(EXPECTED_OPERATIONS - seen)
    opened = [c.request_body for c in captures if c.name == "sts:AssumeRoot" and c.status == 200]
    for task in Task:
        assert any(quote(task.arn, safe="").encode() in body for body in opened), task


def test_every_answer_matches_the_model(captures: list[Capture]) -> None:
    found = [p for c in captures for p in problems(c) if not _allowed(p)]
    assert found == [], "\n".join(found)


def test_the_allow_list_is_still_needed(captures: list[Capture]) -> None:
    """An entry nothing triggers any more is removed, so the list stays short and true."""
    found = [p for c in captures for p in problems(c)]
    unused = [key for key in ALLOWED if not any(key[0] in p and key[1] in p for p in found)]
    assert unused == []


def test_serve_names_the_moto_version_and_what_is_not_modelled() -> None:
    from importlib.metadata import version
    from pathlib import Path

    from rootctl.cli.sandbox import _fidelity_note

    note = _fidelity_note()
    assert f"moto {version('moto')}" in note and "not modelled" in note
    assert "\n" not in note
    docs = Path(__file__).parents[2] / "docs" / "sandbox.md"
    assert "## Not modelled" in docs.read_text() and "## Fidelity" in docs.read_text()


ROOTCTL_CONFIG = """
centralize_root_access:
  enabled: true
  features: [RootCredentialsManagement, RootSessions]
"""


@pytest.fixture(scope="module")
def rootctl_captures(tmp_path_factory: pytest.TempPathFactory) -> list[Capture]:
    """The same validation over rootctl's own calls: its CLI, in-process, end to end."""
    from support import run_cli

    tmp = tmp_path_factory.mktemp("rootctl-flows")
    config, journal = tmp / "rootctl.yaml", tmp / "journal.db"
    config.write_text(ROOTCTL_CONFIG)
    account = ("--account", PAYMENTS_PROD)
    commands: list[tuple[str, ...]] = [
        ("status",),
        ("apply", "-c", str(config), "--yes"),
        ("guardrails", "check"),
        ("audit", "-o", "json"),
        ("delete-credentials", "--reason", "OPS-1 cleanup", "--yes"),
        ("allow-password-recovery", EXPERIMENTS, "--reason", "OPS-2", "--yes"),
        ("list-locked", "s3", *account),
        ("list-locked", "sqs", *account),
        ("unlock", "s3", *account, "--bucket", "payments-prod-artifacts", "--reason", "OPS-3", "--yes"),
        ("unlock", "sqs", *account, "--queue", "payments-events", "--reason", "OPS-4", "--yes"),
        ("events", "--since", "1h"),
    ]  # fmt: skip
    with Sandbox.start(FLOW_FIXTURE) as sb, capture_http() as recorder:
        for args in commands:
            result = run_cli(sb, *args, journal=journal)
            assert result.returncode in (0, 1), (args, result.stderr)
    return recorder.captures


def test_rootctl_flows_cover_its_operations(rootctl_captures: list[Capture]) -> None:
    seen = {c.name for c in rootctl_captures}
    wanted = {
        "sts:AssumeRoot",
        "iam:EnableOrganizationsRootSessions",
        "iam:ListAccessKeys",
        "iam:DeleteAccessKey",
        "iam:CreateLoginProfile",
        "s3:DeleteBucketPolicy",
        "sqs:SetQueueAttributes",
        "cloudtrail:LookupEvents",
    }
    assert seen >= wanted, sorted(wanted - seen)


def test_every_answer_rootctl_gets_matches_the_model(rootctl_captures: list[Capture]) -> None:
    found = [p for c in rootctl_captures for p in problems(c) if not _allowed(p)]
    assert found == [], "\n".join(found)
