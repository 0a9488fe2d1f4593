"""`rootctl events` tells sessions opened by lost AssumeRoot answers from outside sessions.

A lost answer leaves a session AWS opened and rootctl never received; botocore's retry
opens the one rootctl journals. Such a session is a "probable retry" only when the same
caller opened it for the same account, task and region at most RETRY_WINDOW before a
journaled session, and no call was made with its key. Everything else stays flagged.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from rootctl.sandbox import FaultConfig, Sandbox, SandboxCredentials
from rootctl.sessions.events import (
    MAX_LOST_PER_CALL,
    RETRY_WINDOW,
    ActionEvent,
    SessionEvent,
    probable_retries,
)
from rootctl.tasks import Task

from support import MANAGEMENT, PAYMENTS_DEV, client, enabled_fixture, keyed_client, run_cli


def sessions_by_key(sb: Sandbox, journal: Path) -> dict[str, dict[str, Any]]:
    """`rootctl events -o json` (exit 0), its sessions by access key id."""
    proc = run_cli(sb, "events", "--since", "1h", "-o", "json", journal=journal)
    assert proc.returncode == 0, proc.stderr
    items = json.loads(proc.stdout)["timeline"]
    return {i["access_key_id"]: i for i in items if i["type"] == "session"}


def summary_line(sb: Sandbox, journal: Path) -> str:
    proc = run_cli(sb, "events", "--since", "1h", journal=journal)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip().splitlines()[-1]


def assume_root(
    sb: Sandbox, account_id: str, task: Task, creds: SandboxCredentials | None = None
) -> tuple[str, Any]:
    """Open a session with plain boto3 (not rootctl): its key and an IAM client acting in it."""
    opened = client(sb, "sts", creds).assume_root(
        TargetPrincipal=account_id, TaskPolicyArn={"arn": task.arn}
    )["Credentials"]
    iam = keyed_client(
        sb, "iam", opened["AccessKeyId"], opened["SecretAccessKey"], opened["SessionToken"]
    )
    return str(opened["AccessKeyId"]), iam


@pytest.fixture
def org() -> Iterator[Sandbox]:
    """The sample plus 30 generated members: enough AssumeRoot calls for lost answers."""
    with Sandbox.start(enabled_fixture(), accounts=30, seed=11) as sb:
        yield sb


def test_lost_assume_root_answers_are_probable_retries_not_outside(
    org: Sandbox, tmp_path: Path
) -> None:
    """An audit whose every second AssumeRoot answer is lost (500/503 or a dropped
    connection in turn, the session opened anyway; by count, so it fires on any machine):
    botocore's retries get a session for every account; each session rootctl never received is a probable retry of the session
    rootctl journaled for that account, and none is "started outside rootctl"."""
    sb, journal = org, tmp_path / "journal.db"
    sb.set_faults(FaultConfig(lost_response_every=2, lost_response_actions=["AssumeRoot"]))
    # One account at a time: which AssumeRoot is "every second" must not depend on how the
    # workers interleave (with 16 workers a retry can land on another lost slot 3 times).
    audit = run_cli(sb, "audit", "-o", "json", "--concurrency", "1", journal=journal)
    sb.set_faults(FaultConfig())
    assert audit.returncode == 0, audit.stderr[-3000:]
    lost = [c for c in sb.calls() if c["fault"] == "lost-response" and c["action"] == "AssumeRoot"]
    assert len(lost) >= 5, lost

    sessions = sessions_by_key(sb, journal)

    received = {k: s for k, s in sessions.items() if s["probable_retry_of"] is None}
    retries = {k: s for k, s in sessions.items() if s["probable_retry_of"] is not None}
    assert not [s for s in sessions.values() if s["started_outside_rootctl"]]
    audited = json.loads(audit.stdout)["accounts"]
    assert len(received) == len([a for a in audited if a["status"] == "ok"])
    # Every lost answer is one probable retry (the call log names the caller's account,
    # not the target: the retry's link below says which account it was for)...
    assert len(retries) == len(lost)
    for retry in retries.values():
        # ...pointing at the session rootctl journaled for that account and task.
        journaled = received[retry["probable_retry_of"]]
        assert (journaled["account_id"], journaled["task"], journaled["caller"]) == (
            retry["account_id"],
            retry["task"],
            retry["caller"],
        )
        assert retry["time"] <= journaled["time"]

    line = summary_line(sb, journal)
    assert line.startswith(f"{len(sessions)} sessions, "), line
    assert line.endswith(
        f" 0 started outside rootctl, {len(retries)} probable retries (answer lost)."
    ), line


@pytest.fixture
def sample() -> Iterator[Sandbox]:
    with Sandbox.start(enabled_fixture()) as sb:
        yield sb


def test_outside_sessions_stay_flagged_whatever_resembles_a_retry(
    sample: Sandbox, tmp_path: Path
) -> None:
    """Sessions a rootctl audit of PAYMENTS_DEV did not open, around that audit:

    - the same caller, task and account, 90 s before (longer than the window): outside;
    - another principal of the same account, seconds before: outside;
    - the same caller, another task, seconds before: outside;
    - the same caller and task, seconds before, with a call made: outside;
    - the same caller and task, seconds after the journaled session: outside;
    - the same caller and task, seconds before, no call: a probable retry. CloudTrail
      cannot tell it from a lost answer, and nobody did anything with it.
    """
    sb, journal = sample, tmp_path / "journal.db"
    stale, _ = assume_root(sb, PAYMENTS_DEV, Task.AUDIT)
    sb.advance_clock(RETRY_WINDOW.total_seconds() + 30)
    someone = sb.credentials_for(MANAGEMENT, "someone-else")
    other_principal, _ = assume_root(sb, PAYMENTS_DEV, Task.AUDIT, someone)
    other_task, _ = assume_root(sb, PAYMENTS_DEV, Task.DELETE)
    used, iam = assume_root(sb, PAYMENTS_DEV, Task.AUDIT)
    iam.get_account_summary()
    unused, _ = assume_root(sb, PAYMENTS_DEV, Task.AUDIT)

    audit = run_cli(sb, "audit", "--accounts", PAYMENTS_DEV, "-o", "json", journal=journal)
    assert audit.returncode == 0, audit.stderr
    # CloudTrail times have one-second resolution: the same second as the journaled
    # session counts as before it (a retry often follows a lost answer within the second).
    sb.advance_clock(5)
    later, _ = assume_root(sb, PAYMENTS_DEV, Task.AUDIT)

    sessions = sessions_by_key(sb, journal)
    ours = [k for k, s in sessions.items() if k not in (stale, other_principal, other_task)]
    (journaled,) = set(ours) - {used, unused, later}
    assert sessions[journaled]["started_outside_rootctl"] is False
    assert sessions[journaled]["probable_retry_of"] is None
    for key in (stale, other_principal, other_task, used, later):
        assert sessions[key]["started_outside_rootctl"] is True, sessions[key]
        assert sessions[key]["probable_retry_of"] is None, sessions[key]
    assert sessions[other_principal]["caller"].endswith(":user/someone-else")
    assert sessions[other_task]["task"] == Task.DELETE.value
    assert sessions[unused]["started_outside_rootctl"] is False
    assert sessions[unused]["probable_retry_of"] == journaled

    line = summary_line(sb, journal)
    assert line.startswith("7 sessions, "), line
    assert line.endswith(" 5 started outside rootctl, 1 probable retry (answer lost)."), line


# --------------------------------------------------------------------------- the rule alone

T0 = datetime(2026, 11, 24, 12, tzinfo=UTC)
CALLER = "arn:aws:iam::111111111111:user/rootctl-operator"


def session(key: str, seconds: float, *, journaled: bool = False, **changes: Any) -> SessionEvent:
    values: dict[str, Any] = {
        "time": T0 + timedelta(seconds=seconds),
        "account_id": PAYMENTS_DEV,
        "task": Task.AUDIT.value,
        "access_key_id": key,
        "caller": CALLER,
        "region": "us-east-1",
        "in_journal": journaled,
    }
    return SessionEvent(**(values | changes))


def action(key: str) -> ActionEvent:
    return ActionEvent(T0, PAYMENTS_DEV, key, "iam", "GetUser", "us-east-1", (), {})


def test_the_window_is_bounded_and_only_before_a_journaled_session() -> None:
    window = RETRY_WINDOW.total_seconds()
    sessions = [
        session("EDGE", -window),
        session("TOO-EARLY", -window - 1),
        session("SAME-SECOND", 0),
        session("OURS", 0, journaled=True),
        session("AFTER", 1),
        session("OTHER-REGION", -1, region="eu-west-1"),
        session("NO-CALLER", -1, caller=""),
    ]
    assert probable_retries(sessions, [], set()) == {"EDGE": "OURS", "SAME-SECOND": "OURS"}


def test_a_key_with_calls_or_an_unread_trail_is_never_a_retry() -> None:
    sessions = [session("USED", -1), session("OURS", 0, journaled=True)]
    assert probable_retries(sessions, [action("USED")], set()) == {}
    assert probable_retries(sessions, [], {PAYMENTS_DEV}) == {}
    assert probable_retries(sessions, [], set()) == {"USED": "OURS"}


def test_each_session_explains_at_most_one_calls_worth_of_lost_answers() -> None:
    """One botocore call retries MAX_LOST_PER_CALL times: the closest that many are retries;
    a session between two journaled ones belongs to the later one."""
    lost = [session(f"LOST-{i}", -i) for i in range(1, MAX_LOST_PER_CALL + 2)]
    sessions = [session("FIRST", -30, journaled=True), *lost, session("OURS", 0, journaled=True)]
    found = probable_retries(sessions, [], set())
    assert found == {f"LOST-{i}": "OURS" for i in range(1, MAX_LOST_PER_CALL + 1)}
