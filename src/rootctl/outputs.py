"""Output files that can never destroy the journal, leave half a report, or leak by mode.

Every `--out` goes through here. The API, for commands that write files:

    from rootctl.outputs import check_output, open_output, guarded_stdout

    target = check_output(out, protected=[journal.path])   # before any work: exit 2 if refused
    ...                                                    # do the work
    with open_output(out, protected=[journal.path]) as handle:
        handle.write(document)                             # atomic: all or nothing

    with guarded_stdout() as stdout:                       # output on stdout instead
        stdout.write(document)

- `check_output(path, protected=...)` raises UsageError (exit 2, one line) for a path
  rootctl must never write: a `protected` file (the journal) or its `-wal`, `-shm` and
  `-journal` files, by name after resolving symlinks and by device and inode (a hard
  link); any existing SQLite database or SQLite WAL/rollback journal (by content); a
  directory; a missing or unwritable directory. Call it before the work, so that bad
  input is refused before anything is done.
- `open_output` checks again, then writes a temporary file (mode 0600, the journal's:
  reports hold account data) in the target's directory and renames it over the target
  only after every byte is written and synced. A failed write leaves the target exactly
  as it was and no temporary file behind. Devices and pipes (`/dev/stdout`, a FIFO,
  `/dev/full`) are written directly (they cannot be renamed over). `-` means stdout.
- Write failures (disk full, I/O error, read-only filesystem, quota, permission) raise
  OutputError: one line, exit code 1, since work may have been done (the caller decides
  the final code). The message says the existing file is unchanged.
- `guarded_stdout()` turns a closed pipe (`rootctl ... | head`) or a full device on stdout
  into OutputError, and points stdout at /dev/null so Python's exit flush stays quiet.
"""

from __future__ import annotations

import errno
import os
import sys
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TextIO

from rootctl.errors import RootctlError, UsageError

_SQLITE_MAGIC = b"SQLite format 3\x00"
# SQLite WAL files (two byte orders) and rollback journals.
_SIDE_MAGICS = (b"\x37\x7f\x06\x82", b"\x37\x7f\x06\x83", b"\xd9\xd5\x05\xf9\x20\xa1\x63\xd7")
_SIDE_SUFFIXES = ("-wal", "-shm", "-journal")
# errno values of a write that failed because of where it went, not because of a bug.
WRITE_ERRORS = frozenset(
    {
        errno.ENOSPC,
        errno.EIO,
        errno.EROFS,
        errno.EDQUOT,
        errno.EFBIG,
        errno.EACCES,
        errno.EPERM,
        errno.EPIPE,
        errno.ENXIO,
        errno.ETXTBSY,
    }
)


class OutputError(RootctlError):
    """An output could not be written; nothing partial was left (exit code 1)."""

    exit_code = 1


def check_output(path: str | Path, *, protected: Iterable[str | Path] = ()) -> Path:
    """The file `open_output` will write (symlinks resolved), or UsageError saying why not."""
    shown = Path(path)
    if str(path) == "-":
        return shown
    target = Path(os.path.realpath(shown))
    _check_protected(shown, target, protected)
    if target.is_dir():
        raise UsageError(f"cannot write {shown}: it is a directory")
    if not target.parent.is_dir():
        raise UsageError(f"cannot write {shown}: directory {target.parent} does not exist")
    if target.exists():
        _check_content(shown, target)
    elif not os.access(target.parent, os.W_OK | os.X_OK):
        raise UsageError(f"cannot write {shown}: directory {target.parent} is not writable")
    return target


def _check_protected(shown: Path, target: Path, protected: Iterable[str | Path]) -> None:
    """Refuse the journal and its side files, by resolved name and by inode."""
    target_id = _identity(target)
    for item in protected:
        real = Path(os.path.realpath(Path(item).expanduser()))
        for suffix in ("", *_SIDE_SUFFIXES):
            candidate = real.with_name(real.name + suffix)
            same_name = candidate == target
            same_file = target_id is not None and target_id == _identity(candidate)
            if same_name or same_file:
                what = "the journal" if not suffix else f"the journal's {suffix[1:]} file"
                raise UsageError(f"refusing to write {shown}: it is {what} ({Path(item)})")


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_dev, st.st_ino


def _check_content(shown: Path, target: Path) -> None:
    """An existing file must not be a database (or one's WAL or journal)."""
    if not target.is_file():
        return  # a device or a pipe: written directly, nothing to overwrite
    try:
        with target.open("rb") as handle:
            head = handle.read(len(_SQLITE_MAGIC))
    except OSError as exc:
        raise UsageError(
            f"cannot write {shown}: it cannot be read to check it is not a database ({exc.strerror})"
        ) from exc
    if head.startswith(_SQLITE_MAGIC):
        raise UsageError(f"refusing to write {shown}: it is an SQLite database")
    base = next((target.name[: -len(s)] for s in _SIDE_SUFFIXES if target.name.endswith(s)), None)
    is_side = head.startswith(_SIDE_MAGICS) or (
        base is not None and _starts_with(target.with_name(base), _SQLITE_MAGIC)
    )
    if is_side:
        raise UsageError(f"refusing to write {shown}: it belongs to an SQLite database")


def _starts_with(path: Path, magic: bytes) -> bool:
    try:
        with path.open("rb") as handle:
            return handle.read(len(magic)) == magic
    except OSError:
        return False


@contextmanager
def open_output(path: str | Path, *, protected: Iterable[str | Path] = ()) -> Iterator[TextIO]:
    """A text file to write `path` through: all of it replaces the target, or nothing does."""
    protected = tuple(protected)
    if str(path) == "-":
        with guarded_stdout() as stdout:
            yield stdout
        return
    target = check_output(path, protected=protected)
    if target.exists() and not target.is_file():
        with _direct(Path(path), target) as handle:
            yield handle
        return
    existed = target.exists()
    try:
        fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as exc:
        raise _failed(Path(path), exc, existed) from exc
    temp = Path(name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        check_output(path, protected=protected)  # nothing became the journal meanwhile
        os.replace(temp, target)
        _sync_dir(target.parent)
    except OSError as exc:
        if exc.errno not in WRITE_ERRORS:
            raise
        raise _failed(Path(path), exc, existed) from exc
    finally:
        temp.unlink(missing_ok=True)


@contextmanager
def _direct(shown: Path, target: Path) -> Iterator[TextIO]:
    """A device or pipe: opened for writing as it is (no truncation to undo)."""
    try:
        with target.open("w", encoding="utf-8", newline="\n") as handle:
            yield handle
            handle.flush()
    except OSError as exc:
        if exc.errno not in WRITE_ERRORS:
            raise
        raise OutputError(f"cannot write {shown}: {exc.strerror}") from exc


def _failed(shown: Path, exc: OSError, existed: bool) -> OutputError:
    kept = "the existing file is unchanged" if existed else "no file was created"
    return OutputError(f"cannot write {shown}: {exc.strerror or exc}; {kept}")


def _sync_dir(directory: Path) -> None:
    """Make the rename durable; some filesystems cannot sync a directory, which is fine."""
    with suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextmanager
def guarded_stdout(stream: TextIO | None = None) -> Iterator[TextIO]:
    """stdout (or `stream`), with a closed pipe or a full device as one OutputError."""
    out = stream if stream is not None else sys.stdout
    try:
        yield out
        out.flush()
    except OSError as exc:
        if exc.errno not in WRITE_ERRORS:
            raise
        _silence(out)
        if exc.errno == errno.EPIPE:
            raise OutputError("stdout was closed before all output was written") from exc
        raise OutputError(f"cannot write to stdout: {exc.strerror}") from exc


def write_stdout(text: str) -> None:
    """Write `text` to stdout through `guarded_stdout`."""
    with guarded_stdout() as out:
        out.write(text)


def _silence(out: TextIO) -> None:
    """Point the stream's descriptor at /dev/null: the interpreter flushes it at exit."""
    try:
        fd = out.fileno()
    except (OSError, ValueError):
        return  # not a real file (tests capture output in memory)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
    finally:
        os.close(devnull)
