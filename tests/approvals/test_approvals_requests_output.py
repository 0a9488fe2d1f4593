"""`rootctl requests -o json` is the rootctl.requests/v1 document: every state, every part
(approvals, denial, use), validated against the shipped schema and read back by its model."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from approval_helpers import APPROVER_ARN, ARTIFACTS, CONFIG, REQUESTER_ARN, STATE, People

from rootctl.approvals import flow
from rootctl.approvals.model import RequestView
from rootctl.config.models import Approval
from rootctl.documents import dump
from rootctl.documents.approvals import requests_document
from rootctl.journal import Journal
from rootctl.sandbox import Sandbox
from rootctl.tasks import Task

from support import EXPERIMENTS, PAYMENTS_PROD, checked_document, enabled_fixture


@pytest.fixture
def people(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[People]:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "rootctl.yaml").write_text(CONFIG)
    with Sandbox.start(enabled_fixture()) as sb:
        yield People(sb, tmp_path)


def made(people: People, *args: str) -> str:
    result = people.requester("request", *args)
    assert result.exit_code == 0, result.output
    return result.stdout.strip()


def ok(result: Any) -> Any:
    assert result.exit_code == 0, result.output
    return result


def when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


# One request in each state a clock cannot change, in the order they are made.
ASKED: dict[str, tuple[str, ...]] = {
    "pending": ("s3-unlock", "--bucket", ARTIFACTS, "--reason", "OPS-10 pending one"),
    "approved": ("sqs-unlock", "--duration", "300", "--reason", "OPS-11 queue"),
    "denied": ("s3-unlock", "--bucket", STATE, "--reason", "OPS-12 state bucket"),
    "used": ("create-password", "--reason", "OPS-13 owner lost the password"),
}


def four_requests(people: People) -> dict[str, str]:
    """Request, approve, deny and use: one request per state, as two people."""
    ids = {
        state: made(
            people,
            args[0],
            "--account",
            EXPERIMENTS if state == "used" else PAYMENTS_PROD,
            *args[1:],
        )
        for state, args in ASKED.items()
    }
    ok(people.approver("approve", ids["approved"], "--reason", "looked at OPS-11"))
    ok(people.approver("deny", ids["denied"], "--reason", "use the Terraform runbook"))
    ok(people.approver("approve", ids["used"]))
    ok(people.requester("allow-password-recovery", EXPERIMENTS, "--request", ids["used"], "--yes"))
    return ids


def test_requests_json_is_a_document_with_every_state_and_part(people: People) -> None:
    ids = four_requests(people)
    before = datetime.now().astimezone()
    listed = ok(people.approver("requests", "-o", "json"))
    after = datetime.now().astimezone()
    document = checked_document("requests", listed.stdout)

    assert document["schema"] == "rootctl.requests/v1" and document["pending_only"] is False
    assert before <= when(document["as_of"]) <= after
    by_id = {item["id"]: item for item in document["requests"]}
    assert [item["id"] for item in document["requests"]] == list(ids.values())  # oldest first
    assert {state: by_id[rid]["state"] for state, rid in ids.items()} == {
        state: state for state in ids
    }
    journal = {e.id: e for e in people.entries(command="approvals")}
    for state, rid in ids.items():
        item = by_id[rid]
        assert item["requester"] == REQUESTER_ARN and item["account_id"] in (
            PAYMENTS_PROD,
            EXPERIMENTS,
        )
        assert item["required_approvals"] == 1
        assert journal[item["entry_id"]].action == "request"
        assert when(item["requested_at"]) < when(item["expires_at"])
        assert [a["by"] for a in item["approvals"]] == (
            [APPROVER_ARN] if state in ("approved", "used") else []
        )
        for approval in item["approvals"]:
            assert journal[approval["entry_id"]].action == "approve"
        assert (item["denial"] is None) == (state != "denied")
        assert (item["use"] is None) == (state != "used")

    approved, denied, used = by_id[ids["approved"]], by_id[ids["denied"]], by_id[ids["used"]]
    assert approved["task"] == Task.SQS_UNLOCK.value and approved["duration_seconds"] == 300
    assert approved["approvals"][0]["reason"] == "looked at OPS-11"
    # An approved request is usable valid_for (1h) after its approval, not after the request.
    assert when(approved["expires_at"]) == when(approved["approvals"][0]["at"]) + timedelta(hours=1)
    assert denied["denial"]["by"] == APPROVER_ARN
    assert denied["denial"]["reason"] == "use the Terraform runbook"
    assert journal[denied["denial"]["entry_id"]].action == "deny"
    assert used["task"] == Task.CREATE_PASSWORD.value and used["target"].endswith(":root")
    assert used["use"]["by"] == REQUESTER_ARN
    assert journal[used["use"]["entry_id"]].action == "use"

    pending = checked_document("requests", ok(people.approver("requests", "--pending", "-o", "json")).stdout)  # fmt: skip
    assert pending["pending_only"] is True
    assert [item["id"] for item in pending["requests"]] == [ids["pending"]]
    assert pending["requests"][0] == by_id[ids["pending"]] | {
        "expires_at": pending["requests"][0]["expires_at"]
    }

    table = ok(people.approver("requests"))
    rows = [line.split("\t") for line in table.stdout.splitlines()]
    assert [(row[0], row[1]) for row in rows] == [(rid, state) for state, rid in ids.items()]
    assert table.stderr.strip() == "4 request(s)."
    assert rows[1][7] == "until " + when(approved["expires_at"]).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_an_expired_request_is_expired_in_the_document(people: People) -> None:
    """State is derived at `as_of`: two hours later the pending and the approved request are
    expired, the denied and the used one keep their state (library path, clock moved)."""
    ids = four_requests(people)
    rules = Approval(
        tasks=(Task.S3_UNLOCK, Task.SQS_UNLOCK, Task.CREATE_PASSWORD),
        approvers=(APPROVER_ARN,),
        valid_for=3600,
    )
    later = flow.utcnow() + timedelta(hours=2)
    with Journal(people.journal_path) as journal:
        views = [RequestView.of(r, rules, later) for r in flow.load(journal).values()]
    document = checked_document(
        "requests", dump(requests_document(views, as_of=later, pending_only=False))
    )
    assert when(document["as_of"]) == later
    states = {item["id"]: item["state"] for item in document["requests"]}
    assert states == {
        ids["pending"]: "expired",
        ids["approved"]: "expired",
        ids["denied"]: "denied",
        ids["used"]: "used",
    }


def test_untrusted_text_is_escaped_and_reads_back(people: People) -> None:
    """A reason with a bidi override and a C1 control: escaped in the JSON (and the table),
    the same text when read back."""
    reason = "OPS-14 \u202egnp.exe \x9b31m red"
    rid = made(people, "s3-unlock", "--account", PAYMENTS_PROD, "--bucket", ARTIFACTS,
               "--reason", reason)  # fmt: skip
    listed = ok(people.approver("requests", "-o", "json")).stdout
    assert "\u202e" not in listed and "\x9b" not in listed
    [item] = checked_document("requests", listed)["requests"]
    assert (item["id"], item["reason"]) == (rid, reason)
    table = ok(people.approver("requests")).stdout
    assert "\u202e" not in table and "\x9b" not in table
