"""`rootctl watch`: root-usage findings from CloudTrail since the last run, each once.

Parsing and rendering only: the rules are in rootctl.enforce.watch behind `Rootctl.watch`.
"""

from __future__ import annotations

from pathlib import Path

import click

from rootctl.cli.common import config_option, journal_option, output_option, runtime
from rootctl.cli.credentials import parse_selection, selection_options


@click.command()
@selection_options
@click.option(
    "--since",
    default="1d",
    show_default=True,
    help="How far back on the first run: 7d, 12h, 30m, 2w or a date; later runs start at "
    "the journal's cursor (15 minutes of overlap for late CloudTrail delivery).",
)
@click.option(
    "--member-role",
    default="OrganizationAccountAccessRole",
    show_default=True,
    help="Role assumed in member accounts to read their CloudTrail.",
)
@click.option(
    "--regions",
    "regions",
    help="Comma-separated regions whose CloudTrail to read (default: --region and us-east-1, "
    "where sign-ins and IAM calls are recorded).",
)
@click.option("--dry-run", is_flag=True, help="Report without moving the cursor.")
@output_option("table", "json")
@config_option
@journal_option
@click.pass_context
def watch(
    ctx: click.Context,
    accounts: tuple[str, ...],
    ous: tuple[str, ...],
    exclude: tuple[str, ...],
    exclude_ous: tuple[str, ...],
    since: str,
    member_role: str,
    regions: str | None,
    dry_run: bool,
    output: str,
    config_path: Path | None,
    journal_path: Path | None,
) -> None:
    """Real root sign-ins and root-key calls, and AssumeRoot sessions root_sessions does not allow.

    Exit 0 nothing new, 3 new findings, 1 when a trail could not be read, 2 bad input.
    """
    from rootctl.aws.session import check_region
    from rootctl.cli.enforce import render, write_report
    from rootctl.sessions.events import parse_since

    spec = parse_selection(accounts, ous, exclude, exclude_ous)
    start = parse_since(since)
    where = [check_region(r) for r in (regions or "").split(",") if r.strip()]
    if regions is not None and not where:
        raise click.UsageError("--regions needs at least one region, e.g. us-east-1,eu-west-1")
    rc = runtime(ctx, config=config_path, journal=journal_path)
    report = rc.watch(
        spec, since=start, regions=where or None, member_role=member_role, dry_run=dry_run
    )
    if output == "json":
        write_report(None, report, "json")  # rootctl.enforce/v1, as `enforce -o json`
    else:
        render(report)
    ctx.exit(report.exit_code)
