"""`rootctl status`, `rootctl plan`, `rootctl apply`: organization features and guardrails."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from rootctl.cli.common import config_option, confirm, journal_option, output_option, runtime
from rootctl.errors import UsageError

if TYPE_CHECKING:
    from rootctl.org.features import OrgState
    from rootctl.org.plan import OrgPlan


def _state_dict(state: OrgState, conflicts: list[str]) -> dict[str, Any]:
    return {
        "schema": "rootctl.status/v1",
        "organization_id": state.organization_id,
        "feature_set": state.feature_set,
        "management_account_id": state.management_account_id,
        "caller": {
            "arn": state.caller_arn,
            "account_id": state.caller_account,
            "role": state.caller_role,
            "allows": state.allows,
        },
        "iam_trusted_access": state.trusted_access,
        "iam_delegated_administrators": state.delegated_administrators,
        "enabled_features": state.enabled_features,
        "root_guardrails": [
            {"name": s.name, "id": s.id, "targets": [state.path_of(t) for t in s.targets]}
            for s in state.scps
            if _is_root_guardrail(s.document)
        ],
        "conflicts": conflicts,
        "unknown": state.unknown,
    }


def _is_root_guardrail(document: dict[str, Any]) -> bool:
    return ":root" in json.dumps(document) and "aws:PrincipalArn" in json.dumps(document)


def _yesno(value: bool | None) -> str:
    return "unknown" if value is None else ("yes" if value else "no")


def _render_status(data: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column()
    caller = data["caller"]
    features = data["enabled_features"]
    table.add_row("Organization", f"{data['organization_id']} ({data['feature_set']} features)")
    table.add_row("Management account", data["management_account_id"])
    table.add_row("Caller", f"{caller['arn']} [{caller['role']}]")
    table.add_row("Caller may", caller["allows"])
    table.add_row("IAM trusted access", _yesno(data["iam_trusted_access"]))
    table.add_row("IAM delegated admin", ", ".join(data["iam_delegated_administrators"]) or "none")
    table.add_row(
        "Enabled features", "unknown" if features is None else (", ".join(features) or "none")
    )
    guardrails = data["root_guardrails"]
    table.add_row(
        "Root guardrails",
        "; ".join(f"{g['name']} -> {', '.join(g['targets']) or 'not attached'}" for g in guardrails)
        or "none",
    )
    for line in data["unknown"]:
        table.add_row("Not readable", line)
    console = Console()
    console.print(table)
    missing = [
        f
        for f in ("RootCredentialsManagement", "RootSessions")
        if features is not None and f not in features
    ]
    if data["iam_trusted_access"] is False:
        console.print(
            "[yellow]missing:[/] IAM trusted access (rootctl apply with centralize_root_access.enabled: true)"
        )
    if missing:
        console.print(f"[yellow]missing:[/] {', '.join(missing)}")
    for conflict in data["conflicts"]:
        console.print(f"[red]error:[/] {conflict}")


@click.command()
@output_option("table", "json")
@click.pass_context
def status(ctx: click.Context, output: str) -> None:
    """Where the organization stands: features, trusted access, delegated admin, root guardrails."""
    from rootctl.org.conflicts import root_session_conflicts
    from rootctl.org.features import read_state

    rt = runtime(ctx)
    state = read_state(rt.factory)
    conflicts = root_session_conflicts(state) if state.enabled_features else []
    data = _state_dict(state, conflicts)
    if output == "json":
        click.echo(json.dumps(data, indent=2))
    else:
        _render_status(data)
    ctx.exit(1 if conflicts else 0)


def _render_plan(plan: OrgPlan, state: OrgState) -> None:
    if plan.empty:
        click.echo("No changes: the organization matches the configuration.")
    else:
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


def _load_plan(
    ctx: click.Context,
    config_path: Path | None,
    journal_path: Path | None = None,
    terraform_dir: Path | None = None,
) -> tuple[Any, OrgState, OrgPlan]:
    from rootctl.org.features import read_state, require_central_caller
    from rootctl.org.plan import build_plan

    rt = runtime(ctx, config=config_path, journal=journal_path)
    if terraform_dir is not None:
        from rootctl.org.terraform import load_terraform_desired

        if config_path is not None:
            raise UsageError("use either -c/--config or --from-terraform, not both")
        desired = load_terraform_desired(terraform_dir)  # validated before any AWS call
        for source in desired.sources:
            click.echo(f"from Terraform: {source}", err=True)
        for warning in desired.warnings:
            click.echo(f"warning: {warning}", err=True)
        rt._config = desired.config
    config = rt.config  # validated before any AWS call
    if (
        config.centralize_root_access is None
        and config.delegated_administrator is None
        and not config.guardrails
    ):
        raise UsageError(
            "the config manages nothing: set centralize_root_access, delegated_administrator or guardrails (docs/config.md)"
        )
    state = read_state(rt.factory)
    require_central_caller(state, "plan and apply")
    return rt, state, build_plan(config, state)


@click.command()
@config_option
@click.option(
    "--from-terraform",
    "terraform_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Read the desired state from Terraform files (NTC's centralize_root_access, aws_iam_organizations_features) in DIR and report the drift.",
)
@output_option("table", "json")
@click.pass_context
def plan(
    ctx: click.Context, config_path: Path | None, terraform_dir: Path | None, output: str
) -> None:
    """Show the changes `apply` would make. Exit 0 no changes, 2 changes, 1 error."""
    _, state, org_plan = _load_plan(ctx, config_path, terraform_dir=terraform_dir)
    if output == "json":
        click.echo(
            json.dumps(
                {
                    "schema": "rootctl.plan/v1",
                    "organization_id": state.organization_id,
                    **org_plan.to_dict(),
                },
                indent=2,
            )
        )
    else:
        _render_plan(org_plan, state)
    ctx.exit(1 if org_plan.errors else (2 if org_plan.changes else 0))


@click.command()
@config_option
@journal_option
@click.option("--yes", "-y", is_flag=True, help="Apply without asking (needed without a TTY).")
@click.option(
    "--reason",
    default="converge organization to rootctl.yaml",
    show_default=True,
    help="Recorded in the journal.",
)
@click.pass_context
def apply(
    ctx: click.Context, config_path: Path | None, journal_path: Path | None, yes: bool, reason: str
) -> None:
    """Plan again, show, confirm, apply in a safe order, verify, journal."""
    from rootctl.org.apply import apply_plan
    from rootctl.org.features import read_state
    from rootctl.org.plan import build_plan

    rt, state, org_plan = _load_plan(ctx, config_path, journal_path)
    _render_plan(org_plan, state)
    if org_plan.errors:
        raise UsageError(
            f"the plan has {len(org_plan.errors)} error(s); fix them before applying: {org_plan.errors[0]}"
        )
    if org_plan.empty:
        ctx.exit(0)
    needing = org_plan.needing_management(state)
    if needing:
        raise UsageError(
            f"{needing[0].describe()} needs the management account {state.management_account_id}; "
            f"the caller {state.caller_arn} is the {state.caller_role}: run apply with management-account credentials"
        )
    if not confirm(f"Apply these {len(org_plan.changes)} changes?", yes):
        raise click.Abort()
    results = apply_plan(
        org_plan,
        rt.factory,
        rt.journal,
        reason=reason,
        operator=state.caller_arn,
        run_id=str(uuid.uuid4()),
    )
    for result in results:
        mark = {"ok": "done", "error": "FAILED", "skipped": "skipped"}[result.outcome]
        detail = f": {result.error.code}: {result.error.message}" if result.error else ""
        click.echo(f"  {mark:7} {result.change.describe()}{detail}")
    after = build_plan(rt.config, read_state(rt.factory))
    if any(r.outcome != "ok" for r in results):
        ctx.exit(1)
    if after.changes:
        click.echo(
            f"verify: {len(after.changes)} change(s) still pending: {after.changes[0].describe()}",
            err=True,
        )
        ctx.exit(1)
    click.echo("Verified: the organization matches the configuration.")
