"""S3 bucket policies and SQS queue policies of member accounts, from their task sessions."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from rootctl.sandbox import Sandbox
from rootctl.tasks import Task

from support import PAYMENTS_PROD, error_code, root_client

BUCKET = "payments-prod-artifacts"


def test_s3_unlock_session_reads_deletes_and_puts_a_bucket_policy(enabled_sandbox: Sandbox) -> None:
    s3 = root_client(enabled_sandbox, PAYMENTS_PROD, Task.S3_UNLOCK, "s3")
    names = [b["Name"] for b in s3.list_buckets()["Buckets"]]
    assert BUCKET in names
    policy = json.loads(s3.get_bucket_policy(Bucket=BUCKET)["Policy"])
    assert policy["Statement"][0]["Sid"] == "DenyEveryone"
    s3.delete_bucket_policy(Bucket=BUCKET)
    with pytest.raises(ClientError) as exc:
        s3.get_bucket_policy(Bucket=BUCKET)
    assert error_code(exc) == "NoSuchBucketPolicy"
    s3.put_bucket_policy(Bucket=BUCKET, Policy=json.dumps(policy))
    assert json.loads(s3.get_bucket_policy(Bucket=BUCKET)["Policy"]) == policy


def test_sqs_unlock_session_reads_and_clears_a_queue_policy(enabled_sandbox: Sandbox) -> None:
    sqs = root_client(enabled_sandbox, PAYMENTS_PROD, Task.SQS_UNLOCK, "sqs")
    url = sqs.get_queue_url(QueueName="payments-events")["QueueUrl"]
    assert f"/{PAYMENTS_PROD}/payments-events" in url
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"])["Attributes"]
    assert json.loads(attrs["Policy"])["Statement"][0]["Sid"] == "DenyAll"
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": ""})
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"]).get("Attributes", {})
    assert not attrs.get("Policy")


def test_root_session_actions_are_recorded_in_the_member_account(enabled_sandbox: Sandbox) -> None:
    s3 = root_client(enabled_sandbox, PAYMENTS_PROD, Task.S3_UNLOCK, "s3")
    s3.delete_bucket_policy(Bucket=BUCKET)
    events = enabled_sandbox.state.events[PAYMENTS_PROD]
    names = [e["eventName"] for e in events]
    assert "DeleteBucketPolicy" in names
    event = next(e for e in events if e["eventName"] == "DeleteBucketPolicy")
    assert event["userIdentity"]["type"] == "Root"
    assert event["userIdentity"]["arn"] == f"arn:aws:iam::{PAYMENTS_PROD}:root"
    assert event["requestParameters"]["bucketName"] == BUCKET
