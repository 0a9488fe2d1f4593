"""A file that is not a whole journal is refused, by every reader and writer, and never written.

Each bad file is crossed with every read-only command and with an appending open: one
line naming the file and what is wrong, exit 2, and the directory byte for byte as it was
(no schema written, no WAL switch, no -wal/-shm files).
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest
from journal_helpers import fill, invoke, one_error_line, snapshot

from rootctl.errors import UsageError
from rootctl.journal import Journal, JournalEntry

Make = Callable[[Path], None]


def _bytes(data: bytes) -> Make:
    return lambda path: path.write_bytes(data)


def _truncated(keep: float, at_least: int = 0) -> Make:
    def make(path: Path) -> None:
        fill(path, 200)
        data = path.read_bytes()
        path.write_bytes(data[: max(int(len(data) * keep), at_least)])

    return make


def _sql(*statements: str) -> Make:
    def make(path: Path) -> None:
        conn = sqlite3.connect(path)
        for statement in statements:
            conn.execute(statement)
        conn.commit()
        conn.close()

    return make


def _edited(*statements: str) -> Make:
    """A real journal, then `statements` run on it."""

    def make(path: Path) -> None:
        fill(path)
        _sql(*statements)(path)

    return make


HEADER = b"SQLite format 3\x00"
# name -> (how to make the file, what the one line says)
BAD_FILES: dict[str, tuple[Make, str]] = {
    "empty": (_bytes(b""), "is empty (0 bytes)"),
    "one byte": (_bytes(b"S"), "is not an SQLite database"),
    "text": (_bytes(b"just some notes\n" * 100), "is not an SQLite database"),
    "json export": (_bytes(b'{"id": 1}\n' * 50), "is not an SQLite database"),
    "random bytes": (_bytes(bytes(range(256)) * 40), "is not an SQLite database"),
    "header only": (_bytes(HEADER), "is truncated"),
    "header cut at 60": (_bytes(HEADER + b"\x10\x00" + b"\x00" * 42), "is truncated"),
    "truncated to 1 page": (_truncated(0.0, 4096), "is truncated"),
    "truncated to 100 bytes": (_truncated(0.0, 100), "is truncated"),
    "truncated to half": (_truncated(0.5), "is truncated"),
    "truncated by one byte": (_truncated(0.9999), "is truncated"),
    "schema-less database": (_sql("PRAGMA user_version = 1"), "without tables"),
    "foreign database": (_sql("CREATE TABLE users (name TEXT)"), "other tables (users)"),
    "journal plus a table": (_edited("CREATE TABLE extra (x)"), "other tables (extra)"),
    "entries dropped": (_edited("DROP TABLE entries"), "lacks the table(s) entries"),
    "head dropped": (_edited("DROP TABLE head"), "lacks the table(s) head"),
    "meta dropped": (_edited("DROP TABLE meta"), "lacks the table(s) meta"),
    "column dropped": (_edited("ALTER TABLE entries DROP COLUMN reason"), "no column(s) reason"),
    "version removed": (_edited("DELETE FROM meta"), "has no schema version"),
    "version from the future": (
        _edited("UPDATE meta SET value = '9' WHERE key = 'schema_version'"),
        "has schema version '9'; this rootctl reads version 1",
    ),
}
READERS = {
    "verify": ("verify",),
    "verify json": ("verify", "-o", "json"),
    "list": ("list",),
    "list json": ("list", "-o", "json"),
    "show": ("show", "1"),
    "export": ("export",),
    "head": ("head",),
}


def _make(tmp_path: Path, name: str) -> Path:
    path = tmp_path / "journal.sqlite3"
    BAD_FILES[name][0](path)
    return path


@pytest.mark.parametrize("reader", READERS)
@pytest.mark.parametrize("bad", BAD_FILES)
def test_every_reader_refuses_a_bad_file_and_writes_nothing(
    tmp_path: Path, bad: str, reader: str
) -> None:
    path = _make(tmp_path, bad)
    before = snapshot(tmp_path)
    code, out, err = invoke("journal", *READERS[reader], "--journal", str(path))
    assert code == 2, err
    assert out == ""
    line = one_error_line(err)
    assert str(path) in line and BAD_FILES[bad][1] in line
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("bad", BAD_FILES)
def test_an_appending_open_refuses_a_bad_file_and_writes_nothing(tmp_path: Path, bad: str) -> None:
    path = _make(tmp_path, bad)
    before = snapshot(tmp_path)
    with pytest.raises(UsageError, match=BAD_FILES[bad][1].replace("(", r"\(").replace(")", r"\)")):
        Journal(path)
    with pytest.raises(UsageError):
        Journal(path, create=False)
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("reader", READERS)
def test_a_directory_or_a_missing_file_is_refused(tmp_path: Path, reader: str) -> None:
    code, _, err = invoke("journal", *READERS[reader], "--journal", str(tmp_path))
    assert code == 2 and "is a directory" in one_error_line(err)
    code, _, err = invoke("journal", *READERS[reader], "--journal", str(tmp_path / "none"))
    assert code == 2 and "does not exist" in one_error_line(err)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("reader", READERS)
def test_readers_create_nothing_next_to_a_valid_journal(tmp_path: Path, reader: str) -> None:
    path = fill(tmp_path / "journal.sqlite3")
    before = snapshot(tmp_path)
    code, _, err = invoke("journal", *READERS[reader], "--journal", str(path))
    assert code == 0, err
    assert snapshot(tmp_path) == before  # no -wal, no -shm, same bytes


def test_readers_read_through_a_live_writer(tmp_path: Path) -> None:
    """A writer holds the journal open (its -wal has the latest entries): readers see them."""
    path = fill(tmp_path / "journal.sqlite3")
    with Journal(path) as writer:
        writer.append(JournalEntry(command="c", action="a", outcome="ok"))
        code, out, err = invoke("journal", "verify", "--journal", str(path))
        assert code == 0, err
        assert out.startswith("ok: 5 entries")
        with Journal(path, readonly=True) as reader:
            assert [e.id for e in reader.list()] == [1, 2, 3, 4, 5]


def test_a_new_journal_is_created_whole_or_not_at_all(tmp_path: Path) -> None:
    path = tmp_path / "new" / "journal.sqlite3"
    with Journal(path) as journal:
        assert journal.verify().ok and journal.verify().entries == 0
    assert sorted(p.name for p in path.parent.iterdir()) == ["journal.sqlite3"]
    assert path.read_bytes().startswith(b"SQLite format 3\x00")
    Journal(path, readonly=True).verify()  # a fresh journal is a valid empty journal


def test_a_read_only_journal_cannot_append(valid_path: Path) -> None:
    from rootctl.journal import JournalEntry, JournalError

    with (
        Journal(valid_path, readonly=True) as journal,
        pytest.raises(JournalError, match="read-only"),
    ):
        journal.append(JournalEntry(command="c", action="a", outcome="ok"))


@pytest.fixture
def valid_path(tmp_path: Path) -> Path:
    return fill(tmp_path / "journal.sqlite3")


NOBODY = 65534


@pytest.mark.skipif(sys.platform != "linux", reason="uses setpriv (util-linux) or a non-root user")
@pytest.mark.parametrize("command", [("verify",), ("list",), ("show", "3"), ("export",), ("head",)])
def test_readers_work_on_a_read_only_file_in_a_read_only_directory(
    command: tuple[str, ...],
) -> None:
    """chmod 0444 file in a 0555 directory, read by a user the modes bind. As root, modes do
    not bind, so the command runs as `nobody` through setpriv (the test works either way)."""
    runner: list[str] = []
    if os.geteuid() == 0:
        setpriv = "/usr/bin/setpriv"
        if not Path(setpriv).exists():
            pytest.skip("running as root without setpriv: file modes would not bind")
        runner = [setpriv, f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]
    with tempfile.TemporaryDirectory(prefix="rootctl-ro-") as top:
        os.chmod(top, 0o755)  # reachable by nobody
        directory = Path(top) / "ro"
        directory.mkdir()
        path = fill(directory / "journal.sqlite3")
        path.chmod(0o444)
        directory.chmod(0o555)
        try:
            before = snapshot(directory)
            done = subprocess.run(
                [
                    *runner,
                    sys.executable,
                    "-m",
                    "rootctl",
                    "journal",
                    *command,
                    "--journal",
                    str(path),
                ],
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
                env={"PATH": os.environ.get("PATH", ""), "HOME": top},
            )
            assert done.returncode == 0, done.stderr
            assert snapshot(directory) == before
            if runner:  # the modes really bind for that user: a write is refused
                denied = subprocess.run(
                    [*runner, "touch", str(directory / "x")], capture_output=True, check=False
                )
                assert denied.returncode != 0
        finally:
            directory.chmod(0o755)
