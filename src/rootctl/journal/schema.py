"""The journal's tables, how a new journal gets them, and how an existing file is checked.

A file is a journal when it holds exactly these tables, with these columns, and the
schema version rootctl reads. Anything else is refused before it is read or written.
"""

from __future__ import annotations

import sqlite3

from rootctl.journal.model import ENTRY_FIELDS

SCHEMA_VERSION = "1"

SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
    id INTEGER PRIMARY KEY,
    time TEXT NOT NULL,
    run_id TEXT,
    operator TEXT,
    command TEXT NOT NULL,
    reason TEXT,
    account_id TEXT,
    task_policy TEXT,
    action TEXT NOT NULL,
    target TEXT,
    before TEXT,
    after TEXT,
    outcome TEXT NOT NULL,
    error TEXT,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS entries_account ON entries (account_id);
CREATE INDEX IF NOT EXISTS entries_run ON entries (run_id);
CREATE TABLE IF NOT EXISTS head (
    one INTEGER PRIMARY KEY CHECK (one = 1),
    count INTEGER NOT NULL,
    hash TEXT NOT NULL,
    time TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""

TABLES = frozenset({"entries", "head", "meta"})
COLUMNS = ("id", "time", "prev_hash", "hash", *ENTRY_FIELDS)
_HEAD_COLUMNS = frozenset({"one", "count", "hash", "time"})


def build_schema(conn: sqlite3.Connection) -> None:
    """Give a new, empty database the journal's tables, WAL mode and version."""
    conn.execute("PRAGMA journal_mode=WAL")  # persists in the file
    conn.executescript(
        f"BEGIN;{SCHEMA}INSERT INTO meta (key, value) VALUES ('schema_version', '{SCHEMA_VERSION}');COMMIT;"
    )


def schema_problem(conn: sqlite3.Connection) -> str | None:
    """What makes this database not a journal (to follow 'journal PATH'), or None.

    Reads only: it runs before anything may be written, so a foreign database is left
    exactly as it was.
    """
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if not tables:
        return "is an SQLite database without tables (schema-less): not a rootctl journal"
    if tables - TABLES:
        extra = ", ".join(sorted(tables - TABLES)[:5])
        return f"is an SQLite database with other tables ({extra}): not a rootctl journal"
    if tables != TABLES:
        missing = ", ".join(sorted(TABLES - tables))
        return f"lacks the table(s) {missing}: not a rootctl journal, or it was edited"
    for table, wanted in (("entries", frozenset(COLUMNS)), ("head", _HEAD_COLUMNS)):
        have = {r[1] for r in conn.execute(f"PRAGMA table_info({table})")}
        if wanted - have:
            missing = ", ".join(sorted(wanted - have))
            return f"has no column(s) {missing} in table {table}: it was edited"
    row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    if row is None:
        return "has no schema version: it was edited, or is not a rootctl journal"
    if row[0] != SCHEMA_VERSION:
        return f"has schema version {str(row[0])[:20]!r}; this rootctl reads version {SCHEMA_VERSION} (upgrade rootctl)"
    return None
