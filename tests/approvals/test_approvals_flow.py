"""End to end against the sandbox with two identities: request, approve, use once."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from approval_helpers import (
    APPROVER_ARN,
    ARTIFACTS,
    CONFIG,
    REQUESTER_ARN,
    STATE,
    People,
    assume_roots,
    one_line_error,
)

from rootctl.journal import Journal
from rootctl.sandbox import Sandbox

from support import EXPERIMENTS, PAYMENTS_PROD, checked_document, enabled_fixture


@pytest.fixture
def people(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[People]:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "rootctl.yaml").write_text(CONFIG)
    with Sandbox.start(enabled_fixture()) as sb:
        yield People(sb, tmp_path)


def request(people: People, *args: str) -> str:
    made = people.requester("request", *args)
    assert made.exit_code == 0, made.output
    request_id = made.stdout.strip()
    assert request_id.startswith("req-"), made.stdout
    return request_id


def unlock(people: People, request_id: str, bucket: str = ARTIFACTS) -> tuple[str, ...]:
    return ("unlock", "s3", "--account", PAYMENTS_PROD, "--bucket", bucket,
            "--request", request_id, "--yes")  # fmt: skip


def test_request_approve_unlock_once_then_refused(people: People) -> None:
    sb = people.sb
    rid = request(people, "s3-unlock", "--account", PAYMENTS_PROD, "--bucket", ARTIFACTS,
                  "--reason", "OPS-1 locked artifacts bucket")  # fmt: skip
    assert not assume_roots(sb)  # a request opens no root session
    listed = checked_document(
        "requests", people.approver("requests", "--pending", "-o", "json").stdout
    )
    assert listed["pending_only"] is True
    assert [(r["id"], r["state"], r["requester"]) for r in listed["requests"]] == [
        (rid, "pending", REQUESTER_ARN)
    ]

    approved = people.approver("approve", rid)
    assert approved.exit_code == 0, approved.output
    assert "now approved, 1 of 1" in approved.stdout

    done = people.requester(*unlock(people, rid))
    assert done.exit_code == 0, done.output
    assert "Deleted the policy" in done.stdout
    assert len(assume_roots(sb)) == 1

    sb.reset_calls()
    again = people.requester(*unlock(people, rid))
    assert "was used" in one_line_error(again)
    assert not assume_roots(sb)

    after = checked_document("requests", people.requester("requests", "-o", "json").stdout)
    [view] = after["requests"]
    assert view["state"] == "used"
    assert [a["by"] for a in view["approvals"]] == [APPROVER_ARN]
    with Journal(people.journal_path) as journal:
        assert journal.verify().ok
    used = people.entries(command="approvals", action="use")
    assert len(used) == 1  # the second run refused before writing a use
    refused = people.refusals()
    assert refused[-1].action == "unlock" and "was used" in (refused[-1].error or "")


def test_self_approval_is_refused_and_journaled(people: People) -> None:
    rid = request(people, "s3-unlock", "--account", PAYMENTS_PROD, "--bucket", ARTIFACTS,
                  "--reason", "OPS-2 locked")  # fmt: skip
    line = one_line_error(people.requester("approve", rid))
    assert f"{REQUESTER_ARN} made request {rid}" in line
    [refusal] = people.refusals()
    assert (refusal.action, refusal.operator, refusal.account_id) == (
        "approve",
        REQUESTER_ARN,
        PAYMENTS_PROD,
    )
    assert not people.entries(command="approvals", action="approve")
    assert not assume_roots(people.sb)


def test_a_task_that_needs_approval_is_refused_without_a_request(people: People) -> None:
    args = ("unlock", "s3", "--account", PAYMENTS_PROD, "--bucket", ARTIFACTS, "--reason",
            "OPS-3 locked", "--yes")  # fmt: skip
    line = one_line_error(people.requester(*args))
    assert "needs an approved break-glass request" in line
    assert not assume_roots(people.sb)
    assert people.refusals()[-1].action == "unlock"


def test_password_recovery_and_exec_run_under_their_requests(people: People) -> None:
    rid = request(people, "create-password", "--account", EXPERIMENTS, "--reason",
                  "OPS-4 owner lost the password")  # fmt: skip
    assert people.approver("approve", rid).exit_code == 0
    done = people.requester("allow-password-recovery", EXPERIMENTS, "--request", rid, "--yes")
    assert done.exit_code == 0, done.output
    assert people.sb.root_state()[EXPERIMENTS]["password"] is not None
    again = people.requester("allow-password-recovery", EXPERIMENTS, "--request", rid, "--yes")
    assert "was used" in one_line_error(again)

    rid = request(people, "sqs-unlock", "--account", PAYMENTS_PROD, "--reason", "OPS-5 queue")
    assert people.approver("approve", rid).exit_code == 0
    code = "import os, sys; sys.exit(0 if os.environ['AWS_SESSION_TOKEN'] else 1)"
    ran = people.requester("exec", "--account", PAYMENTS_PROD, "--task", "sqs-unlock",
                           "--request", rid, "--", sys.executable, "-c", code)  # fmt: skip
    assert ran.exit_code == 0, ran.output
    [entry] = people.entries(action="exec")
    assert entry.reason == "OPS-5 queue"  # the request's reason stands in
    with Journal(people.journal_path) as journal:
        assert journal.verify().ok


def test_deny_makes_a_request_unusable(people: People) -> None:
    rid = request(people, "s3-unlock", "--account", PAYMENTS_PROD, "--bucket", STATE,
                  "--reason", "OPS-6 state bucket")  # fmt: skip
    denied = people.approver("deny", rid, "--reason", "use the Terraform runbook")
    assert denied.exit_code == 0 and "now denied" in denied.stdout, denied.output
    line = one_line_error(people.requester(*unlock(people, rid, STATE)))
    assert f"denied by {APPROVER_ARN}" in line
    assert not assume_roots(people.sb)
