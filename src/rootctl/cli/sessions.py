"""`rootctl unlock s3|sqs`, `restore`, `list-locked`, `exec`: privileged root sessions.

Parsing and rendering only; the flow lives in `rootctl.sessions`. Everything that can be
checked locally (ids, names, files, journal entries, rules, the ability to confirm) is
checked before a root session is opened.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from rootctl.cli.common import (
    change_options,
    config_option,
    confirm,
    journal_option,
    output_option,
    runtime,
)
from rootctl.errors import UsageError
from rootctl.text import clean, clean_block

if TYPE_CHECKING:
    from rootctl.api import PlannedPolicyChange, Rootctl
    from rootctl.sessions.operations import LockRow
    from rootctl.sessions.policy import Kind
    from rootctl.sessions.sqs import QueueRef
    from rootctl.sessions.unlock import PolicyChange, PolicyPlan

F = TypeVar("F", bound=Callable[..., Any])
REPLACEMENT = "the replacement policy"  # how the facade names the --replace-with text


def account_option(fn: F) -> F:
    return click.option(
        "--account", "account", required=True, help="Member account id (12 digits)."
    )(fn)


def request_option(fn: F) -> F:
    return click.option(
        "--request",
        "request_id",
        help="Run under this approved break-glass request (rootctl request/approve; used once).",
    )(fn)


def region_option(fn: F) -> F:
    return click.option(
        "--region",
        "region",
        help="Region of the bucket or queue (default: the global --region / AWS_REGION).",
    )(fn)


def _account(text: str) -> str:
    from rootctl.config import parse_account_id

    return parse_account_id(text, flag="--account")


def _region(text: str | None) -> str | None:
    from rootctl.aws.session import check_region

    return check_region(text) if text else None


def _confirmable(yes: bool, dry_run: bool) -> None:
    """Refuse before any session opens when the confirmation could not be asked."""
    if not (yes or dry_run or sys.stdin.isatty()):
        confirm("", yes)  # raises the standard "no TTY to confirm on" usage error


# ------------------------------------------------------------------------------- unlock


@click.group()
def unlock() -> None:
    """Remove (or replace) a bucket or queue policy that locks everyone out.

    Opens the narrowest root session (S3UnlockBucketPolicy or SQSUnlockQueuePolicy),
    shows the policy and the statements that deny every principal, asks, backs the policy
    up in the journal, changes it and reads it back. Undo with `rootctl restore ENTRY_ID`.
    """


def _unlock_options(fn: F) -> F:
    for decorate in (
        journal_option,
        config_option,
        output_option("table", "json"),
        change_options,
        click.option(
            "--replace-with",
            "replace_with",
            type=click.Path(dir_okay=False, path_type=Path),
            help="Put this policy (a JSON file) instead of deleting the policy.",
        ),
        region_option,
        account_option,
        request_option,
    ):
        fn = decorate(fn)
    return fn


@unlock.command("s3")
@click.option("--bucket", required=True, help="Bucket name.")
@_unlock_options
@click.pass_context
def unlock_s3(ctx: click.Context, /, bucket: str, **options: Any) -> None:
    """Unlock an S3 bucket policy (S3UnlockBucketPolicy session)."""
    from rootctl.sessions.resources import check_bucket_name

    check_bucket_name(bucket)
    _unlock(ctx, "s3", bucket, **options)


@unlock.command("sqs")
@click.option("--queue", required=True, help="Queue name or queue URL.")
@_unlock_options
@click.pass_context
def unlock_sqs(ctx: click.Context, /, queue: str, **options: Any) -> None:
    """Unlock an SQS queue policy (SQSUnlockQueuePolicy session; sets Policy to "")."""
    from rootctl.sessions.sqs import parse_queue

    _unlock(ctx, "sqs", parse_queue(queue, _account(options["account"])), **options)


def _unlock(
    ctx: click.Context,
    kind: Kind,
    name: str | QueueRef,
    *,
    account: str,
    region: str | None,
    replace_with: Path | None,
    reason: str | None,
    dry_run: bool,
    yes: bool,
    output: str,
    config_path: Path | None,
    journal_path: Path | None,
    request_id: str | None,
) -> None:
    account_id = _account(account)
    where = _region(region) or (name.region if not isinstance(name, str) else None)
    rc = runtime(ctx, config=config_path, journal=journal_path)
    replacement = _read_replacement(replace_with)
    _confirmable(yes, dry_run)
    try:
        planned = rc.plan_unlock(
            kind,
            account_id,
            name,
            replacement=replacement,
            region=where,
            reason=reason,
            dry_run=dry_run,
            request_id=request_id,
        )
    except UsageError as exc:
        if replace_with is not None and str(exc).startswith(REPLACEMENT):
            raise UsageError(
                str(exc).replace(REPLACEMENT, f"--replace-with {replace_with}", 1)
            ) from None
        raise
    _finish(ctx, rc, planned, dry_run=dry_run, yes=yes, output=output)


def _read_replacement(path: Path | None) -> str | None:
    """The --replace-with file's text (checked as a policy by the facade)."""
    if path is None:
        return None
    from rootctl.sessions.policy import MAX_POLICY_BYTES

    try:
        if path.stat().st_size > MAX_POLICY_BYTES:
            raise UsageError(
                f"--replace-with {path}: larger than {MAX_POLICY_BYTES // 1024} KiB, not a policy"
            )
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise UsageError(f"--replace-with {path}: not UTF-8 text (a JSON policy file)") from None
    except OSError as exc:
        raise UsageError(f"--replace-with {path}: cannot read it ({exc.strerror})") from None


def _finish(
    ctx: click.Context,
    rc: Rootctl,
    planned: PlannedPolicyChange,
    *,
    dry_run: bool,
    yes: bool,
    output: str,
) -> None:
    """Show the plan; then dry run, nothing to do, declined, or apply and report. With
    `-o json` the human lines go to stderr and stdout holds one rootctl.unlock/v1 document."""
    plan = planned.plan
    err = output == "json"
    _show_plan(plan, err)
    for warning in planned.warnings:
        click.echo(f"warning: {clean(warning)}", err=True)
    result: PolicyChange | None = None
    if plan.change == "none":
        rc.apply_policy_change(planned)
    elif dry_run:
        rc.skip_policy_change(planned, "dry run")
        click.echo("Dry run: nothing changed.", err=err)
    elif not confirm(f"{clean(plan.summary())}?", yes):
        rc.skip_policy_change(planned, "not confirmed")
        click.echo("Nothing changed.", err=True)
        _print_document(plan, None, output)
        ctx.exit(1)
    else:
        result = rc.apply_policy_change(planned)
        _show_result(result, err)
    _print_document(plan, result, output)
    if result is not None and result.outcome == "error":
        ctx.exit(1)


def _print_document(plan: PolicyPlan, result: PolicyChange | None, output: str) -> None:
    if output != "json":
        return
    from rootctl.documents.base import dump
    from rootctl.documents.sessions import unlock_document
    from rootctl.outputs import write_stdout

    write_stdout(dump(unlock_document(plan, result)) + "\n")


def _show_plan(plan: PolicyPlan, err: bool = False) -> None:
    from rootctl.sessions.policy import render

    def say(text: str) -> None:
        click.echo(text, err=err)

    where = f"{plan.noun} {plan.name} in account {plan.account_id} ({plan.arn})"
    if plan.current is None:
        say(f"The {clean(where)} has no policy.")
    else:
        say(f"Policy of the {clean(where)}:")
        say(clean_block(render(plan.current)))
        locks = plan.lock_lines()
        if locks:
            say(
                "Statements that deny every principal:"
                if plan.analysis and plan.analysis.locked
                else "Lock analysis:"
            )
            for line in locks:
                say(clean(line))
    if plan.new_policy is not None and plan.change != "none":
        say("New policy:")
        say(clean_block(render(plan.new_policy)))
    say(f"Plan: {clean(plan.summary())}")


def _show_result(result: PolicyChange, err: bool = False) -> None:
    plan = result.plan
    if result.backup_entry_id is not None and plan.current is not None:
        click.echo(
            f"Backed up the old policy in journal entry {result.backup_entry_id} "
            f"(undo: rootctl restore {result.backup_entry_id}).",
            err=err,
        )
    if result.outcome == "ok":
        done = {"delete-policy": "Deleted the policy", "replace-policy": "Replaced the policy"}
        click.echo(
            f"{done.get(plan.change, 'Restored the policy')} of {plan.noun} {clean(plan.name)}; "
            f"verified by reading it back (journal entry {result.entry_id}).",
            err=err,
        )
        if result.note is not None:
            click.echo(f"note: {clean(result.note)}", err=True)
    else:
        click.echo(f"error: {clean(result.error)} (journal entry {result.entry_id})", err=True)


# ------------------------------------------------------------------------------- restore


@click.command()
@click.argument("entry_id", type=click.IntRange(min=1, max=2**63 - 1))
@region_option
@click.option(
    "--allow-lockout",
    is_flag=True,
    help="Restore even a policy that denies every principal (it locks the resource again).",
)
@change_options
@output_option("table", "json")
@config_option
@journal_option
@click.pass_context
def restore(
    ctx: click.Context,
    entry_id: int,
    region: str | None,
    allow_lockout: bool,
    reason: str | None,
    dry_run: bool,
    yes: bool,
    output: str,
    config_path: Path | None,
    journal_path: Path | None,
) -> None:
    """Put a backed-up bucket or queue policy back from journal entry ENTRY_ID.

    Uses the same task session as the unlock (S3UnlockBucketPolicy or SQSUnlockQueuePolicy)
    and verifies that the policy read back equals the backup as JSON.
    """
    rc = runtime(ctx, config=config_path, journal=journal_path)
    _confirmable(yes, dry_run)
    try:
        planned = rc.plan_restore(
            entry_id, region=_region(region), reason=reason, allow_lockout=allow_lockout
        )
    except UsageError as exc:
        from rootctl.sessions.operations import LOCKOUT_CONSENT

        if str(exc).endswith(LOCKOUT_CONSENT):
            message = str(exc).removesuffix(LOCKOUT_CONSENT)
            raise UsageError(f"{message}; pass --allow-lockout to restore it anyway") from None
        raise
    _finish(ctx, rc, planned, dry_run=dry_run, yes=yes, output=output)


# ------------------------------------------------------------------------------- list-locked


@click.command("list-locked")
@click.argument("kind", type=click.Choice(["s3", "sqs"]))
@account_option
@region_option
@click.option(
    "--reason",
    help="Why (journaled). Optional unless root_sessions.reason_pattern is configured.",
)
@output_option("table", "json")
@config_option
@journal_option
@click.pass_context
def list_locked(
    ctx: click.Context,
    kind: Kind,
    account: str,
    region: str | None,
    reason: str | None,
    output: str,
    config_path: Path | None,
    journal_path: Path | None,
) -> None:
    """Buckets or queues whose policy denies every principal (a lockout)."""
    account_id = _account(account)
    where = _region(region)
    rc = runtime(ctx, config=config_path, journal=journal_path)
    rows = rc.list_locked(kind, account_id, region=where, reason=reason)
    if output == "json":
        from rootctl.documents.base import dump
        from rootctl.documents.sessions import locked_document
        from rootctl.outputs import write_stdout

        write_stdout(dump(locked_document(kind, account_id, where, rows)) + "\n")
    else:
        _lock_table(kind, account_id, rows)
    if any(r.error for r in rows):
        ctx.exit(1)


def _lock_table(kind: Kind, account_id: str, rows: list[LockRow]) -> None:
    noun = "buckets" if kind == "s3" else "queues"
    shown = [r for r in rows if r.locked or r.error]
    for row in shown:
        if row.error:
            click.echo(f"{clean(row.name)}\terror: {clean(row.error)}")
            continue
        assert row.analysis is not None
        labels = "; ".join(
            f"{s.label} denies {', '.join(s.denied_actions)}" for s in row.analysis.statements
        )
        click.echo(f"{clean(row.name)}\tLOCKED\t{clean(labels)}")
    locked = sum(1 for r in rows if r.locked)
    click.echo(f"{locked} of {len(rows)} {noun} in account {account_id} locked.")


# ------------------------------------------------------------------------------- exec


@click.command("exec", context_settings={"ignore_unknown_options": True})
@account_option
@click.option(
    "--task",
    required=True,
    help="audit, create-password, delete, s3-unlock, sqs-unlock (or the task policy name).",
)
@click.option(
    "--reason",
    help="Why (journaled; must match reason_pattern). Default with --request: its reason.",
)
@click.option("--region", "region", help="Region for the child (default: the global --region).")
@request_option
@config_option
@journal_option
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
@click.pass_context
def exec_(
    ctx: click.Context,
    account: str,
    task: str,
    reason: str | None,
    region: str | None,
    request_id: str | None,
    config_path: Path | None,
    journal_path: Path | None,
    command: tuple[str, ...],
) -> None:
    """Run COMMAND with a root session's credentials in its environment only.

    Example: rootctl exec --account 333333333333 --task s3-unlock --reason OPS-1 --
    aws s3api get-bucket-policy --bucket my-bucket. Exits with the command's status.
    """
    from rootctl.tasks import Task

    account_id = _account(account)
    try:
        parsed = Task.parse(task)
    except ValueError as exc:
        raise UsageError(f"--task: {exc}") from None
    where = _region(region)
    if request_id is None and not (reason or "").strip():
        raise UsageError("--reason is required (or --request ID): say why; it is journaled")
    rc = runtime(ctx, config=config_path, journal=journal_path)

    def announce(access_key_id: str) -> None:
        click.echo(
            f"rootctl: running {clean(command[0])} as arn:aws:iam::{account_id}:root "
            f"({parsed.value} session {access_key_id})",
            err=True,
        )

    result = rc.exec(
        account_id,
        parsed,
        command,
        reason=reason,
        region=where,
        announce=announce,
        request_id=request_id,
    )
    click.echo(
        f"rootctl: exit status {result.exit_status} (journal entry {result.entry_id})", err=True
    )
    ctx.exit(result.exit_status)
