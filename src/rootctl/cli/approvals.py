"""`rootctl request`, `requests`, `approve`, `deny`: break-glass requests and their approval.

Parsing and rendering only: every rule (who may approve, never the requester, once, in
time) is `Rootctl.request_session` / `requests` / `approve` / `deny` (rootctl.approvals).
The caller's identity comes from STS, never from a flag.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from rootctl.cli.common import config_option, journal_option, output_option, runtime
from rootctl.errors import UsageError
from rootctl.text import clean

if TYPE_CHECKING:
    from rootctl.approvals import BreakGlassRequest
    from rootctl.approvals.model import RequestView

MAX_ID_CHARS = 64


def _request_id(text: str) -> str:
    value = text.strip()
    if not value or len(value) > MAX_ID_CHARS:
        raise UsageError(f"{clean(text[:MAX_ID_CHARS])!r} is not a request id (req-XXXXXXXX)")
    return value


@click.command("request")
@click.argument("task")
@click.option("--account", required=True, help="Member account id (12 digits).")
@click.option("--bucket", help="The bucket an s3-unlock request is for (unlock s3 --bucket).")
@click.option("--queue", help="The queue (name or URL) an sqs-unlock request is for.")
@click.option("--region", "where", help="Region of the queue (default: the global --region).")
@click.option("--reason", required=True, help="Why (journaled; must match reason_pattern).")
@click.option(
    "--duration",
    type=click.IntRange(min=1),
    help="Session length in seconds (default and maximum: root_sessions.max_session_seconds).",
)
@config_option
@journal_option
@click.pass_context
def request(
    ctx: click.Context,
    task: str,
    account: str,
    bucket: str | None,
    queue: str | None,
    where: str | None,
    reason: str,
    duration: int | None,
    config_path: Path | None,
    journal_path: Path | None,
) -> None:
    """Ask for one root session of TASK (s3-unlock, sqs-unlock, create-password, audit,
    delete) in an account; prints the request id. Another principal approves it with
    `rootctl approve ID`; then run the command with `--request ID`, once."""
    from rootctl.aws.session import check_region
    from rootctl.config import parse_account_id
    from rootctl.tasks import Task

    try:
        parsed = Task.parse(task)
    except ValueError as exc:
        raise UsageError(f"TASK: {exc}") from None
    account_id = parse_account_id(account, flag="--account")
    region = check_region(where) if where else None
    rc = runtime(ctx, config=config_path, journal=journal_path)
    made = rc.request_session(
        parsed,
        account_id,
        reason=reason,
        bucket=bucket,
        queue=queue,
        region=region,
        duration=duration,
    )
    click.echo(made.id)
    rules = rc.config.root_sessions.approval
    click.echo(
        f"Request {made.id}: {made.task.short_name} on {clean(made.target)}, pending "
        f"{rules.required_approvals} approval(s) by another principal "
        f"(root_sessions.approval.approvers) within {rules.valid_for} s.",
        err=True,
    )


@click.command("requests")
@click.option("--pending", is_flag=True, help="Only requests waiting for approval.")
@output_option("table", "json")
@config_option
@journal_option
@click.pass_context
def requests(
    ctx: click.Context,
    pending: bool,
    output: str,
    config_path: Path | None,
    journal_path: Path | None,
) -> None:
    """List break-glass requests and their state (pending, approved, denied, used,
    expired), read from the verified journal."""
    from rootctl.approvals.flow import utcnow

    rc = runtime(ctx, config=config_path, journal=journal_path)
    now = utcnow()
    views = rc.requests(pending=pending, now=now)
    if output == "json":
        from rootctl.documents.approvals import requests_document
        from rootctl.reports.base import writer_for

        document = requests_document(views, as_of=now, pending_only=pending)
        writer_for("requests", "json").write(document, sys.stdout)
        return
    for view in views:
        click.echo("\t".join(clean(cell) for cell in _row(view)))
    click.echo(f"{len(views)} request(s).", err=True)


def _row(view: RequestView) -> tuple[str, ...]:
    r = view.request
    return (
        r.id,
        view.state,
        r.task.short_name,
        r.account_id,
        r.target,
        r.requester,
        f"{len(r.approvers())}/{view.required_approvals}",
        f"until {_iso(view.expires_at)}",
        r.reason,
    )


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


@click.command("approve")
@click.argument("request_id")
@click.option("--reason", help="A note for the journal (optional).")
@config_option
@journal_option
@click.pass_context
def approve(
    ctx: click.Context,
    request_id: str,
    reason: str | None,
    config_path: Path | None,
    journal_path: Path | None,
) -> None:
    """Approve REQUEST_ID as the caller (STS): an approvers pattern must match, and the
    requester never approves their own request."""
    rc = runtime(ctx, config=config_path, journal=journal_path)
    done = rc.approve(_request_id(request_id), reason=reason)
    _show(rc.requests(), done, "Approved")


@click.command("deny")
@click.argument("request_id")
@click.option("--reason", required=True, help="Why (journaled).")
@config_option
@journal_option
@click.pass_context
def deny(
    ctx: click.Context,
    request_id: str,
    reason: str,
    config_path: Path | None,
    journal_path: Path | None,
) -> None:
    """Deny REQUEST_ID (pending or approved, not yet used): it can never be used."""
    rc = runtime(ctx, config=config_path, journal=journal_path)
    done = rc.deny(_request_id(request_id), reason=reason)
    _show(rc.requests(), done, "Denied")


def _show(views: list[RequestView], done: BreakGlassRequest, verb: str) -> None:
    view = next(v for v in views if v.request.id == done.id)
    click.echo(
        f"{verb} {done.id} ({done.task.short_name} on {clean(done.target)}, requested by "
        f"{clean(done.requester)}): now {view.state}, "
        f"{len(done.approvers())} of {view.required_approvals} approval(s)."
    )
