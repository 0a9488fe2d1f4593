"""`rootctl journal list|show|verify|export`, through click and as a real process."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from rootctl.cli.main import cli
from rootctl.journal import Journal, JournalEntry

ROOTCTL = Path(sys.executable).with_name("rootctl")
POLICY = '{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:*"}]}'


@pytest.fixture
def path(tmp_path: Path) -> Path:
    file = tmp_path / "journal.sqlite3"
    with Journal(file) as journal:
        journal.append(
            JournalEntry(
                command="delete-credentials",
                action="assume-root",
                outcome="ok",
                account_id="333333333333",
                task_policy="IAMDeleteRootUserCredentials",
                operator="arn:aws:iam::111111111111:user/alice",
                reason="INC-42",
                run_id="run-a",
            )
        )
        journal.append(
            JournalEntry(
                command="delete-credentials",
                action="delete-access-key",
                outcome="error",
                account_id="333333333333",
                target="AKIAIOSFODNN7EXAMPLE",
                error="AccessDenied: not allowed\nby an SCP",
                run_id="run-a",
            )
        )
        journal.append(
            JournalEntry(
                command="s3-unlock",
                action="delete-bucket-policy",
                outcome="ok",
                account_id="444444444444",
                target="locked-bucket",
                before={"Policy": POLICY},
                run_id="run-b",
            )
        )
    return file


def _run(path: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["journal", "--journal", str(path), *args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def test_list_prints_an_aligned_table_off_a_tty(path: Path) -> None:
    code, out, _ = _run(path, "list")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == [
        "ID",
        "TIME",
        "ACCOUNT",
        "COMMAND",
        "ACTION",
        "TARGET",
        "OUTCOME",
        "ERROR",
    ]
    assert len(lines) == 4
    assert lines[2].split()[0] == "2"
    assert "AccessDenied: not allowed by an SCP" in lines[2]  # one line per entry
    assert "locked-bucket" in lines[3]


def test_list_and_show_use_rich_tables_on_a_tty(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import rootctl.cli.journal as journal_cli

    monkeypatch.setattr(journal_cli, "_is_tty", lambda: True)
    monkeypatch.setenv("COLUMNS", "200")
    with Journal(path) as journal:
        journal.append(
            JournalEntry(command="c", action="a", outcome="ok", error="[redacted] [bold]x")
        )
    code, out, _ = _run(path, "list")
    assert code == 0
    assert "4 journal entries" in out
    assert "│" in out or "|" in out
    assert "[redacted]" in out  # text, not markup
    assert "[bold]x" in out
    code, out, _ = _run(path, "show", "1")
    assert code == 0
    assert "journal entry 1" in out
    assert "IAMDeleteRootUserCredentials" in out


def test_list_filters_and_json_output(path: Path) -> None:
    code, out, _ = _run(path, "list", "--account", "333333333333", "--output", "json")
    assert code == 0
    entries = json.loads(out)
    assert [e["id"] for e in entries] == [1, 2]
    assert entries[0]["operator"] == "arn:aws:iam::111111111111:user/alice"

    _, out, _ = _run(path, "list", "--command", "s3-unlock", "-o", "json")
    assert [e["id"] for e in json.loads(out)] == [3]
    _, out, _ = _run(path, "list", "--limit", "2", "-o", "json")
    assert [e["id"] for e in json.loads(out)] == [2, 3]
    _, out, _ = _run(path, "list", "--run", "run-a", "--outcome", "error", "-o", "json")
    assert [e["id"] for e in json.loads(out)] == [2]
    _, out, _ = _run(path, "list", "--since", "2999-01-01", "-o", "json")
    assert json.loads(out) == []


def test_show_prints_every_field_and_before_in_full(path: Path) -> None:
    code, out, _ = _run(path, "show", "3")
    assert code == 0
    assert "locked-bucket" in out
    assert '"Policy": "{\\"Version\\"' in out

    code, out, _ = _run(path, "show", "3", "--output", "json")
    assert code == 0
    entry = json.loads(out)
    assert entry["before"] == {"Policy": POLICY}
    assert entry["id"] == 3 and len(entry["hash"]) == 64


def test_show_of_a_missing_entry_is_exit_2(path: Path) -> None:
    code, _, err = _run(path, "show", "12")
    assert code == 2
    assert err.strip() == "error: journal entry 12 does not exist"


def test_verify_ok_prints_the_head_and_exits_0(path: Path) -> None:
    code, out, _ = _run(path, "verify")
    assert code == 0
    with Journal(path, create=False) as journal:
        head = journal.get(3).hash
    assert out.strip() == f"ok: 3 entries, chain intact; head {head}"

    code, out, _ = _run(path, "verify", "-o", "json")
    assert code == 0
    assert json.loads(out) == {
        "ok": True,
        "entries": 3,
        "first_bad_id": None,
        "problem": None,
        "head_hash": head,
    }


def test_verify_of_a_tampered_journal_names_the_entry_and_exits_1(path: Path) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("UPDATE entries SET outcome = 'ok' WHERE id = 2")
    conn.close()
    code, out, err = _run(path, "verify")
    assert code == 1
    assert out == ""
    assert err == "error: journal verification failed: entry 2 was edited\n"

    code, out, _ = _run(path, "verify", "--output", "json")
    assert code == 1
    assert json.loads(out)["first_bad_id"] == 2


def test_export_jsonl_to_stdout_and_to_a_file(path: Path, tmp_path: Path) -> None:
    code, out, _ = _run(path, "export", "--format", "jsonl")
    assert code == 0
    lines = out.splitlines()
    assert [json.loads(line)["id"] for line in lines] == [1, 2, 3]

    target = tmp_path / "export.jsonl"
    code, out, err = _run(path, "export", "--out", str(target))
    assert code == 0
    assert out == ""
    assert err.strip() == f"exported 3 entries to {target}"
    assert target.read_text().splitlines() == lines


def test_the_default_journal_comes_from_the_environment(path: Path) -> None:
    result = CliRunner(env={"ROOTCTL_JOURNAL": str(path)}).invoke(
        cli, ["journal", "list", "-o", "json"]
    )
    assert result.exit_code == 0, result.output
    assert len(json.loads(result.stdout)) == 3


@pytest.mark.parametrize("command", [["list"], ["show", "1"], ["verify"], ["export"]])
def test_a_journal_that_does_not_exist_is_one_line_and_exit_2(
    tmp_path: Path, command: list[str]
) -> None:
    missing = tmp_path / "nope.sqlite3"
    done = subprocess.run(
        [str(ROOTCTL), "journal", "--journal", str(missing), *command],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.splitlines() == [
        f"error: journal {missing} does not exist (nothing was recorded there yet; see --journal)"
    ]
    assert not missing.exists()


def test_a_real_process_verifies_and_reports_tampering(path: Path) -> None:
    ok = subprocess.run(
        [str(ROOTCTL), "journal", "--journal", str(path), "verify"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert ok.returncode == 0, ok.stderr
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("DELETE FROM entries WHERE id = 3")
    conn.close()
    bad = subprocess.run(
        [str(ROOTCTL), "journal", "--journal", str(path), "verify"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert bad.returncode == 1
    assert bad.stderr == "error: journal verification failed: entry 3 is missing (deleted)\n"
