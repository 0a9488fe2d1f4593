"""Bind a bucket or queue to its task's root session within a run.

The session is opened through `RunContext.opened` (precheck of caller and target account,
journaled when opened or refused); a queue name is resolved to its URL inside the session.
A bucket or queue that does not exist is bad input found only inside the session: it is
journaled, then reported (`missing_journaled`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from rootctl.sessions.resources import TASK_FOR, PolicyResource, ResourceMissing
from rootctl.sessions.s3 import S3Bucket
from rootctl.sessions.sqs import QueueRef, open_queue
from rootctl.tasks import Task

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sqs import SQSClient

    from rootctl.run import RunContext
    from rootctl.sessions.policy import Kind


def s3_client(run: RunContext, account_id: str, region: str) -> S3Client:
    task = Task.S3_UNLOCK
    return run.opened(account_id, task, lambda: run.broker.client(account_id, task, "s3", region))


def sqs_client(run: RunContext, account_id: str, region: str) -> SQSClient:
    task = Task.SQS_UNLOCK
    return run.opened(account_id, task, lambda: run.broker.client(account_id, task, "sqs", region))


def bind_resource(
    run: RunContext, kind: Kind, account_id: str, name: str | QueueRef, region: str | None = None
) -> PolicyResource:
    """Open the task session and bind the bucket or queue (a queue name is resolved)."""
    if kind == "s3":
        where = region or run.region
        return S3Bucket(s3_client(run, account_id, where), account_id, str(name), where)
    ref = name if isinstance(name, QueueRef) else QueueRef(name)
    where = region or ref.region or run.region
    with missing_journaled(run, account_id, TASK_FOR[kind], None):
        return open_queue(sqs_client(run, account_id, where), account_id, ref, where)


@contextmanager
def missing_journaled(
    run: RunContext, account_id: str, task: Task, target: str | None
) -> Iterator[None]:
    """Journal a ResourceMissing (bad input found only inside the session), then re-raise."""
    try:
        yield
    except ResourceMissing as exc:
        run.recorder.append(
            run.action, "error", account_id=account_id, task=task, target=target, error=str(exc)
        )
        raise
