"""The append-only, hash-chained journal of root sessions and changes (docs/journal.md).

Every command that opens a root session or changes anything appends a `JournalEntry`;
`Journal.verify()` names the first entry that was edited, deleted or reordered since.
A command run appends through one `Recorder` (command, operator, reason and run id).
"""

from rootctl.journal.model import (
    GENESIS_HASH,
    JournalEntry,
    StoredEntry,
    VerifyResult,
    canonical_json,
    entry_hash,
)
from rootctl.journal.record import ASSUME_ROOT, Recorder, root_arn
from rootctl.journal.scrub import REDACTED, scrub_text, scrub_value
from rootctl.journal.store import Journal, JournalError, UnverifiedJournal

__all__ = [
    "ASSUME_ROOT",
    "GENESIS_HASH",
    "REDACTED",
    "Journal",
    "JournalEntry",
    "JournalError",
    "Recorder",
    "StoredEntry",
    "UnverifiedJournal",
    "VerifyResult",
    "canonical_json",
    "entry_hash",
    "root_arn",
    "scrub_text",
    "scrub_value",
]
