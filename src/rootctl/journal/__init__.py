"""The append-only, hash-chained journal of root sessions and changes (docs/journal.md).

Every command that opens a root session or changes anything appends a `JournalEntry`;
`Journal.verify()` names the first entry that was edited, deleted or reordered since.
"""

from rootctl.journal.model import (
    GENESIS_HASH,
    JournalEntry,
    StoredEntry,
    VerifyResult,
    canonical_json,
    entry_hash,
)
from rootctl.journal.scrub import REDACTED, scrub_text, scrub_value
from rootctl.journal.store import Journal, JournalError

__all__ = [
    "GENESIS_HASH",
    "REDACTED",
    "Journal",
    "JournalEntry",
    "JournalError",
    "StoredEntry",
    "VerifyResult",
    "canonical_json",
    "entry_hash",
    "scrub_text",
    "scrub_value",
]
