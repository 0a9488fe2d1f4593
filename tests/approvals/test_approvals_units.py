"""The rules without AWS: config validation, principal matching, state from entries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from rootctl.approvals.model import COMMAND, requests_from
from rootctl.config.loading import config_from_text
from rootctl.config.models import Approval, principal_arns
from rootctl.errors import UsageError
from rootctl.journal import Journal, JournalEntry
from rootctl.tasks import Task

ROLE = "arn:aws:iam::111111111111:role/SecurityLead"
SESSION = "arn:aws:sts::111111111111:assumed-role/SecurityLead/alice@example.com"


@pytest.mark.parametrize(
    ("yaml", "message"),
    [
        ("tasks: [s3-unlock]", "root_sessions.approval.approvers: tasks need approval but"),
        ("tasks: [nope]", "root_sessions.approval.tasks[0]: 'nope' is not a task"),
        ("tasks: [audit, audit]\n    approvers: ['arn:aws:iam::*:role/x']", "tasks[1]:"),
        ("approvers: [bob]", "root_sessions.approval.approvers[0]: 'bob' is not a principal"),
        ("valid_for: 25h", "root_sessions.approval.valid_for: expected a duration from 1m"),
        ("valid_for: 30", "root_sessions.approval.valid_for: expected a duration from 1m"),
        ("valid_for: 1d", "root_sessions.approval.valid_for:"),
        ("required_approvals: 0", "root_sessions.approval.required_approvals: expected"),
        ("required_approvals: 11", "root_sessions.approval.required_approvals: expected"),
        ("required_approvals: '2'", "root_sessions.approval.required_approvals: expected"),
        ("approver: []", "root_sessions.approval.approver: 'approver' is not a known key"),
    ],
)
def test_bad_approval_config_is_one_line_naming_the_field(yaml: str, message: str) -> None:
    with pytest.raises(UsageError) as caught:
        config_from_text(f"root_sessions:\n  approval:\n    {yaml}\n")
    text = str(caught.value)
    assert message in text and "\n" not in text


def test_defaults_need_no_approval_and_windows_take_units() -> None:
    assert Approval().tasks == () and Approval().valid_for == 3600
    loaded = config_from_text(
        "root_sessions:\n  approval:\n    tasks: [delete]\n"
        "    approvers: ['arn:aws:iam::*:user/x']\n    valid_for: 90s\n"
    )
    assert loaded.root_sessions.approval.valid_for == 90
    assert loaded.root_sessions.approval.needs(Task.DELETE)


def test_an_assumed_role_session_matches_its_role_and_wildcards_are_only_star_and_query() -> None:
    assert principal_arns(SESSION) == (SESSION, ROLE)
    assert principal_arns(ROLE) == (ROLE,)
    rules = Approval(tasks=(Task.AUDIT,), approvers=(ROLE,))
    assert rules.may_approve(SESSION) and rules.may_approve(ROLE)
    assert not rules.may_approve("arn:aws:sts::111111111111:assumed-role/SecurityLeads/x")
    wild = Approval(tasks=(Task.AUDIT,), approvers=("arn:aws:iam::*:role/Sec?rityLead",))
    assert wild.may_approve(SESSION)
    brackets = Approval(tasks=(Task.AUDIT,), approvers=("arn:aws:iam::111111111111:role/[S]*",))
    assert not brackets.may_approve(ROLE)  # `[` is literal, not a character class


def _append(journal: Journal, action: str, by: str, request_id: str = "req-1") -> int:
    return journal.append(
        JournalEntry(
            command=COMMAND,
            action=action,
            outcome="ok",
            account_id="333333333333",
            task_policy=Task.AUDIT.value,
            target="arn:aws:iam::333333333333:root",
            reason="OPS-1",
            operator=by,
            after={"request_id": request_id, "by": by},
        )
    ).id


def test_state_from_entries_first_use_wins_and_repeated_approvals_count_once(
    tmp_path: Path,
) -> None:
    rules = Approval(
        tasks=(Task.AUDIT,), approvers=("arn:aws:iam::*:user/*",), required_approvals=2
    )
    with Journal(tmp_path / "j.sqlite3") as journal:
        _append(journal, "request", "alice")
        _append(journal, "approve", "alice")  # the requester never counts
        _append(journal, "approve", "bob")
        _append(journal, "approve", "bob")  # nor twice the same approver
        now = datetime.now(UTC)
        [request] = requests_from(journal.verified_entries(command=COMMAND)).values()
        assert request.state(rules, now) == "pending" and len(request.approvers()) == 1
        _append(journal, "approve", "carol")
        first = _append(journal, "use", "alice")
        _append(journal, "use", "alice")  # a racing run's use, later in the chain
        [request] = requests_from(journal.verified_entries(command=COMMAND)).values()
    assert request.use is not None and request.use.entry_id == first
    assert request.state(rules, now) == "used"
    assert request.approved_at(2) is not None


def test_an_approved_request_expires_valid_for_after_its_approval(tmp_path: Path) -> None:
    rules = Approval(tasks=(Task.AUDIT,), approvers=("arn:aws:iam::*:user/*",), valid_for=60)
    with Journal(tmp_path / "j.sqlite3") as journal:
        _append(journal, "request", "alice")
        _append(journal, "approve", "bob")
        [request] = requests_from(journal.verified_entries(command=COMMAND)).values()
    approved = request.approved_at(1)
    assert approved is not None
    assert request.state(rules, approved + timedelta(seconds=59)) == "approved"
    assert request.state(rules, approved + timedelta(seconds=60)) == "expired"
