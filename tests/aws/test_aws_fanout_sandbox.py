"""The fan-out and the broker together over a throttling sandbox organization.

What a real run looks like: every member account audited through one root session each,
throttling absorbed by the retry layers, an account AWS refuses reported as a value, and
the results in the order the accounts were given.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from rootctl.aws.broker import RootSessionBroker
from rootctl.aws.session import SessionFactory
from rootctl.fanout import run_over_accounts
from rootctl.results import ErrorInfo, Outcome
from rootctl.sandbox import FaultConfig, Sandbox
from rootctl.tasks import Task

from support import MANAGEMENT, PAYMENTS_DEV, enabled_fixture


@dataclass(frozen=True)
class Audited:
    account: str
    outcome: Outcome
    users: int | None = None
    error: ErrorInfo | None = None


@pytest.fixture
def sb(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Sandbox]:
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    for name in ("config", "credentials"):
        (tmp_path / name).write_text("")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    with Sandbox.start(enabled_fixture(), accounts=30, seed=3) as sandbox:
        for name, value in sandbox.env().items():
            monkeypatch.setenv(name, value)
        yield sandbox


def test_audit_every_member_account_under_throttling(sb: Sandbox) -> None:
    factory = SessionFactory(concurrency=8)
    pages = factory.client("organizations").get_paginator("list_accounts").paginate()
    members = sorted(
        a["Id"]
        for page in pages
        for a in page["Accounts"]
        if a["Id"] != MANAGEMENT and a["Status"] == "ACTIVE"
    )
    assert len(members) > 20
    sb.set_faults(  # throttling by count (every 4th call): it fires on any machine
        FaultConfig(throttle_every=4, fail_assume_root={PAYMENTS_DEV: "AccessDenied"})
    )
    sb.reset_calls()
    opened: list[str] = []
    broker = RootSessionBroker(factory, on_session_opened=lambda a, t, k, e: opened.append(a))

    def audit(account: str) -> Audited:
        try:
            summary = broker.call(account, Task.AUDIT, "iam", lambda i: i.get_account_summary())
        except ClientError as exc:
            return Audited(account, "error", error=ErrorInfo.from_exception(exc))
        return Audited(account, "ok", users=summary["SummaryMap"].get("Users", 0))

    def unexpected(account: str, exc: BaseException) -> Audited:
        return Audited(account, "error", error=ErrorInfo.from_exception(exc))

    results = run_over_accounts(members, audit, on_exception=unexpected, concurrency=8)

    assert [r.account for r in results] == members
    failed = {r.account: r.error for r in results if r.outcome != "ok"}
    assert list(failed) == [PAYMENTS_DEV]
    assert failed[PAYMENTS_DEV] is not None and failed[PAYMENTS_DEV].code == "AccessDenied"
    assert sorted(opened) == sorted(set(members) - {PAYMENTS_DEV})  # one session each
    calls = sb.calls()
    assert any(c["error_code"] in ("Throttling", "ThrottlingException") for c in calls)
    ok_sessions = [c for c in calls if c["action"] == "AssumeRoot" and c["status"] == 200]
    assert len(ok_sessions) == len(members) - 1
