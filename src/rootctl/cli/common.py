"""Shared CLI plumbing: options every command uses, the runtime they build, confirmation.

Commands stay thin: parse flags, get the facade (`runtime`), call it, render, exit.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from rootctl.errors import UsageError

if TYPE_CHECKING:
    from rootctl.api import Rootctl

F = TypeVar("F", bound=Callable[..., Any])

OUTPUT_FORMATS = ("table", "json")


def runtime(
    ctx: click.Context, *, config: Path | None = None, journal: Path | None = None
) -> Rootctl:
    """The facade, from the global options (--profile, --region) and the command's own.

    The config is loaded on first use, so commands that need none (status, events) are not
    stopped by a broken ./rootctl.yaml; every command that needs it loads it before any AWS
    call. The journal is closed when the command ends.
    """
    from rootctl.api import Rootctl

    root = ctx.find_root()
    obj = root.obj or {}
    rc = Rootctl(
        profile=obj.get("profile"),
        region=obj.get("region"),
        config=config,
        journal_ref=journal,
    )
    ctx.call_on_close(rc.close)
    return rc


def config_option(fn: F) -> F:
    return click.option(
        "-c",
        "--config",
        "config_path",
        type=click.Path(dir_okay=False, path_type=Path),
        help="rootctl.yaml to use (default: ./rootctl.yaml if present).",
    )(fn)


class JournalRef(click.ParamType):  # type: ignore[type-arg]  # generic from click 8.2 only
    """A journal file path, or dynamodb://TABLE (a `TablePath`, so commands keep one type)."""

    name = "PATH|dynamodb://TABLE"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Path:
        from rootctl.journal.backend import as_ref

        if isinstance(value, Path):
            return value
        text = str(value)
        if text.lower().startswith("dynamodb://") or "://" in text:
            return as_ref(text)  # a bad table name is our one line, exit 2
        return click.Path(dir_okay=False, path_type=Path).convert(text, param, ctx)  # type: ignore[no-any-return]


def journal_option(fn: F) -> F:
    return click.option(
        "--journal",
        "journal_path",
        type=JournalRef(),
        envvar="ROOTCTL_JOURNAL",
        help="Journal file, or dynamodb://TABLE (default: $ROOTCTL_JOURNAL, else a file in "
        "the user's state directory).",
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
