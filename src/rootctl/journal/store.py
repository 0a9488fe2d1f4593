"""The journal file: an append-only, hash-chained table in sqlite3.

Each append is one `BEGIN IMMEDIATE` transaction that reads the head (count and last
hash), inserts entry count+1 chained to it, and moves the head. The write lock makes the
read-then-insert atomic across threads and processes, so the chain never forks; the
single commit means a process killed at any moment leaves either the whole entry or
none of it. Threads of one process share one connection behind a lock (sqlite admits one
writer at a time anyway, and queueing on a lock beats spinning on SQLITE_BUSY); other
processes wait on sqlite's busy timeout.
"""

from __future__ import annotations

import builtins
import json
import os
import sqlite3
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from rootctl.errors import RootctlError, UsageError
from rootctl.journal.model import (
    ENTRY_FIELDS,
    GENESIS_HASH,
    JSON_FIELDS,
    JournalEntry,
    StoredEntry,
    VerifyResult,
    canonical_json,
    entry_hash,
)
from rootctl.journal.scrub import scrub_text, scrub_value
from rootctl.journal.verify import Head, Row, verify_rows

SCHEMA_VERSION = "1"
# How long an append waits for another process's write before giving up.
BUSY_TIMEOUT_SECONDS = 60.0

_SCHEMA = """
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

_TABLES = {"entries", "head", "meta"}
_COLUMNS = ("id", "time", "prev_hash", "hash", *ENTRY_FIELDS)
_SELECT = f"SELECT {', '.join(_COLUMNS)} FROM entries"
_INSERT = f"INSERT INTO entries ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})"


class JournalError(RootctlError):
    """The journal could not be written or read (locked too long, disk full, not a journal)."""


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _normalise_since(since: str | datetime) -> str:
    """An ISO-8601 time (naive means UTC) in the journal's own spelling, for comparison."""
    if isinstance(since, str):
        try:
            since = datetime.fromisoformat(since)
        except ValueError as exc:
            raise UsageError(
                f"--since {since!r} is not an ISO-8601 time (e.g. 2025-01-31T12:00:00Z)"
            ) from exc
    if since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    return since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _prepare(entry: JournalEntry) -> dict[str, Any]:
    """The entry's values as stored: text fields as str, secrets scrubbed, JSON normalised."""
    values: dict[str, Any] = {}
    for name in ENTRY_FIELDS:
        value = getattr(entry, name)
        if name in JSON_FIELDS:
            # Round-trip through canonical JSON so the returned entry equals what get() reads.
            value = None if value is None else json.loads(canonical_json(scrub_value(value)))
        elif name in ("error", "reason") and value is not None:
            value = scrub_text(str(value))
        else:
            value = _text(value)
        values[name] = value
    return values


def _row_values(row: sqlite3.Row) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name in ENTRY_FIELDS:
        value = row[name]
        values[name] = json.loads(value) if name in JSON_FIELDS and value is not None else value
    return values


def _stored(row: sqlite3.Row) -> StoredEntry:
    return StoredEntry(
        id=row["id"],
        time=row["time"],
        prev_hash=row["prev_hash"],
        hash=row["hash"],
        **_row_values(row),
    )


class Journal:
    """An append-only, hash-chained journal of root sessions and changes in one sqlite file.

    Safe to share between threads; open one Journal per process (a forked child that
    inherits one reconnects on first use). `create=False` refuses a missing file instead
    of creating it, for commands that only read.
    """

    def __init__(self, path: str | Path, *, create: bool = True) -> None:
        self.path = Path(path).expanduser()
        self._create = create
        self._lock = threading.RLock()
        self._conn: sqlite3.Connection | None = None
        self._inherited: builtins.list[sqlite3.Connection] = []
        self._pid = os.getpid()
        self._connection()  # fail now, with the path in the message, not at first append

    @classmethod
    def default_path(cls) -> Path:
        """$ROOTCTL_JOURNAL, else the platform's per-user state directory."""
        override = os.environ.get("ROOTCTL_JOURNAL")
        if override:
            return Path(override).expanduser()
        return _state_dir() / "rootctl" / "journal.sqlite3"

    # -- connection -------------------------------------------------------------------

    def _connection(self) -> sqlite3.Connection:
        if self._conn is not None and self._pid == os.getpid():
            return self._conn
        # A connection inherited across fork must not be used or closed by the child: keep
        # it referenced so that dropping it does not run sqlite3_close on the parent's state.
        if self._conn is not None:
            self._inherited.append(self._conn)
        self._pid = os.getpid()
        self._conn = self._connect()
        return self._conn

    def _connect(self) -> sqlite3.Connection:
        exists = self.path.exists()
        if not exists and not self._create:
            raise UsageError(
                f"journal {self.path} does not exist (nothing was recorded there yet; see --journal)"
            )
        if self.path.is_dir():
            raise UsageError(f"journal {self.path} is a directory, not a journal file")
        if not exists:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
                # Operator ARNs and policies are not secrets, but they are nobody else's business.
                os.close(os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600))
            except OSError as exc:
                raise UsageError(f"journal {self.path} cannot be created: {exc.strerror}") from exc
        conn = _open(self.path)
        try:
            self._initialise(conn)
        except BaseException:
            conn.close()
            raise
        return conn

    def _initialise(self, conn: sqlite3.Connection) -> None:
        try:
            _set_wal(conn)
            # FULL: a committed entry survives power loss, not only a killed process.
            conn.execute("PRAGMA synchronous=FULL")
            tables = {
                r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
            }
            if tables - _TABLES:
                raise UsageError(f"{self.path} is an sqlite file but not a rootctl journal")
            if tables != _TABLES:
                self._create_schema(conn)
            self._check_version(conn)
        except sqlite3.OperationalError as exc:
            raise JournalError(f"journal {self.path} cannot be opened: {exc}") from exc
        except sqlite3.DatabaseError as exc:
            raise UsageError(f"{self.path} is not a rootctl journal: {exc}") from exc

    def _create_schema(self, conn: sqlite3.Connection) -> None:
        # Inside one write transaction: two processes creating the same new file agree.
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.execute(
                "INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', ?)",
                (SCHEMA_VERSION,),
            )
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    def _check_version(self, conn: sqlite3.Connection) -> None:
        row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        if row is not None and row[0] != SCHEMA_VERSION:
            raise UsageError(
                f"journal {self.path} has schema version {row[0]}; this rootctl reads version {SCHEMA_VERSION} (upgrade rootctl)"
            )

    def close(self) -> None:
        with self._lock:
            if self._conn is not None and self._pid == os.getpid():
                self._conn.close()
            self._conn = None

    def __enter__(self) -> Journal:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- writing ----------------------------------------------------------------------

    def append(self, entry: JournalEntry) -> StoredEntry:
        """Scrub, chain and commit one entry; return it as stored (with id and hash)."""
        if not entry.command or not entry.action or not entry.outcome:
            raise ValueError("a journal entry needs a command, an action and an outcome")
        values = _prepare(entry)
        with self._lock:
            conn = self._connection()
            try:
                return self._append_locked(conn, values)
            except sqlite3.Error as exc:
                raise JournalError(f"journal {self.path}: could not append: {exc}") from exc

    def _append_locked(self, conn: sqlite3.Connection, values: dict[str, Any]) -> StoredEntry:
        conn.execute("BEGIN IMMEDIATE")
        try:
            head = conn.execute("SELECT count, hash, time FROM head WHERE one = 1").fetchone()
            count, prev_hash, prev_time = (0, GENESIS_HASH, "") if head is None else tuple(head)
            entry_id = count + 1
            # Never go back in time, even if the clock does: verify reads that as reordering.
            stamp = max(_now(), prev_time)
            digest = entry_hash(prev_hash, entry_id, stamp, values)
            stored = {
                name: canonical_json(values[name])
                if name in JSON_FIELDS and values[name] is not None
                else values[name]
                for name in ENTRY_FIELDS
            }
            conn.execute(
                _INSERT, (entry_id, stamp, prev_hash, digest, *(stored[n] for n in ENTRY_FIELDS))
            )
            conn.execute(
                "INSERT INTO head (one, count, hash, time) VALUES (1, ?, ?, ?) "
                "ON CONFLICT (one) DO UPDATE SET count = excluded.count, hash = excluded.hash, time = excluded.time",
                (entry_id, digest, stamp),
            )
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        return StoredEntry(id=entry_id, time=stamp, prev_hash=prev_hash, hash=digest, **values)

    # -- reading ----------------------------------------------------------------------

    def get(self, entry_id: int) -> StoredEntry:
        """The full entry (restore reads a backed-up policy from its `before`)."""
        row = self._query(f"{_SELECT} WHERE id = ?", (entry_id,))
        if not row:
            raise UsageError(f"journal entry {entry_id} does not exist")
        return _stored(row[0])

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
    ) -> builtins.list[StoredEntry]:
        """Matching entries in id order; with `limit`, the most recent `limit` of them."""
        clauses: builtins.list[str] = []
        params: builtins.list[Any] = []
        for column, value in (
            ("account_id", account_id),
            ("command", command),
            ("action", action),
            ("outcome", outcome),
            ("run_id", run_id),
        ):
            if value is not None:
                clauses.append(f"{column} = ?")
                params.append(value)
        if since is not None:
            clauses.append("time >= ?")
            params.append(_normalise_since(since))
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        sql = f"{_SELECT}{where} ORDER BY id"
        if limit is not None:
            if limit < 0:
                raise UsageError(f"limit must be 0 or more, not {limit}")
            sql = f"SELECT * FROM ({_SELECT}{where} ORDER BY id DESC LIMIT ?) ORDER BY id"
            params.append(limit)
        return [_stored(row) for row in self._query(sql, params)]

    def _query(self, sql: str, params: Any) -> builtins.list[sqlite3.Row]:
        with self._lock:
            try:
                return self._connection().execute(sql, params).fetchall()
            except sqlite3.Error as exc:
                raise JournalError(f"journal {self.path}: {exc}") from exc

    @contextmanager
    def _snapshot(self) -> Iterator[sqlite3.Connection]:
        """A private connection in one read transaction: a consistent view of the whole
        journal that does not hold up appends from other threads while it is read."""
        with self._lock:
            self._connection()  # the file exists and has the schema
        conn = _open(self.path)
        try:
            conn.execute("BEGIN")
            yield conn
        except sqlite3.Error as exc:
            raise JournalError(f"journal {self.path}: {exc}") from exc
        finally:
            conn.close()

    def export_jsonl(self, out: IO[str]) -> int:
        """Write one JSON object per entry (the `to_dict()` form), in id order; return how many."""
        count = 0
        with self._snapshot() as conn:
            for row in conn.execute(f"{_SELECT} ORDER BY id"):
                out.write(json.dumps(_stored(row).to_dict(), ensure_ascii=False) + "\n")
                count += 1
        return count

    # -- verifying --------------------------------------------------------------------

    def verify(self) -> VerifyResult:
        """Re-check every hash and link, and the head; name the first bad entry."""
        with self._snapshot() as conn:
            head_row = conn.execute("SELECT count, hash FROM head WHERE one = 1").fetchone()
            head = None if head_row is None else Head(count=head_row[0], hash=head_row[1])
            rows = (_row(r) for r in conn.execute(f"{_SELECT} ORDER BY id"))

            def later(from_id: int) -> builtins.list[Row]:
                query = f"{_SELECT} WHERE id >= ? ORDER BY id"
                return [_row(r) for r in conn.execute(query, (from_id,))]

            return verify_rows(rows, head, later)


def _open(path: Path) -> sqlite3.Connection:
    try:
        conn = sqlite3.connect(
            path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None, check_same_thread=False
        )
    except sqlite3.Error as exc:
        raise JournalError(f"journal {path} cannot be opened: {exc}") from exc
    conn.row_factory = sqlite3.Row
    return conn


def _set_wal(conn: sqlite3.Connection) -> None:
    """Switch a new file to WAL (the setting persists in the file).

    The switch needs an exclusive lock and sqlite answers "locked" at once, without its
    busy handler, when another process is creating the same file: retry for a while.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_SECONDS
    delay = 0.005
    while True:
        try:
            mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise
            mode = None
        if mode == "wal":
            return
        if time.monotonic() > deadline:
            raise JournalError(f"cannot switch the journal to WAL mode (mode is {mode!r})")
        time.sleep(delay)
        delay = min(delay * 2, 0.1)


def _row(row: sqlite3.Row) -> Row:
    return Row(
        id=row["id"],
        time=row["time"],
        prev_hash=row["prev_hash"],
        hash=row["hash"],
        values=_row_values(row),
    )


def _state_dir() -> Path:
    """The per-user directory for state that should survive reboots but is not config."""
    xdg = os.environ.get("XDG_STATE_HOME")
    if xdg:
        return Path(xdg)
    home = Path.home()
    if sys.platform == "darwin":
        return home / "Library" / "Application Support"
    if sys.platform == "win32":
        local = os.environ.get("LOCALAPPDATA")
        return Path(local) if local else home / "AppData" / "Local"
    return home / ".local" / "state"
