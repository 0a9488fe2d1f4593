"""`rootctl guardrails`: render the root-access SCP templates.

Rendering is offline: it prints the SCP that `apply` would create, so it can be reviewed or
attached by other tooling. (`guardrails check`, which reads the organization's SCPs, comes with
the AWS-reading code.)
"""

from __future__ import annotations

import json

import click


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
