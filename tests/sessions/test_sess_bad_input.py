"""Bad input: exit 2, one clear line, and no root session opened (no AssumeRoot call)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from rootctl.cli.main import cli
from rootctl.journal import Journal, JournalEntry
from rootctl.sandbox import Sandbox

from support import PAYMENTS_PROD

UNLOCK_S3 = ("unlock", "s3", "--account", PAYMENTS_PROD, "--reason", "OPS-1", "--yes")
UNLOCK_SQS = ("unlock", "sqs", "--account", PAYMENTS_PROD, "--reason", "OPS-1", "--yes")
EXEC = ("exec", "--account", PAYMENTS_PROD, "--reason", "OPS-1")


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "not-json.json").write_text("{ this is not json")
    (tmp_path / "not-policy.json").write_text('{"Version": "2012-10-17", "Statement": "all"}')
    (tmp_path / "strict.yaml").write_text(
        yaml.safe_dump({"root_sessions": {"reason_pattern": "^[A-Z]+-[0-9]+$"}})
    )
    with Journal(tmp_path / "j.sqlite3") as journal:
        journal.append(
            JournalEntry(
                command="unlock s3",
                action="assume-root",
                outcome="ok",
                account_id=PAYMENTS_PROD,
                after={"access_key_id": "ASIAEXAMPLE000000001"},
            )
        )
    return tmp_path


CASES = {
    "bucket name": ((*UNLOCK_S3, "--bucket", "Not_A_Bucket"), "not an S3 bucket name"),
    "policy not JSON": (
        (*UNLOCK_S3, "--bucket", "payments-prod-artifacts", "--replace-with", "not-json.json"),
        "not-json.json: not valid JSON",
    ),
    "not a policy": (
        (*UNLOCK_S3, "--bucket", "payments-prod-artifacts", "--replace-with", "not-policy.json"),
        "Statement must be a non-empty list",
    ),
    "policy file missing": (
        (*UNLOCK_S3, "--bucket", "payments-prod-artifacts", "--replace-with", "nope.json"),
        "cannot read it",
    ),
    "queue of another account": (
        (*UNLOCK_SQS, "--queue", "https://sqs.us-east-1.amazonaws.com/999999999999/q"),
        "is in account 999999999999",
    ),
    "account id": (("list-locked", "s3", "--account", "12345"), "--account"),
    "entry without backup": (("restore", "1", "--yes"), "holds no policy backup"),
    "entry missing": (("restore", "99", "--yes"), "journal entry 99 does not exist"),
    "unknown task": ((*EXEC, "--task", "root-everything", "--", "true"), "unknown task"),
    "reason pattern": (
        (
            "unlock",
            "s3",
            "--config",
            "strict.yaml",
            "--account",
            PAYMENTS_PROD,
            "--bucket",
            "payments-prod-artifacts",
            "--reason",
            "fixing stuff",
            "--yes",
        ),
        "does not match root_sessions.reason_pattern",
    ),
    "since": (("events", "--since", "last tuesday"), "--since"),
    "region": (("list-locked", "s3", "--account", PAYMENTS_PROD, "--region", "mars"), "region"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_exits_2_with_one_line_and_no_session(
    case: str, enabled_sandbox: Sandbox, workdir: Path
) -> None:
    args, message = CASES[case]
    env = {**enabled_sandbox.env(), "ROOTCTL_JOURNAL": str(workdir / "j.sqlite3")}
    enabled_sandbox.reset_calls()
    result = CliRunner().invoke(cli, list(args), env=env)
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert result.stderr.startswith("error:") and result.stderr.count("\n") == 1
    assert result.stdout == ""
    assert not [c for c in enabled_sandbox.calls() if c["action"] == "AssumeRoot"]
