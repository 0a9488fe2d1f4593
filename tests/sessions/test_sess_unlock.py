"""End to end against the sandbox over HTTP: list-locked, unlock s3|sqs, restore (the CLI)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from click.testing import CliRunner, Result

from rootctl.cli.main import cli
from rootctl.journal import Journal
from rootctl.sandbox import Sandbox
from rootctl.tasks import Task

from support import PAYMENTS_PROD, SUSPENDED, root_client

ARTIFACTS = "payments-prod-artifacts"
STATE = "payments-prod-terraform-state"
QUEUE = "payments-events"
Run = Callable[..., Result]


@pytest.fixture
def run(enabled_sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Run:
    monkeypatch.chdir(tmp_path)  # no stray ./rootctl.yaml
    env = {**enabled_sandbox.env(), "ROOTCTL_JOURNAL": str(tmp_path / "j.sqlite3")}

    def invoke(*args: str) -> Result:
        return CliRunner().invoke(cli, list(args), env=env)

    return invoke


def journal(tmp_path: Path) -> Journal:
    return Journal(tmp_path / "j.sqlite3")


def assume_roots(sb: Sandbox) -> list[dict[str, Any]]:
    return [c for c in sb.calls() if c["action"] == "AssumeRoot"]


def bucket_policy(sb: Sandbox, bucket: str) -> str | None:
    s3 = root_client(sb, PAYMENTS_PROD, Task.S3_UNLOCK, "s3")
    try:
        return str(s3.get_bucket_policy(Bucket=bucket)["Policy"])
    except ClientError as exc:
        assert exc.response["Error"]["Code"] == "NoSuchBucketPolicy"
        return None


def queue_policy(sb: Sandbox) -> str | None:
    sqs = root_client(sb, PAYMENTS_PROD, Task.SQS_UNLOCK, "sqs")
    url = sqs.get_queue_url(QueueName=QUEUE)["QueueUrl"]
    policy = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"])
    text = policy.get("Attributes", {}).get("Policy")
    return str(text) if text else None


def test_list_locked_finds_both_buckets_and_the_queue(run: Run) -> None:
    s3 = run("list-locked", "s3", "--account", PAYMENTS_PROD)
    assert s3.exit_code == 0, s3.output
    assert ARTIFACTS in s3.stdout and STATE in s3.stdout
    assert "Sid DenyEveryone" in s3.stdout and "2 of 2 buckets" in s3.stdout
    sqs = run("list-locked", "sqs", "--account", PAYMENTS_PROD, "-o", "json")
    assert sqs.exit_code == 0, sqs.output
    document = json.loads(sqs.stdout)
    assert (document["schema"], document["kind"]) == ("rootctl.locked/v1", "sqs")
    [row] = document["resources"]
    assert (row["name"], row["locked"], row["statements"][0]["sid"]) == (QUEUE, True, "DenyAll")


def test_unlock_s3_needs_confirmation_then_deletes_and_backs_up(
    run: Run, enabled_sandbox: Sandbox, tmp_path: Path
) -> None:
    original = bucket_policy(enabled_sandbox, ARTIFACTS)
    enabled_sandbox.reset_calls()
    args = ("unlock", "s3", "--account", PAYMENTS_PROD, "--bucket", ARTIFACTS, "--reason", "OPS-1")
    refused = run(*args)
    assert refused.exit_code == 2 and "--yes" in refused.stderr
    assert not assume_roots(enabled_sandbox)  # refused before any session

    done = run(*args, "--yes")
    assert done.exit_code == 0, done.output
    assert "Statement[0] (Sid DenyEveryone) denies every principal" in done.stdout
    assert len(assume_roots(enabled_sandbox)) == 1
    session_calls = [c for c in enabled_sandbox.calls() if c["task"]]
    # The narrowest task policy, and one session for read, delete and verify.
    assert {c["task"] for c in session_calls} == {Task.S3_UNLOCK.value}
    assert [c["action"] for c in session_calls] == [
        "GetBucketPolicy", "DeleteBucketPolicy", "GetBucketPolicy"
    ]  # fmt: skip
    assert bucket_policy(enabled_sandbox, ARTIFACTS) is None
    entries = journal(tmp_path).list(action="delete-policy")
    assert [e.outcome for e in entries] == ["planned", "ok"]
    assert entries[0].before == original  # the backup is the policy text, exactly
    assert f"rootctl restore {entries[0].id}" in done.stdout
    opened = journal(tmp_path).list(action="assume-root")
    assert opened[0].after["access_key_id"] == session_calls[0]["access_key_id"]


def test_restore_puts_back_a_policy_equal_as_json(
    run: Run, enabled_sandbox: Sandbox, tmp_path: Path
) -> None:
    original = bucket_policy(enabled_sandbox, STATE)
    assert original is not None
    unlock = run(
        "unlock", "s3", "--account", PAYMENTS_PROD, "--bucket", STATE, "--reason", "OPS-2", "--yes"
    )
    assert unlock.exit_code == 0, unlock.output
    backup = journal(tmp_path).list(action="delete-policy", outcome="planned")[0]

    restored = run("restore", str(backup.id), "--yes", "--allow-lockout")
    assert restored.exit_code == 0, restored.output
    assert json.loads(bucket_policy(enabled_sandbox, STATE) or "") == json.loads(original)
    entry = journal(tmp_path).list(action="restore-policy")[-1]
    assert (entry.outcome, entry.task_policy) == ("ok", Task.S3_UNLOCK.value)

    again = run(
        "restore", str(backup.id), "--yes", "--allow-lockout"
    )  # already in place: nothing to do
    assert again.exit_code == 0 and "already" not in again.stderr
    assert "nothing to change" in again.stdout


def test_unlock_sqs_by_url_then_restore(run: Run, enabled_sandbox: Sandbox, tmp_path: Path) -> None:
    original = queue_policy(enabled_sandbox)
    assert original is not None
    sqs = root_client(enabled_sandbox, PAYMENTS_PROD, Task.SQS_UNLOCK, "sqs")
    url = sqs.get_queue_url(QueueName=QUEUE)["QueueUrl"]
    enabled_sandbox.reset_calls()

    done = run(
        "unlock", "sqs", "--account", PAYMENTS_PROD, "--queue", url, "--reason", "OPS-3", "--yes"
    )
    assert done.exit_code == 0, done.output
    assert queue_policy(enabled_sandbox) is None
    actions = {c["action"] for c in enabled_sandbox.calls()}
    assert "SetQueueAttributes" in actions and "RemovePermission" not in actions
    backup = journal(tmp_path).list(action="delete-policy", outcome="planned")[0]
    assert backup.task_policy == Task.SQS_UNLOCK.value and backup.before == original

    restored = run("restore", str(backup.id), "--yes", "--allow-lockout")
    assert restored.exit_code == 0, restored.output
    assert json.loads(queue_policy(enabled_sandbox) or "") == json.loads(original)


def test_dry_run_shows_the_plan_and_changes_nothing(
    run: Run, enabled_sandbox: Sandbox, tmp_path: Path
) -> None:
    enabled_sandbox.reset_calls()
    result = run("unlock", "s3", "--account", PAYMENTS_PROD, "--bucket", ARTIFACTS, "--dry-run")
    assert result.exit_code == 0, result.output
    assert "Plan: delete the policy" in result.stdout and "Dry run" in result.stdout
    changes = [c for c in enabled_sandbox.calls() if c["mutating"] and c["action"] != "AssumeRoot"]
    assert changes == []
    assert bucket_policy(enabled_sandbox, ARTIFACTS) is not None
    [entry] = journal(tmp_path).list(action="delete-policy")
    assert (entry.outcome, entry.error) == ("skipped", "dry run")


def test_replace_with_puts_the_new_policy_and_verifies(
    run: Run, enabled_sandbox: Sandbox, tmp_path: Path
) -> None:
    replacement = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AllowOwner",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{PAYMENTS_PROD}:root"},
                "Action": "s3:*",
                "Resource": [f"arn:aws:s3:::{ARTIFACTS}", f"arn:aws:s3:::{ARTIFACTS}/*"],
            }
        ],
    }
    path = tmp_path / "policy.json"
    path.write_text(json.dumps(replacement))
    result = run(
        "unlock", "s3", "--account", PAYMENTS_PROD, "--bucket", ARTIFACTS,
        "--replace-with", str(path), "--reason", "OPS-4", "--yes",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert json.loads(bucket_policy(enabled_sandbox, ARTIFACTS) or "") == replacement
    entry = journal(tmp_path).list(action="replace-policy", outcome="ok")[0]
    assert json.loads(entry.after) == replacement


def test_a_replacement_that_locks_again_is_refused(
    run: Run, enabled_sandbox: Sandbox, tmp_path: Path
) -> None:
    path = tmp_path / "lock.json"
    path.write_text(json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*"}],
    }))  # fmt: skip
    result = run(
        "unlock", "s3", "--account", PAYMENTS_PROD, "--bucket", ARTIFACTS,
        "--replace-with", str(path), "--reason", "OPS-5", "--yes",
    )  # fmt: skip
    assert result.exit_code == 2 and "denies every principal too" in result.stderr
    assert not assume_roots(enabled_sandbox)


def test_a_bucket_without_policy_has_nothing_to_unlock(
    run: Run, enabled_sandbox: Sandbox, tmp_path: Path
) -> None:
    args = ("unlock", "s3", "--account", PAYMENTS_PROD, "--bucket", ARTIFACTS, "--reason", "OPS-6")
    assert run(*args, "--yes").exit_code == 0
    again = run(*args, "--yes")
    assert again.exit_code == 0, again.output
    assert "has no policy" in again.stdout
    assert journal(tmp_path).list(action="unlock")[-1].outcome == "skipped"


def test_a_missing_bucket_is_bad_input_found_in_the_session(
    run: Run, enabled_sandbox: Sandbox, tmp_path: Path
) -> None:
    result = run(
        "unlock",
        "s3",
        "--account",
        PAYMENTS_PROD,
        "--bucket",
        "no-such-bucket",
        "--reason",
        "OPS-7",
        "--yes",
    )
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        f"error: bucket 'no-such-bucket' does not exist in account {PAYMENTS_PROD}"
    )
    # Existence can only be checked inside the member account: one read-only session, journaled.
    assert len(assume_roots(enabled_sandbox)) == 1
    assert not [c for c in enabled_sandbox.calls() if c["mutating"] and c["action"] != "AssumeRoot"]
    [entry] = journal(tmp_path).list(outcome="error")
    assert entry.command == "unlock s3" and "does not exist" in (entry.error or "")


def test_a_refused_assume_root_exits_1_and_is_journaled(
    run: Run, tmp_path: Path, enabled_sandbox: Sandbox
) -> None:
    from rootctl.sandbox import FaultConfig

    enabled_sandbox.set_faults(FaultConfig(fail_assume_root={PAYMENTS_PROD: "AccessDenied"}))
    result = run("list-locked", "s3", "--account", PAYMENTS_PROD)
    assert result.exit_code == 1
    assert f"could not open a s3-unlock root session in {PAYMENTS_PROD}" in result.stderr
    assert "AccessDenied" in result.stderr and result.stderr.count("\n") == 1
    [entry] = journal(tmp_path).list(action="assume-root")
    assert entry.outcome == "error" and "Injected failure" in (entry.error or "")


def test_a_suspended_account_is_bad_input_before_any_session(
    run: Run, enabled_sandbox: Sandbox
) -> None:
    enabled_sandbox.reset_calls()
    result = run("list-locked", "s3", "--account", SUSPENDED)
    assert result.exit_code == 2 and "SUSPENDED" in result.stderr
    assert not [c for c in enabled_sandbox.calls() if c["action"] == "AssumeRoot"]
