"""CloudTrail records as AWS documents them, for AssumeRoot and for calls in root sessions.

Sources: IAM user guide "Track privileged tasks in AWS CloudTrail" (the AssumeRoot event in
the caller's account and a DeleteBucketPolicy event in the member account, both verbatim in
/work/shared/reference/aws-centralized-root-access.md) and the CloudTrail user guide
"CloudTrail record contents" and "CloudTrail userIdentity element".
"""

from __future__ import annotations

import json
from typing import Any

from rootctl.sandbox import Sandbox
from rootctl.tasks import Task

from support import MANAGEMENT, PAYMENTS_PROD, client, root_client, session_for

# Fields every management event record carries (CloudTrail record contents).
RECORD_FIELDS = {
    "eventVersion",
    "userIdentity",
    "eventTime",
    "eventSource",
    "eventName",
    "awsRegion",
    "sourceIPAddress",
    "userAgent",
    "requestParameters",
    "responseElements",
    "requestID",
    "eventID",
    "readOnly",
    "eventType",
    "managementEvent",
    "recipientAccountId",
    "eventCategory",
}


def _events(sb: Sandbox, name: str, creds: Any = None) -> list[dict[str, Any]]:
    trail = client(sb, "cloudtrail", creds)
    found = trail.lookup_events(
        LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": name}]
    )["Events"]
    return [json.loads(e["CloudTrailEvent"]) for e in found]


def test_assume_root_by_an_iam_user_records_parameters_as_sent(enabled_sandbox: Sandbox) -> None:
    target = f"arn:aws:iam::{PAYMENTS_PROD}:root"
    client(enabled_sandbox, "sts").assume_root(
        TargetPrincipal=target, TaskPolicyArn={"arn": Task.AUDIT.arn}, DurationSeconds=300
    )
    (event,) = _events(enabled_sandbox, "AssumeRoot")
    assert event.keys() >= RECORD_FIELDS
    assert event["requestParameters"] == {
        "targetPrincipal": target,
        "taskPolicyArn": {"arn": Task.AUDIT.arn},
        "durationSeconds": 300,
    }
    identity = event["userIdentity"]
    operator = enabled_sandbox.operator
    assert operator is not None
    assert identity["type"] == "IAMUser"
    name = operator.arn.rsplit("/", 1)[-1]
    user_id = client(enabled_sandbox, "iam").get_user(UserName=name)["User"]["UserId"]
    assert identity["principalId"] == user_id
    assert identity["userName"] == name
    assert identity["arn"] == operator.arn
    assert identity["accessKeyId"] == operator.access_key_id


def test_assume_root_by_a_role_session_names_the_session(enabled_sandbox: Sandbox) -> None:
    role_arn = f"arn:aws:iam::{MANAGEMENT}:role/RootAdmin"
    iam = client(enabled_sandbox, "iam")
    trust = {"Version": "2012-10-17", "Statement": []}
    role = iam.create_role(RoleName="RootAdmin", AssumeRolePolicyDocument=json.dumps(trust))
    creds = client(enabled_sandbox, "sts").assume_role(RoleArn=role_arn, RoleSessionName="alice")[
        "Credentials"
    ]
    sts = session_for(enabled_sandbox).client(
        "sts",
        endpoint_url=enabled_sandbox.endpoint_url,
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
    )
    sts.assume_root(TargetPrincipal=PAYMENTS_PROD, TaskPolicyArn={"arn": Task.AUDIT.arn})
    (event,) = _events(enabled_sandbox, "AssumeRoot")
    identity = event["userIdentity"]
    assert identity["type"] == "AssumedRole"
    assert identity["arn"] == f"arn:aws:sts::{MANAGEMENT}:assumed-role/RootAdmin/alice"
    role_id = role["Role"]["RoleId"]
    assert identity["principalId"] == f"{role_id}:alice"
    issuer = identity["sessionContext"]["sessionIssuer"]
    assert issuer == {
        "type": "Role",
        "principalId": role_id,
        "arn": role_arn,
        "accountId": MANAGEMENT,
        "userName": "RootAdmin",
    }


def test_a_root_session_action_is_recorded_like_aws_example(enabled_sandbox: Sandbox) -> None:
    s3 = root_client(enabled_sandbox, PAYMENTS_PROD, Task.S3_UNLOCK, "s3")
    s3.delete_bucket_policy(Bucket="payments-prod-artifacts")
    member = enabled_sandbox.credentials_for(PAYMENTS_PROD)
    (event,) = _events(enabled_sandbox, "DeleteBucketPolicy", member)
    assert event.keys() >= RECORD_FIELDS
    identity = event["userIdentity"]
    assert (identity["type"], identity["principalId"], identity["arn"]) == (
        "Root",
        PAYMENTS_PROD,
        f"arn:aws:iam::{PAYMENTS_PROD}:root",
    )
    assert identity["sessionContext"]["attributes"]["mfaAuthenticated"] == "false"
    assert identity["sessionContext"]["attributes"]["creationDate"].endswith("Z")
    params = event["requestParameters"]
    assert params["bucketName"] == "payments-prod-artifacts"
    assert params["policy"] == ""
    assert "Host" in params
    assert event["responseElements"] is None
    assert event["resources"] == [
        {
            "accountId": PAYMENTS_PROD,
            "type": "AWS::S3::Bucket",
            "ARN": "arn:aws:s3:::payments-prod-artifacts",
        }
    ]


def test_a_denied_root_call_records_the_code_the_caller_got(enabled_sandbox: Sandbox) -> None:
    iam = root_client(enabled_sandbox, PAYMENTS_PROD, Task.AUDIT, "iam")
    try:
        iam.delete_login_profile()
    except iam.exceptions.ClientError as exc:
        code = exc.response["Error"]["Code"]
    member = enabled_sandbox.credentials_for(PAYMENTS_PROD)
    (event,) = _events(enabled_sandbox, "DeleteLoginProfile", member)
    assert event["errorCode"] == code == "AccessDenied"
    assert "IAMAuditRootUserCredentials" in event["errorMessage"]
