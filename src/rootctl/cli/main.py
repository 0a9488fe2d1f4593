"""Entry point: a click group that imports each command's module only when it runs.

Keeping imports lazy keeps `rootctl --help` fast (botocore alone costs ~0.2 s to import);
tests/test_import_graph.py asserts what each start-up path imports.
"""

from __future__ import annotations

import importlib
from typing import Any

import click

from rootctl.errors import RootctlError
from rootctl.text import clean

# name -> (module:attribute, one-line help). Help is kept here so `--help` imports nothing.
COMMANDS: dict[str, tuple[str, str]] = {
    "permissions": (
        "rootctl.cli.permissions:permissions",
        "Print the least-privilege IAM policy for the given commands.",
    ),
    "demo": (
        "rootctl.cli.demo:demo",
        "Walk through rootctl against the bundled sandbox (no AWS account).",
    ),
    "status": (
        "rootctl.cli.org:status",
        "Where the organization stands on centralized root access.",
    ),
    "plan": (
        "rootctl.cli.org:plan",
        "Show what apply would change (exit 0 none, 2 changes, 1 error).",
    ),
    "apply": (
        "rootctl.cli.org:apply",
        "Converge features, delegated admin and guardrail SCPs to rootctl.yaml.",
    ),
    "audit": (
        "rootctl.cli.credentials:audit",
        "Audit root user credentials of member accounts (table, JSON, CSV, HTML, OCSF, ASFF).",
    ),
    "delete-credentials": (
        "rootctl.cli.credentials:delete_credentials",
        "Delete root user credentials: plan, confirm, delete, verify (resumable).",
    ),
    "allow-password-recovery": (
        "rootctl.cli.credentials:allow_password_recovery",
        "Let one account's root user recover its password.",
    ),
    "enforce": ("rootctl.cli.enforce:enforce", "One reconcile pass of root_credentials.policy."),
    "watch": (
        "rootctl.cli.watch:watch",
        "Root-usage findings from CloudTrail, each reported once.",
    ),
    "sandbox": (
        "rootctl.cli.sandbox:sandbox",
        "Run a local AWS organization that speaks centralized root access.",
    ),
    "guardrails": (
        "rootctl.cli.guardrails:guardrails",
        "Render SCP templates and check which root sessions your SCPs block.",
    ),
    "journal": (
        "rootctl.cli.journal:journal",
        "List, show, verify and export the append-only journal of root sessions and changes.",
    ),
    "unlock": (
        "rootctl.cli.sessions:unlock",
        "Remove or replace an S3/SQS policy that locks everyone out (root session).",
    ),
    "restore": (
        "rootctl.cli.sessions:restore",
        "Put a backed-up bucket or queue policy back from a journal entry.",
    ),
    "list-locked": (
        "rootctl.cli.sessions:list_locked",
        "List buckets or queues whose policy denies every principal.",
    ),
    "exec": (
        "rootctl.cli.sessions:exec_",
        "Run a command with a root session's credentials in its environment only.",
    ),
    "request": (
        "rootctl.cli.approvals:request",
        "Ask for a break-glass root session that another principal must approve.",
    ),
    "requests": ("rootctl.cli.approvals:requests", "List break-glass requests and their state."),
    "approve": (
        "rootctl.cli.approvals:approve",
        "Approve another principal's break-glass request.",
    ),
    "deny": ("rootctl.cli.approvals:deny", "Deny a break-glass request."),
    "credential-process": (
        "rootctl.cli.credential_process:credential_process",
        "Print a root session's credentials for an AWS profile's credential_process.",
    ),
    "events": (
        "rootctl.cli.events:events",
        "CloudTrail timeline of root sessions and their actions.",
    ),
    "schema": ("rootctl.cli.schema:schema", "Print the JSON Schema of an output document."),
    "completion": ("rootctl.cli.completion:completion", "Print the shell completion script."),
}


def _show_usage_error(self: click.UsageError, file: Any = None) -> None:
    """Bad flags and arguments: one line that says what to fix, not a usage dump."""
    command = self.ctx.command_path if self.ctx is not None else "rootctl"
    message = clean(" ".join(self.format_message().split()))
    click.echo(f"error: {message} (see: {command} --help)", err=True)


click.UsageError.show = _show_usage_error  # type: ignore[method-assign]


class CommandError(click.ClickException):
    """A RootctlError or a top-level AWS error, shown as one line with its exit code."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code  # type: ignore[misc]

    def show(self, file: Any = None) -> None:
        click.echo(f"error: {self.format_message()}", err=True)


def _as_command_error(exc: Exception) -> CommandError | None:
    """Errors a user can fix (or must know about) as one line; bugs keep their traceback.

    The mapping itself is `rootctl.aws.errors.classify`, shared with the library; a
    RootctlError (bad input) needs no mapping, and no botocore import on its way out.
    """
    if isinstance(exc, RootctlError):
        error: RootctlError | None = exc
    else:
        from rootctl.aws.errors import classify

        error = classify(exc)
    if error is None:
        return None
    return CommandError(clean(" ".join(str(error).split())), error.exit_code)


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

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.exceptions.Abort):
            raise
        except Exception as exc:
            mapped = _as_command_error(exc)
            if mapped is None:
                raise
            raise mapped from exc


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="rootctl")
@click.option(
    "--profile", envvar="AWS_PROFILE", help="AWS profile to use (default: standard AWS resolution)."
)
@click.option(
    "--region",
    envvar=["AWS_REGION", "AWS_DEFAULT_REGION"],
    help="AWS region for regional calls (STS AssumeRoot needs a regional endpoint).",
)
@click.pass_context
def cli(ctx: click.Context, profile: str | None, region: str | None) -> None:
    """rootctl: manage AWS root access for a whole organization, safely.

    Plan, confirm, journal, verify, restore. Every destructive command shows its plan
    first, needs confirmation or --yes, and supports --dry-run.
    """
    ctx.ensure_object(dict)
    ctx.obj["profile"] = profile
    ctx.obj["region"] = region


def main(argv: list[str] | None = None) -> None:
    """Run the CLI: user errors are one line on stderr with exit code 2, never a traceback."""
    cli.main(args=argv, prog_name="rootctl")
