"""`rootctl enforce`: parse flags (and an EventBridge event), call `Rootctl.enforce`, render.

Every rule is in the library (rootctl.enforce); this skin validates its input before any
AWS call, refuses to change anything without --yes or a TTY, prints the one enforcement
report (table or the `rootctl.enforce/v1` JSON document) and exits with the report's code:
0 compliant or converged, 1 some accounts failed, 3 findings remain, 2 bad input.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from rootctl.cli.common import config_option, confirm, journal_option, output_option, runtime
from rootctl.cli.credentials import parse_selection, require_tty_or_yes, selection_options
from rootctl.enforce.report import EXIT_FAILED
from rootctl.errors import UsageError
from rootctl.shards import Shard, parse_shard, shard_spec
from rootctl.text import clean

if TYPE_CHECKING:
    from rootctl.api import Rootctl
    from rootctl.enforce import EnforcementReport, EventScope
    from rootctl.integrations.sns import Topic
    from rootctl.org.selection import SelectionSpec


@click.command()
@selection_options
@click.option(
    "--event",
    "event_path",
    metavar="FILE|-",
    help="An EventBridge event (AccountJoinedOrganization, CreateAccountResult, or the "
    "scheduled event) that narrows the pass to the account it names; - reads stdin.",
)
@click.option(
    "--watch-since",
    metavar="TIME",
    help="Also run the root-usage watch (full passes only; shares `rootctl watch`'s cursor): "
    "how far back on its first run, e.g. 1d.",
)
@click.option(
    "--shard",
    metavar="K/N",
    callback=lambda _ctx, _param, value: None if value is None else parse_shard(value),
    help="Only shard K of N: a stable partition of the accounts by sha256 of the account "
    "id, so N runs (1/N .. N/N) cover each account once (docs/deploy.md).",
)
@click.option(
    "--security-hub",
    is_flag=True,
    help="Import the findings into Security Hub (the operator's account and region); "
    "re-runs update them, resolved ones are archived.",
)
@click.option(
    "--notify-topic",
    metavar="ARN",
    callback=lambda _ctx, _param, value: None if value is None else _topic(value),
    help="Publish a short summary to this SNS topic when the pass changed something or "
    "found something new.",
)
@click.option("--reason", help="Why (journaled; default names the policy).")
@click.option("--dry-run", is_flag=True, help="Report what the pass would do; change nothing.")
@click.option("--yes", "-y", is_flag=True, help="Apply without asking (needed without a TTY).")
@output_option("table", "json", "ocsf", "asff")
@config_option
@journal_option
@click.pass_context
def enforce(
    ctx: click.Context,
    accounts: tuple[str, ...],
    ous: tuple[str, ...],
    exclude: tuple[str, ...],
    exclude_ous: tuple[str, ...],
    event_path: str | None,
    watch_since: str | None,
    shard: Shard | None,
    security_hub: bool,
    notify_topic: Topic | None,
    reason: str | None,
    dry_run: bool,
    yes: bool,
    output: str,
    config_path: Path | None,
    journal_path: Path | None,
) -> None:
    """One idempotent pass of root_credentials.policy over the organization.

    Exit 0 compliant or converged, 1 when some accounts failed, 3 when findings remain
    (policy report, or a dry run), 2 for bad input.
    """
    from rootctl.sessions.events import parse_since

    spec = parse_selection(accounts, ous, exclude, exclude_ous)
    event = _read_event(event_path, spec)
    watch_start = parse_since(watch_since) if watch_since is not None else None
    require_tty_or_yes(yes, dry_run)
    rc = runtime(ctx, config=config_path, journal=journal_path)
    policy = rc.config.root_credentials.policy  # the config is validated before any AWS call
    if shard is not None:
        narrowed = shard_spec(rc, spec, shard, event=event)
        if narrowed is None:
            click.echo(f"enforce: shard {shard} holds none of the selected accounts", err=True)
            ctx.exit(0)
        spec = narrowed
    if not dry_run and not confirm(f"Run the enforcement pass (policy: {policy})?", yes):
        raise click.Abort()
    report = rc.enforce(
        spec,
        event=event,
        reason=reason,
        dry_run=dry_run,
        watch_since=watch_start,
        organization=shard is None or shard.index == 1,  # one shard changes the organization
    )
    if output == "table":
        render(report)
    else:
        write_report(rc, report, output)
    delivered = deliver(rc, report, security_hub=security_hub, topic=notify_topic)
    ctx.exit(report.exit_code if delivered else EXIT_FAILED)


def _topic(value: str) -> Topic:
    from rootctl.integrations.sns import parse_topic

    return parse_topic(value)


def write_report(rc: Rootctl | None, report: EnforcementReport, output: str) -> None:
    """JSON (the rootctl.enforce/v1 document), OCSF or ASFF through the writer registry;
    ASFF names the operator's account and region as the importing one (what
    --security-hub imports into). Each format imports only its own writer."""
    from rootctl.reports.base import writer_for

    writer = writer_for("enforce", output)
    if output == "json":
        from rootctl.documents.enforce import enforce_document

        writer.write(enforce_document(report), sys.stdout)
        return
    if output == "asff":
        from rootctl.reports.asff_report import EnforceAsffWriter

        assert isinstance(writer, EnforceAsffWriter) and rc is not None
        writer.account_id = rc.factory.caller_identity().account
        writer.region = rc.factory.region
    writer.write(report, sys.stdout)


def deliver(
    rc: Rootctl, report: EnforcementReport, *, security_hub: bool, topic: Topic | None
) -> bool:
    """Security Hub import and SNS summary through the library (what the Lambda handler
    sends too); one stderr line per step, False (exit 1) when either failed."""
    from rootctl.integrations.deliver import deliver as send

    if not (security_hub or topic):
        return True
    done = send(rc, report, security_hub=security_hub, topic=topic)
    if done.dry_run:
        click.echo("note: dry run: nothing sent to Security Hub or SNS", err=True)
    if done.security_hub is not None:
        click.echo(done.security_hub.line(), err=True)
    for error in done.errors:  # already cleaned of control characters
        click.echo(f"error: {error}", err=True)
    if done.sns_skipped:
        click.echo("sns: nothing changed and no new finding: no summary sent", err=True)
    elif done.sns_message_id is not None and topic is not None:
        click.echo(f"sns: summary published to {topic.arn}", err=True)
    return done.ok


def _read_event(path: str | None, spec: SelectionSpec) -> EventScope | None:
    from rootctl.enforce.events import parse_event_text

    if path is None:
        return None
    if spec.accounts or spec.ous:
        raise UsageError("--event names the account itself: leave out --accounts and --ou")
    if path == "-":
        data = sys.stdin.buffer.read()
    else:
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            raise UsageError(f"--event: cannot read {path}: {exc.strerror or exc}") from None
    return parse_event_text(data)


def render(report: EnforcementReport) -> None:
    """A short human report: a summary line, then one line per change, refusal, failure."""
    s = report.summary()
    mode = " (dry run: nothing changed)" if report.dry_run else ""
    click.echo(
        f"enforce: policy {report.policy}{mode}: {s['accounts']} accounts, {s['found']} with "
        f"root credentials, {s['changed']} changed, {s['refused']} kept, {s['failed']} failed, "
        f"{s['findings']} findings"
    )
    _render_organization(report)
    if report.credentials_skipped is not None:
        click.echo(f"  skipped  {clean(report.credentials_skipped)}")
    for c in report.changed:
        state = "verified" if c.verified else "not verified"
        click.echo(
            f"  changed  {c.account_id}: deleted {', '.join(map(clean, c.deleted))} ({clean(c.why)}; {state})"
        )
    for r in report.refused:
        click.echo(f"  kept     {r.account_id}: {r.kind} ({clean(r.reason)})")
    for f in report.failed:
        click.echo(f"  failed   {f.account_id}: {clean(f.error)}")
    for finding in report.findings:
        if finding.type != "organization":  # shown as `org pending` lines above
            click.echo(f"  finding  {finding.id}: {clean(finding.title)}")
    for note in report.notes:
        click.echo(f"note: {clean(note)}", err=True)


def _render_organization(report: EnforcementReport) -> None:
    """The organization part: one line per change made, pending (why) or failed (error)."""
    org = report.organization
    if org is None:
        return
    state = {True: "verified", False: "not converged", None: "nothing changed"}[org.verified]
    features = org.enabled_features
    shown = "unknown" if features is None else ", ".join(features) or "none"
    click.echo(
        f"  organization: {len(org.changed)} changed, {len(org.pending)} pending, "
        f"{len(org.failed) + len(org.errors)} failed ({state}); features enabled: {shown}"
    )
    for item in org.changed:
        click.echo(f"  org      changed {clean(item.describe())}")
    for item in org.pending:
        click.echo(f"  org      pending {clean(item.describe())}: {clean(item.why or '')}")
    for item in org.failed:
        click.echo(f"  org      failed  {clean(item.describe())}: {clean(item.error or '')}")
    for error in org.errors:
        click.echo(f"  org      error   {clean(error)}")
