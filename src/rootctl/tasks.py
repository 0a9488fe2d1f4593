"""The five AWS managed task policies that scope an AssumeRoot session.

The policy documents ship as package data (`data/task_policies.json`), copied verbatim from
AWS's managed policies (see docs/design.md for sources); the sandbox enforces them and the
permissions generator reads them.
"""

from __future__ import annotations

import json
from enum import StrEnum
from functools import cache
from importlib import resources
from typing import Any

TASK_POLICY_ARN_PREFIX = "arn:aws:iam::aws:policy/root-task/"
MAX_ROOT_SESSION_SECONDS = 900


class Task(StrEnum):
    """A root-session task, named by its AWS managed policy."""

    AUDIT = "IAMAuditRootUserCredentials"
    CREATE_PASSWORD = "IAMCreateRootUserPassword"
    DELETE = "IAMDeleteRootUserCredentials"
    S3_UNLOCK = "S3UnlockBucketPolicy"
    SQS_UNLOCK = "SQSUnlockQueuePolicy"

    @property
    def arn(self) -> str:
        return TASK_POLICY_ARN_PREFIX + self.value

    @property
    def short_name(self) -> str:
        return _SHORT_NAMES[self]

    @classmethod
    def parse(cls, text: str) -> Task:
        """Accept the policy name, its ARN, or the short name (audit, delete, ...)."""
        value = text.strip()
        for task in cls:
            if value in (task.value, task.arn, task.short_name):
                return task
        allowed = ", ".join(t.short_name for t in cls)
        raise ValueError(f"unknown task {text!r}; use one of: {allowed} (or the policy name/ARN)")

    @classmethod
    def from_arn(cls, arn: str) -> Task | None:
        for task in cls:
            if arn == task.arn:
                return task
        return None


_SHORT_NAMES = {
    Task.AUDIT: "audit",
    Task.CREATE_PASSWORD: "create-password",
    Task.DELETE: "delete",
    Task.S3_UNLOCK: "s3-unlock",
    Task.SQS_UNLOCK: "sqs-unlock",
}

CREDENTIAL_TASKS = frozenset({Task.AUDIT, Task.CREATE_PASSWORD, Task.DELETE})
RESOURCE_TASKS = frozenset({Task.S3_UNLOCK, Task.SQS_UNLOCK})


@cache
def _documents() -> dict[str, Any]:
    text = resources.files("rootctl").joinpath("data/task_policies.json").read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def task_policy_document(task: Task) -> dict[str, Any]:
    """The task policy document exactly as AWS publishes it (a deny-only policy)."""
    doc: dict[str, Any] = _documents()[task.value]
    return doc


def allowed_actions(task: Task) -> tuple[str, ...]:
    """The actions a task session may call: the NotAction list of its first statement."""
    first = task_policy_document(task)["Statement"][0]
    actions = first["NotAction"]
    return tuple(actions if isinstance(actions, list) else [actions])
