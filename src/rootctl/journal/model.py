"""The journal's records and the hash that chains them.

The hash is defined here, apart from the store, so that anyone can re-check an exported
journal with nothing but `json` and `hashlib` (docs/journal.md shows how).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, fields
from datetime import date, datetime
from typing import Any

# The prev_hash of entry 1: there is nothing before it.
GENESIS_HASH = "0" * 64

OUTCOMES = ("ok", "error", "skipped", "refused", "planned")

# Every field of a JournalEntry, in the order the store and exports use.
ENTRY_FIELDS = (
    "run_id",
    "operator",
    "command",
    "reason",
    "account_id",
    "task_policy",
    "action",
    "target",
    "before",
    "after",
    "outcome",
    "error",
)
# The fields whose values are JSON documents rather than text.
JSON_FIELDS = ("before", "after")


@dataclass(frozen=True)
class JournalEntry:
    """What a command appends: one root session opened, or one change tried.

    `before` and `after` hold JSON-serialisable values (a policy document, the list of
    credentials found); `restore` reads a backed-up policy back from `before`. Secrets are
    scrubbed from them, and from `error` and `reason`, before anything is stored.
    """

    command: str
    action: str
    outcome: str
    account_id: str | None = None
    task_policy: str | None = None
    target: str | None = None
    reason: str | None = None
    operator: str | None = None
    before: Any = None
    after: Any = None
    error: str | None = None
    run_id: str | None = None


@dataclass(frozen=True)
class StoredEntry:
    """An entry as stored: its place in the chain plus everything that was appended."""

    id: int
    time: str
    prev_hash: str
    hash: str
    command: str
    action: str
    outcome: str
    account_id: str | None = None
    task_policy: str | None = None
    target: str | None = None
    reason: str | None = None
    operator: str | None = None
    before: Any = None
    after: Any = None
    error: str | None = None
    run_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The entry as a JSON object: chain fields first, then the entry's fields."""
        head = {"id": self.id, "time": self.time, "prev_hash": self.prev_hash, "hash": self.hash}
        return head | {name: getattr(self, name) for name in ENTRY_FIELDS}

    @property
    def entry(self) -> JournalEntry:
        """The appended entry (after scrubbing), without its place in the chain."""
        return JournalEntry(**{f.name: getattr(self, f.name) for f in fields(JournalEntry)})


@dataclass(frozen=True)
class VerifyResult:
    """The outcome of `Journal.verify()`.

    `first_bad_id` names the first entry that was edited, deleted or moved; `problem` says
    which in one line ("entry 7 was edited"). `head_hash` is the hash of the last entry:
    record it elsewhere to detect a rewrite of the whole chain later.
    """

    ok: bool
    entries: int
    first_bad_id: int | None = None
    problem: str | None = None
    head_hash: str = GENESIS_HASH


def _json_default(value: Any) -> Any:
    # boto3 responses carry datetimes (CreateDate, LastUsedDate): store them as ISO text.
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    raise TypeError(f"journal values must be JSON-serialisable, not {type(value).__name__}")


def canonical_json(value: Any) -> str:
    """One spelling per value: sorted keys, no spaces, UTF-8 text, no NaN.

    Re-encoding a value decoded from canonical JSON gives the same text, which is what
    lets verify recompute a hash from the stored columns.
    """
    return json.dumps(
        value,
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
        default=_json_default,
    )


def hash_record(entry_id: int, time: str, values: dict[str, Any]) -> dict[str, Any]:
    """The document an entry's hash covers: id, time and every entry field."""
    record: dict[str, Any] = {"id": entry_id, "time": time}
    for name in ENTRY_FIELDS:
        record[name] = values.get(name)
    return record


def entry_hash(prev_hash: str, entry_id: int, time: str, values: dict[str, Any]) -> str:
    """sha256(prev_hash + canonical JSON of the record), as hex."""
    document = canonical_json(hash_record(entry_id, time, values))
    return hashlib.sha256((prev_hash + document).encode("utf-8")).hexdigest()
