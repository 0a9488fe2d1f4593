"""STS AssumeRoot: inputs, preconditions, identity and expiry of the returned credentials."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from botocore.exceptions import ClientError

from rootctl.sandbox import FaultConfig, Sandbox
from rootctl.tasks import Task

from support import (
    MANAGEMENT,
    PAYMENTS_PROD,
    SECURITY,
    SUSPENDED,
    client,
    enabled_fixture,
    error_code,
    root_client,
)

AUDIT = {"arn": Task.AUDIT.arn}


@pytest.mark.parametrize("target", [PAYMENTS_PROD, f"arn:aws:iam::{PAYMENTS_PROD}:root"])
@pytest.mark.parametrize("task", list(Task))
def test_each_task_and_both_target_forms(enabled_sandbox: Sandbox, target: str, task: Task) -> None:
    creds = client(enabled_sandbox, "sts").assume_root(
        TargetPrincipal=target, TaskPolicyArn={"arn": task.arn}
    )["Credentials"]
    assert creds["AccessKeyId"].startswith("ASIA") and len(creds["AccessKeyId"]) == 20
    remaining = creds["Expiration"] - datetime.now(UTC)
    assert timedelta(seconds=880) < remaining <= timedelta(seconds=900)  # default 900 s


def test_root_session_identity_is_the_member_root(enabled_sandbox: Sandbox) -> None:
    sts = root_client(enabled_sandbox, PAYMENTS_PROD, Task.AUDIT, "sts", DurationSeconds=60)
    identity = sts.get_caller_identity()
    assert identity["Arn"] == f"arn:aws:iam::{PAYMENTS_PROD}:root"
    assert identity["Account"] == PAYMENTS_PROD


@pytest.mark.parametrize(
    ("kwargs", "code", "fragment"),
    [
        ({"DurationSeconds": 901}, "ValidationError", "less than or equal to 900"),
        (
            {"TaskPolicyArn": {"arn": "arn:aws:iam::aws:policy/AdministratorAccess"}},
            "ValidationError",
            "root-task",
        ),
        ({"TargetPrincipal": MANAGEMENT}, "AccessDenied", "management account"),
        ({"TargetPrincipal": "999999999999"}, "AccessDenied", "not a member"),
        ({"TargetPrincipal": SUSPENDED}, "AccessDenied", "SUSPENDED"),
        ({"TargetPrincipal": "not-an-account"}, "ValidationError", "12-digit"),
    ],
)
def test_bad_requests_get_aws_errors(
    enabled_sandbox: Sandbox, kwargs: dict[str, object], code: str, fragment: str
) -> None:
    args: dict[str, object] = {"TargetPrincipal": PAYMENTS_PROD, "TaskPolicyArn": AUDIT}
    args.update(kwargs)
    with pytest.raises(ClientError) as exc:
        client(enabled_sandbox, "sts").assume_root(**args)
    assert error_code(exc) == code
    assert fragment in str(exc.value)


def test_duration_bounds(enabled_sandbox: Sandbox) -> None:
    sts = client(enabled_sandbox, "sts")
    for seconds in (0, 900):
        sts.assume_root(TargetPrincipal=PAYMENTS_PROD, TaskPolicyArn=AUDIT, DurationSeconds=seconds)


def test_only_management_or_delegated_admin_may_call() -> None:
    with Sandbox.start(enabled_fixture()) as sb:
        member = sb.credentials_for(SECURITY)
        with pytest.raises(ClientError) as exc:
            client(sb, "sts", member).assume_root(
                TargetPrincipal=PAYMENTS_PROD, TaskPolicyArn=AUDIT
            )
        assert error_code(exc) == "AccessDenied"
    with Sandbox.start(enabled_fixture(delegated_administrators=[{"account": SECURITY}])) as sb:
        admin = sb.credentials_for(SECURITY)
        client(sb, "sts", admin).assume_root(TargetPrincipal=PAYMENTS_PROD, TaskPolicyArn=AUDIT)


def test_root_identities_cannot_call_assume_root(enabled_sandbox: Sandbox) -> None:
    sts = root_client(enabled_sandbox, PAYMENTS_PROD, Task.AUDIT, "sts")
    with pytest.raises(ClientError) as exc:
        sts.assume_root(TargetPrincipal=SECURITY, TaskPolicyArn=AUDIT)
    assert error_code(exc) == "AccessDenied"


def test_long_term_root_access_key_cannot_call_assume_root(enabled_sandbox: Sandbox) -> None:
    import boto3

    # The fixture's root access key of the payments-prod account, used as a credential.
    root_key = next(
        k
        for k in enabled_sandbox.state.root_users[PAYMENTS_PROD].access_keys
        if k.status == "Active"
    )
    sts = boto3.Session(
        aws_access_key_id=root_key.access_key_id,
        aws_secret_access_key=root_key.secret_access_key,
        region_name="us-east-1",
    ).client("sts", endpoint_url=enabled_sandbox.endpoint_url)
    assert sts.get_caller_identity()["Arn"] == f"arn:aws:iam::{PAYMENTS_PROD}:root"
    with pytest.raises(ClientError) as exc:
        sts.assume_root(TargetPrincipal=SECURITY, TaskPolicyArn=AUDIT)
    assert error_code(exc) == "AccessDenied"


@pytest.mark.parametrize(
    ("enabled", "task", "allowed"),
    [
        (["RootCredentialsManagement"], Task.AUDIT, True),
        (["RootCredentialsManagement"], Task.S3_UNLOCK, False),
        (["RootSessions"], Task.SQS_UNLOCK, True),
        (["RootSessions"], Task.DELETE, False),
        ([], Task.CREATE_PASSWORD, False),
    ],
)
def test_tasks_need_their_feature(enabled: list[str], task: Task, allowed: bool) -> None:
    with Sandbox.start(enabled_fixture(centralized_root_access=enabled)) as sb:
        sts = client(sb, "sts")
        if allowed:
            sts.assume_root(TargetPrincipal=PAYMENTS_PROD, TaskPolicyArn={"arn": task.arn})
            return
        with pytest.raises(ClientError) as exc:
            sts.assume_root(TargetPrincipal=PAYMENTS_PROD, TaskPolicyArn={"arn": task.arn})
        assert error_code(exc) == "AccessDenied"
        assert "feature" in str(exc.value)


def test_credentials_stop_working_when_expired(enabled_sandbox: Sandbox) -> None:
    iam = root_client(enabled_sandbox, PAYMENTS_PROD, Task.AUDIT, "iam", DurationSeconds=60)
    iam.list_access_keys()
    enabled_sandbox.advance_clock(61)
    with pytest.raises(ClientError) as exc:
        iam.list_access_keys()
    assert error_code(exc) == "ExpiredToken"


def test_injected_assume_root_failure(enabled_sandbox: Sandbox) -> None:
    enabled_sandbox.set_faults(FaultConfig(fail_assume_root={PAYMENTS_PROD: "AccessDenied"}))
    with pytest.raises(ClientError) as exc:
        client(enabled_sandbox, "sts").assume_root(
            TargetPrincipal=PAYMENTS_PROD, TaskPolicyArn=AUDIT
        )
    assert error_code(exc) == "AccessDenied"


def test_assume_root_is_recorded_in_cloudtrail(enabled_sandbox: Sandbox) -> None:
    import json

    creds = client(enabled_sandbox, "sts").assume_root(
        TargetPrincipal=PAYMENTS_PROD, TaskPolicyArn=AUDIT
    )["Credentials"]
    events = client(enabled_sandbox, "cloudtrail").lookup_events(
        LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "AssumeRoot"}]
    )["Events"]
    assert len(events) == 1
    detail = json.loads(events[0]["CloudTrailEvent"])
    assert detail["requestParameters"] == {
        "targetPrincipal": PAYMENTS_PROD,
        "taskPolicyArn": {"arn": Task.AUDIT.arn},
    }
    assert detail["responseElements"]["credentials"]["accessKeyId"] == creds["AccessKeyId"]
    assert creds["SessionToken"] not in events[0]["CloudTrailEvent"]
