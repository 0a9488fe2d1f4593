"""Decode a stored row into an entry, or say how it was edited; never raise on content.

Whoever can write the file can put anything in a row: text that is not JSON (or is JSON
too deep or too large to parse), NULL where rootctl always writes a value, numbers or blobs
instead of text, ids that are not integers or not in SQLite's range, bytes that are not
UTF-8. rootctl never writes such a row, so each is an edit: verify reports it as
"entry N was edited (...)", and every other reader refuses it with the same words
instead of a traceback.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any, Protocol

from rootctl.journal.model import ENTRY_FIELDS, JSON_FIELDS, StoredEntry

MAX_ID = 2**63 - 1  # SQLite's largest integer
# Columns rootctl always fills; the others may be NULL.
_REQUIRED = ("time", "prev_hash", "hash", "command", "action", "outcome")


class RowLike(Protocol):
    """What decode reads: a row's columns by name (sqlite3.Row, or a dict of every column)."""

    def __getitem__(self, key: str, /) -> Any: ...


@dataclass(frozen=True)
class BadRow:
    """A row that cannot be an entry rootctl wrote. `id` is None when the id itself is bad."""

    id: int | None
    problem: str

    def describe(self, expected_id: int | None = None) -> str:
        """'entry N was edited (why)': N is the row's id, or the id expected in its place."""
        entry_id = self.id if self.id is not None else expected_id
        what = "an entry" if entry_id is None else f"entry {entry_id}"
        return f"{what} was edited ({self.problem})"


def valid_id(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_ID


def check_id(entry_id: int) -> None:
    """UsageError (exit 2) for an id no journal can hold (every backend: SQLite's range)."""
    if not valid_id(entry_id):
        from rootctl.errors import UsageError

        raise UsageError(f"journal entry ids are 1 to {MAX_ID}, not {entry_id}")


def decode(row: RowLike) -> StoredEntry | BadRow:
    """The entry a row holds (an sqlite3.Row or a DynamoDB item as a dict of every column),
    or a BadRow naming the first thing wrong with it."""
    raw_id = row["id"]
    if not valid_id(raw_id):
        return BadRow(None, f"its id is {_short(raw_id)}, not an entry number")
    values: dict[str, Any] = {}
    for name in ("time", "prev_hash", "hash", *ENTRY_FIELDS):
        value = row[name]
        problem = _text_problem(name, value)
        if problem is not None:
            return BadRow(raw_id, problem)
        if name in JSON_FIELDS and value is not None:
            try:
                value = json.loads(value, parse_constant=_no_constant, parse_float=_finite)
            except (ValueError, RecursionError) as exc:
                return BadRow(raw_id, f"{name} is not valid JSON: {_first_line(exc)}")
        values[name] = value
    return StoredEntry(id=raw_id, **values)


def _text_problem(name: str, value: Any) -> str | None:
    if value is None:
        return f"{name} is empty (NULL)" if name in _REQUIRED else None
    if not isinstance(value, str):
        return f"{name} holds {type(value).__name__} data, not text"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return f"{name} is not UTF-8 text"
    return None


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _finite(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"number {text[:20]} is out of range")
    return number


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _first_line(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:120]
