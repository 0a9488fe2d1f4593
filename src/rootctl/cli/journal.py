"""`rootctl journal list|show|verify|export`: read the journal of root sessions and changes.

Reading never creates a journal: a mistyped --journal path is an error, not an empty list.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import click

from rootctl.cli.common import journal_option, output_option

if TYPE_CHECKING:
    from rootctl.journal import Journal, StoredEntry

_LIST_COLUMNS = ("id", "time", "account", "command", "action", "target", "outcome", "error")


@click.group()
@journal_option
@click.pass_context
def journal(ctx: click.Context, journal_path: Path | None) -> None:
    """List, show, verify and export the append-only journal of root sessions and changes.

    Every root session opened and every change tried is an entry, chained to the one
    before by a sha256 hash; `verify` names the first entry edited, deleted or reordered.
    """
    ctx.ensure_object(dict)
    ctx.obj["journal_path"] = journal_path


def _open(ctx: click.Context) -> Journal:
    from rootctl.journal import Journal

    path = ctx.obj.get("journal_path") or Journal.default_path()
    opened = Journal(path, create=False)
    ctx.call_on_close(opened.close)
    return opened


@journal.command("list")
@click.option("--account", "account_id", help="Only entries of this account id.")
@click.option(
    "--command", "command", help="Only entries of this command (e.g. delete-credentials)."
)
@click.option("--action", help="Only entries of this action (e.g. assume-root).")
@click.option(
    "--outcome",
    type=click.Choice(["ok", "error", "skipped", "refused", "planned"]),
    help="Only this outcome.",
)
@click.option("--run", "run_id", help="Only entries of this run (one command invocation).")
@click.option("--since", help="Only entries at or after this ISO-8601 time (UTC if no zone).")
@click.option(
    "--limit", "-n", type=click.IntRange(0), help="Only the most recent N matching entries."
)
@output_option("table", "json")
@click.pass_context
def list_entries(
    ctx: click.Context,
    account_id: str | None,
    command: str | None,
    action: str | None,
    outcome: str | None,
    run_id: str | None,
    since: str | None,
    limit: int | None,
    output: str,
) -> None:
    """List entries, oldest first (before/after are shown by `show`)."""
    entries = _open(ctx).list(
        account_id=account_id,
        command=command,
        action=action,
        outcome=outcome,
        run_id=run_id,
        since=since,
        limit=limit,
    )
    if output == "json":
        click.echo(json.dumps([e.to_dict() for e in entries], indent=2, ensure_ascii=False))
        return
    rows = [_list_row(e) for e in entries]
    if _is_tty():
        _rich_table(_LIST_COLUMNS, rows, title=f"{len(rows)} journal entries")
    else:
        _plain_table(_LIST_COLUMNS, rows, sys.stdout)


@journal.command()
@click.argument("entry_id", metavar="ID", type=click.IntRange(1))
@output_option("table", "json")
@click.pass_context
def show(ctx: click.Context, entry_id: int, output: str) -> None:
    """Show one entry in full, including the before and after values."""
    entry = _open(ctx).get(entry_id)
    if output == "json":
        click.echo(json.dumps(entry.to_dict(), indent=2, ensure_ascii=False))
        return
    pairs = [(key, _show_value(value)) for key, value in entry.to_dict().items()]
    if _is_tty():
        _rich_table(("field", "value"), pairs, title=f"journal entry {entry.id}")
    else:
        width = max(len(key) for key, _ in pairs)
        for key, value in pairs:
            lines = value.splitlines() or [""]
            click.echo(f"{key:<{width}}  {lines[0]}")
            for line in lines[1:]:
                click.echo(f"{'':<{width}}  {line}")


@journal.command()
@output_option("table", "json")
@click.pass_context
def verify(ctx: click.Context, output: str) -> None:
    """Check every hash and link; exit 1 naming the first edited, deleted or reordered entry.

    The head hash printed on success covers the whole chain: keep it somewhere else to
    prove later that nothing before it was rewritten.
    """
    result = _open(ctx).verify()
    if output == "json":
        fields = ("ok", "entries", "first_bad_id", "problem", "head_hash")
        click.echo(json.dumps({name: getattr(result, name) for name in fields}, indent=2))
    elif result.ok:
        click.echo(f"ok: {result.entries} entries, chain intact; head {result.head_hash}")
    else:
        click.echo(f"error: journal verification failed: {result.problem}", err=True)
    if not result.ok:
        ctx.exit(1)


@journal.command()
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["jsonl"]),
    default="jsonl",
    show_default=True,
    help="One JSON object per line, with the chain fields (id, time, prev_hash, hash).",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write to FILE instead of stdout.",
)
@click.pass_context
def export(ctx: click.Context, fmt: str, out: Path | None) -> None:
    """Export every entry, oldest first (for a SIEM, an archive or an outside check)."""
    opened = _open(ctx)
    if out is None:
        opened.export_jsonl(sys.stdout)
        return
    from rootctl.errors import UsageError

    try:
        with out.open("w", encoding="utf-8", newline="\n") as handle:
            count = opened.export_jsonl(handle)
    except OSError as exc:
        raise UsageError(f"cannot write {out}: {exc.strerror}") from exc
    click.echo(f"exported {count} entries to {out}", err=True)


def _list_row(entry: StoredEntry) -> tuple[str, ...]:
    return (
        str(entry.id),
        entry.time[:19].replace("T", " "),
        entry.account_id or "-",
        entry.command,
        entry.action,
        entry.target or "-",
        entry.outcome,
        _one_line(entry.error or ""),
    )


def _one_line(text: str, width: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 3] + "..."


def _show_value(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, dict | list):
        return json.dumps(value, indent=2, ensure_ascii=False)
    return str(value)


def _is_tty() -> bool:
    return sys.stdout.isatty()


def _rich_table(columns: tuple[str, ...], rows: Sequence[tuple[str, ...]], *, title: str) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table(title=title, title_justify="left")
    for column in columns:
        table.add_column(column.upper(), overflow="fold")
    for row in rows:
        # Text, not markup: "[redacted]" and ARNs must print as they are.
        table.add_row(*(Text(cell) for cell in row))
    Console().print(table)


def _plain_table(columns: tuple[str, ...], rows: Sequence[tuple[str, ...]], out: TextIO) -> None:
    """Aligned columns without colour or box characters: stable for grep and awk."""
    header = tuple(c.upper() for c in columns)
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(columns))]
    for row in [header, *rows]:
        line = "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        out.write(line.rstrip() + "\n")
