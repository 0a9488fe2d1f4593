"""Every refusal of the two-person rule: exit 2, one line, journaled, no root session."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from approval_helpers import APPROVER_ARN, ARTIFACTS, CONFIG, STATE, People, assume_roots
from approval_helpers import one_line_error as refused_line
from click.testing import Result

from rootctl.approvals import flow
from rootctl.sandbox import Sandbox

from support import MANAGEMENT, PAYMENTS_DEV, PAYMENTS_PROD, enabled_fixture

TWO = CONFIG.replace(
    f'approvers: ["arn:aws:iam::{MANAGEMENT}:user/rootctl-approver"]',
    f'approvers: ["arn:aws:iam::{MANAGEMENT}:user/rootctl-*"]\n    required_approvals: 2',
)


@pytest.fixture(scope="module")
def sb() -> Iterator[Sandbox]:
    with Sandbox.start(enabled_fixture()) as sandbox:
        yield sandbox


@pytest.fixture
def people(sb: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> People:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "rootctl.yaml").write_text(CONFIG)
    sb.reset_calls()
    return People(sb, tmp_path)


def made(people: People, *args: str) -> str:
    result = people.requester("request", *args)
    assert result.exit_code == 0, result.output
    return result.stdout.strip()


def bucket_request(people: People, bucket: str = ARTIFACTS, *, approve: bool = True) -> str:
    rid = made(people, "s3-unlock", "--account", PAYMENTS_PROD, "--bucket", bucket, "--reason",
               "OPS-10 locked")  # fmt: skip
    if approve:
        assert people.approver("approve", rid).exit_code == 0
    return rid


def unlock(people: People, rid: str, bucket: str = ARTIFACTS) -> Result:
    return people.requester("unlock", "s3", "--account", PAYMENTS_PROD, "--bucket", bucket,
                            "--request", rid, "--yes")  # fmt: skip


def assert_refused(people: People, result: Result, words: str, action: str) -> None:
    """One line naming the problem, its refusal journaled, no root session, no change."""
    line = refused_line(result)
    assert words in line, line
    last = people.refusals()[-1]
    assert last.action == action and words in (last.error or ""), last
    assert not assume_roots(people.sb)
    assert not [c for c in people.sb.calls() if c["mutating"]]


Case = Callable[[People], tuple[Result, str, str]]


def approving_own(p: People) -> tuple[Result, str, str]:
    rid = bucket_request(p, approve=False)
    return p.requester("approve", rid), "it must be approved by another principal", "approve"


def approving_twice(p: People) -> tuple[Result, str, str]:
    rid = bucket_request(p)
    return p.approver("approve", rid), f"{APPROVER_ARN} already approved", "approve"


def approver_outside_patterns(p: People) -> tuple[Result, str, str]:
    rid = bucket_request(p, approve=False)
    outsider = p.sb.credentials_for(MANAGEMENT, "intern")
    return p.as_(outsider, "approve", rid), "matches no root_sessions.approval.approvers", "approve"


def unknown_id(p: People) -> tuple[Result, str, str]:
    return p.approver("approve", "req-deadbeef"), "no request 'req-deadbeef'", "approve"


def unknown_id_on_use(p: People) -> tuple[Result, str, str]:
    return unlock(p, "req-nothere"), "no request 'req-nothere'", "unlock"


def used(p: People) -> tuple[Result, str, str]:
    rid = bucket_request(p)
    assert unlock(p, rid).exit_code == 0
    p.sb.reset_calls()
    return unlock(p, rid), "it was used", "unlock"


def another_target(p: People) -> tuple[Result, str, str]:
    rid = bucket_request(p, ARTIFACTS)
    return unlock(p, rid, STATE), f"not s3-unlock on arn:aws:s3:::{STATE}", "unlock"


def another_task(p: People) -> tuple[Result, str, str]:
    rid = made(p, "sqs-unlock", "--account", PAYMENTS_PROD, "--reason", "OPS-11 queue")
    assert p.approver("approve", rid).exit_code == 0
    result = p.requester("exec", "--account", PAYMENTS_PROD, "--task", "s3-unlock",
                         "--request", rid, "--", "true")  # fmt: skip
    return result, "is for sqs-unlock", "exec"


def another_account(p: People) -> tuple[Result, str, str]:
    rid = made(p, "create-password", "--account", PAYMENTS_PROD, "--reason", "OPS-12 pw")
    assert p.approver("approve", rid).exit_code == 0
    result = p.requester("allow-password-recovery", PAYMENTS_DEV, "--request", rid, "--yes")
    return (
        result,
        f"not create-password on arn:aws:iam::{PAYMENTS_DEV}:root",
        "allow-password-recovery",
    )


def not_yet_approved(p: People) -> tuple[Result, str, str]:
    rid = bucket_request(p, approve=False)
    return unlock(p, rid), "not approved yet (0 of 1 approvals)", "unlock"


def used_by_someone_else(p: People) -> tuple[Result, str, str]:
    rid = bucket_request(p)
    result = p.approver("unlock", "s3", "--account", PAYMENTS_PROD, "--bucket", ARTIFACTS,
                        "--request", rid, "--yes")  # fmt: skip
    return result, "only its requester may use it", "unlock"


def denied(p: People) -> tuple[Result, str, str]:
    rid = bucket_request(p, approve=False)
    assert p.approver("deny", rid, "--reason", "runbook first").exit_code == 0
    return unlock(p, rid), f"it was denied by {APPROVER_ARN}", "unlock"


CASES: dict[str, Case] = {
    f.__name__: f
    for f in (
        approving_own,
        approving_twice,
        approver_outside_patterns,
        unknown_id,
        unknown_id_on_use,
        used,
        another_target,
        another_task,
        another_account,
        not_yet_approved,
        used_by_someone_else,
        denied,
    )
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_refused(people: People, name: str) -> None:
    result, words, action = CASES[name](people)
    assert_refused(people, result, words, action)


def test_an_expired_request_is_refused(people: People, monkeypatch: pytest.MonkeyPatch) -> None:
    rid = bucket_request(people)
    # The journal stamps real time and the sandbox cannot move it: move rootctl's clock.
    later = datetime.now(UTC) + timedelta(hours=1, seconds=1)
    monkeypatch.setattr(flow, "utcnow", lambda: later)
    assert_refused(people, unlock(people, rid), "it expired at", "unlock")
    pending = bucket_request(people, STATE, approve=False)
    assert_refused(people, people.approver("approve", pending), "it expired at", "approve")


def test_two_approvals_needed_and_the_requester_never_counts(
    people: People, tmp_path: Path
) -> None:
    (tmp_path / "rootctl.yaml").write_text(TWO)
    rid = bucket_request(people)  # one approval of two
    assert_refused(people, unlock(people, rid), "not approved yet (1 of 2 approvals)", "unlock")
    assert_refused(
        people, people.requester("approve", rid), "must be approved by another", "approve"
    )
    third = people.sb.credentials_for(MANAGEMENT, "rootctl-second")
    assert people.as_(third, "approve", rid).exit_code == 0
    assert unlock(people, rid).exit_code == 0


def test_an_edited_journal_refuses_every_decision(people: People) -> None:
    rid = bucket_request(people, approve=False)
    with sqlite3.connect(people.journal_path) as conn:
        conn.execute("UPDATE entries SET reason = 'OPS-10 something else' WHERE id = 1")
    for result in (
        people.approver("approve", rid),
        people.requester("requests"),
        unlock(people, rid),
    ):
        line = refused_line(result)
        assert "does not verify" in line, line
    assert not assume_roots(people.sb)
