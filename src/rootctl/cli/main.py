"""Entry point: a click group that imports each command's module only when it runs.

Keeping imports lazy keeps `rootctl --help` fast (boto3 alone costs ~0.3 s to import).
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

import click

from rootctl.errors import RootctlError

# name -> (module:attribute, one-line help). Help is kept here so `--help` imports nothing.
COMMANDS: dict[str, tuple[str, str]] = {
    "sandbox": ("rootctl.cli.sandbox:sandbox", "Run a local AWS organization that speaks centralized root access."),
    "guardrails": ("rootctl.cli.guardrails:guardrails", "Render SCP templates and check which root sessions your SCPs block."),
}


class LazyGroup(click.Group):
    """A group whose subcommands are loaded from COMMANDS on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attr = target[0].split(":")
        command = getattr(importlib.import_module(module_name), attr)
        assert isinstance(command, click.Command)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][1]) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="rootctl")
@click.option("--profile", envvar="AWS_PROFILE", help="AWS profile to use (default: standard AWS resolution).")
@click.option("--region", envvar=["AWS_REGION", "AWS_DEFAULT_REGION"], help="AWS region for regional calls (STS AssumeRoot needs a regional endpoint).")
@click.pass_context
def cli(ctx: click.Context, profile: str | None, region: str | None) -> None:
    """rootctl: manage AWS root access for a whole organization, safely.

    Plan, confirm, journal, verify, restore. Every destructive command shows its plan
    first, needs confirmation or --yes, and supports --dry-run.
    """
    ctx.ensure_object(dict)
    ctx.obj["profile"] = profile
    ctx.obj["region"] = region


def main(argv: list[str] | None = None) -> Any:
    """Run the CLI: user errors become one line on stderr and exit code 2, never a traceback."""
    try:
        rv = cli.main(args=argv, prog_name="rootctl", standalone_mode=False)
        # Commands report partial failure with ctx.exit(code); non-standalone mode returns it.
        if isinstance(rv, int) and rv:
            sys.exit(rv)
        return rv
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(1)
    except click.ClickException as exc:
        # click's usage errors already exit 2; render them as one line.
        click.echo(f"error: {exc.format_message()}", err=True)
        sys.exit(exc.exit_code)
    except RootctlError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        sys.exit(130)
