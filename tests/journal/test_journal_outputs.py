"""rootctl.outputs: an --out never destroys the journal, never leaves half a file, is 0600.

Refusals are checked through `journal export --out` (the CLI, in-process) and through the
library; write failures use real faults: /dev/full, a file-size limit (RLIMIT_FSIZE) in a
child process, a closed pipe.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from journal_helpers import fill, invoke, one_error_line, snapshot

from rootctl.errors import UsageError
from rootctl.outputs import OutputError, check_output, guarded_stdout, open_output

# name -> how to make the --out path from (tmp dir, journal path), and what the line says
Target = Callable[[Path, Path], Path]


def _link(kind: str, suffix: str = "") -> Target:
    def make(tmp: Path, journal: Path) -> Path:
        source = journal.with_name(journal.name + suffix)
        source.touch(exist_ok=True)
        out = tmp / f"{kind}{suffix}"
        if kind == "symlink":
            out.symlink_to(source)
        else:
            os.link(source, out)
        return out

    return make


def _database(tmp: Path, journal: Path) -> Path:
    other = tmp / "inventory.db"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.commit()
    return other


def _with_magic(magic: bytes) -> Target:
    def make(tmp: Path, journal: Path) -> Path:
        out = tmp / "report.json"
        out.write_bytes(magic + b"\x00" * 64)
        return out

    return make


def _side_of_other_db(suffix: str) -> Target:
    def make(tmp: Path, journal: Path) -> Path:
        return _database(tmp, journal).with_name("inventory.db" + suffix)

    return make


REFUSED: dict[str, tuple[Target, str]] = {
    "the journal": (lambda t, j: j, "it is the journal"),
    "the journal, relative path": (lambda t, j: Path(os.path.relpath(j)), "it is the journal"),
    "the journal via ..": (lambda t, j: t / "sub" / ".." / j.name, "it is the journal"),
    "symlink to the journal": (_link("symlink"), "it is the journal"),
    "hard link to the journal": (_link("hardlink"), "it is the journal"),
    "the journal's -wal": (lambda t, j: j.with_name(j.name + "-wal"), "the journal's wal file"),
    "the journal's -shm": (lambda t, j: j.with_name(j.name + "-shm"), "the journal's shm file"),
    "the journal's -journal": (
        lambda t, j: j.with_name(j.name + "-journal"),
        "the journal's journal file",
    ),
    "hard link to the -wal": (_link("hardlink", "-wal"), "the journal's wal file"),
    "symlink to the -shm": (_link("symlink", "-shm"), "the journal's shm file"),
    "another SQLite database": (_database, "it is an SQLite database"),
    "a file with SQLite's header": (_with_magic(b"SQLite format 3\x00"), "an SQLite database"),
    "a WAL file": (_with_magic(b"\x37\x7f\x06\x82"), "belongs to an SQLite database"),
    "a rollback journal": (
        _with_magic(b"\xd9\xd5\x05\xf9\x20\xa1\x63\xd7"),
        "belongs to an SQLite database",
    ),
    "another database's -wal name": (_side_of_other_db("-wal"), "belongs to an SQLite database"),
    "a directory": (lambda t, j: t, "it is a directory"),
    "a missing directory": (lambda t, j: t / "nope" / "x.jsonl", "does not exist"),
}


@pytest.mark.parametrize("name", REFUSED)
def test_export_refuses_paths_it_must_never_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sub").mkdir()
    journal = fill(tmp_path / "journal.sqlite3")
    make, says = REFUSED[name]
    out = make(tmp_path, journal)
    if name == "another database's -wal name":
        out.write_text("leftover")
    before = snapshot(tmp_path)
    code, stdout, err = invoke("journal", "export", "--journal", str(journal), "--out", str(out))
    assert code == 2 and stdout == ""
    assert says in one_error_line(err)
    assert snapshot(tmp_path) == before
    with pytest.raises(UsageError, match=says):
        check_output(out, protected=[journal])
    code, _, _ = invoke("journal", "verify", "--journal", str(journal))
    assert code == 0


@pytest.mark.parametrize("existing", [None, "old report\n" * 1000, ""])
def test_export_writes_a_private_file_atomically(tmp_path: Path, existing: str | None) -> None:
    journal = fill(tmp_path / "journal.sqlite3")
    out = tmp_path / "export.jsonl"
    if existing is not None:
        out.write_text(existing)
        out.chmod(0o644)
    code, _, err = invoke("journal", "export", "--journal", str(journal), "--out", str(out))
    assert code == 0, err
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert len(out.read_text().splitlines()) == 4
    assert sorted(p.name for p in tmp_path.iterdir()) == ["export.jsonl", "journal.sqlite3"]


def test_a_symlink_to_a_report_is_written_through(tmp_path: Path) -> None:
    real = tmp_path / "real.jsonl"
    real.write_text("old")
    link = tmp_path / "link.jsonl"
    link.symlink_to(real)
    with open_output(link) as handle:
        handle.write("new\n")
    assert link.is_symlink() and real.read_text() == "new\n"


def test_a_failure_mid_write_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    out.write_text("the previous report")
    with pytest.raises(RuntimeError), open_output(out) as handle:
        handle.write("half of a new report")
        raise RuntimeError("the work failed")
    assert out.read_text() == "the previous report"
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]


def test_an_edited_row_during_export_leaves_no_file(tmp_path: Path) -> None:
    journal = fill(tmp_path / "journal.sqlite3")
    conn = sqlite3.connect(journal, isolation_level=None)
    conn.execute("UPDATE entries SET after = 'x' WHERE id = 3")
    conn.close()
    out = tmp_path / "export.jsonl"
    code, _, err = invoke("journal", "export", "--journal", str(journal), "--out", str(out))
    assert code == 1 and "entry 3 was edited" in one_error_line(err)
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["journal.sqlite3"]


@pytest.mark.parametrize("device", ["/dev/full"])
def test_a_full_device_is_one_line(tmp_path: Path, device: str) -> None:
    journal = fill(tmp_path / "journal.sqlite3")
    code, _, err = invoke("journal", "export", "--journal", str(journal), "--out", device)
    assert code == 1
    assert one_error_line(err) == f"error: cannot write {device}: No space left on device"
    with pytest.raises(OutputError), open_output(device) as handle:
        handle.write("x" * 100_000)


def test_dev_null_is_written_directly(tmp_path: Path) -> None:
    journal = fill(tmp_path / "journal.sqlite3")
    code, _, err = invoke("journal", "export", "--journal", str(journal), "--out", "/dev/null")
    assert code == 0, err
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)  # still a device, not replaced


_FSIZE_CHILD = """
import signal, resource, sys
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (2000, 2000))
from rootctl.cli.main import main
main(sys.argv[1:])
"""


def test_a_file_size_limit_mid_write_keeps_the_old_file(tmp_path: Path) -> None:
    """EFBIG from a real limit on a child process: the old export survives whole."""
    journal = fill(tmp_path / "journal.sqlite3", 40)
    out = tmp_path / "export.jsonl"
    out.write_text("previous export\n")
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            _FSIZE_CHILD,
            "journal",
            "export",
            "--journal",
            str(journal),
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    assert done.stderr.startswith(f"error: cannot write {out}: File too large")
    assert "the existing file is unchanged" in done.stderr and "Traceback" not in done.stderr
    assert out.read_text() == "previous export\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["export.jsonl", "journal.sqlite3"]


@pytest.mark.parametrize(
    "command",
    [("export",), ("list",), ("list", "-o", "json"), ("show", "3"), ("verify",), ("head",)],
)
def test_stdout_on_a_full_device_or_a_closed_pipe_is_one_line(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    journal = fill(tmp_path / "journal.sqlite3")
    args = [sys.executable, "-m", "rootctl", "journal", *command, "--journal", str(journal)]
    with open("/dev/full", "w") as full:
        done = subprocess.run(
            args, stdout=full, stderr=subprocess.PIPE, text=True, timeout=120, check=False
        )
    assert done.returncode == 1
    assert done.stderr == "error: cannot write to stdout: No space left on device\n"
    reader, writer = os.pipe()
    os.close(reader)  # nobody will read: every write is EPIPE
    try:
        done = subprocess.run(
            args,
            stdout=writer,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
            check=False,
            preexec_fn=lambda: signal.signal(signal.SIGPIPE, signal.SIG_IGN),
        )
    finally:
        os.close(writer)
    assert done.returncode == 1
    assert done.stderr == "error: stdout was closed before all output was written\n"


def test_guarded_stdout_passes_other_errors_through() -> None:
    with pytest.raises(ValueError), guarded_stdout():
        raise ValueError("a bug keeps its traceback")
