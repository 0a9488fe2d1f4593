"""Shared CLI plumbing: options every command uses, the runtime they build, confirmation.

Commands stay thin: parse flags, build a `Runtime`, call the library, render, exit.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from rootctl.errors import UsageError

if TYPE_CHECKING:
    from rootctl.aws.session import SessionFactory
    from rootctl.config import RootctlConfig
    from rootctl.journal import Journal

F = TypeVar("F", bound=Callable[..., Any])

OUTPUT_FORMATS = ("table", "json")


@dataclass
class Runtime:
    """What a command needs to act: AWS sessions, the config, the journal."""

    profile: str | None
    region: str | None
    config_path: Path | None = None
    journal_path: Path | None = None
    _factory: SessionFactory | None = field(default=None, repr=False)
    _config: RootctlConfig | None = field(default=None, repr=False)
    _journal: Journal | None = field(default=None, repr=False)

    @property
    def factory(self) -> SessionFactory:
        if self._factory is None:
            from rootctl.aws.session import SessionFactory

            self._factory = SessionFactory(profile=self.profile, region=self.region)
        return self._factory

    @property
    def config(self) -> RootctlConfig:
        if self._config is None:
            from rootctl.config import load_config

            self._config = load_config(self.config_path)
        return self._config

    @property
    def journal(self) -> Journal:
        if self._journal is None:
            from rootctl.journal import Journal

            self._journal = Journal(self.journal_path or Journal.default_path())
        return self._journal

    def existing_journal(self) -> Journal:
        """The journal for commands that read entries from it: a missing file is bad input."""
        if self._journal is None:
            from rootctl.journal import Journal

            self._journal = Journal(self.journal_path or Journal.default_path(), create=False)
        return self._journal

    def operator_arn(self) -> str:
        return self.factory.caller_identity().arn

    def close(self) -> None:
        if self._journal is not None:
            self._journal.close()


def runtime(
    ctx: click.Context, *, config: Path | None = None, journal: Path | None = None
) -> Runtime:
    """Build the runtime from the global options (--profile, --region) and the command's own."""
    root = ctx.find_root()
    obj = root.obj or {}
    rt = Runtime(
        profile=obj.get("profile"),
        region=obj.get("region"),
        config_path=config,
        journal_path=journal,
    )
    ctx.call_on_close(rt.close)
    return rt


def config_option(fn: F) -> F:
    return click.option(
        "-c",
        "--config",
        "config_path",
        type=click.Path(dir_okay=False, path_type=Path),
        help="rootctl.yaml to use (default: ./rootctl.yaml if present).",
    )(fn)


def journal_option(fn: F) -> F:
    return click.option(
        "--journal",
        "journal_path",
        type=click.Path(dir_okay=False, path_type=Path),
        envvar="ROOTCTL_JOURNAL",
        help="Journal file (default: the user's state directory, or $ROOTCTL_JOURNAL).",
    )(fn)


def output_option(*formats: str, default: str = "table") -> Callable[[F], F]:
    def decorate(fn: F) -> F:
        return click.option(
            "--output",
            "-o",
            "output",
            type=click.Choice(formats or OUTPUT_FORMATS),
            default=default,
            show_default=True,
            help="Output format. JSON is clean on stdout (no progress bar).",
        )(fn)

    return decorate


def change_options(fn: F) -> F:
    """--reason, --dry-run and --yes: every destructive command takes all three."""
    fn = click.option(
        "--yes", "-y", is_flag=True, help="Apply without asking (needed without a TTY)."
    )(fn)
    fn = click.option("--dry-run", is_flag=True, help="Show the plan and change nothing.")(fn)
    fn = click.option("--reason", help="Why (recorded in the journal). Required for changes.")(fn)
    return fn


def require_reason(reason: str | None, dry_run: bool = False) -> str:
    if dry_run:
        return reason or "(dry run)"
    if not reason or not reason.strip():
        raise UsageError(
            "--reason is required for a change: say why (it is recorded in the journal)"
        )
    return reason.strip()


def confirm(question: str, yes: bool) -> bool:
    """Ask on a TTY; refuse without one unless --yes was given."""
    if yes:
        return True
    if not sys.stdin.isatty():
        raise UsageError(
            "refusing to change anything without a TTY to confirm on: re-run with --yes"
        )
    return click.confirm(question, default=False, err=True)


def exit_code_for(outcomes: list[str]) -> int:
    """0 when every account succeeded or was skipped, 1 when some failed."""
    return 1 if any(outcome == "error" for outcome in outcomes) else 0
