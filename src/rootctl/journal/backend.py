"""Where a journal lives: one contract, two backends, chosen by the journal reference.

`--journal PATH` (or $ROOTCTL_JOURNAL) is the sqlite file (`Journal`); `dynamodb://TABLE`
is a DynamoDB table (`DynamoJournal`), for a Lambda whose disk is thrown away and for
invocations that run at once. Both keep the same hash chain (`model.entry_hash`), verify
with the same code (`verify.verify_rows`) and pass one contract test suite
(tests/journal/test_journal_contract.py), so every command reads either the same way.
"""

from __future__ import annotations

import builtins
import os
import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path, PosixPath
from typing import IO, TYPE_CHECKING, Protocol

from rootctl.errors import UsageError

if TYPE_CHECKING:
    from types import TracebackType

    from rootctl.aws import SessionFactory
    from rootctl.journal.anchor import Anchor
    from rootctl.journal.model import JournalEntry, StoredEntry, VerifyResult
    from rootctl.journal.store import Journal

DYNAMODB_SCHEME = "dynamodb://"
_TABLE_NAME = re.compile(r"[A-Za-z0-9_.-]{3,255}")


def check_table_name(name: str) -> str:
    """A DynamoDB table name (3-255 of A-Z a-z 0-9 _ . -), else exit 2 before any call."""
    if not _TABLE_NAME.fullmatch(name):
        raise UsageError(
            f"journal dynamodb://{name[:60]}: a table name is 3 to 255 letters, digits, _ . or -"
        )
    return name


class TablePath(PosixPath):
    """`dynamodb://TABLE` where a journal path is expected (`--journal`, `journal.path`).

    A Path, so the commands' `--journal` values and `journal.path` keep one type; it never
    names a file. Code written for the file journal asks `journal.path.exists()` before
    reading: a table journal is checked when it is opened, so it exists.
    """

    @classmethod
    def of(cls, table: str) -> TablePath:
        return cls("dynamodb:", check_table_name(table))

    @property
    def table(self) -> str:
        return self.name

    @property
    def ref(self) -> str:
        return f"{DYNAMODB_SCHEME}{self.name}"

    def exists(self, *args: object, **kwargs: object) -> bool:
        return True


def as_ref(value: str | Path) -> Path:
    """A --journal / $ROOTCTL_JOURNAL value as a Path: a TablePath for dynamodb://TABLE."""
    if isinstance(value, Path):
        return value
    if value.lower().startswith(DYNAMODB_SCHEME):
        return TablePath.of(value[len(DYNAMODB_SCHEME) :])
    if "://" in value:
        raise UsageError(
            f"journal {value[:80]!r}: only file paths and dynamodb://TABLE are journals"
        )
    return Path(value).expanduser()


class JournalBackend(Protocol):
    """What every journal offers; the commands and the facade use nothing else."""

    @property
    def location(self) -> str:
        """The journal as the operator named it (a path, or dynamodb://TABLE), for messages."""
        ...

    def append(self, entry: JournalEntry) -> StoredEntry: ...

    def get(self, entry_id: int) -> StoredEntry: ...

    def list(
        self,
        *,
        account_id: str | None = None,
        command: str | None = None,
        action: str | None = None,
        outcome: str | None = None,
        run_id: str | None = None,
        since: str | datetime | None = None,
        limit: int | None = None,
    ) -> builtins.list[StoredEntry]: ...

    def verified_entries(
        self,
        *,
        account_id: str | None = None,
        command: str | None = None,
        action: str | None = None,
        outcome: str | None = None,
        run_id: str | None = None,
    ) -> builtins.list[StoredEntry]: ...

    def verified_entry(self, entry_id: int) -> StoredEntry: ...

    def entries_after(
        self, after_id: int, *, until_id: int | None = None, newest_first: bool = False
    ) -> Iterator[StoredEntry]:
        """Entries with after_id < id <= until_id (None: the head), a page at a time, in id
        order or newest first: a reader that stops early reads no further (unverified)."""
        ...

    def verify(self, expect_head: str | None = None) -> VerifyResult: ...

    def verify_since(self, anchor: Anchor) -> VerifyResult:
        """Verify from a trusted anchor: its entry and those after it only."""
        ...

    def export_jsonl(self, out: IO[str]) -> int: ...

    def close(self) -> None: ...

    def __enter__(self) -> JournalBackend: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


def default_ref() -> Path | None:
    """$ROOTCTL_JOURNAL (a path or dynamodb://TABLE), or None."""
    value = os.environ.get("ROOTCTL_JOURNAL")
    return as_ref(value) if value else None


def is_table(ref: str | Path | None) -> bool:
    """True when `ref` (None: $ROOTCTL_JOURNAL) names a DynamoDB table."""
    ref = default_ref() if ref is None else ref
    return isinstance(ref, TablePath) or (
        isinstance(ref, str) and ref.lower().startswith(DYNAMODB_SCHEME)
    )


def open_journal(
    ref: str | Path | None,
    *,
    factory: SessionFactory | None = None,
    create: bool = True,
    readonly: bool = False,
) -> Journal:
    """The journal `ref` names (None: $ROOTCTL_JOURNAL, else the per-user sqlite file).

    `create=False` refuses a missing sqlite file; a DynamoDB table is never created here
    (deploy/ creates it): a missing table or one of another shape is one line, exit 2.
    """
    from rootctl.journal.store import Journal

    path = as_ref(ref) if ref is not None else default_ref()
    if isinstance(path, TablePath):
        from rootctl.journal.dynamodb import DynamoJournal

        return DynamoJournal(path.table, factory=factory, readonly=readonly)
    return Journal(path or Journal.default_path(), create=create, readonly=readonly)
