"""What unlock, restore and list-locked need from a bucket or a queue, behind one protocol.

The S3 and SQS adapters (`s3.py`, `sqs.py`) speak their service's calls; everything above
them (plan, backup, apply, verify, restore) is written once against `PolicyResource`.
Policies travel as the exact text the service returned, so a restore puts back the very
bytes that were backed up.
"""

from __future__ import annotations

import re
from typing import Protocol

from rootctl.errors import UsageError
from rootctl.sessions.policy import Kind
from rootctl.tasks import Task

TASK_FOR: dict[Kind, Task] = {"s3": Task.S3_UNLOCK, "sqs": Task.SQS_UNLOCK}
NOUN: dict[Kind, str] = {"s3": "bucket", "sqs": "queue"}

_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_QUEUE = re.compile(r"^[A-Za-z0-9_-]{1,80}(\.fifo)?$")


class ResourceMissing(UsageError):
    """The bucket or queue does not exist in the account (bad input: exit 2)."""


class PolicyResource(Protocol):
    """A bucket or queue whose resource policy a root session reads and changes."""

    @property
    def kind(self) -> Kind: ...

    @property
    def account_id(self) -> str: ...

    @property
    def name(self) -> str: ...

    @property
    def region(self) -> str: ...

    @property
    def arn(self) -> str: ...

    def read(self) -> str | None:
        """The policy text, or None when there is none; ResourceMissing if it does not exist."""
        ...

    def remove(self) -> None: ...

    def put(self, text: str) -> None: ...


def check_bucket_name(name: str) -> str:
    if not _BUCKET.fullmatch(name) or ".." in name:
        raise UsageError(
            f"{name!r} is not an S3 bucket name: 3-63 lowercase letters, digits, dots and hyphens"
        )
    return name


def check_queue_name(name: str) -> str:
    if not _QUEUE.fullmatch(name):
        raise UsageError(
            f"{name!r} is not an SQS queue name: up to 80 letters, digits, hyphens and "
            "underscores (plus .fifo)"
        )
    return name
