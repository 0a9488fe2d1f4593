"""Helpers shared by the journal tests: a small valid journal, the CLI in-process, snapshots."""

from __future__ import annotations

import hashlib
from pathlib import Path

from click.testing import CliRunner

from rootctl.cli.main import cli
from rootctl.journal import Journal, JournalEntry

POLICY = '{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:*"}]}'
ENTRIES = 4


def fill(path: Path, count: int = ENTRIES) -> Path:
    """A journal of `count` entries; entry 3 holds a policy backup in `before`."""
    with Journal(path) as journal:
        for i in range(1, count + 1):
            journal.append(
                JournalEntry(
                    command="unlock s3",
                    action="delete-policy",
                    outcome="planned" if i == 3 else "ok",
                    account_id="333333333333",
                    target="arn:aws:s3:::locked-bucket",
                    before=POLICY if i == 3 else {"n": i},
                    after={"n": i},
                    run_id=f"run-{i}",
                )
            )
    return path


def invoke(*args: str) -> tuple[int, str, str]:
    """The CLI in-process; a traceback (an exception other than exit) fails the test."""
    result = CliRunner().invoke(cli, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def snapshot(directory: Path) -> dict[str, str]:
    """Every file in `directory` with the sha256 of its bytes: 'nothing was written'."""
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(directory.iterdir())
        if p.is_file()
    }


def one_error_line(err: str) -> str:
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: "), err
    assert "Traceback" not in err
    return lines[0]
