"""`rootctl permissions [COMMAND...]`: the least-privilege IAM policy for those commands."""

from __future__ import annotations

import json

import click


@click.command()
@click.argument("commands", nargs=-1)
@click.option("--minify", is_flag=True, help="Compact JSON.")
def permissions(commands: tuple[str, ...], minify: bool) -> None:
    """Print the IAM policy an operator needs for COMMANDS (default: every command).

    Commands that make no AWS call (sandbox, journal, completion, ...) need none: they are
    named on stderr, and alone they print no policy at all.

    `sts:AssumeRoot` is limited with `sts:TaskPolicyArn` to the task policies those commands
    use. Group commands are named with their subcommand, e.g. "guardrails check".
    """
    from rootctl.permissions import commands_with_aws_calls, policy_document, requirements_for

    names = list(commands) or list(commands_with_aws_calls())
    # Accept "guardrails check" given as two words.
    joined: list[str] = []
    for name in names:
        if joined and joined[-1] == "guardrails" and name in ("check", "render"):
            joined[-1] = f"guardrails {name}"
        else:
            joined.append(name)
    local = [name for name in joined if name not in commands_with_aws_calls()]
    requirements = requirements_for(joined)  # UsageError for an unknown command
    if local:
        click.echo(
            f"note: {', '.join(local)} make{'s' if len(local) == 1 else ''} no AWS call: "
            "no IAM permissions needed",
            err=True,
        )
    if len(local) == len(joined):
        return  # an IAM policy needs at least one statement: print none rather than an empty one
    document = policy_document(requirements)
    click.echo(
        json.dumps(document, separators=(",", ":")) if minify else json.dumps(document, indent=2)
    )
