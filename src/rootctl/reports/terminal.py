"""Rich output for people, made safe for untrusted text and for logs.

Two rules every table and line rootctl prints follows (issue 12.3):

- Untrusted text (account, OU, bucket and queue names, journal reasons, AWS error messages)
  never drives the terminal and is never read as Rich markup: it goes in as `cell(value)`
  (a `Text`, escaped by `rootctl.text.clean`), or as `markup(value)` inside a line that
  carries rootctl's own markup (`[red]error:[/]`).
- On a terminal a table fits the window; anywhere else (a pipe, a file, a CI log) it keeps
  its natural width, so an account id is never folded across two lines. Rich would
  otherwise assume 80 columns.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TextIO

from rootctl.text import clean

if TYPE_CHECKING:
    from rich.console import Console
    from rich.text import Text

# Wide enough that no real table or line reaches it: Rich lays a table out at its natural
# width when the page is wider, and does not pad lines to the page width.
NATURAL_WIDTH = 100_000


def is_tty(stream: Any) -> bool:
    """True when `stream` is an open terminal."""
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def console(out: TextIO | None = None, *, stderr: bool = False) -> Console:
    """A Console on `out` (default stdout, or stderr) with the two rules above.

    Markup stays on for rootctl's own styles; untrusted values must come in through `cell`
    or `markup`. Highlighting and emoji codes are off: `:smile:` in an account name stays text.
    """
    import sys

    from rich.console import Console

    stream = out if out is not None else (sys.stderr if stderr else sys.stdout)
    return Console(
        file=stream,
        width=None if is_tty(stream) else NATURAL_WIDTH,
        highlight=False,
        emoji=False,
        soft_wrap=False,
    )


def cell(value: Any) -> Text:
    """An untrusted value as a table cell: controls escaped, never markup."""
    from rich.text import Text

    return Text("" if value is None else clean(value))


def markup(value: Any) -> str:
    """An untrusted value for a string that Rich reads as markup: controls and `[` escaped."""
    from rich.markup import escape

    return escape("" if value is None else clean(value))
