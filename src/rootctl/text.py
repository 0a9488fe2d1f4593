"""Untrusted text made safe for the places it is shown: a terminal line, a CSV cell.

Account and OU names, bucket and queue names, journal reasons, policies and error messages
come from AWS or from users. A value holding ESC or a C1 control can drive the operator's
terminal (recolour, move the cursor, OSC 52 writes the clipboard), a newline or carriage
return can forge an output line, and a bidi override can make text read differently than it
is. `clean` turns every such character into a visible escape (`\\x1b`, `\\n`, `\\u202e`), so
the value stays readable and unambiguous. JSON needs none of this (json.dumps escapes C0;
`clean_json` covers C1 and bidi, which it leaves raw with ensure_ascii=False).

`csv_cell` neutralises formula injection per OWASP's CSV-injection guidance: a cell that
starts with `=`, `+`, `-`, `@`, tab or carriage return is prefixed with a single quote.
"""

from __future__ import annotations

import html
import re
from typing import Any

# C0 except nothing, DEL, C1; bidi embeddings/overrides/isolates, LS/PS, zero-width and BOM.
_UNSAFE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff\ufff9-\ufffb]"
)
# In multi-line text (a policy, a plan) newlines and tabs are layout, not data.
_UNSAFE_MULTILINE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff\ufff9-\ufffb]"
)
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _escape(match: re.Match[str]) -> str:
    char = match.group(0)
    named = _NAMED.get(char)
    if named is not None:
        return named
    code = ord(char)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def clean(value: Any) -> str:
    """One terminal-safe line: every control, bidi and line-breaking character escaped."""
    text = value if isinstance(value, str) else str(value)
    return _UNSAFE.sub(_escape, text)


def clean_block(value: Any) -> str:
    """Terminal-safe multi-line text: keeps newlines and tabs, escapes every other control."""
    text = value if isinstance(value, str) else str(value)
    return _UNSAFE_MULTILINE.sub(_escape, text)


def is_clean(value: str) -> bool:
    """True when `clean` would leave the value unchanged."""
    return _UNSAFE.search(value) is None


_JSON_UNSAFE = re.compile("[\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff]")


def clean_json(text: str) -> str:
    """JSON text (ensure_ascii=False) with raw C1/bidi characters written as \\u escapes.

    json.dumps already escapes C0; the \\uXXXX form keeps the document's meaning unchanged.
    """
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group(0)):04x}", text)


def csv_cell(value: Any) -> str:
    """A CSV cell that a spreadsheet shows as text, never evaluates (OWASP CSV injection)."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    if text.startswith(_FORMULA_START):
        return "'" + text
    return text


def html_text(value: Any, quote: bool = True) -> str:
    """Untrusted text for HTML (element text or a quoted attribute): `clean`, then escaped.

    Escaping makes `<script>` inert; `clean` keeps a bidi override or an escape sequence
    from reordering or hiding text in the page, as it does on a terminal.
    """
    return html.escape(clean("" if value is None else value), quote=quote)
