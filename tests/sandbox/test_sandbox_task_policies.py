"""Task-policy enforcement: every root-session call outside its task policy is AccessDenied."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from rootctl.sandbox import Sandbox
from rootctl.tasks import Task

from support import PAYMENTS_PROD, error_code, root_client

QUEUE_URL = f"http://127.0.0.1/{PAYMENTS_PROD}/payments-events"

Call = Callable[[Any], Any]

DENIED: list[tuple[Task, str, Call]] = [
    (Task.DELETE, "iam", lambda c: c.get_account_summary()),
    (Task.AUDIT, "iam", lambda c: c.delete_login_profile()),
    (Task.AUDIT, "iam", lambda c: c.list_users()),
    (Task.AUDIT, "iam", lambda c: c.list_access_keys(UserName="someone")),
    (Task.AUDIT, "iam", lambda c: c.create_login_profile()),
    (Task.CREATE_PASSWORD, "iam", lambda c: c.list_access_keys()),
    (Task.CREATE_PASSWORD, "iam", lambda c: c.delete_login_profile()),
    (Task.DELETE, "iam", lambda c: c.create_login_profile()),
    (Task.DELETE, "iam", lambda c: c.create_user(UserName="backdoor")),
    (Task.AUDIT, "s3", lambda c: c.list_buckets()),
    (Task.S3_UNLOCK, "s3", lambda c: c.list_objects_v2(Bucket="payments-prod-artifacts")),
    (Task.S3_UNLOCK, "iam", lambda c: c.list_access_keys()),
    (Task.S3_UNLOCK, "sqs", lambda c: c.list_queues()),
    (Task.SQS_UNLOCK, "sqs", lambda c: c.remove_permission(QueueUrl=QUEUE_URL, Label="x")),
    (Task.SQS_UNLOCK, "sqs", lambda c: c.delete_queue(QueueUrl=QUEUE_URL)),
    (
        Task.SQS_UNLOCK,
        "sqs",
        lambda c: c.get_queue_attributes(
            QueueUrl="http://127.0.0.1/999999999999/other", AttributeNames=["Policy"]
        ),
    ),
    (Task.SQS_UNLOCK, "s3", lambda c: c.delete_bucket_policy(Bucket="payments-prod-artifacts")),
    (
        Task.AUDIT,
        "sts",
        lambda c: c.assume_role(
            RoleArn=f"arn:aws:iam::{PAYMENTS_PROD}:role/x", RoleSessionName="probe"
        ),
    ),
]


@pytest.mark.parametrize(
    ("task", "service", "call"),
    DENIED,
    ids=[f"{t.short_name}-{i}" for i, (t, _, _) in enumerate(DENIED)],
)
def test_calls_outside_the_task_policy_are_denied(
    enabled_sandbox: Sandbox, task: Task, service: str, call: Call
) -> None:
    c = root_client(enabled_sandbox, PAYMENTS_PROD, task, service)
    with pytest.raises(ClientError) as exc:
        call(c)
    assert error_code(exc) in ("AccessDenied", "AccessDeniedException")
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] in (400, 403)
    assert task.value in str(exc.value)  # the message names the task policy


ALLOWED: list[tuple[Task, str, Call]] = [
    (Task.AUDIT, "iam", lambda c: c.get_account_summary()),
    (Task.AUDIT, "iam", lambda c: c.list_signing_certificates()),
    (Task.DELETE, "iam", lambda c: c.list_mfa_devices()),
    (Task.CREATE_PASSWORD, "iam", lambda c: c.get_login_profile()),
    (Task.S3_UNLOCK, "s3", lambda c: c.list_buckets()),
    (Task.S3_UNLOCK, "s3", lambda c: c.get_bucket_policy(Bucket="payments-prod-artifacts")),
    (Task.SQS_UNLOCK, "sqs", lambda c: c.list_queues()),
    (Task.SQS_UNLOCK, "sqs", lambda c: c.get_queue_url(QueueName="payments-events")),
]


@pytest.mark.parametrize(
    ("task", "service", "call"),
    ALLOWED,
    ids=[f"{t.short_name}-{i}" for i, (t, _, _) in enumerate(ALLOWED)],
)
def test_calls_inside_the_task_policy_work(
    enabled_sandbox: Sandbox, task: Task, service: str, call: Call
) -> None:
    call(root_client(enabled_sandbox, PAYMENTS_PROD, task, service))


def test_denied_calls_change_nothing(enabled_sandbox: Sandbox) -> None:
    before = enabled_sandbox.root_state()
    iam = root_client(enabled_sandbox, PAYMENTS_PROD, Task.AUDIT, "iam")
    with pytest.raises(ClientError):
        iam.delete_access_key(AccessKeyId="AKIAROOTPAYMENTS0001")
    assert enabled_sandbox.root_state() == before
