"""`rootctl audit`, `rootctl delete-credentials`, `rootctl allow-password-recovery`.

Parsing and rendering only: each command is one or two calls of the facade
(`rootctl.api.Rootctl`), which owns every rule and journal entry. Every flag is validated
before the first AWS call.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import timedelta
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
from rootctl.errors import UsageError
from rootctl.reports.base import report_formats
from rootctl.text import clean

if TYPE_CHECKING:
    from rootctl.api import DeletionRun, PlannedDeletion, ProgressFactory, Rootctl
    from rootctl.credentials.delete import AccountDeletion
    from rootctl.credentials.models import AuditReport
    from rootctl.credentials.plan import DeletionPlan
    from rootctl.org.selection import SelectionSpec

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


def processes_option(fn: F) -> F:
    return click.option(
        "--processes",
        default="1",
        show_default=True,
        metavar="N|auto",
        help="Worker processes, each with --concurrency threads (auto: one per 250 accounts, "
        "at most one per CPU). Past one interpreter's lock for large organizations.",
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


def _progress(output: str) -> ProgressFactory:
    """A bar per phase on a TTY for human formats; nothing on a pipe or for JSON/CSV."""
    from rootctl.progress import progress_for, should_show_progress

    shown = should_show_progress(output)
    return lambda total, label: progress_for(total, shown, label)


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
@processes_option
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
    processes: str,
    config_path: Path | None,
    journal_path: Path | None,
) -> None:
    """Audit root user credentials of member accounts (one audit root session each).

    Exit 0 when every selected account was audited, 1 when some failed, 3 with
    --fail-on-findings when any account has root credentials.
    """
    from rootctl.fanout import check_concurrency
    from rootctl.outputs import check_output, guarded_stdout, open_output
    from rootctl.processes import check_processes
    from rootctl.reports import writer_for

    spec = parse_selection(accounts, ous, exclude, exclude_ous)
    check_concurrency(concurrency)
    workers = check_processes(processes)
    writer = writer_for("audit", output)
    if out_path is not None:
        check_output(out_path)
    rc = runtime(ctx, config=config_path, journal=journal_path)
    if out_path is not None:
        check_output(out_path, protected=[rc.journal.path])  # before any session
    report = rc.audit(spec, concurrency=concurrency, progress=_progress(output), processes=workers)
    refusal = _feature_refusal(rc, report)
    if refusal is not None and output == "table" and out_path is None:
        # One line instead of the same refusal in every row; JSON keeps every account.
        _err(f"error: {clean(refusal)}")
        ctx.exit(audit_exit_code(report, fail_on_findings))
    if out_path is None:
        with guarded_stdout() as stdout:
            writer.write(report, stdout)
    else:
        with open_output(out_path, protected=[rc.journal.path]) as out:
            writer.write(report, out)
        summary = report.summary
        _err(
            f"wrote {output} report to {out_path}: {summary.accounts} accounts, "
            f"{summary.with_root_credentials} with root credentials, {summary.errors} errors"
        )
    ctx.exit(audit_exit_code(report, fail_on_findings))


def _feature_refusal(rc: Rootctl, report: AuditReport) -> str | None:
    from rootctl.credentials.audit import feature_refusal

    return feature_refusal(report, rc.factory) if report.summary.errors else None


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
@click.option(
    "--plan-out",
    "plan_out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Save the plan (rootctl.deletion-plan/v1) to review and apply later; changes nothing.",
)
@click.option(
    "--plan",
    "plan_in",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Apply exactly this saved plan (refused if anything changed since it was made).",
)
@click.option(
    "--max-age",
    default="24h",
    show_default=True,
    help="Refuse a saved --plan older than this (m, h or d).",
)
@change_options
@output_option("table", "json")
@concurrency_option
@processes_option
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
    plan_out: Path | None,
    plan_in: Path | None,
    max_age: str,
    reason: str | None,
    dry_run: bool,
    yes: bool,
    output: str,
    concurrency: int,
    processes: str,
    config_path: Path | None,
    journal_path: Path | None,
) -> None:
    """Delete root user credentials: audit, plan, confirm, delete, verify.

    Accounts under an active root_credentials exception in the config keep what the
    exception lists. Safe to interrupt and run again: it finishes what is left.
    """
    from rootctl.documents.saved import parse_max_age
    from rootctl.fanout import check_concurrency
    from rootctl.outputs import check_output
    from rootctl.processes import check_processes

    spec = parse_selection(accounts, ous, exclude, exclude_ous)
    kinds = parse_only(only)
    if plan_in is not None and (not spec.is_default or spec.exclude or spec.exclude_ous or only):
        raise UsageError("--plan applies a saved plan as it is: drop the selection and --only")
    if plan_in is not None and (plan_out is not None or dry_run):
        raise UsageError("--plan applies a saved plan: it takes neither --plan-out nor --dry-run")
    saving = plan_out is not None
    reason_text = require_reason(reason, dry_run or saving)
    limit = parse_max_age(max_age)
    check_concurrency(concurrency)
    workers = check_processes(processes)
    require_tty_or_yes(yes, dry_run or saving)
    rc = runtime(ctx, config=config_path, journal=journal_path)
    if plan_out is not None:
        check_output(plan_out, protected=[rc.journal.path])
    progress = _progress(output)
    if plan_in is not None:
        planned = rc.saved_deletion_plan(
            plan_in,
            reason=reason_text,
            max_age=limit,
            concurrency=concurrency,
            progress=progress,
            processes=workers,
        )
    else:
        planned = rc.plan_deletion(
            spec,
            only=kinds,
            reason=reason_text,
            dry_run=dry_run or saving,
            concurrency=concurrency,
            progress=progress,
            processes=workers,
        )
    for note in planned.notes:
        _err(f"note: {clean(note)}")
    console_out = sys.stdout if output == "table" else sys.stderr
    _print_plan(planned.plan, console_out)
    if plan_out is not None:
        _save_plan(rc, planned, plan_out)
    if dry_run or saving:
        if output == "json":
            _print_json(planned, None, dry_run=True)
        _err("Dry run: nothing changed." if dry_run else "Nothing changed (plan saved).")
        ctx.exit(1 if planned.plan.audit.summary.errors else 0)
    if planned.changes and not confirm(
        f"Delete {planned.steps} root credentials in {planned.changes} accounts?", yes
    ):
        raise click.Abort()
    done = rc.delete(planned, progress=progress, processes=workers)
    ctx.exit(_report_deletion(planned, done, output, console_out))


def _report_deletion(
    planned: PlannedDeletion, done: DeletionRun, output: str, console_out: TextIO
) -> int:
    """Results, the JSON document, then one line if the run stopped early or could not
    journal everything. Exit 1 whenever anything failed: changes may have been made, so
    never 2 ("nothing changed")."""
    from rootctl.credentials.delete import run_problem
    from rootctl.outputs import OutputError

    if done.results:
        _print_results(list(done.results), console_out)
    else:
        _err("Nothing to delete.")
    problems: list[str] = []
    if output == "json":
        try:
            _print_json(planned, done, dry_run=False)
        except OutputError as exc:
            problems.append(f"the result document was not written: {exc}")
    if planned.run is not None:
        found = run_problem(list(done.results), planned.run.recorder)
        problems += [found] if found else []
    if problems:
        _err(f"error: {clean('; '.join(problems))}")
    return 1 if done.failed or problems else 0


def _save_plan(rc: Rootctl, planned: PlannedDeletion, path: Path) -> None:
    from rootctl.documents.base import dump
    from rootctl.outputs import open_output

    if not planned.changes:
        _err(f"Nothing to delete: no plan saved to {path}.")
        return
    document = rc.deletion_plan_document(planned)
    with open_output(path, protected=[rc.journal.path]) as out:
        out.write(dump(document) + "\n")
    _err(
        f"Saved the plan to {path} ({planned.steps} credentials in {planned.changes} accounts); "
        f"apply it with: rootctl delete-credentials --plan {path} --reason TEXT"
    )


def parse_only(only: str | None) -> tuple[str, ...]:
    """`--only password,mfa-devices` -> the kinds (every kind without the flag)."""
    from rootctl.credentials.plan import KINDS, parse_kinds

    if only is None:
        return KINDS
    try:
        return parse_kinds(only.split(","))
    except UsageError as exc:
        raise UsageError(f"--only: {exc}") from None


def _print_json(planned: PlannedDeletion, done: DeletionRun | None, dry_run: bool) -> None:
    from rootctl.documents.base import dump
    from rootctl.documents.deletion import deletion_report
    from rootctl.outputs import write_stdout

    if done is not None:
        run_id = done.run_id
    else:
        run_id = planned.run.recorder.run_id if planned.run is not None else ""
    document = deletion_report(
        planned.plan,
        list(done.results) if done is not None else None,
        operator=planned.plan.audit.operator,
        run_id=run_id,
        dry_run=dry_run,
    )
    write_stdout(dump(document) + "\n")


def _print_plan(plan: DeletionPlan, out: TextIO) -> None:
    from rootctl.reports.delete_table import render_plan

    render_plan(plan, out)


def _print_results(results: list[AccountDeletion], out: TextIO) -> None:
    from rootctl.reports.delete_table import render_results

    render_results(results, out)


# -- allow-password-recovery ------------------------------------------------------------------


@click.command("allow-password-recovery")
@click.argument("account")
@click.option(
    "--for",
    "window_text",
    metavar="DURATION",
    help="Time-box the recovery (30m, 4h, 2d; at most 7d): rootctl enforce deletes the "
    "password once it has passed.",
)
@click.option(
    "--request",
    "request_id",
    help="Run under this approved break-glass request (rootctl request/approve; used once).",
)
@change_options
@config_option
@journal_option
@click.pass_context
def allow_password_recovery(
    ctx: click.Context,
    account: str,
    window_text: str | None,
    request_id: str | None,
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

    account_id = parse_account_id(account)  # the message names the value typed, no flag
    window = _recovery_window(window_text)
    reason_text = reason if request_id else require_reason(reason, dry_run)
    require_tty_or_yes(yes, dry_run)
    rc = runtime(ctx, config=config_path, journal=journal_path)
    planned = rc.plan_password_recovery(
        account_id, reason=reason_text, dry_run=dry_run, request_id=request_id
    )
    for warning in planned.warnings:
        _err(f"warning: {clean(warning)}")
    target = planned.account
    click.echo(
        f"Plan: create a root login profile without a password in {account_id} "
        f"({clean(target.name)}, {clean(target.ou_path)}); the owner of the root email address "
        "can then set a password with 'Forgot password'."
    )
    if dry_run:
        _err("Dry run: nothing changed.")
        ctx.exit(0)
    if not confirm(f"Allow password recovery for {account_id}?", yes):
        raise click.Abort()
    rc.allow_password_recovery(planned)
    click.echo(f"Password recovery allowed for {account_id} (login profile created).")
    if window is not None:
        from datetime import UTC, datetime

        from rootctl.enforce.windows import record_window
        from rootctl.results import iso

        opened = record_window(planned, window, datetime.now(UTC))
        click.echo(f"Recovery window until {iso(opened.until)}: rootctl enforce then deletes it.")


def _recovery_window(text: str | None) -> timedelta | None:
    from rootctl.enforce.durations import parse_duration

    return None if text is None else parse_duration(text)
