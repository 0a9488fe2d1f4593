"""`rootctl events`: the CloudTrail timeline of root sessions and what they did."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from rootctl.cli.common import journal_option, output_option, runtime

if TYPE_CHECKING:
    from rootctl.sessions.events import Timeline

OUTSIDE = "started outside rootctl"
RETRY = "probable retry"


@click.command()
@click.option(
    "--since", default="7d", show_default=True, help="How far back: 7d, 12h, 30m, 2w or a date."
)
@click.option("--account", "account", help="Only sessions into this member account.")
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
    "where IAM records its events).",
)
@output_option("table", "json")
@journal_option
@click.pass_context
def events(
    ctx: click.Context,
    since: str,
    account: str | None,
    member_role: str,
    regions: str | None,
    output: str,
    journal_path: Path | None,
) -> None:
    """Root sessions (AssumeRoot) and the actions taken with them, as one timeline.

    Reads CloudTrail in the caller's account, then each member account's trail (through
    --member-role) by the session's access key id, in every region of --regions. Sessions that no journal entry
    mentions are flagged "started outside rootctl", except probable retries: a session
    with no call, opened by the same caller for the same account, task and region at most
    60 s before a journaled one (a rootctl call whose answer was lost, asked again).
    Exit 1 if a trail could not be read.
    """
    from rootctl.aws.session import check_region
    from rootctl.config import parse_account_id
    from rootctl.sessions.events import parse_since

    start = parse_since(since)
    account_id = parse_account_id(account, flag="--account") if account else None
    where = [check_region(r) for r in (regions or "").split(",") if r.strip()]
    if regions is not None and not where:
        raise click.UsageError("--regions needs at least one region, e.g. us-east-1,eu-west-1")
    rc = runtime(ctx, journal=journal_path)
    timeline = rc.events(
        start, account_id=account_id, member_role=member_role, regions=where or None
    )
    if output == "json":
        from rootctl.documents.base import dump
        from rootctl.documents.events import events_document

        click.echo(dump(events_document(timeline)))
    else:
        _table(timeline)
    for _, error in sorted(timeline.errors.items()):
        click.echo(f"error: {error}", err=True)
    if timeline.errors:
        ctx.exit(1)


def _table(timeline: Timeline) -> None:
    from rich.table import Table

    from rootctl.reports.terminal import cell, console
    from rootctl.reports.terminal import markup as escape
    from rootctl.sessions.events import SessionEvent

    table = Table(title="Root sessions", title_justify="left")
    for name in ("Time (UTC)", "Account", "Session", "Event", "Detail"):
        table.add_column(name, no_wrap=name != "Detail", overflow="fold")
    for item in timeline.items():
        when = item.time.strftime("%Y-%m-%d %H:%M:%S")
        if isinstance(item, SessionEvent):
            detail = escape(f"{item.task} by {item.caller}")
            if item.error:
                detail += escape(f" (failed: {item.error})")
            if item.started_outside_rootctl:
                detail += f" [bold red]{OUTSIDE}[/]"
            elif item.retry_of:
                note = f"{RETRY}: answer lost, rootctl's retry got {item.retry_of}; no call seen"
                detail += f" [yellow]{escape(note)}[/]"
            table.add_row(
                when, cell(item.account_id), cell(item.access_key_id or "-"), "AssumeRoot", detail
            )
        else:
            detail = escape(
                ", ".join(item.resources) + (f" (failed: {item.error})" if item.error else "")
            )
            table.add_row(
                when,
                cell(item.account_id),
                cell(item.access_key_id),
                cell(f"  {item.source}:{item.name}"),
                detail,
            )
    page = console()
    page.print(table)
    outside = sum(1 for s in timeline.sessions if s.started_outside_rootctl)
    retries = sum(1 for s in timeline.sessions if s.retry_of)
    summary = (
        f"{len(timeline.sessions)} sessions, {len(timeline.actions)} actions, {outside} {OUTSIDE}"
    )
    if retries:
        summary += f", {retries} {RETRY if retries == 1 else 'probable retries'} (answer lost)"
    page.print(summary + ".")
