"""`rootctl journal list|show|verify|head|export`: read the journal of root sessions and changes.

Reading never creates a journal and never writes to one: a mistyped --journal path is an
error, not an empty list, and the file is opened read-only (docs/journal.md, "The file").
`--journal` is accepted before or after the subcommand.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import click

from rootctl.cli.common import journal_option, output_option
from rootctl.errors import UsageError
from rootctl.text import clean, clean_block, clean_json

if TYPE_CHECKING:
    from rootctl.aws import SessionFactory
    from rootctl.journal import Journal, StoredEntry, VerifyResult
    from rootctl.journal.anchor import AnchorRef

_LIST_COLUMNS = ("id", "time", "account", "command", "action", "target", "outcome", "error")
MAX_ID = 2**63 - 1  # SQLite's largest integer: larger ids are bad input, not a crash
_HEX = frozenset("0123456789abcdef")


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
    ctx.obj["journal_typed"] = _typed(ctx)


def _typed(ctx: click.Context) -> bool:
    return ctx.get_parameter_source("journal_path") is click.core.ParameterSource.COMMANDLINE


def _open(ctx: click.Context, own: Path | None) -> Journal:
    """The journal, read-only, from --journal after the subcommand, before it, or the default."""
    from rootctl.journal.backend import TablePath, is_table, open_journal

    group: Path | None = ctx.obj.get("journal_path")
    path: Path | None
    if own is not None and _typed(ctx):
        if ctx.obj.get("journal_typed") and group is not None and group != own:
            raise UsageError(f"--journal given twice with different files ({group} and {own})")
        path = own
    else:
        path = group or own
    table = isinstance(path, TablePath) or (path is None and is_table(None))
    opened = open_journal(path, factory=_factory(ctx) if table else None, readonly=True)
    ctx.call_on_close(opened.close)
    return opened


def _factory(ctx: click.Context) -> SessionFactory:
    """The operator's session (global --profile/--region) for a table journal or an anchor."""
    from rootctl.aws import SessionFactory

    obj = ctx.find_root().obj or {}
    return SessionFactory(profile=obj.get("profile"), region=obj.get("region"))


def _expect_head(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is None:
        return None
    text = value.strip().lower()
    if len(text) != 64 or not set(text) <= _HEX:
        raise click.BadParameter("must be a head hash: 64 hex digits, as `journal head` prints")
    return text


def _expect_head_option(fn: Any) -> Any:
    return click.option(
        "--expect-head",
        callback=_expect_head,
        metavar="HASH",
        help="Also fail unless the chain holds the entry with this hash (an anchor kept "
        "elsewhere from `journal head`): proves nothing up to it was rewritten.",
    )(fn)


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
    "--limit",
    "-n",
    type=click.IntRange(0, MAX_ID),
    help="Only the most recent N matching entries.",
)
@output_option("table", "json")
@journal_option
@click.pass_context
def list_entries(
    ctx: click.Context,
    journal_path: Path | None,
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
    entries = _open(ctx, journal_path).list(
        account_id=account_id,
        command=command,
        action=action,
        outcome=outcome,
        run_id=run_id,
        since=since,
        limit=limit,
    )
    from rootctl.outputs import guarded_stdout

    with guarded_stdout() as out:
        if output == "json":
            from rootctl.documents.base import to_data
            from rootctl.documents.journal import journal_entry_document

            data = [to_data(journal_entry_document(e)) for e in entries]
            out.write(clean_json(json.dumps(data, indent=2, ensure_ascii=False)))
            out.write("\n")
            return
        rows = [_list_row(e) for e in entries]
        if _is_tty():
            _rich_table(_LIST_COLUMNS, rows, title=f"{len(rows)} journal entries")
        else:
            _plain_table(_LIST_COLUMNS, rows, out)


@journal.command()
@click.argument("entry_id", metavar="ID", type=click.IntRange(1, MAX_ID))
@output_option("table", "json")
@journal_option
@click.pass_context
def show(ctx: click.Context, journal_path: Path | None, entry_id: int, output: str) -> None:
    """Show one entry in full, including the before and after values."""
    from rootctl.outputs import guarded_stdout

    entry = _open(ctx, journal_path).get(entry_id)
    with guarded_stdout() as out:
        if output == "json":
            from rootctl.documents.base import dump
            from rootctl.documents.journal import journal_entry_document

            out.write(dump(journal_entry_document(entry)) + "\n")
            return
        pairs = [(key, _show_value(value)) for key, value in entry.to_dict().items()]
        if _is_tty():
            _rich_table(("field", "value"), pairs, title=f"journal entry {entry.id}")
            return
        width = max(len(key) for key, _ in pairs)
        for key, value in pairs:
            lines = value.splitlines() or [""]
            out.write(f"{key:<{width}}  {lines[0]}\n")
            for line in lines[1:]:
                out.write(f"{'':<{width}}  {line}\n")


def _anchor_ref(ctx: click.Context, param: click.Parameter, value: str | None) -> AnchorRef | None:
    from rootctl.journal.anchor import parse_anchor_ref

    return None if value is None else parse_anchor_ref(value)


@journal.command()
@_expect_head_option
@click.option(
    "--anchor",
    "anchor",
    callback=_anchor_ref,
    metavar="ssm://NAME|s3://BUCKET/KEY",
    help="Also fail unless the chain holds the head stored there (written by the Lambda "
    "after each run, or by `journal head --to`): detects a rewrite of the whole journal.",
)
@click.option(
    "--since-anchor",
    is_flag=True,
    help="With --anchor: trust the anchor and verify only from it (its entry must still "
    "have its hash, every later entry must chain from it): reads the entries since the "
    "anchor, not the whole journal. Entries before it are not checked.",
)
@output_option("table", "json")
@journal_option
@click.pass_context
def verify(
    ctx: click.Context,
    journal_path: Path | None,
    expect_head: str | None,
    anchor: AnchorRef | None,
    since_anchor: bool,
    output: str,
) -> None:
    """Check every hash and link; exit 1 naming the first edited, deleted or reordered entry.

    The head hash printed on success covers the whole chain: keep it somewhere else
    (`journal head`) and pass it as --expect-head later to prove nothing before it was
    rewritten, even if the whole chain was recomputed.
    """
    from rootctl.outputs import write_stdout

    if since_anchor and (anchor is None or expect_head is not None):
        raise UsageError(
            "--since-anchor needs --anchor (and no --expect-head): it verifies from the "
            "anchor stored there"
        )
    opened = _open(ctx, journal_path)
    since: dict[str, Any] | None = None
    if since_anchor:
        assert anchor is not None
        result, since = _verify_since(ctx, opened, anchor)
    else:
        if anchor is not None:
            expect_head = _anchored_head(ctx, anchor, expect_head)
        result = opened.verify(expect_head)
    if output == "json":
        fields = ("ok", "entries", "first_bad_id", "problem", "head_hash")
        document = {name: getattr(result, name) for name in fields}
        if since is not None:
            document["since_anchor"] = since
        write_stdout(json.dumps(document, indent=2) + "\n")
    elif result.ok and since is not None:
        write_stdout(
            f"ok: {since['checked']} entries after the anchor (entry {since['entries']}) "
            f"chain from it, {result.entries} in all; head {result.head_hash}\n"
        )
    elif result.ok:
        anchored = " (contains the expected head)" if expect_head else ""
        write_stdout(
            f"ok: {result.entries} entries, chain intact{anchored}; head {result.head_hash}\n"
        )
    _fail_unless_ok(ctx, result)


def _verify_since(
    ctx: click.Context, opened: Journal, anchor: AnchorRef
) -> tuple[VerifyResult, dict[str, Any]]:
    """Verify from the anchor stored at `anchor` (a missing one is exit 2 here)."""
    from rootctl.journal.anchor import verify_from_anchor

    done = verify_from_anchor(opened, anchor, _factory(ctx), missing_ok=False)
    assert done.anchor is not None
    since = {
        "anchor": str(anchor),
        "entries": done.anchor.entries,
        "head": done.anchor.head,
        "checked": done.checked,
    }
    return done.result, since


def _anchored_head(ctx: click.Context, anchor: AnchorRef, expect_head: str | None) -> str | None:
    from rootctl.journal.anchor import read_anchor

    stored = read_anchor(anchor, _factory(ctx))
    if stored.entries == 0:
        return expect_head  # anchored before the first entry (deploy/ creates it so): no constraint
    if expect_head is not None and expect_head != stored.head:
        raise UsageError(f"--expect-head and the head in {anchor} differ: give one of them")
    return stored.head


def _fail_unless_ok(ctx: click.Context, result: VerifyResult) -> None:
    if not result.ok:
        click.echo(f"error: journal verification failed: {result.problem}", err=True)
        ctx.exit(1)


@journal.command()
@_expect_head_option
@click.option(
    "--to",
    "to",
    callback=_anchor_ref,
    metavar="ssm://NAME|s3://BUCKET/KEY",
    help="Also store the anchor there (an SSM parameter or S3 object) once verified.",
)
@journal_option
@click.pass_context
def head(
    ctx: click.Context, journal_path: Path | None, expect_head: str | None, to: AnchorRef | None
) -> None:
    """Verify, then print {"entries": N, "head": HASH}: the anchor to keep somewhere safe.

    Copy it off this machine (a cron job, a ticket, a write-once bucket); later,
    `rootctl journal verify --expect-head HASH` fails if the chain was rewritten. Nothing
    is printed on stdout for a journal that does not verify, so an edit is never anchored.
    """
    from rootctl.outputs import write_stdout

    result = _open(ctx, journal_path).verify(expect_head)
    _fail_unless_ok(ctx, result)
    if to is not None:
        from rootctl.journal.anchor import Anchor, write_anchor

        write_anchor(to, Anchor(result.entries, result.head_hash), _factory(ctx))
    write_stdout(json.dumps({"entries": result.entries, "head": result.head_hash}) + "\n")


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
    type=click.Path(path_type=Path),
    help="Write to FILE instead of stdout (mode 0600, replaced only once complete; "
    "never the journal or another SQLite database).",
)
@journal_option
@click.pass_context
def export(ctx: click.Context, journal_path: Path | None, fmt: str, out: Path | None) -> None:
    """Export every entry, oldest first (for a SIEM, an archive or an outside check)."""
    from rootctl.outputs import check_output, guarded_stdout, open_output

    opened = _open(ctx, journal_path)
    if out is None:
        with guarded_stdout() as stdout:
            opened.export_jsonl(stdout)
        return
    check_output(out, protected=[opened.path])
    with open_output(out, protected=[opened.path]) as handle:
        count = opened.export_jsonl(handle)
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
        return clean_block(json.dumps(value, indent=2, ensure_ascii=False))
    return clean_block(value)


def _is_tty() -> bool:
    return sys.stdout.isatty()


def _rich_table(columns: tuple[str, ...], rows: Sequence[tuple[str, ...]], *, title: str) -> None:
    from rich.table import Table
    from rich.text import Text

    from rootctl.reports.terminal import console

    table = Table(title=title, title_justify="left")
    for column in columns:
        table.add_column(column.upper(), overflow="fold")
    for row in rows:
        # Text, not markup: "[redacted]" and ARNs must print as they are.
        table.add_row(*(Text(clean_block(cell)) for cell in row))
    console().print(table)


def _plain_table(columns: tuple[str, ...], rows: Sequence[tuple[str, ...]], out: TextIO) -> None:
    """Aligned columns without colour or box characters: stable for grep and awk."""
    header = tuple(c.upper() for c in columns)
    rows = [tuple(clean(cell) for cell in row) for row in rows]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(columns))]
    for row in [header, *rows]:
        line = "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        out.write(line.rstrip() + "\n")
