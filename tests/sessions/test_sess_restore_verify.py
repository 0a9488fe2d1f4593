"""Nothing acts on a journal entry that does not verify (end to end, sandbox over HTTP).

One unlock per module backs a bucket policy up in the journal; each case tampers a copy
of that journal with sqlite3, as someone with write access to the file would, and runs
`restore`: refused with one line, exit 2, no root session opened, the bucket unchanged.
Then the same for resuming an interrupted delete, and the lockout confirmation.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from botocore.exceptions import ClientError
from click.testing import CliRunner, Result

from rootctl.cli.main import cli
from rootctl.journal import Journal
from rootctl.sandbox import Sandbox
from rootctl.tasks import Task

from support import PAYMENTS_PROD, enabled_fixture, root_client

BUCKET = "payments-prod-terraform-state"
ALLOW_ALL = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:*"}],
    }
)


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox.start(enabled_fixture()) as sb:
        yield sb


def _run(sb: Sandbox, journal: Path, *args: str) -> Result:
    env = {**sb.env(), "ROOTCTL_JOURNAL": str(journal)}
    return CliRunner().invoke(cli, list(args), env=env)


def _policy(sb: Sandbox) -> str | None:
    s3 = root_client(sb, PAYMENTS_PROD, Task.S3_UNLOCK, "s3")
    try:
        return str(s3.get_bucket_policy(Bucket=BUCKET)["Policy"])
    except ClientError:
        return None


@pytest.fixture(scope="module")
def unlocked(sandbox: Sandbox, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    """A journal holding the backup of BUCKET's locking policy; the bucket now has none."""
    journal = tmp_path_factory.mktemp("unlocked") / "journal.sqlite3"
    done = _run(sandbox, journal, "unlock", "s3", "--account", PAYMENTS_PROD, "--bucket", BUCKET,
                "--reason", "OPS-1", "--yes")  # fmt: skip
    assert done.exit_code == 0, done.output
    with Journal(journal, readonly=True) as opened:
        [backup] = opened.list(action="delete-policy", outcome="planned")
    assert _policy(sandbox) is None
    return journal, backup.id


def _sql(*statements: str) -> Callable[[Path, int], None]:
    def tamper(path: Path, backup: int) -> None:
        conn = sqlite3.connect(path, isolation_level=None)
        for statement in statements:
            conn.execute(statement.replace("{b}", str(backup)))
        conn.close()

    return tamper


def _truncate(path: Path, backup: int) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


TAMPERINGS: dict[str, tuple[Callable[[Path, int], None], str]] = {
    "backup policy replaced": (
        _sql(f"UPDATE entries SET before = json_quote('{ALLOW_ALL}') WHERE id = {{b}}"),
        "was edited",
    ),
    "backup made invalid JSON": (
        _sql("UPDATE entries SET before = '{{' WHERE id = {b}"),
        "was edited",
    ),
    "backup target moved": (
        _sql("UPDATE entries SET target = 'arn:aws:s3:::other-bucket' WHERE id = {b}"),
        "was edited",
    ),
    "backup account changed": (
        _sql("UPDATE entries SET account_id = '444444444444' WHERE id = {b}"),
        "was edited",
    ),
    "an earlier entry edited": (_sql("UPDATE entries SET reason = 'x' WHERE id = 1"), "entry 1"),
    "a later entry edited": (
        _sql("UPDATE entries SET error = 'x' WHERE id = {b} + 1"),
        "was edited",
    ),
    "an earlier entry deleted": (_sql("DELETE FROM entries WHERE id = 1"), "is missing"),
    "the last entry deleted": (
        _sql("DELETE FROM entries WHERE id = (SELECT max(id) FROM entries)"),
        "is missing",
    ),
    "the head removed": (_sql("DELETE FROM head"), "head record is missing"),
    "the journal truncated": (_truncate, "is truncated"),
    "the journal emptied": (lambda p, b: p.write_bytes(b""), "is empty"),
}


@pytest.mark.parametrize("name", TAMPERINGS)
def test_restore_refuses_an_entry_that_does_not_verify(
    sandbox: Sandbox, unlocked: tuple[Path, int], tmp_path: Path, name: str
) -> None:
    source, backup = unlocked
    journal = tmp_path / "journal.sqlite3"
    shutil.copy(source, journal)
    tamper, says = TAMPERINGS[name]
    tamper(journal, backup)
    sandbox.reset_calls()
    for extra in ((), ("--allow-lockout",), ("--dry-run",)):
        done = _run(sandbox, journal, "restore", str(backup), "--yes", *extra)
        assert done.exit_code == 2, done.output
        assert done.stdout == ""
        [line] = done.stderr.splitlines()
        assert line.startswith("error: ") and says in line and str(journal) in line
    assert [c for c in sandbox.calls() if c["action"] == "AssumeRoot"] == []
    assert _policy(sandbox) is None  # the bucket is exactly as the unlock left it


def test_resume_refuses_a_journal_that_does_not_verify(
    sandbox: Sandbox, unlocked: tuple[Path, int], tmp_path: Path
) -> None:
    """delete-credentials reads earlier plans back to resume them: verified first."""
    journal = tmp_path / "journal.sqlite3"
    shutil.copy(unlocked[0], journal)
    _sql("UPDATE entries SET reason = 'x' WHERE id = 2")(journal, 0)
    sandbox.reset_calls()
    done = _run(sandbox, journal, "delete-credentials", "--accounts", PAYMENTS_PROD,
                "--reason", "SEC-1 cleanup", "--yes")  # fmt: skip
    assert done.exit_code == 2, done.output
    assert "does not verify (entry 2 was edited" in done.stderr.splitlines()[-1]
    assert [c for c in sandbox.calls() if c["mutating"] and c["action"] != "AssumeRoot"] == []


def test_restoring_a_lockout_needs_allow_lockout(
    sandbox: Sandbox, unlocked: tuple[Path, int], tmp_path: Path
) -> None:
    journal = tmp_path / "journal.sqlite3"
    shutil.copy(unlocked[0], journal)
    backup = unlocked[1]
    refused = _run(sandbox, journal, "restore", str(backup), "--yes")
    assert refused.exit_code == 2, refused.output
    [line] = refused.stderr.splitlines()
    assert "denies every principal" in line and "allow" in line
    assert _policy(sandbox) is None

    done = _run(sandbox, journal, "restore", str(backup), "--yes", "--allow-lockout")
    assert done.exit_code == 0, done.output
    assert _policy(sandbox) is not None
    with Journal(journal, readonly=True) as opened:
        assert opened.verify().ok
