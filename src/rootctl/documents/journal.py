"""`rootctl.journal-entry/v1`: one journal entry as `journal show --output json` and each line
of `journal export` give it (chain fields first, then the entry's fields).

The `schema` key is new (additive); the hash does not cover it (docs/journal.md lists the
fields the hash covers), so an exported line still verifies with `json` and `hashlib` alone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final, Literal

from pydantic import Field

from rootctl.documents.base import Document

if TYPE_CHECKING:
    from rootctl.journal import StoredEntry

JOURNAL_ENTRY_SCHEMA: Final = "rootctl.journal-entry/v1"


class JournalEntryDocument(Document):
    schema_id: Literal["rootctl.journal-entry/v1"] = Field(
        default=JOURNAL_ENTRY_SCHEMA, alias="schema"
    )
    id: int
    time: str  # as stored and hashed (isoformat, +00:00): never re-spelt
    prev_hash: str
    hash: str
    run_id: str | None
    operator: str | None
    command: str
    reason: str | None
    account_id: str | None
    task_policy: str | None
    action: str
    target: str | None
    before: Any
    after: Any
    outcome: str
    error: str | None


def journal_entry_document(entry: StoredEntry) -> JournalEntryDocument:
    """The document of one stored entry (exactly its stored values)."""
    return JournalEntryDocument.model_validate(entry.to_dict())


def journal_line(entry: StoredEntry) -> str:
    """One `journal export` line: compact JSON, no newline inside."""
    from rootctl.documents.base import dump

    return dump(journal_entry_document(entry), indent=None)
