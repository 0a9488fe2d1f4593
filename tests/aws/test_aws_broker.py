"""RootSessionBroker end to end against the sandbox (real HTTP, real botocore, real AssumeRoot).

The sandbox counts the AssumeRoot calls that reached it, which is how these tests prove
caching and per-key locking. Only the outer throttling-retry loop is driven by botocore's
Stubber: the sandbox's throttling is absorbed by botocore's own adaptive retries before the
broker's loop would see it, and a deterministic "throttled twice, then OK" sequence is what
that loop needs.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from rootctl.aws.broker import RootSessionBroker
from rootctl.aws.retry import Backoff
from rootctl.aws.session import Credentials, SessionFactory
from rootctl.errors import UsageError
from rootctl.sandbox import FaultConfig, Sandbox
from rootctl.tasks import Task

from support import MANAGEMENT, PAYMENTS_DEV, PAYMENTS_PROD, SUSPENDED, enabled_fixture


@pytest.fixture(scope="module")
def sb() -> Iterator[Sandbox]:
    with Sandbox.start(enabled_fixture()) as sandbox:
        yield sandbox


def clean_aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    for name in ("config", "credentials"):
        (tmp_path / name).write_text("")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.fixture
def factory(sb: Sandbox, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> SessionFactory:
    """A factory configured only by the sandbox's environment, as a user's shell would be."""
    clean_aws_env(monkeypatch, tmp_path)
    for name, value in sb.env().items():
        monkeypatch.setenv(name, value)
    sb.set_faults(FaultConfig())
    sb.reset_calls()
    return SessionFactory()


def assume_root_calls(sb: Sandbox) -> list[dict[str, Any]]:
    return [c for c in sb.calls() if c["action"] == "AssumeRoot" and c["status"] == 200]


def test_factory_talks_to_the_sandbox_as_the_management_account(
    sb: Sandbox, factory: SessionFactory
) -> None:
    assert factory.client("sts").meta.endpoint_url == sb.endpoint_url
    identity = factory.caller_identity()
    assert identity.account == MANAGEMENT
    assert identity.arn == f"arn:aws:iam::{MANAGEMENT}:user/rootctl-operator"


def test_a_root_session_acts_as_the_member_root_user(sb: Sandbox, factory: SessionFactory) -> None:
    broker = RootSessionBroker(factory)
    sts = broker.client(PAYMENTS_PROD, Task.AUDIT, "sts")
    assert sts.get_caller_identity()["Arn"] == f"arn:aws:iam::{PAYMENTS_PROD}:root"
    summary = broker.client(PAYMENTS_PROD, Task.AUDIT, "iam").get_account_summary()
    assert "SummaryMap" in summary
    assert len(assume_root_calls(sb)) == 1  # one session served both clients


def test_duration_is_passed_to_assume_root(sb: Sandbox, factory: SessionFactory) -> None:
    broker = RootSessionBroker(factory, duration_seconds=300, refresh_margin_seconds=60)
    credentials = broker.credentials(PAYMENTS_PROD, Task.AUDIT)
    remaining = credentials.expiration - (
        datetime.now(UTC) + timedelta(seconds=sb.state.clock_offset)
    )
    assert timedelta(seconds=280) < remaining <= timedelta(seconds=300)


def test_one_session_per_account_and_task(sb: Sandbox, factory: SessionFactory) -> None:
    broker = RootSessionBroker(factory)
    first = broker.credentials(PAYMENTS_PROD, Task.AUDIT)
    assert broker.credentials(PAYMENTS_PROD, Task.AUDIT) is first
    other_task = broker.credentials(PAYMENTS_PROD, Task.S3_UNLOCK)
    other_account = broker.credentials(PAYMENTS_DEV, Task.AUDIT)
    keys = {first.access_key_id, other_task.access_key_id, other_account.access_key_id}
    assert len(keys) == 3
    assert len(assume_root_calls(sb)) == 3


def test_threads_asking_for_the_same_session_make_one_call(
    sb: Sandbox, factory: SessionFactory
) -> None:
    sb.set_faults(FaultConfig(latency_ms=150))  # keep the first call in flight while others ask
    broker = RootSessionBroker(factory)
    barrier = threading.Barrier(12)
    got: list[Credentials] = []

    def ask() -> None:
        barrier.wait()
        got.append(broker.credentials(PAYMENTS_PROD, Task.AUDIT))

    threads = [threading.Thread(target=ask) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(got) == 12
    assert len({id(c) for c in got}) == 1
    assert len(assume_root_calls(sb)) == 1


def test_different_keys_do_not_wait_for_each_other(sb: Sandbox, factory: SessionFactory) -> None:
    other_opened = threading.Event()

    def opened(account_id: str, task: Task, access_key_id: str, expiration: datetime) -> None:
        if account_id == PAYMENTS_PROD:
            # Hold PAYMENTS_PROD's lock until PAYMENTS_DEV's session opens: with one lock for
            # all keys this would wait out its timeout.
            assert other_opened.wait(timeout=60)  # generous: a loaded machine
        else:
            other_opened.set()

    broker = RootSessionBroker(factory, on_session_opened=opened)
    errors: list[BaseException] = []

    def ask(account: str) -> None:
        try:
            broker.credentials(account, Task.AUDIT)
        except Exception as exc:  # noqa: BLE001 - collected, asserted below
            errors.append(exc)

    slow = threading.Thread(target=ask, args=(PAYMENTS_PROD,))
    slow.start()
    ask(PAYMENTS_DEV)
    slow.join()
    assert errors == []


def test_session_is_refreshed_within_the_margin(sb: Sandbox, factory: SessionFactory) -> None:
    now = [datetime.now(UTC)]
    broker = RootSessionBroker(factory, refresh_margin_seconds=120, clock=lambda: now[0])
    first = broker.credentials(PAYMENTS_PROD, Task.AUDIT)
    now[0] = first.expiration - timedelta(seconds=121)
    assert broker.credentials(PAYMENTS_PROD, Task.AUDIT) is first
    now[0] = first.expiration - timedelta(seconds=119)
    second = broker.credentials(PAYMENTS_PROD, Task.AUDIT)
    assert second.access_key_id != first.access_key_id
    assert len(assume_root_calls(sb)) == 2


def test_on_session_opened_gets_the_key_id_and_never_a_secret(
    sb: Sandbox, factory: SessionFactory
) -> None:
    seen: list[tuple[Any, ...]] = []
    broker = RootSessionBroker(factory, on_session_opened=lambda *args: seen.append(args))
    credentials = broker.credentials(PAYMENTS_PROD, Task.DELETE)
    broker.credentials(PAYMENTS_PROD, Task.DELETE)
    assert seen == [(PAYMENTS_PROD, Task.DELETE, credentials.access_key_id, credentials.expiration)]
    text = repr(seen)
    for secret in sb.secrets_issued():
        assert secret not in text


def test_a_session_the_callback_did_not_record_is_not_used(
    sb: Sandbox, factory: SessionFactory
) -> None:
    attempts: list[str] = []

    def opened(account_id: str, task: Task, access_key_id: str, expiration: datetime) -> None:
        attempts.append(access_key_id)
        if len(attempts) == 1:
            raise OSError("journal disk full")

    broker = RootSessionBroker(factory, on_session_opened=opened)
    with pytest.raises(OSError, match="journal disk full"):
        broker.credentials(PAYMENTS_PROD, Task.AUDIT)
    credentials = broker.credentials(PAYMENTS_PROD, Task.AUDIT)
    assert credentials.access_key_id == attempts[1] != attempts[0]


def test_evict_drops_the_session_but_not_a_newer_one(sb: Sandbox, factory: SessionFactory) -> None:
    broker = RootSessionBroker(factory)
    first = broker.credentials(PAYMENTS_PROD, Task.AUDIT)
    broker.evict(PAYMENTS_PROD, Task.AUDIT)
    second = broker.credentials(PAYMENTS_PROD, Task.AUDIT)
    assert second.access_key_id != first.access_key_id
    broker.evict(PAYMENTS_PROD, Task.AUDIT, access_key_id=first.access_key_id)  # stale: no-op
    assert broker.credentials(PAYMENTS_PROD, Task.AUDIT) is second
    broker.evict(PAYMENTS_DEV, Task.SQS_UNLOCK)  # never opened: no-op


def test_clients_are_cached_with_their_session(sb: Sandbox, factory: SessionFactory) -> None:
    broker = RootSessionBroker(factory)
    iam = broker.client(PAYMENTS_PROD, Task.AUDIT, "iam")
    assert broker.client(PAYMENTS_PROD, Task.AUDIT, "iam") is iam
    broker.evict(PAYMENTS_PROD, Task.AUDIT)
    assert broker.client(PAYMENTS_PROD, Task.AUDIT, "iam") is not iam


def test_call_reopens_the_session_after_expired_token(sb: Sandbox, factory: SessionFactory) -> None:
    broker = RootSessionBroker(factory)
    broker.credentials(PAYMENTS_DEV, Task.AUDIT)
    sb.advance_clock(1_000)  # the sandbox now considers that session expired
    summary = broker.call(PAYMENTS_DEV, Task.AUDIT, "iam", lambda iam: iam.get_account_summary())
    assert "SummaryMap" in summary
    assert len(assume_root_calls(sb)) == 2
    expired = [
        c for c in sb.calls() if c["error_code"] in ("ExpiredToken", "ExpiredTokenException")
    ]
    assert len(expired) == 1


def test_call_does_not_retry_other_errors(sb: Sandbox, factory: SessionFactory) -> None:
    broker = RootSessionBroker(factory)
    with pytest.raises(ClientError) as exc:
        # CreateLoginProfile is outside the audit task policy: denied, and not retried.
        broker.call(PAYMENTS_PROD, Task.AUDIT, "iam", lambda iam: iam.create_login_profile())
    assert "AccessDenied" in exc.value.response["Error"]["Code"]
    assert len(assume_root_calls(sb)) == 1


def test_an_account_aws_refuses_is_a_client_error_for_that_account(
    sb: Sandbox, factory: SessionFactory
) -> None:
    broker = RootSessionBroker(factory)
    with pytest.raises(ClientError) as exc:
        broker.credentials(SUSPENDED, Task.AUDIT)
    assert exc.value.response["Error"]["Code"] == "AccessDenied"


def test_rejected_operator_credentials_are_a_usage_error(
    sb: Sandbox, factory: SessionFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIANOTASANDBOXKEY00")
    bad = SessionFactory()
    with pytest.raises(UsageError, match="rejected"):
        bad.caller_identity()
    with pytest.raises(UsageError, match="rejected"):
        RootSessionBroker(bad).credentials(PAYMENTS_PROD, Task.AUDIT)


def test_throttled_assume_root_is_retried_with_backoff(
    sb: Sandbox, factory: SessionFactory
) -> None:
    sleeps: list[float] = []
    broker = RootSessionBroker(
        factory, backoff=Backoff(max_attempts=4, base_delay=0.01), sleep=sleeps.append
    )
    expected = {
        "TargetPrincipal": PAYMENTS_PROD,
        "TaskPolicyArn": {"arn": Task.AUDIT.arn},
        "DurationSeconds": 900,
    }
    expiration = datetime.now(UTC) + timedelta(seconds=900)
    with Stubber(factory.client("sts")) as stub:
        stub.add_client_error("assume_root", "Throttling", "Rate exceeded", 400)
        stub.add_client_error("assume_root", "ThrottlingException", "Rate exceeded", 400)
        stub.add_response(
            "assume_root",
            {
                "Credentials": {
                    "AccessKeyId": "ASIASTUBBED000000001",
                    "SecretAccessKey": "s" * 40,
                    "SessionToken": "t" * 40,
                    "Expiration": expiration,
                }
            },
            expected,
        )
        credentials = broker.credentials(PAYMENTS_PROD, Task.AUDIT)
    assert credentials.access_key_id == "ASIASTUBBED000000001"
    assert len(sleeps) == 2


def test_throttling_that_does_not_stop_surfaces_as_the_aws_error(
    sb: Sandbox, factory: SessionFactory
) -> None:
    broker = RootSessionBroker(factory, backoff=Backoff(max_attempts=2), sleep=lambda s: None)
    with Stubber(factory.client("sts")) as stub:
        for _ in range(2):
            stub.add_client_error("assume_root", "TooManyRequestsException", "slow down", 400)
        with pytest.raises(ClientError) as exc:
            broker.credentials(PAYMENTS_PROD, Task.AUDIT)
    assert exc.value.response["Error"]["Code"] == "TooManyRequestsException"


@pytest.mark.parametrize(
    ("duration", "margin", "fragment"),
    [(901, 120, "1..900"), (0, 0, "1..900"), (300, 300, "shorter"), (900, -1, "at least 0")],
)
def test_bad_durations_are_usage_errors(
    factory: SessionFactory, duration: int, margin: int, fragment: str
) -> None:
    with pytest.raises(UsageError, match=fragment):
        RootSessionBroker(factory, duration_seconds=duration, refresh_margin_seconds=margin)


def test_account_ids_are_checked(factory: SessionFactory) -> None:
    with pytest.raises(UsageError, match="12 digits"):
        RootSessionBroker(factory).credentials("12345", Task.AUDIT)
