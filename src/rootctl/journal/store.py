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
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from types import TracebackType
from typing import IO, TYPE_CHECKING, Any, TypeVar

from rootctl.errors import RootctlError, UsageError
from rootctl.journal.files import Fingerprint, check_journal_file, connect, create_new
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
from rootctl.journal.rows import MAX_ID, BadRow, check_id, decode
from rootctl.journal.schema import COLUMNS, build_schema, schema_problem
from rootctl.journal.scrub import scrub_text, scrub_value
from rootctl.journal.verify import Head, Row, head_of, verify_rows, verify_since

if TYPE_CHECKING:
    from rootctl.journal.anchor import Anchor

# How long an append waits for another process's write before giving up.
BUSY_TIMEOUT_SECONDS = 60.0
# How many times a read-only reader reads again a file a writer changed meanwhile.
_READ_ATTEMPTS = 5

_SELECT = f"SELECT {', '.join(COLUMNS)} FROM entries"
_INSERT = f"INSERT INTO entries ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
T = TypeVar("T")


class JournalError(RootctlError):
    """The journal could not be written or read (locked too long, disk full, not a journal)."""


def now_stamp() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def normalise_since(since: str | datetime) -> str:
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


def prepare_values(entry: JournalEntry) -> dict[str, Any]:
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


class UnverifiedJournal(UsageError):
    """The journal does not verify, so rootctl will not act on what it reads from it.

    A usage error (exit 2): nothing was changed, no root session was opened.
    """


class Journal:
    """An append-only, hash-chained journal of root sessions and changes in one sqlite file.

    Safe to share between threads; open one Journal per process (a forked child that
    inherits one reconnects on first use). `create=False` refuses a missing file instead
    of creating it; `readonly=True` (for commands that only read) also never writes to
    the file nor creates anything next to it (journal/files.py says how).

    Reads that lead to an action (restore, resuming a delete) go through
    `verified_entry` / `verified_entries`, which verify the whole chain in the same read
    transaction first; `get` and `list` are for display.
    """

    def __init__(self, path: str | Path, *, create: bool = True, readonly: bool = False) -> None:
        self.path = Path(path).expanduser()
        self._create = create and not readonly
        self._readonly = readonly
        self._lock = threading.RLock()
        self._conn: sqlite3.Connection | None = None
        self._inherited: builtins.list[sqlite3.Connection] = []
        self._pid = os.getpid()
        # fail now, with the path in the message, not at first append
        if readonly:
            self._check_file()
            self._read(self._check_schema)
        else:
            self._connection()

    @property
    def location(self) -> str:
        """The journal as named in messages: its path (a table journal: dynamodb://TABLE)."""
        return str(self.path)

    @classmethod
    def default_path(cls) -> Path:
        """$ROOTCTL_JOURNAL (when a path, not dynamodb://), else the per-user state directory."""
        override = os.environ.get("ROOTCTL_JOURNAL")
        if override and not override.lower().startswith("dynamodb://"):
            return Path(override).expanduser()
        return _state_dir() / "rootctl" / "journal.sqlite3"

    # -- connection -------------------------------------------------------------------

    def _connection(self) -> sqlite3.Connection:
        if self._readonly:
            raise JournalError(f"journal {self.path} was opened read-only")
        if self._conn is not None and self._pid == os.getpid():
            return self._conn
        # A connection inherited across fork must not be used or closed by the child: keep
        # it referenced so that dropping it does not run sqlite3_close on the parent's state.
        if self._conn is not None:
            self._inherited.append(self._conn)
        self._pid = os.getpid()
        self._conn = self._connect()
        return self._conn

    def _check_file(self) -> None:
        """The file is a plausible journal; a missing one is created only by writers."""
        if self.path.is_dir():
            raise UsageError(f"journal {self.path} is a directory, not a journal file")
        if not self.path.exists():
            if not self._create:
                raise UsageError(
                    f"journal {self.path} does not exist (nothing was recorded there yet; see --journal)"
                )
            create_new(self.path, build_schema)
        check_journal_file(self.path)

    def _connect(self) -> sqlite3.Connection:
        self._check_file()
        conn, _ = connect(self.path, readonly=False, timeout=BUSY_TIMEOUT_SECONDS)
        try:
            self._check_schema(conn)  # before any write: a foreign database stays untouched
            _set_wal(conn)
            # FULL: a committed entry survives power loss, not only a killed process.
            conn.execute("PRAGMA synchronous=FULL")
        except sqlite3.Error as exc:
            conn.close()
            raise JournalError(f"journal {self.path} cannot be opened: {exc}") from exc
        except BaseException:
            conn.close()
            raise
        return conn

    def _check_schema(self, conn: sqlite3.Connection) -> None:
        """The journal's tables, columns and schema version, or one line saying what is not."""
        try:
            problem = schema_problem(conn)
        except sqlite3.OperationalError as exc:
            raise JournalError(f"journal {self.path} cannot be opened: {exc}") from exc
        except sqlite3.DatabaseError as exc:
            raise UsageError(f"{self.path} is not a rootctl journal: {exc}") from exc
        if problem is not None:
            raise UsageError(f"journal {self.path} {problem}")

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
        values = prepare_values(entry)
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
            stamp = max(now_stamp(), prev_time)
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
        """The full entry, for display; restore reads through `verified_entry`."""
        check_id(entry_id)
        rows = self._read(
            lambda conn: conn.execute(f"{_SELECT} WHERE id = ?", (entry_id,)).fetchall()
        )
        if not rows:
            raise UsageError(f"journal entry {entry_id} does not exist")
        return self._entry(rows[0])

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
        """Matching entries in id order; with `limit`, the most recent `limit` of them.

        For display: an edit this does not notice (a changed value that still parses)
        is what `verify` is for; callers that act on entries use `verified_entries`.
        """
        sql, params = _list_query(account_id, command, action, outcome, run_id, since, limit)
        rows = self._read(lambda conn: conn.execute(sql, params).fetchall())
        return [self._entry(row) for row in rows]

    def verified_entries(
        self,
        *,
        account_id: str | None = None,
        command: str | None = None,
        action: str | None = None,
        outcome: str | None = None,
        run_id: str | None = None,
    ) -> builtins.list[StoredEntry]:
        """Like `list`, after verifying the whole chain in the same read transaction.

        Every read-back that leads to an action goes through here or `verified_entry`:
        a journal that does not verify raises UnverifiedJournal (exit 2) and nothing is
        returned, so an edited backup or plan can never be acted on. The whole chain, not
        only the entries returned, must verify: an edit anywhere is evidence that someone
        with write access changed the journal, and acting on it needs a person to look.
        """
        sql, params = _list_query(account_id, command, action, outcome, run_id, None, None)

        def work(conn: sqlite3.Connection) -> builtins.list[sqlite3.Row]:
            self._require_verified(conn)
            return conn.execute(sql, params).fetchall()

        return [self._entry(row) for row in self._read(work)]

    def verified_entry(self, entry_id: int) -> StoredEntry:
        """One entry, after verifying the whole chain (see `verified_entries`)."""
        check_id(entry_id)

        def work(conn: sqlite3.Connection) -> builtins.list[sqlite3.Row]:
            rows = conn.execute(f"{_SELECT} WHERE id = ?", (entry_id,)).fetchall()
            if not rows:  # a missing id is bad input, even in a journal that was edited
                raise UsageError(f"journal entry {entry_id} does not exist")
            self._require_verified(conn)
            return rows

        return self._entry(self._read(work)[0])

    def _require_verified(self, conn: sqlite3.Connection) -> None:
        result = _verify(conn)
        if not result.ok:
            raise UnverifiedJournal(
                f"journal {self.path} does not verify ({result.problem}): rootctl acts only "
                "on a verified journal, nothing was done (see `rootctl journal verify`)"
            )

    def _entry(self, row: sqlite3.Row) -> StoredEntry:
        decoded = decode(row)
        if isinstance(decoded, BadRow):
            raise JournalError(
                f"journal {self.path}: {decoded.describe()}; "
                "`rootctl journal verify` checks the whole chain"
            )
        return decoded

    def _read(self, work: Callable[[sqlite3.Connection], T], *, retry: bool = True) -> T:
        """Run `work` in one read transaction on a private connection: a consistent view
        of the journal that does not hold up appends from other threads.

        A read-only journal without a -wal file is read immutable (journal/files.py): if
        its fingerprint changed meanwhile (a writer checkpointed), the read is not trusted
        and runs again, or fails when `retry` is off (work that already wrote output).
        """
        for _ in range(_READ_ATTEMPTS if retry else 1):
            conn, before = connect(self.path, readonly=self._readonly, timeout=BUSY_TIMEOUT_SECONDS)
            try:
                conn.execute("BEGIN")
                result = work(conn)
            except sqlite3.Error as exc:
                if before is not None and Fingerprint.of(self.path) != before:
                    continue
                raise JournalError(f"journal {self.path} cannot be read: {exc}") from exc
            finally:
                conn.close()
            if before is None or Fingerprint.of(self.path) == before:
                return result
        raise JournalError(
            f"journal {self.path} changed while it was read (another rootctl is writing it); run the command again"
        )

    def entries_after(
        self, after_id: int, *, until_id: int | None = None, newest_first: bool = False
    ) -> Iterator[StoredEntry]:
        """Entries with `after_id < id <= until_id` (None: the head when the read begins),
        in id order, or from the newest down: one read per id range (`page_ranges`), so a
        caller that stops early asks for no further range.

        Unverified, like `list`: a caller that acts on the entries checks their chain
        (rootctl.enforce.checkpoint does, then `verify_since` from the newest one).
        """
        if isinstance(after_id, bool) or not isinstance(after_id, int) or after_id < 0:
            raise UsageError(f"journal entry ids are 1 to {MAX_ID}, not {after_id}")
        if until_id is None:
            until_id = self._read(_head_count)
        return _pages(self._read, after_id, until_id, newest_first, self._entry)

    def export_jsonl(self, out: IO[str]) -> int:
        """Write one JSON object per entry (the `to_dict()` form), in id order; return how many.

        An edited row that cannot be an entry stops the export with JournalError, after
        the entries before it (write to `rootctl.outputs.open_output` to keep nothing then).
        """

        def work(conn: sqlite3.Connection) -> int:
            count = 0
            for row in conn.execute(f"{_SELECT} ORDER BY id"):
                out.write(json.dumps(self._entry(row).to_dict(), ensure_ascii=False) + "\n")
                count += 1
            return count

        return self._read(work, retry=False)

    # -- verifying --------------------------------------------------------------------

    def verify(self, expect_head: str | None = None) -> VerifyResult:
        """Re-check every hash and link, and the head; name the first bad entry.

        `expect_head` (a head hash kept elsewhere) must be the hash of an entry in the
        chain: that proves nothing up to it was rewritten, even wholesale (docs/journal.md).
        """
        return self._read(lambda conn: _verify(conn, expect_head))

    def verify_since(self, anchor: Anchor) -> VerifyResult:
        """Verify from a trusted anchor: only its entry and those after it are read
        (verify.verify_since; rootctl.journal.anchor says where anchors come from)."""

        def work(conn: sqlite3.Connection) -> VerifyResult:
            head = _head(conn.execute("SELECT count, hash FROM head WHERE one = 1").fetchone())
            query = f"{_CHAIN} ORDER BY id"
            rows = (_row(r) for r in conn.execute(query, (max(anchor.entries, 1),)))

            def later(from_id: int) -> builtins.list[Row | BadRow]:
                return [_row(r) for r in conn.execute(query, (from_id,))]

            return verify_since(rows, head, later, anchor.entries, anchor.head)

        return self._read(work)


# Pages of an `entries_after` read, as id ranges (ids run 1..head with no gaps): newest
# first they start small (the entry looked for is usually recent) and double up to the
# largest, so a read stopped at entry K asked for at most about twice the ids from the head
# down to K, plus the first page; in id order every page is the largest.
FIRST_PAGE, LAST_PAGE = 16, 1024


def page_ranges(after_id: int, until_id: int, newest_first: bool) -> Iterator[tuple[int, int]]:
    """The (low, high] id ranges an `entries_after` read asks for, in order."""
    size = FIRST_PAGE if newest_first else LAST_PAGE
    low, high = after_id, until_id
    while low < high:
        if newest_first:
            bottom = max(low, high - size)
            yield bottom, high
            high = bottom
        else:
            top = min(high, low + size)
            yield low, top
            low = top
        size = min(size * 2, LAST_PAGE)


def _head_count(conn: sqlite3.Connection) -> int:
    row = conn.execute("SELECT count FROM head WHERE one = 1").fetchone()
    return row[0] if row is not None and isinstance(row[0], int) else 0


def _fetch(query: str, params: tuple[int, ...], conn: sqlite3.Connection) -> builtins.list[Any]:
    return conn.execute(query, params).fetchall()


def _pages(
    read: Callable[[Callable[[sqlite3.Connection], builtins.list[Any]]], builtins.list[Any]],
    after_id: int,
    until_id: int,
    newest_first: bool,
    entry: Callable[[Any], StoredEntry],
) -> Iterator[StoredEntry]:
    """The range (after_id, until_id] a page at a time (entries up to the head never change,
    so pages read in separate transactions are one consistent range)."""
    order = "DESC" if newest_first else "ASC"
    query = f"{_SELECT} WHERE typeof(id) = 'integer' AND id > ? AND id <= ? ORDER BY id {order}"
    for low, high in page_ranges(after_id, until_id, newest_first):
        page: Callable[[sqlite3.Connection], builtins.list[Any]] = partial(
            _fetch, query, (low, high)
        )
        for row in read(page):
            yield entry(row)


# Rows whose id is not an entry number sort apart from the chain (SQLite orders text after
# integers): they are read first, and reported where the chain misses an entry.
_STRAY = f"{_SELECT} WHERE typeof(id) != 'integer' OR id < 1 LIMIT 1"
_CHAIN = f"{_SELECT} WHERE typeof(id) = 'integer' AND id >= ?"


def _verify(conn: sqlite3.Connection, expect_head: str | None = None) -> VerifyResult:
    head = _head(conn.execute("SELECT count, hash FROM head WHERE one = 1").fetchone())
    stray = next((_row(r) for r in conn.execute(_STRAY)), None)
    rows = (_row(r) for r in conn.execute(f"{_CHAIN} ORDER BY id", (1,)))

    def later(from_id: int) -> builtins.list[Row | BadRow]:
        return [_row(r) for r in conn.execute(f"{_CHAIN} ORDER BY id", (from_id,))]

    result = verify_rows(rows, head, later, expect_head)
    if not isinstance(stray, BadRow):
        return result
    if result.ok or (result.problem or "").endswith("is missing (deleted)"):
        at = result.first_bad_id or result.entries + 1
        return VerifyResult(False, result.entries, at, stray.describe(at), result.head_hash)
    return result


def _head(row: sqlite3.Row | None) -> Head | BadRow | None:
    return None if row is None else head_of(row[0], row[1])


def _list_query(
    account_id: str | None,
    command: str | None,
    action: str | None,
    outcome: str | None,
    run_id: str | None,
    since: str | datetime | None,
    limit: int | None,
) -> tuple[str, builtins.list[Any]]:
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
        params.append(normalise_since(since))
    where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
    if limit is None:
        return f"{_SELECT}{where} ORDER BY id", params
    if isinstance(limit, bool) or not isinstance(limit, int) or not 0 <= limit <= MAX_ID:
        raise UsageError(f"limit must be 0 to {MAX_ID}, not {limit}")
    return f"SELECT * FROM ({_SELECT}{where} ORDER BY id DESC LIMIT ?) ORDER BY id", [
        *params,
        limit,
    ]


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


def _row(row: sqlite3.Row) -> Row | BadRow:
    decoded = decode(row)
    if isinstance(decoded, BadRow):
        return decoded
    values = {name: getattr(decoded, name) for name in ENTRY_FIELDS}
    return Row(decoded.id, decoded.time, decoded.prev_hash, decoded.hash, values)


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
