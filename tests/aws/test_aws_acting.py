"""Acting clients: one client per thread and service serves every root session.

These run against the sandbox over HTTP, which checks every signature and records which
access key made each call: that is how they prove each request was signed by the session
of the context that made it, never by another thread's session or by the operator.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextvars import copy_context
from pathlib import Path

import pytest

from rootctl.aws.broker import RootSessionBroker
from rootctl.aws.session import NoRootSessionError, SessionFactory, acting_as
from rootctl.sandbox import FaultConfig, Sandbox
from rootctl.tasks import Task

from support import (
    DATA_PROD,
    EXPERIMENTS,
    PAYMENTS_DEV,
    PAYMENTS_PROD,
    SECURITY,
    enabled_fixture,
)

MEMBERS = (SECURITY, PAYMENTS_PROD, PAYMENTS_DEV, DATA_PROD, EXPERIMENTS)


@pytest.fixture(scope="module")
def sb() -> Iterator[Sandbox]:
    with Sandbox.start(enabled_fixture()) as sandbox:
        yield sandbox


@pytest.fixture
def factory(sb: Sandbox, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> SessionFactory:
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    (tmp_path / "config").write_text("")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "config"))
    for name, value in sb.env().items():
        monkeypatch.setenv(name, value)
    sb.set_faults(FaultConfig())
    sb.reset_calls()
    return SessionFactory()


def test_outside_acting_as_the_client_refuses_to_sign(sb: Sandbox, factory: SessionFactory) -> None:
    iam = factory.acting_client("iam")
    with pytest.raises(NoRootSessionError):
        iam.get_account_summary()
    # Nothing reached AWS: above all, not a call signed with the operator's own keys.
    assert sb.calls() == []


def test_one_client_signs_as_whichever_session_the_context_acts_as(
    sb: Sandbox, factory: SessionFactory
) -> None:
    broker = RootSessionBroker(factory)
    sts = factory.acting_client("sts")
    for account in MEMBERS:
        with acting_as(broker.credentials(account, Task.AUDIT)):
            assert sts.get_caller_identity()["Arn"] == f"arn:aws:iam::{account}:root"
    assert factory.acting_client("sts") is sts


def test_concurrent_threads_each_sign_with_their_own_session(
    sb: Sandbox, factory: SessionFactory
) -> None:
    """20 threads share one client, interleaving calls with a 20 ms latency per call."""
    sb.set_faults(FaultConfig(latency_ms=20))
    broker = RootSessionBroker(factory)
    sessions = {account: broker.credentials(account, Task.AUDIT) for account in MEMBERS}
    sts = factory.acting_client("sts")
    barrier = threading.Barrier(20)
    seen: list[tuple[str, str]] = []
    lock = threading.Lock()

    def work(n: int) -> None:
        account = MEMBERS[n % len(MEMBERS)]
        with acting_as(sessions[account]):
            barrier.wait()
            for _ in range(3):
                arn = sts.get_caller_identity()["Arn"]
                with lock:
                    seen.append((account, arn))

    threads = [threading.Thread(target=work, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(seen) == 60
    assert all(arn == f"arn:aws:iam::{account}:root" for account, arn in seen)
    by_key = {s.access_key_id: a for a, s in sessions.items()}
    calls = [c for c in sb.calls() if c["action"] == "GetCallerIdentity"]
    assert len(calls) == 60
    assert all(by_key[c["access_key_id"]] == c["account_id"] for c in calls)


def test_work_on_another_thread_needs_the_copied_context(
    sb: Sandbox, factory: SessionFactory
) -> None:
    broker = RootSessionBroker(factory)
    sts = factory.acting_client("sts")
    with (
        ThreadPoolExecutor(max_workers=1) as pool,
        acting_as(broker.credentials(PAYMENTS_DEV, Task.AUDIT)),
    ):
        copied = pool.submit(copy_context().run, sts.get_caller_identity).result()
        assert copied["Arn"] == f"arn:aws:iam::{PAYMENTS_DEV}:root"
        with pytest.raises(NoRootSessionError):
            pool.submit(sts.get_caller_identity).result()  # context not copied: refused


def test_broker_call_uses_the_shared_client_and_the_right_session(
    sb: Sandbox, factory: SessionFactory
) -> None:
    broker = RootSessionBroker(factory)
    clients = []

    def whoami(sts: object) -> str:
        clients.append(sts)
        return str(sts.get_caller_identity()["Arn"])  # type: ignore[attr-defined]

    arns = {a: broker.call(a, Task.AUDIT, "sts", whoami) for a in MEMBERS}
    assert arns == {a: f"arn:aws:iam::{a}:root" for a in MEMBERS}
    assert all(c is clients[0] for c in clients)  # no client built per session (one thread)
    with pytest.raises(NoRootSessionError):  # the client does not outlive the call
        clients[0].get_caller_identity()  # type: ignore[attr-defined]


def test_each_thread_has_its_own_acting_client(factory: SessionFactory) -> None:
    """Per thread, so botocore's adaptive rate limiter slows only the throttled thread."""
    here = factory.acting_client("iam")
    assert factory.acting_client("iam") is here
    assert factory.acting_client("sts") is not here
    with ThreadPoolExecutor(max_workers=1) as pool:
        there = pool.submit(factory.acting_client, "iam").result()
        assert pool.submit(factory.acting_client, "iam").result() is there
    assert there is not here


def test_task_policy_is_still_enforced_per_session(sb: Sandbox, factory: SessionFactory) -> None:
    """The shared client carries no permissions of its own: each call gets its session's."""
    from botocore.exceptions import ClientError

    broker = RootSessionBroker(factory)
    iam = factory.acting_client("iam")
    with (
        acting_as(broker.credentials(PAYMENTS_PROD, Task.AUDIT)),
        pytest.raises(ClientError) as exc,
    ):
        iam.delete_login_profile()
    assert "AccessDenied" in exc.value.response["Error"]["Code"]
