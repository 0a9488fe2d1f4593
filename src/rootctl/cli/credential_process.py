"""`rootctl credential-process`: a root session for the AWS SDKs' `credential_process`.

Prints exactly one JSON object on stdout (what the SDKs read) and nothing else there;
errors are one line on stderr with a non-zero exit code, which the SDKs pass on. The
rules, the approval and the journal entry are `Rootctl.credential_process`.
"""

from __future__ import annotations

from pathlib import Path

import click

from rootctl.cli.common import config_option, journal_option, runtime
from rootctl.errors import UsageError


@click.command("credential-process")
@click.option("--account", required=True, help="Member account id (12 digits).")
@click.option(
    "--task",
    required=True,
    help="audit, create-password, delete, s3-unlock, sqs-unlock (or the task policy name).",
)
@click.option("--request", "request_id", help="An approved break-glass request (used once).")
@click.option(
    "--duration",
    type=click.IntRange(min=1),
    help="Session length in seconds (default and maximum: root_sessions.max_session_seconds).",
)
@click.option(
    "--reason", help="Why (journaled; required unless --request gives the request's reason)."
)
@config_option
@journal_option
@click.pass_context
def credential_process(
    ctx: click.Context,
    account: str,
    task: str,
    request_id: str | None,
    duration: int | None,
    reason: str | None,
    config_path: Path | None,
    journal_path: Path | None,
) -> None:
    """Print a root session's credentials as credential_process JSON (Version 1).

    ~/.aws/config: credential_process = rootctl --profile operator credential-process
    --account 333333333333 --task audit --reason "OPS-1 audit"
    """
    from rootctl.config import parse_account_id
    from rootctl.tasks import Task

    account_id = parse_account_id(account, flag="--account")
    try:
        parsed = Task.parse(task)
    except ValueError as exc:
        raise UsageError(f"--task: {exc}") from None
    rc = runtime(ctx, config=config_path, journal=journal_path)
    session = rc.credential_process(
        account_id, parsed, request_id=request_id, duration=duration, reason=reason
    )
    click.echo(session.to_json())
