"""Fault injection: faults by count (the Nth call, listed calls), lost responses (applied,
then failed) and their filters, the control API, and AssumeRole into a role that does not
exist."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, ConnectionClosedError

from rootctl.sandbox import FaultConfig, Sandbox
from rootctl.tasks import Task

from support import DATA_PROD, PAYMENTS_DEV, PAYMENTS_PROD, client, error_code, keyed_client

ONE_ATTEMPT = Config(retries={"mode": "standard", "total_max_attempts": 1})


def root_iam(sb: Sandbox, account_id: str, task: Task = Task.DELETE) -> Any:
    """A root-session IAM client that never retries: every answer reaches the test as sent."""
    creds = client(sb, "sts").assume_root(
        TargetPrincipal=account_id, TaskPolicyArn={"arn": task.arn}
    )["Credentials"]
    return keyed_client(
        sb,
        "iam",
        creds["AccessKeyId"],
        creds["SecretAccessKey"],
        creds["SessionToken"],
        config=ONE_ATTEMPT,
    )


def key_of(sb: Sandbox, account_id: str) -> str:
    keys = sb.root_state()[account_id]["access_keys"]
    assert keys, f"the sample gives {account_id} a root access key"
    return str(keys[0]["access_key_id"])


def lost(sb: Sandbox, action: str) -> list[dict[str, Any]]:
    return [c for c in sb.calls() if c["action"] == action and c["fault"] == "lost-response"]


@pytest.mark.parametrize("kind", ["error", "drop"])
def test_a_lost_response_applies_the_change_and_fails_the_answer(
    enabled_sandbox: Sandbox, kind: str
) -> None:
    sb = enabled_sandbox
    key = key_of(sb, PAYMENTS_PROD)
    iam = root_iam(sb, PAYMENTS_PROD)
    sb.set_faults(
        FaultConfig(
            lost_response_rate=1.0,
            lost_response_actions=["DeleteAccessKey"],
            lost_response_kinds=[kind],
        )
    )

    if kind == "error":
        with pytest.raises(ClientError) as exc:
            iam.delete_access_key(AccessKeyId=key)
        assert error_code(exc) in ("InternalFailure", "ServiceUnavailable")
    else:
        with pytest.raises(ConnectionClosedError):
            iam.delete_access_key(AccessKeyId=key)

    assert sb.root_state()[PAYMENTS_PROD]["access_keys"] == [], "the change was applied"
    (record,) = lost(sb, "DeleteAccessKey")
    assert record["applied_status"] == 200
    assert record["status"] in ((0,) if kind == "drop" else (500, 503))
    # The retry a client would make finds the change done; an error is never "lost".
    with pytest.raises(ClientError) as again:
        iam.delete_access_key(AccessKeyId=key)
    assert error_code(again) == "NoSuchEntity"
    assert len(lost(sb, "DeleteAccessKey")) == 1


def test_lost_responses_hit_only_the_chosen_accounts_actions_and_changes(
    enabled_sandbox: Sandbox,
) -> None:
    sb = enabled_sandbox
    sb.set_faults(
        FaultConfig(
            lost_response_rate=1.0,
            lost_response_actions=["DeleteAccessKey", "GetAccountSummary"],
            lost_response_accounts=[PAYMENTS_PROD],
            lost_response_kinds=["error"],
        )
    )
    other = root_iam(sb, DATA_PROD)
    other_key = key_of(sb, DATA_PROD)
    other.delete_access_key(AccessKeyId=other_key)  # another account: answered normally
    mine = root_iam(sb, PAYMENTS_PROD)
    mine.delete_login_profile()  # another action: answered normally
    audit = root_iam(sb, PAYMENTS_PROD, Task.AUDIT)
    audit.get_account_summary()  # a read changes nothing: never lost
    with pytest.raises(ClientError):
        mine.delete_access_key(AccessKeyId=key_of(sb, PAYMENTS_PROD))
    assert [c["account_id"] for c in sb.calls() if c["fault"]] == [PAYMENTS_PROD]
    assert all(c["action"] != "AssumeRoot" for c in sb.calls() if c["fault"])


def _control(sb: Sandbox, route: str, body: Any = None) -> tuple[int, Any]:
    return sb.control(route, "GET" if body is None else "POST", body)


def test_the_control_api_sets_lost_responses_and_rejects_bad_settings(
    enabled_sandbox: Sandbox,
) -> None:
    sb = enabled_sandbox
    wanted = {
        "lost_response_rate": 0.5,
        "lost_response_actions": ["DeleteBucketPolicy"],
        "lost_response_accounts": [PAYMENTS_PROD],
        "lost_response_kinds": ["drop"],
        "seed": 3,
    }
    assert _control(sb, "faults", wanted) == (200, {"ok": True})
    status, now = _control(sb, "faults")
    assert status == 200 and {k: now[k] for k in wanted} == wanted

    for bad, field in [
        ({"lost_response_rate": 2}, "lost_response_rate"),
        ({"lost_response_kinds": ["reset"]}, "lost_response_kinds"),
        ({"lost_response_actions": "DeleteAccessKey"}, "lost_response_actions"),
        ({"error_rate": -0.1}, "error_rate"),
        ({"lost_responses": 1}, "lost_responses"),
    ]:
        status, answer = _control(sb, "faults", bad)
        assert status == 400 and field in answer["error"], (bad, answer)
    assert _control(sb, "faults")[1]["lost_response_rate"] == 0.5, (
        "a refused setting changes nothing"
    )


def test_assume_role_needs_the_role_to_exist_in_the_target_account(
    enabled_sandbox: Sandbox,
) -> None:
    sb = enabled_sandbox
    sts = client(sb, "sts")
    # moto creates OrganizationAccountAccessRole in every account the organization creates.
    works = sts.assume_role(
        RoleArn=f"arn:aws:iam::{PAYMENTS_PROD}:role/OrganizationAccountAccessRole",
        RoleSessionName="probe",
    )
    assert works["Credentials"]["AccessKeyId"]

    missing = f"arn:aws:iam::{PAYMENTS_PROD}:role/NoSuchRole"
    with pytest.raises(ClientError) as exc:
        sts.assume_role(RoleArn=missing, RoleSessionName="probe")
    assert error_code(exc) == "AccessDenied"
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert (
        f"{sb.operator.arn if sb.operator else ''} is not authorized to perform: "
        f"sts:AssumeRole on resource: {missing}"
    ) in str(exc.value)

    # A role made through the API can be assumed; the name alone in another account cannot.
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{sb.management_account_id}:root"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    iam = client(sb, "iam", sb.credentials_for(PAYMENTS_PROD))
    iam.create_role(RoleName="NoSuchRole", AssumeRolePolicyDocument=json.dumps(trust))
    assert sts.assume_role(RoleArn=missing, RoleSessionName="probe")["Credentials"]
    with pytest.raises(ClientError) as elsewhere:
        sts.assume_role(
            RoleArn=f"arn:aws:iam::{PAYMENTS_DEV}:role/NoSuchRole", RoleSessionName="probe"
        )
    assert error_code(elsewhere) == "AccessDenied"


def _identity_calls(sb: Sandbox, count: int) -> list[str]:
    """`count` GetCallerIdentity calls, one attempt each: what each call got, in order."""
    sts = boto3.client(
        "sts", endpoint_url=sb.endpoint_url, region_name=sb.region, config=ONE_ATTEMPT,
        aws_access_key_id=sb.env()["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=sb.env()["AWS_SECRET_ACCESS_KEY"],
    )  # fmt: skip
    got = []
    for _ in range(count):
        try:
            sts.get_caller_identity()
            got.append("ok")
        except ClientError as exc:
            got.append(str(exc.response["Error"]["Code"]))
    return got


COUNTED = [
    pytest.param(
        FaultConfig(error_every=3),
        [
            "ok",
            "ok",
            "InternalFailure",
            "ok",
            "ok",
            "ServiceUnavailable",
            "ok",
            "ok",
            "InternalFailure",
        ],
        id="every-third-errors-500-503-in-turn",
    ),
    pytest.param(
        FaultConfig(throttle_every=4),
        ["ok", "ok", "ok", "Throttling", "ok", "ok", "ok", "Throttling", "ok"],
        id="every-fourth-throttled",
    ),
    pytest.param(
        FaultConfig(error_calls=[1, 2, 7]),
        [
            "InternalFailure",
            "ServiceUnavailable",
            "ok",
            "ok",
            "ok",
            "ok",
            "InternalFailure",
            "ok",
            "ok",
        ],
        id="listed-calls",
    ),
    pytest.param(
        FaultConfig(error_calls=[2, 5], throttle_calls=[5], throttle_every=8),
        ["ok", "InternalFailure", "ok", "ok", "Throttling", "ok", "ok", "Throttling", "ok"],
        id="throttling-wins-a-shared-call",
    ),
    pytest.param(
        FaultConfig(error_rate=0.0, error_every=0, error_calls=[]),
        ["ok"] * 9,
        id="nothing",
    ),
]


@pytest.mark.parametrize(("faults", "expected"), COUNTED)
def test_faults_by_count_hit_exactly_the_numbered_calls(
    enabled_sandbox: Sandbox, faults: FaultConfig, expected: list[str]
) -> None:
    sb = enabled_sandbox
    sb.set_faults(faults)
    assert _identity_calls(sb, 9) == expected
    injected = [c["fault"] for c in sb.calls()][-9:]
    assert [f is not None for f in injected] == [e != "ok" for e in expected]
    sb.set_faults(faults)  # new settings: counting starts again from call 1
    assert _identity_calls(sb, 9) == expected


def test_lost_responses_by_count_hit_the_numbered_changes_and_use_the_kinds_in_turn(
    enabled_sandbox: Sandbox,
) -> None:
    """Only matching successful changes are numbered: reads and other actions are not."""
    sb = enabled_sandbox
    iam = root_iam(sb, PAYMENTS_PROD)
    audit = root_iam(sb, PAYMENTS_PROD, Task.AUDIT)
    sb.set_faults(
        FaultConfig(
            lost_response_calls=[1],
            lost_response_every=3,
            lost_response_actions=["DeleteAccessKey", "DeleteLoginProfile", "DeactivateMFADevice"],
            lost_response_kinds=["error", "drop"],
        )
    )
    audit.get_account_summary()  # a read: not numbered
    with pytest.raises(ClientError):  # change 1: lost (error)
        iam.delete_access_key(AccessKeyId=key_of(sb, PAYMENTS_PROD))
    iam.delete_login_profile()  # change 2: answered
    serial = sb.root_state()[PAYMENTS_PROD]["mfa_devices"][0]["serial_number"]
    with pytest.raises(ConnectionClosedError):  # change 3: lost (drop, the next kind)
        iam.deactivate_mfa_device(SerialNumber=serial)
    hit = [c for c in sb.calls() if c["fault"] == "lost-response"]
    assert [(c["action"], c["status"]) for c in hit] == [
        ("DeleteAccessKey", 500),
        ("DeactivateMFADevice", 0),
    ]
    assert all(c["applied_status"] == 200 for c in hit)


def test_the_control_api_sets_faults_by_count(enabled_sandbox: Sandbox) -> None:
    sb = enabled_sandbox
    wanted = {"error_every": 5, "throttle_calls": [2, 9], "lost_response_every": 4}
    assert _control(sb, "faults", wanted) == (200, {"ok": True})
    now = _control(sb, "faults")[1]
    assert {k: now[k] for k in wanted} == wanted
    assert _identity_calls(sb, 5) == ["ok", "Throttling", "ok", "ok", "InternalFailure"]
