"""`rootctl audit`, `rootctl delete-credentials`, `rootctl allow-password-recovery`.

Parsing and rendering only: the work is `rootctl.credentials` (audit, plan, delete,
recovery) run through `CredentialContext`. Every flag is validated before the first AWS
call, and the selection is resolved against the organization before any AssumeRoot.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO, TypeVar

import click

from rootctl.cli.common import (
    change_options,
    config_option,
    confirm,
    journal_option,
    output_option,
    require_reason,
    runtime,
)
from rootctl.errors import RootctlError, UsageError
from rootctl.reports.base import report_formats

if TYPE_CHECKING:
    from rootctl.cli.common import Runtime
    from rootctl.config import RootctlConfig
    from rootctl.credentials.delete import AccountDeletion
    from rootctl.credentials.models import AuditReport
    from rootctl.credentials.plan import DeletePlan
    from rootctl.credentials.run import CredentialContext
    from rootctl.org.selection import Selection, SelectionSpec
    from rootctl.tasks import Task

F = TypeVar("F", bound=Callable[..., Any])
EXIT_FINDINGS = 3


def selection_options(fn: F) -> F:
    fn = click.option(
        "--exclude-ou",
        "exclude_ous",
        multiple=True,
        metavar="PATH",
        help="Leave out the accounts under this OU (recursive; repeatable).",
    )(fn)
    fn = click.option(
        "--exclude", multiple=True, metavar="ID,...", help="Leave out these account ids."
    )(fn)
    fn = click.option(
        "--ou",
        "ous",
        multiple=True,
        metavar="PATH",
        help="Accounts under this OU path, e.g. /root/workloads (recursive; repeatable).",
    )(fn)
    fn = click.option(
        "--accounts",
        multiple=True,
        metavar="ID,...",
        help="These account ids (default: every ACTIVE member account).",
    )(fn)
    return fn


def concurrency_option(fn: F) -> F:
    from rootctl.fanout import DEFAULT_CONCURRENCY

    return click.option(
        "--concurrency",
        type=int,
        default=DEFAULT_CONCURRENCY,
        show_default=True,
        help="Accounts worked on at the same time.",
    )(fn)


def parse_selection(
    accounts: tuple[str, ...],
    ous: tuple[str, ...],
    exclude: tuple[str, ...],
    exclude_ous: tuple[str, ...],
) -> SelectionSpec:
    from rootctl.config import parse_account_ids, parse_ou_path
    from rootctl.org.selection import SelectionSpec

    return SelectionSpec(
        accounts=tuple(parse_account_ids(accounts, flag="--accounts")) if accounts else (),
        ous=tuple(parse_ou_path(p, flag="--ou") for p in ous),
        exclude=tuple(parse_account_ids(exclude, flag="--exclude")) if exclude else (),
        exclude_ous=tuple(parse_ou_path(p, flag="--exclude-ou") for p in exclude_ous),
    )


def _check_task(config: RootctlConfig, *tasks: Task) -> None:
    for task in tasks:
        if not config.root_sessions.allows(task):
            raise UsageError(
                f"root_sessions.allowed_tasks in the config does not allow {task.short_name} "
                f"({task.value}): add it to run this command"
            )


def _context(
    rt: Runtime, command: str, concurrency: int, reason: str | None = None
) -> CredentialContext:
    from rootctl.aws.session import SessionFactory
    from rootctl.credentials.run import CredentialContext

    factory = SessionFactory(profile=rt.profile, region=rt.region, concurrency=concurrency)
    return CredentialContext.open(
        factory,
        rt.journal,
        command=command,
        reason=reason,
        concurrency=concurrency,
        session_seconds=rt.config.root_sessions.max_session_seconds,
    )


def _run_audit(cc: CredentialContext, selection: Selection, output: str) -> AuditReport:
    from rootctl.progress import progress_for, should_show_progress

    total = len(selection.targets)
    with progress_for(total, should_show_progress(output), "Auditing root credentials") as bar:
        return cc.audit(selection, progress=bar)


def require_tty_or_yes(yes: bool, dry_run: bool) -> None:
    """Refuse early, before the audit, when confirmation will be impossible (no TTY, no --yes)."""
    if not yes and not dry_run and not sys.stdin.isatty():
        raise UsageError(
            "refusing to change anything without a TTY to confirm on: re-run with --yes "
            "(or --dry-run to see the plan)"
        )


def _err(message: str) -> None:
    click.echo(message, err=True)


# -- audit -----------------------------------------------------------------------------------


@click.command()
@selection_options
@output_option(*report_formats())
@click.option(
    "--out",
    "out_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the report to FILE instead of stdout.",
)
@click.option(
    "--fail-on-findings",
    is_flag=True,
    help=f"Exit {EXIT_FINDINGS} when any account has root credentials (for scheduled checks).",
)
@concurrency_option
@config_option
@journal_option
@click.pass_context
def audit(
    ctx: click.Context,
    accounts: tuple[str, ...],
    ous: tuple[str, ...],
    exclude: tuple[str, ...],
    exclude_ous: tuple[str, ...],
    output: str,
    out_path: Path | None,
    fail_on_findings: bool,
    concurrency: int,
    config_path: Path | None,
    journal_path: Path | None,
) -> None:
    """Audit root user credentials of member accounts (one audit root session each).

    Exit 0 when every selected account was audited, 1 when some failed, 3 with
    --fail-on-findings when any account has root credentials.
    """
    from rootctl.fanout import check_concurrency
    from rootctl.reports import writer_for
    from rootctl.tasks import Task

    spec = parse_selection(accounts, ous, exclude, exclude_ous)
    check_concurrency(concurrency)
    writer = writer_for(output)
    if out_path is not None and not out_path.parent.is_dir():
        raise UsageError(f"--out: directory {out_path.parent} does not exist")
    rt = runtime(ctx, config=config_path, journal=journal_path)
    _check_task(rt.config, Task.AUDIT)
    cc = _context(rt, "audit", concurrency)
    report = _run_audit(cc, cc.select(spec), output)
    if out_path is None:
        writer.write(report, sys.stdout)
    else:
        with out_path.open("w", encoding="utf-8", newline="") as out:
            writer.write(report, out)
        summary = report.summary
        _err(
            f"wrote {output} report to {out_path}: {summary.accounts} accounts, "
            f"{summary.with_root_credentials} with root credentials, {summary.errors} errors"
        )
    ctx.exit(audit_exit_code(report, fail_on_findings))


def audit_exit_code(report: AuditReport, fail_on_findings: bool) -> int:
    """3 for findings (with the flag) wins: a known finding is certain even if some failed."""
    if fail_on_findings and report.summary.with_root_credentials:
        return EXIT_FINDINGS
    return 1 if report.summary.errors else 0


# -- delete-credentials -------------------------------------------------------------------


@click.command("delete-credentials")
@selection_options
@click.option(
    "--only",
    metavar="KIND,...",
    help="Delete only these kinds: password, access-keys, signing-certificates, mfa-devices.",
)
@change_options
@output_option("table", "json")
@concurrency_option
@config_option
@journal_option
@click.pass_context
def delete_credentials(
    ctx: click.Context,
    accounts: tuple[str, ...],
    ous: tuple[str, ...],
    exclude: tuple[str, ...],
    exclude_ous: tuple[str, ...],
    only: str | None,
    reason: str | None,
    dry_run: bool,
    yes: bool,
    output: str,
    concurrency: int,
    config_path: Path | None,
    journal_path: Path | None,
) -> None:
    """Delete root user credentials: audit, plan, confirm, delete, verify.

    Accounts under an active root_credentials exception in the config keep what the
    exception lists. Safe to interrupt and run again: it finishes what is left.
    """
    from rootctl.credentials.plan import COMMAND, parse_only
    from rootctl.fanout import check_concurrency
    from rootctl.tasks import Task

    spec = parse_selection(accounts, ous, exclude, exclude_ous)
    kinds = parse_only(only)
    reason_text = require_reason(reason, dry_run)
    check_concurrency(concurrency)
    require_tty_or_yes(yes, dry_run)
    rt = runtime(ctx, config=config_path, journal=journal_path)
    _check_task(rt.config, Task.AUDIT, Task.DELETE)
    if not dry_run:
        rt.config.root_sessions.check_reason(reason_text)
    cc = _context(rt, COMMAND, concurrency, reason_text)
    selection = cc.select(spec)
    plan = _make_plan(cc, rt, selection, kinds, output)
    console_out = sys.stdout if output == "table" else sys.stderr
    _print_plan(plan, console_out)
    if dry_run or not plan.changes:
        _finish_without_changes(ctx, plan, cc, output, dry_run)
    steps, count = plan.step_count(), len(plan.changes)
    if not confirm(f"Delete {steps} root credentials in {count} accounts?", yes):
        raise click.Abort()
    results = _apply(cc, plan, output)
    _print_results(results, console_out)
    if output == "json":
        _print_json(plan, results, cc, dry_run=False)
    failed = any(r.status == "error" for r in results) or plan.audit.summary.errors > 0
    ctx.exit(1 if failed else 0)


def _make_plan(
    cc: CredentialContext, rt: Runtime, selection: Selection, kinds: tuple[str, ...], output: str
) -> DeletePlan:
    from rootctl.credentials.plan import active_exceptions, build_plan
    from rootctl.credentials.resume import unfinished_steps

    today = datetime.now(UTC).date()
    for expired in rt.config.root_credentials.expired_exceptions(today).values():
        _err(
            f"note: the exception for {expired.account_id} expired on {expired.expires}: its "
            "credentials are planned like any other account's (renew or remove it in the config)"
        )
    report = _run_audit(cc, selection, output)
    unfinished = unfinished_steps(rt.journal, [a.id for a in selection.targets])
    return build_plan(
        report, only=kinds, exceptions=active_exceptions(rt.config, today), unfinished=unfinished
    )


def _finish_without_changes(
    ctx: click.Context, plan: DeletePlan, cc: CredentialContext, output: str, dry_run: bool
) -> None:
    from rootctl.credentials.delete import record_plans

    if not dry_run:
        record_plans(plan, cc.recorder)  # journals what interrupted runs did; no AWS call
    if output == "json":
        _print_json(plan, None, cc, dry_run=dry_run)
    _err("Dry run: nothing changed." if dry_run else "Nothing to delete.")
    ctx.exit(1 if plan.audit.summary.errors else 0)


def _apply(cc: CredentialContext, plan: DeletePlan, output: str) -> list[AccountDeletion]:
    from rootctl.credentials.delete import apply_plan
    from rootctl.progress import progress_for, should_show_progress

    total = len(plan.changes)
    with progress_for(total, should_show_progress(output), "Deleting root credentials") as bar:
        return apply_plan(cc.broker, plan, cc.recorder, concurrency=cc.concurrency, progress=bar)


def _print_json(
    plan: DeletePlan, results: list[AccountDeletion] | None, cc: CredentialContext, dry_run: bool
) -> None:
    from rootctl.credentials.run import delete_report

    document = delete_report(
        plan, results, operator=cc.operator, run_id=cc.recorder.run_id, dry_run=dry_run
    )
    json.dump(document, sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")


def _print_plan(plan: DeletePlan, out: TextIO) -> None:
    from rootctl.reports.delete_table import render_plan

    render_plan(plan, out)


def _print_results(results: list[AccountDeletion], out: TextIO) -> None:
    from rootctl.reports.delete_table import render_results

    render_results(results, out)


# -- allow-password-recovery ------------------------------------------------------------------


@click.command("allow-password-recovery")
@click.argument("account")
@change_options
@config_option
@journal_option
@click.pass_context
def allow_password_recovery(
    ctx: click.Context,
    account: str,
    reason: str | None,
    dry_run: bool,
    yes: bool,
    config_path: Path | None,
    journal_path: Path | None,
) -> None:
    """Let ACCOUNT's root user recover its password (create a login profile without one).

    Refused when the account already has a root password.
    """
    from rootctl.config import parse_account_id
    from rootctl.credentials import recovery
    from rootctl.org.selection import SelectionSpec
    from rootctl.tasks import Task

    account_id = parse_account_id(account, flag="ACCOUNT")
    reason_text = require_reason(reason, dry_run)
    require_tty_or_yes(yes, dry_run)
    rt = runtime(ctx, config=config_path, journal=journal_path)
    _check_task(rt.config, Task.CREATE_PASSWORD)
    if not dry_run:
        rt.config.root_sessions.check_reason(reason_text)
    cc = _context(rt, recovery.COMMAND, 1, reason_text)
    target = cc.select(SelectionSpec(accounts=(account_id,))).targets[0]
    created = recovery.existing_password(cc.broker, account_id)
    if created is not None:
        refused = recovery.refusal(account_id, created)
        _record_refusal(cc, refused)
        raise RootctlError(refused.error.message if refused.error else "refused")
    _warn_without_exception(rt.config, account_id)
    click.echo(
        f"Plan: create a root login profile without a password in {account_id} "
        f"({target.name}, {target.ou_path}); the owner of the root email address can then "
        "set a password with 'Forgot password'."
    )
    if dry_run:
        _err("Dry run: nothing changed.")
        ctx.exit(0)
    if not confirm(f"Allow password recovery for {account_id}?", yes):
        raise click.Abort()
    result = recovery.allow_password_recovery(cc.broker, account_id, cc.recorder)
    if result.status != "ok":
        raise RootctlError(result.error.message if result.error else result.status)
    click.echo(f"Password recovery allowed for {account_id} (login profile created).")


def _record_refusal(cc: CredentialContext, refused: Any) -> None:
    from rootctl.results import iso
    from rootctl.tasks import Task

    cc.recorder.append(
        action="create-login-profile",
        outcome="refused",
        account_id=refused.account_id,
        task=Task.CREATE_PASSWORD,
        target="login-profile",
        before={"login_profile": {"created": iso(refused.created)}},
        error=refused.error.message if refused.error else None,
    )


def _warn_without_exception(config: RootctlConfig, account_id: str) -> None:
    today = datetime.now(UTC).date()
    exception = config.root_credentials.active_exceptions(today).get(account_id)
    if exception is not None and "password" in {str(k.value) for k in exception.keep}:
        return
    _err(
        f"warning: {account_id} has no active root_credentials exception keeping its password: "
        "the next delete-credentials run will delete the password again. Add an exception "
        f"(root_credentials.exceptions: account_id: '{account_id}', keep: [password], reason, expires)."
    )
