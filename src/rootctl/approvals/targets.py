"""What a request is for: the exact target a later command must name to use it.

A bucket or queue request targets the resource's ARN (what `unlock` changes); a request
without one targets the member's root user (what `exec`, `credential-process` and
`allow-password-recovery` act as). The same spelling is computed when the request is used,
so "exactly its task and target" is a string comparison.
"""

from __future__ import annotations

from dataclasses import dataclass

from rootctl.errors import UsageError
from rootctl.journal import root_arn
from rootctl.sessions.policy import Kind, resource_arn
from rootctl.tasks import Task


@dataclass(frozen=True)
class Target:
    """The ARN a request names, and the (kind, name) the protected-resources rule checks."""

    arn: str
    resource: tuple[Kind, str] | None = None


def target_for(
    task: Task,
    account_id: str,
    *,
    bucket: str | None,
    queue: str | None,
    region: str | None,
    default_region: str,
) -> Target:
    """The target of a request; UsageError for a bucket or queue the task cannot touch."""
    if bucket is not None and queue is not None:
        raise UsageError("a request names one bucket or one queue, not both")
    if bucket is not None:
        from rootctl.sessions.resources import check_bucket_name

        _needs(task, Task.S3_UNLOCK, "a bucket")
        name = check_bucket_name(bucket)
        return Target(resource_arn("s3", account_id, name, default_region), ("s3", name))
    if queue is not None:
        from rootctl.sessions.sqs import parse_queue

        _needs(task, Task.SQS_UNLOCK, "a queue")
        ref = parse_queue(queue, account_id)
        where = region or ref.region or default_region
        return Target(resource_arn("sqs", account_id, ref.name, where), ("sqs", ref.name))
    return Target(root_arn(account_id))


def _needs(task: Task, wanted: Task, what: str) -> None:
    if task != wanted:
        raise UsageError(
            f"{what} is the target of a {wanted.short_name} request only, not {task.short_name}"
        )
