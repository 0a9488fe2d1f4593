"""`rootctl status`, `rootctl plan`, `rootctl apply`: parse flags, one library call, render.

The flow (read, plan, saved-plan checks, apply in order, verify, journal) is
`rootctl.org.service`; this module only finds the config, renders and picks exit codes.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from rootctl.cli.common import config_option, confirm, journal_option, output_option, runtime
from rootctl.errors import UsageError

if TYPE_CHECKING:
    from rootctl.api import Rootctl
    from rootctl.config import RootctlConfig
    from rootctl.documents.org import ConfigSourcePart, StatusDocument
    from rootctl.org.service import ApplyResult, OrgPlanRun


def _yesno(value: bool | None) -> str:
    return "unknown" if value is None else ("yes" if value else "no")


def _render_status(data: StatusDocument) -> None:
    from rich.table import Table

    from rootctl.reports.terminal import console as _console
    from rootctl.reports.terminal import markup as escape

    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column()
    caller, features = data.caller, data.enabled_features
    table.add_row("Organization", escape(f"{data.organization_id} ({data.feature_set} features)"))
    table.add_row("Management account", escape(data.management_account_id))
    table.add_row("Caller", escape(f"{caller.arn} [{caller.role}]"))
    table.add_row("Caller may", escape(caller.allows))
    table.add_row("IAM trusted access", _yesno(data.iam_trusted_access))
    table.add_row(
        "IAM delegated admin", escape(", ".join(data.iam_delegated_administrators)) or "none"
    )
    table.add_row(
        "Enabled features", "unknown" if features is None else (", ".join(features) or "none")
    )
    guardrails = "; ".join(
        f"{g.name} -> {', '.join(g.targets) or 'not attached'}" for g in data.root_guardrails
    )
    table.add_row("Root guardrails", escape(guardrails) or "none")
    for line in data.unknown:
        table.add_row("Not readable", escape(line))
    console = _console()
    console.print(table)
    missing = [
        f
        for f in ("RootCredentialsManagement", "RootSessions")
        if features is not None and f not in features
    ]
    if data.iam_trusted_access is False:
        console.print(
            "[yellow]missing:[/] IAM trusted access (rootctl apply with centralize_root_access.enabled: true)"
        )
    if missing:
        console.print(f"[yellow]missing:[/] {', '.join(missing)}")
    for conflict in data.conflicts:
        console.print(f"[red]error:[/] {escape(conflict)}")


@click.command()
@output_option("table", "json")
@click.pass_context
def status(ctx: click.Context, output: str) -> None:
    """Where the organization stands: features, trusted access, delegated admin, root guardrails."""
    from rootctl.documents.base import dump

    data = runtime(ctx).status()
    if output == "json":
        click.echo(dump(data))
    else:
        _render_status(data)
    ctx.exit(1 if data.conflicts else 0)


def _render_plan(run: OrgPlanRun) -> None:
    plan, state = run.plan, run.state
    if plan.errors:
        click.echo(
            f"Plan for organization {state.organization_id} has {len(plan.errors)} error(s)."
        )
    elif plan.empty:
        click.echo("No changes: the organization matches the configuration.")
    if plan.changes:
        click.echo(
            f"Plan for organization {state.organization_id} ({len(plan.changes)} changes, in order):"
        )
        for number, change in enumerate(plan.changes, 1):
            click.echo(f"  {number}. {change.describe()}")
    needing = plan.needing_management(state)
    if needing:
        click.echo(
            f"note: {len(needing)} change(s) need the management account {state.management_account_id}; the caller is the {state.caller_role}",
            err=True,
        )
    for warning in plan.warnings:
        click.echo(f"warning: {warning}", err=True)
    for error in plan.errors:
        click.echo(f"error: {error}", err=True)


def _desired(
    config_path: Path | None, terraform_dir: Path | None
) -> tuple[RootctlConfig, ConfigSourcePart]:
    """The desired state, validated before any AWS call, and where it came from."""
    from rootctl.config import DEFAULT_CONFIG_NAME, load_config
    from rootctl.documents.org import ConfigSourcePart

    if terraform_dir is not None:
        from rootctl.org.terraform import load_terraform_desired

        if config_path is not None:
            raise UsageError("use either -c/--config or --from-terraform, not both")
        desired = load_terraform_desired(terraform_dir)
        for source in desired.sources:
            click.echo(f"from Terraform: {source}", err=True)
        for warning in desired.warnings:
            click.echo(f"warning: {warning}", err=True)
        return desired.config, ConfigSourcePart(kind="terraform", path=str(terraform_dir))
    if config_path is None:
        config_path = Path(DEFAULT_CONFIG_NAME)
        if not config_path.is_file():
            raise UsageError(
                f"no config file: ./{DEFAULT_CONFIG_NAME} not found; pass -c FILE (docs/config.md)"
            )
    return load_config(config_path), ConfigSourcePart(kind="file", path=str(config_path))


@click.command()
@config_option
@click.option(
    "--from-terraform",
    "terraform_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Read the desired state from Terraform files (NTC's centralize_root_access, aws_iam_organizations_features) in DIR and report the drift.",
)
@click.option(
    "--out",
    "out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Save the plan (rootctl.plan/v1) to apply later with `rootctl apply PLAN`.",
)
@output_option("table", "json")
@click.pass_context
def plan(
    ctx: click.Context,
    config_path: Path | None,
    terraform_dir: Path | None,
    out: Path | None,
    output: str,
) -> None:
    """Show the changes `apply` would make. Exit 0 no changes, 2 changes, 1 error."""
    from rootctl.documents.base import dump
    from rootctl.outputs import check_output, open_output

    config, source = _desired(config_path, terraform_dir)
    rc = runtime(ctx)
    if out is not None:
        check_output(out, protected=[rc.journal.path])  # before any AWS call
    run = rc.plan_org(config, source=source)
    if output == "json":
        click.echo(dump(run.document))
    else:
        _render_plan(run)
    if out is not None:
        if run.plan.errors:
            click.echo(f"error: plan not saved to {out}: it has errors", err=True)
        else:
            with open_output(out, protected=[rc.journal.path]) as handle:  # 0600, atomic
                handle.write(dump(run.document) + "\n")
            click.echo(f"Saved the plan to {out}; apply it with: rootctl apply {out}", err=True)
    ctx.exit(1 if run.plan.errors else (2 if run.plan.changes else 0))


def _render_applied(applied: ApplyResult) -> None:
    for result in applied.results:
        mark = {"ok": "done", "error": "FAILED", "skipped": "skipped"}[result.outcome]
        detail = f": {result.error.code}: {result.error.message}" if result.error else ""
        click.echo(f"  {mark:7} {result.change.describe()}{detail}")
    if applied.pending and all(r.outcome == "ok" for r in applied.results):
        click.echo(
            f"verify: {len(applied.pending)} change(s) still pending: {applied.pending[0].describe()}",
            err=True,
        )


def _saved_run(rc: Rootctl, plan_path: Path, config_path: Path | None, max_age: str) -> OrgPlanRun:
    """The saved plan, checked against the organization and config as they are now."""
    from rootctl.documents.saved import parse_max_age
    from rootctl.org.service import load_org_plan

    limit = parse_max_age(max_age)
    saved = load_org_plan(plan_path)
    source = saved.config_source
    if config_path is None and source is not None:
        if source.kind == "terraform":
            config, _ = _desired(None, Path(source.path))
        else:
            config, _ = _desired(Path(source.path), None)
    else:
        config, _ = _desired(config_path, None)
    return rc.saved_org_plan(saved, config, max_age=limit, source=str(plan_path))


@click.command()
@click.argument("plan_path", metavar="[PLAN]", required=False, type=click.Path(path_type=Path))
@config_option
@journal_option
@click.option(
    "--max-age",
    default="24h",
    show_default=True,
    help="Refuse a saved PLAN older than this (m, h or d).",
)
@click.option("--yes", "-y", is_flag=True, help="Apply without asking (needed without a TTY).")
@click.option(
    "--reason",
    default="converge organization to rootctl.yaml",
    show_default=True,
    help="Recorded in the journal.",
)
@click.pass_context
def apply(
    ctx: click.Context,
    plan_path: Path | None,
    config_path: Path | None,
    journal_path: Path | None,
    max_age: str,
    yes: bool,
    reason: str,
) -> None:
    """Apply a saved PLAN (or plan again from -c FILE): confirm, apply in a safe order, verify.

    A saved PLAN is applied exactly, and refused (exit 2, nothing changed) when it was
    edited, was made for another organization, is older than --max-age, or the organization
    or the config changed since it was made.
    """

    from rootctl.org.service import check_applicable

    rc = runtime(ctx, journal=journal_path)
    if plan_path is not None:
        run = _saved_run(rc, plan_path, config_path, max_age)
    else:
        config, source = _desired(config_path, None)
        run = rc.plan_org(config, source=source)
    _render_plan(run)
    check_applicable(run)
    if run.plan.empty:
        ctx.exit(0)
    if not confirm(f"Apply these {len(run.plan.changes)} changes?", yes):
        raise click.Abort()
    applied = rc.apply_org(run, reason=reason)
    _render_applied(applied)
    if not applied.ok:
        if applied.failure is not None:
            click.echo(f"error: {applied.failure}", err=True)
        ctx.exit(1)
    click.echo("Verified: the organization matches the configuration.")


def _tty() -> bool:
    import sys

    return sys.stdout.isatty()
