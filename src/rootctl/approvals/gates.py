"""Where a command's root session meets its request: one gate per kind of target.

Each gate computes the target exactly as the command will act on it, then hands
`flow.gate` the command's own rule check, so a request is used (and burnt) only when every
other rule passes too, and always before the session opens.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from rootctl.approvals import flow
from rootctl.approvals.model import BreakGlassRequest
from rootctl.journal import root_arn
from rootctl.sessions.policy import Kind, resource_arn
from rootctl.sessions.resources import TASK_FOR
from rootctl.sessions.rules import SessionRequest
from rootctl.tasks import Task

if TYPE_CHECKING:
    from rootctl.approvals.process import ProcessCredentials
    from rootctl.run import RunContext
    from rootctl.sessions.sqs import QueueRef


def for_root(
    run: RunContext, request_id: str, account_id: str, task: Task, now: datetime | None = None
) -> BreakGlassRequest:
    """`exec`, `session`, `credential-process`: a session acting as the member's root user."""
    return flow.gate(
        run,
        request_id,
        task=task,
        account_id=account_id,
        target=root_arn(account_id),
        check=lambda: run.check(SessionRequest(account_id, task, run.reason)),
        now=now,
    )


def for_recovery(
    run: RunContext, request_id: str, account_id: str, dry_run: bool
) -> BreakGlassRequest:
    """`allow-password-recovery`: the create-password session of one account."""
    task = Task.CREATE_PASSWORD
    return flow.gate(
        run,
        request_id,
        task=task,
        account_id=account_id,
        target=root_arn(account_id),
        check=lambda: run.check_tasks(task, reason=None if dry_run else run.reason),
    )


def for_unlock(
    run: RunContext,
    request_id: str,
    kind: Kind,
    account_id: str,
    name: str | QueueRef,
    region: str | None,
) -> BreakGlassRequest:
    """`unlock s3|sqs`: the bucket or queue ARN, spelt as `prepare_unlock` spells it."""
    from rootctl.sessions.sqs import QueueRef

    plain = name.name if isinstance(name, QueueRef) else name
    arn = resource_arn(kind, account_id, plain, region or run.region)
    task = TASK_FOR[kind]
    return flow.gate(
        run,
        request_id,
        task=task,
        account_id=account_id,
        target=arn,
        check=lambda: run.check(
            SessionRequest(account_id, task, run.reason, (kind, plain)), target=arn
        ),
    )


def credential_process(
    run: RunContext,
    account_id: str,
    task: Task,
    *,
    request_id: str | None,
    duration: int | None,
    now: datetime | None = None,
) -> ProcessCredentials:
    """Rules (and the request, when given), then one session for `duration` seconds at
    most: never longer than `max_session_seconds` nor than the request asked for."""
    from rootctl.approvals import process

    flow.check_duration(run.config, duration)
    if request_id is not None:
        for_root(run, request_id, account_id, task, now)
    else:
        run.check(SessionRequest(account_id, task, run.reason))
    limit = run.config.root_sessions.max_session_seconds  # the request's, once gated
    seconds = min(duration or limit, limit)
    return process.open_session(run, account_id, task, seconds, request_id)
