"""Lost responses in unlock and restore: the policy change is applied, then the answer fails.

DeleteBucketPolicy, PutBucketPolicy and SetQueueAttributes are idempotent, so botocore's
retry of a lost answer simply succeeds. With retries off the lost answer is final, and the
read-back with the same session decides: a policy already in the intended state is a
success with a note (the backup entry stays valid for `restore`); anything else is the
call's error. (delete-credentials: test_rel_lost_responses.py)
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from lost_helpers import LOST_CODES, invoke_without_retries, journal_entries, lost

from rootctl.sandbox import FaultConfig, Sandbox
from rootctl.tasks import Task

from support import PAYMENTS_PROD, enabled_fixture, root_client, run_cli

BUCKET = "payments-prod-artifacts"
QUEUE = "payments-events"
OPEN_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "AllowOwner",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{PAYMENTS_PROD}:root"},
            "Action": "s3:*",
            "Resource": [f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/*"],
        }
    ],
}


def _unlock(sb: Sandbox, journal: Path) -> Any:
    return run_cli(
        sb, "unlock", "s3", "--account", PAYMENTS_PROD, "--bucket", BUCKET, "--reason", "OPS-9",
        "--yes", journal=journal,
    )  # fmt: skip


def _policy(sb: Sandbox) -> str | None:
    from moto.s3.models import s3_backends

    policy = s3_backends[PAYMENTS_PROD]["aws"].get_bucket(BUCKET).policy
    return None if policy is None else bytes(policy).decode()


def _queue_policy(sb: Sandbox) -> str | None:
    sqs = root_client(sb, PAYMENTS_PROD, Task.SQS_UNLOCK, "sqs")
    url = sqs.get_queue_url(QueueName=QUEUE)["QueueUrl"]
    text = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"])
    return text.get("Attributes", {}).get("Policy") or None


def _lost_always(*actions: str) -> FaultConfig:
    return FaultConfig(lost_response_rate=1.0, lost_response_actions=list(actions))


def _note(stderr: str) -> str:
    [note] = [line for line in stderr.splitlines() if line.startswith("note:")]
    return note


@pytest.fixture
def sb_unlock() -> Iterator[Sandbox]:
    with Sandbox.start(enabled_fixture()) as sb:
        yield sb


def test_unlock_retried_after_a_lost_answer_succeeds(sb_unlock: Sandbox, tmp_path: Path) -> None:
    """The first DeleteBucketPolicy answer is lost, the retry (idempotent) succeeds: ok."""
    sb = sb_unlock
    journal = tmp_path / "j.db"
    assert _policy(sb) is not None
    sb.set_faults(
        FaultConfig(
            lost_response_calls=[1],
            lost_response_actions=["DeleteBucketPolicy"],
            lost_response_kinds=["drop"],
        )
    )

    proc = _unlock(sb, journal)

    deletes = [c for c in sb.calls() if c["action"] == "DeleteBucketPolicy"]
    assert [c["fault"] for c in deletes] == ["lost-response", None], deletes
    assert proc.returncode == 0, proc.stderr
    assert "Deleted the policy of bucket" in proc.stdout and "note:" not in proc.stderr
    assert _policy(sb) is None
    entries = journal_entries(sb, journal)
    assert [(e["action"], e["outcome"]) for e in entries if e["action"] == "delete-policy"] == [
        ("delete-policy", "planned"),
        ("delete-policy", "ok"),
    ]


def test_unlock_whose_answer_is_lost_reads_the_policy_back_and_reports_it_done(
    sb_unlock: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Retries off, the DeleteBucketPolicy answer lost: the read-back (same session) finds
    no policy, so the unlock succeeded (exit 0) with a note naming the lost call; the
    journal's final entry is ok with the note; the rerun finds nothing to change; restore
    from the backup entry puts the original back."""
    sb = sb_unlock
    journal = tmp_path / "j.db"
    original = _policy(sb)
    assert original is not None
    sb.set_faults(_lost_always("DeleteBucketPolicy"))

    first = invoke_without_retries(
        monkeypatch, sb, journal, "unlock", "s3", "--account", PAYMENTS_PROD, "--bucket", BUCKET,
        "--reason", "OPS-9", "--yes",
    )  # fmt: skip

    assert first.exit_code == 0, first.stderr
    assert len(lost(sb, "DeleteBucketPolicy")) == 1
    session = [c["action"] for c in sb.calls() if c["task"] == Task.S3_UNLOCK.value]
    assert session == ["GetBucketPolicy", "DeleteBucketPolicy", "GetBucketPolicy"]
    assert "Deleted the policy of bucket" in first.stdout
    assert not [line for line in first.stderr.splitlines() if line.startswith("error:")]
    note = _note(first.stderr)
    assert "DeleteBucketPolicy call failed" in note and "answer was lost" in note, note
    assert any(code in note for code in LOST_CODES), note
    assert _policy(sb) is None, "the change was applied"
    entries = [e for e in journal_entries(sb, journal) if e["action"] == "delete-policy"]
    assert [e["outcome"] for e in entries] == ["planned", "ok"]
    backup, done = entries
    assert done["error"] is None and done["after"] == {"policy": None, "note": note[6:]}
    assert f"rootctl restore {backup['id']}" in first.stdout

    sb.reset_calls()
    rerun = _unlock(sb, journal)
    assert rerun.returncode == 0, rerun.stderr
    assert "nothing to change" in rerun.stdout and "it has no policy" in rerun.stdout
    assert not [c for c in sb.calls() if c["action"] == "DeleteBucketPolicy"]

    sb.set_faults(FaultConfig())
    restore = run_cli(sb, "restore", str(backup["id"]), "--yes", "--allow-lockout", journal=journal)
    assert restore.returncode == 0, restore.stderr
    assert json.loads(_policy(sb) or "null") == json.loads(original)


def test_replace_and_restore_whose_put_answers_are_lost_are_done(
    sb_unlock: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PutBucketPolicy answers lost, retries off: `unlock --replace-with` and then `restore`
    both read back the policy they put, equal as JSON: exit 0 with a note each."""
    sb = sb_unlock
    journal = tmp_path / "j.db"
    original = _policy(sb)
    assert original is not None
    replacement = tmp_path / "open.json"
    replacement.write_text(json.dumps(OPEN_POLICY))
    sb.set_faults(_lost_always("PutBucketPolicy"))

    replaced = invoke_without_retries(
        monkeypatch, sb, journal, "unlock", "s3", "--account", PAYMENTS_PROD, "--bucket", BUCKET,
        "--replace-with", str(replacement), "--reason", "OPS-9", "--yes",
    )  # fmt: skip

    assert replaced.exit_code == 0, replaced.stderr
    assert "Replaced the policy of bucket" in replaced.stdout
    assert "PutBucketPolicy call failed" in _note(replaced.stderr)
    assert json.loads(_policy(sb) or "null") == OPEN_POLICY
    backup = next(
        e for e in journal_entries(sb, journal, "--action", "replace-policy")
        if e["outcome"] == "planned"
    )  # fmt: skip

    restored = invoke_without_retries(
        monkeypatch,
        sb,
        journal,
        "restore",
        str(backup["id"]),
        "--reason",
        "OPS-9",
        "--yes",
        "--allow-lockout",
    )

    assert restored.exit_code == 0, restored.stderr
    assert "Restored the policy of bucket" in restored.stdout
    assert "PutBucketPolicy call failed" in _note(restored.stderr)
    assert json.loads(_policy(sb) or "null") == json.loads(original)
    assert len(lost(sb, "PutBucketPolicy")) == 2
    entries = journal_entries(sb, journal, "--action", "restore-policy")
    assert [e["outcome"] for e in entries] == ["planned", "ok"]
    assert json.loads(entries[1]["after"]["policy"]) == json.loads(original)


def test_unlock_sqs_whose_answer_is_lost_is_done(
    sb_unlock: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The SetQueueAttributes answer lost, retries off: the read-back finds no policy: ok."""
    sb = sb_unlock
    journal = tmp_path / "j.db"
    assert _queue_policy(sb) is not None
    sb.set_faults(_lost_always("SetQueueAttributes"))

    result = invoke_without_retries(
        monkeypatch, sb, journal, "unlock", "sqs", "--account", PAYMENTS_PROD, "--queue", QUEUE,
        "--reason", "OPS-9", "--yes",
    )  # fmt: skip

    sb.set_faults(FaultConfig())
    assert result.exit_code == 0, result.stderr
    assert len(lost(sb, "SetQueueAttributes")) == 1
    assert "Deleted the policy of queue" in result.stdout
    assert "SetQueueAttributes call failed" in _note(result.stderr)
    assert _queue_policy(sb) is None


def test_a_change_that_really_failed_is_still_an_error_after_the_read_back(
    tmp_path: Path,
) -> None:
    """An SCP denies DeleteBucketPolicy to the account's root: the call fails and is not
    applied; the read-back finds the policy still there, so the error stands (exit 1)."""
    deny = {
        "name": "deny-delete-bucket-policy",
        "content": {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "NoPolicyDeletes",
                    "Effect": "Deny",
                    "Action": "s3:DeleteBucketPolicy",
                    "Resource": "*",
                }
            ],
        },
        "targets": [PAYMENTS_PROD],
    }
    journal = tmp_path / "j.db"
    with Sandbox.start(enabled_fixture(policies=[deny])) as sb:
        original = _policy(sb)

        proc = _unlock(sb, journal)

        assert proc.returncode == 1, proc.stderr
        [error] = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
        assert "AccessDenied" in error and "note:" not in proc.stderr
        session = [c["action"] for c in sb.calls() if c["task"] == Task.S3_UNLOCK.value]
        assert session == ["GetBucketPolicy", "DeleteBucketPolicy", "GetBucketPolicy"]
        assert _policy(sb) == original
        entries = journal_entries(sb, journal, "--action", "delete-policy")
        assert [e["outcome"] for e in entries] == ["planned", "error"]
        assert "AccessDenied" in entries[1]["error"]
        with pytest.raises(ClientError):  # the SCP is what failed the call
            root_client(sb, PAYMENTS_PROD, Task.S3_UNLOCK, "s3").delete_bucket_policy(Bucket=BUCKET)
