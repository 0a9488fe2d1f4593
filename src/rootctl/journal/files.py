"""The journal's file: what counts as a journal, how it is created, how reading never writes.

Three rules (docs/journal.md, "The file"):

- An existing file is a journal only if it is an SQLite database whose size agrees with
  its header and which holds the journal's tables. An empty, truncated, foreign or
  schema-less file is refused with one line naming the file and what is wrong: it is
  never taken for an empty journal, and nothing is written into it.
- A new journal is built in a temporary file next to the target and linked into place
  only when complete, so a path is either absent or a whole journal (no reader or
  racing writer ever sees a half-created file), and an existing file is never replaced.
- Read-only commands open the file read-only. SQLite's `mode=ro` still creates `-wal`
  and `-shm` files next to a WAL database (and cannot remove them afterwards), so when no
  `-wal` file exists, meaning no writer has the journal open and everything committed
  is in the main file, the file is opened `immutable=1`: nothing is created, which is
  also what lets `verify` work on a read-only mount. Immutable means SQLite takes no
  locks, so the reader compares the file's fingerprint before and after; a file changed
  by a writer meanwhile is read again (see `Fingerprint`).
"""

from __future__ import annotations

import errno
import os
import sqlite3
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from rootctl.errors import UsageError

SQLITE_MAGIC = b"SQLite format 3\x00"
# The files SQLite keeps next to a database; an output must never be one of them.
SIDE_SUFFIXES = ("-wal", "-shm", "-journal")
_HEADER_SIZE = 100


def side_file(path: Path, suffix: str) -> Path:
    return path.with_name(path.name + suffix)


def has_wal(path: Path) -> bool:
    """A non-empty -wal file: a writer has the journal open, or crashed with commits in it."""
    try:
        return side_file(path, "-wal").stat().st_size > 0
    except OSError:
        return False


def is_sqlite_file(path: Path) -> bool:
    """True when the file starts with SQLite's 16-byte magic (unreadable files: False)."""
    try:
        with path.open("rb") as handle:
            return handle.read(len(SQLITE_MAGIC)) == SQLITE_MAGIC
    except OSError:
        return False


def check_journal_file(path: Path) -> None:
    """Refuse (UsageError, one line) an existing file that cannot be a journal.

    Run before SQLite sees the file: SQLite takes a zero-byte file for an empty database
    and would happily write a schema into it.
    """
    try:
        size = path.stat().st_size
        if not path.is_file():
            raise UsageError(f"journal {path} is not a regular file")
        with path.open("rb") as handle:
            header = handle.read(_HEADER_SIZE)
    except OSError as exc:
        raise UsageError(f"journal {path} cannot be read: {exc.strerror}") from exc
    if size == 0:
        if has_wal(path):
            return  # created empty by an older rootctl; its content is still in the -wal
        raise UsageError(
            f"journal {path} is empty (0 bytes): an empty file is not a journal "
            "(move it away to start a new one)"
        )
    if not header.startswith(SQLITE_MAGIC):
        raise UsageError(f"journal {path} is not an SQLite database (not a rootctl journal)")
    expected = _size_in_header(header)
    if expected is None or (size < expected and not has_wal(path)):
        told = "an incomplete header" if expected is None else f"{expected} in its header"
        raise UsageError(f"journal {path} is truncated ({size} bytes; {told})")


def _size_in_header(header: bytes) -> int | None:
    """The database size the header records, 0 when it records none, None if cut short."""
    if len(header) < _HEADER_SIZE:
        return None
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    pages = int.from_bytes(header[28:32], "big")
    # The size is valid only when the change counter matches "version-valid-for".
    if header[24:28] != header[92:96]:
        return 0
    return page_size * pages


@dataclass(frozen=True)
class Fingerprint:
    """What changes when a writer commits or checkpoints into the main file.

    An immutable reader takes no locks: comparing the fingerprint before and after a read
    tells a consistent read from one a writer's checkpoint may have torn.
    """

    inode: int
    size: int
    mtime_ns: int
    ctime_ns: int
    wal: bool

    @classmethod
    def of(cls, path: Path) -> Fingerprint | None:
        try:
            st = path.stat()
        except OSError:
            return None
        return cls(st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns, has_wal(path))


def connect(
    path: Path, *, readonly: bool, timeout: float
) -> tuple[sqlite3.Connection, Fingerprint | None]:
    """A connection; read-only ones also return the fingerprint to compare after reading.

    The fingerprint is None when the file was opened through SQLite's locks (a -wal file
    exists, or the connection may write): no comparison is needed then.
    """
    immutable = readonly and not has_wal(path)
    before = Fingerprint.of(path) if immutable else None
    if readonly:
        flags = "mode=ro&immutable=1" if immutable else "mode=ro"
        target: str | Path = f"file:{quote(str(path.absolute()))}?{flags}"
    else:
        target = path
    try:
        conn = sqlite3.connect(
            target,
            timeout=timeout,
            isolation_level=None,
            check_same_thread=False,
            uri=readonly,
        )
    except sqlite3.Error as exc:
        raise UsageError(f"journal {path} cannot be opened: {exc}") from exc
    conn.row_factory = sqlite3.Row
    # Never raise while fetching a row: text that is not UTF-8 is reported as an edit.
    conn.text_factory = _lenient_text
    return conn, before


def _lenient_text(data: bytes) -> str:
    return data.decode("utf-8", errors="surrogateescape")


def create_new(path: Path, build: Callable[[sqlite3.Connection], None]) -> None:
    """Create a journal at `path` unless one appears there first; never replace a file.

    `build` writes the schema into a temporary file in the same directory; the file is
    closed (so SQLite folds its WAL back into it) and hard-linked into place: link fails
    if `path` exists, which is how concurrent creators agree on one file.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".new", dir=path.parent)
        os.close(fd)  # mkstemp creates it 0600: the journal's mode
    except OSError as exc:
        raise UsageError(f"journal {path} cannot be created: {exc.strerror}") from exc
    temp = Path(name)
    try:
        conn = sqlite3.connect(temp, isolation_level=None)
        try:
            build(conn)
        finally:
            conn.close()
        _link_new(temp, path)
    except sqlite3.Error as exc:
        raise UsageError(f"journal {path} cannot be created: {exc}") from exc
    except OSError as exc:
        raise UsageError(f"journal {path} cannot be created: {exc.strerror}") from exc
    finally:
        for leftover in (temp, *(side_file(temp, s) for s in SIDE_SUFFIXES)):
            leftover.unlink(missing_ok=True)


def _link_new(temp: Path, path: Path) -> None:
    """Put the finished file at `path` unless something is there already."""
    try:
        os.link(temp, path)
    except FileExistsError:
        return  # another process created it first: use theirs
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK):
            raise
        # A filesystem without hard links: copy into a file only we can have created.
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return
        with os.fdopen(fd, "wb") as out:
            out.write(temp.read_bytes())
            out.flush()
            os.fsync(out.fileno())
