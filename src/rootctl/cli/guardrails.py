"""`rootctl guardrails`: render the root-access SCP templates, check the SCPs in force.

`render` is offline: it prints the SCP that `apply` would create, so it can be reviewed or
attached by other tooling. `check` reads every SCP on every account's path from AWS
Organizations (`rootctl.guardrails.fetch`) and says which root sessions they block
(`rootctl.guardrails.check`).
"""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Any

import click

from rootctl.cli.common import output_option, runtime

if TYPE_CHECKING:
    from rootctl.guardrails.check import GuardrailCheck


@click.group()
def guardrails() -> None:
    """Render SCP templates and check which root sessions your SCPs block."""


@guardrails.command()
@click.argument("names", nargs=-1, required=True, metavar="NAME...")
@click.option(
    "--exclude-principal-arn",
    "exclude",
    multiple=True,
    metavar="ARN",
    help="Principal ARN pattern exempt from the Deny statements (repeatable).",
)
@click.option("--minify", is_flag=True, help="Print compact JSON (what rootctl uploads).")
def render(names: tuple[str, ...], exclude: tuple[str, ...], minify: bool) -> None:
    """Print one SCP merged from the templates NAME... (the size goes to stderr).

    Templates: deny_actions_as_root, deny_actions_as_root_except_centralized_root.
    """
    from rootctl.guardrails import templates

    document = templates.render(list(names), list(exclude))
    if minify:
        click.echo(templates.minify(document))
    else:
        click.echo(json.dumps(document, indent=2))
    length = templates.size(document)
    click.echo(
        f"size: {length} of {templates.SCP_MAX_CHARS} characters minified "
        f"({templates.SCP_MAX_CHARS - length} left)",
        err=True,
    )


@guardrails.command()
@click.option(
    "--accounts",
    "accounts",
    metavar="ID,...",
    help="Only these accounts (comma-separated ids). Default: every member account.",
)
@output_option("table", "json")
@click.pass_context
def check(ctx: click.Context, accounts: str | None, output: str) -> None:
    """Which root sessions the SCPs on each account's path block, and by which statement.

    Evaluates every SCP attached to the root, the OUs and the account (not only rootctl's)
    against the five AssumeRoot task sessions and against long-term root use. Exit 1 when a
    root session is blocked while centralized root access is enabled, else 0; exit 2 when
    the caller may not read SCPs.
    """
    from rootctl.config import parse_account_ids

    account_ids = parse_account_ids(accounts, flag="--accounts") if accounts is not None else None
    result = runtime(ctx).guardrails_check(account_ids)
    if output == "json":
        from rootctl.documents.guardrails import guardrails_check_document
        from rootctl.reports.base import writer_for

        writer_for("guardrails-check", "json").write(guardrails_check_document(result), sys.stdout)
    else:
        _render_check(result)
    ctx.exit(1 if result.failed else 0)


def _blocked_by(account: dict[str, Any]) -> str:
    causes: list[str] = []
    for task in account["tasks"]:
        ref = task["denied_by"]
        if ref is not None:
            cause = f"{ref['policy']} ({ref['sid'] or '#' + str(ref['index'])})"
        elif task["missing_allow_level"]:
            cause = f"no Allow at {task['missing_allow_level']}"
        else:
            continue
        if cause not in causes:
            causes.append(cause)
    return "; ".join(causes)


def _long_term(account: dict[str, Any]) -> str:
    if not account["long_term_root_denied"]:
        return "not denied"
    ref = account["long_term_root_denied_by"]
    return f"denied by {ref['policy']}" if ref else "denied (no Allow)"


def _render_check(result: GuardrailCheck) -> None:
    """The check as a table and lines; names, policy names and errors are untrusted text."""
    from rich.table import Table

    from rootctl.documents import to_data
    from rootctl.documents.guardrails import guardrails_check_document
    from rootctl.reports.terminal import cell, console, markup

    data = to_data(guardrails_check_document(result))
    features = data["enabled_features"]
    table = Table(
        title=cell(f"Root sessions against SCPs in {data['organization_id']}"),
        title_justify="left",
    )
    for column in (
        "Account",
        "Name",
        "OU",
        "Blocked root sessions",
        "Blocked by",
        "Long-term root",
    ):
        table.add_column(column, overflow="fold", no_wrap=column == "Account")
    for account in data["accounts"]:
        if account["scp_exempt"]:
            blocked, by, long_term = "none (management account: SCPs do not apply)", "", "-"
        elif account["error"]:
            blocked, by, long_term = "unknown", f"cannot evaluate: {account['error']}", "-"
        else:
            blocked = ", ".join(account["blocked_tasks"]) or "none"
            by, long_term = _blocked_by(account), _long_term(account)
        row = (account["account_id"], account["name"], account["ou_path"], blocked, by, long_term)
        table.add_row(*(cell(value) for value in row))
    page = console()
    page.print(table)
    shown = "unknown" if features is None else (", ".join(features) or "none")
    page.print(cell(f"Enabled features: {shown}"))
    for line in data["unknown"]:
        page.print(f"[yellow]not readable:[/] {markup(line)}")
    level = "error" if data["failed"] else "warning"
    style = "red" if data["failed"] else "yellow"
    for cause in data["causes"]:
        page.print(f"[{style}]{level}:[/] {markup(cause['message'])}")
    for account in data["accounts"]:
        if account["error"]:
            page.print(
                f"[{style}]{level}:[/] {markup(account['account_id'])}: could not evaluate its "
                f"SCPs: {markup(account['error'])}"
            )
    if data["causes"] and not data["failed"]:
        page.print("These SCPs would block root sessions once centralized root access is enabled.")
