"""Acting clients outlive the threads and factories that built them (rootctl.aws.session's
idle pool): a later fan-out, command or Lambda invocation in the same process and the same
environment takes them instead of building new ones; a different environment never does;
a client is never two threads' at once; a reused client still signs only inside acting_as.

Over HTTP against the sandbox. Builds are counted by observing SessionFactory._build (our
own method, still called: nothing is faked).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rootctl.aws import session as aws_session
from rootctl.aws.broker import RootSessionBroker
from rootctl.aws.session import NoRootSessionError, SessionFactory
from rootctl.sandbox import Sandbox
from rootctl.tasks import Task

from support import DATA_PROD, EXPERIMENTS, PAYMENTS_DEV, PAYMENTS_PROD, SECURITY, enabled_fixture

MEMBERS = (SECURITY, PAYMENTS_PROD, PAYMENTS_DEV, DATA_PROD, EXPERIMENTS)


@pytest.fixture(scope="module")
def sb() -> Iterator[Sandbox]:
    with Sandbox.start(enabled_fixture()) as sandbox:
        yield sandbox


@pytest.fixture
def built(sb: Sandbox, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[str]:
    """The sandbox's environment, an empty idle pool, and the services of acting clients built."""
    for name in list(os.environ):
        if name.startswith(("AWS_", "ROOTCTL_")):
            monkeypatch.delenv(name)
    (tmp_path / "config").write_text("")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "config"))
    for name, value in sb.env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(aws_session, "_IDLE", type(aws_session._IDLE)())
    made: list[str] = []
    build = SessionFactory._build

    def counted(self: SessionFactory, core: Any, service: str, region: str, kw: Any) -> Any:
        if core is self._acting_core:
            made.append(service)
        return build(self, core, service, region, kw)

    monkeypatch.setattr(SessionFactory, "_build", counted)
    return made


def held_by_threads(factory: SessionFactory, threads: int) -> list[int]:
    """The acting IAM client of each of `threads` threads alive at the same time, after each
    made a call in a root session (one account each)."""
    broker = RootSessionBroker(factory)
    ready = threading.Barrier(threads, timeout=60)
    held: list[int] = [0] * threads

    def work(i: int) -> None:
        def call(iam: Any) -> None:
            iam.get_account_summary()
            held[i] = id(iam)
            ready.wait()  # every thread holds its client at this moment

        broker.call(MEMBERS[i % len(MEMBERS)], Task.AUDIT, "iam", call)

    workers = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return held


def test_a_later_factory_in_the_same_environment_takes_the_idle_clients(
    built: list[str],
) -> None:
    first = held_by_threads(SessionFactory(concurrency=4), 4)
    assert built == ["iam"] * 4 and len(set(first)) == 4  # never one client for two threads
    second = held_by_threads(SessionFactory(concurrency=4), 4)
    assert built == ["iam"] * 4, "the second factory built acting clients again"
    assert sorted(second) == sorted(first) and len(set(second)) == 4


def test_more_threads_than_idle_clients_build_only_the_difference(built: list[str]) -> None:
    held_by_threads(SessionFactory(concurrency=6), 2)
    again = held_by_threads(SessionFactory(concurrency=6), 5)
    assert built == ["iam"] * 5 and len(set(again)) == 5


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("AWS_ENDPOINT_URL_IAM", "http://127.0.0.1:9"),
        ("AWS_MAX_ATTEMPTS", "3"),
        ("ROOTCTL_READ_TIMEOUT", "7"),
        ("HTTPS_PROXY", "http://127.0.0.1:9"),
    ],
)
def test_another_environment_never_takes_them(
    built: list[str], monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    held_by_threads(SessionFactory(concurrency=2), 2)
    monkeypatch.setenv(name, value)
    factory = SessionFactory(concurrency=2)
    factory.acting_client("iam")
    assert built == ["iam"] * 3


def test_another_profile_file_or_pool_size_never_takes_them(
    built: list[str], tmp_path: Path
) -> None:
    held_by_threads(SessionFactory(concurrency=2), 2)
    SessionFactory(concurrency=3).acting_client("iam")  # another connection-pool size
    assert built == ["iam"] * 3
    (tmp_path / "config").write_text("[default]\nregion = us-east-1\n")  # the file changed
    SessionFactory(concurrency=2).acting_client("iam")
    assert built == ["iam"] * 4


def test_a_reused_client_still_signs_only_inside_a_root_session(built: list[str]) -> None:
    first = held_by_threads(SessionFactory(concurrency=1), 1)
    result: list[BaseException] = []

    def outside() -> None:
        iam = SessionFactory(concurrency=1).acting_client("iam")
        assert id(iam) == first[0]  # the idle client, reused
        try:
            iam.get_account_summary()
        except NoRootSessionError as exc:
            result.append(exc)

    worker = threading.Thread(target=outside)
    worker.start()
    worker.join()
    assert len(result) == 1 and built == ["iam"]


def test_another_client_config_never_takes_them(
    built: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Same environment, but the code builds another botocore Config (retries off here, as
    a library caller or test may): the idle clients with rootctl's retries are not reused."""
    from botocore.config import Config

    held_by_threads(SessionFactory(concurrency=2), 2)
    monkeypatch.setattr(
        aws_session,
        "client_config",
        lambda max_pool_connections: Config(
            retries={"mode": "standard", "max_attempts": 1},
            max_pool_connections=max_pool_connections,
        ),
    )
    SessionFactory(concurrency=2).acting_client("iam")
    assert built == ["iam"] * 3


# -- the operator's clients -------------------------------------------------------------------


def test_operator_clients_are_shared_by_factories_that_would_build_the_same(
    built: list[str], sb: Sandbox, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A later factory in the same environment gets the operator's clients already built (and
    they work); another environment, profile file, credentials file or client config builds
    its own."""
    monkeypatch.setattr(aws_session, "_OPERATOR", type(aws_session._OPERATOR)())
    first = SessionFactory()
    sts = first.client("sts")
    assert first.caller_identity().account == sb.management_account_id
    again = SessionFactory()
    assert again.client("sts") is sts and again.client("organizations") is first.client(
        "organizations"
    )
    assert again.caller_identity().account == sb.management_account_id
    assert SessionFactory(concurrency=64).client("sts") is not sts  # another pool size
    (tmp_path / "credentials").write_text("[default]\n")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    other_file = SessionFactory().client("sts")
    assert other_file is not sts
    (tmp_path / "credentials").write_text("[default]\nregion = us-east-1\n")  # edited
    assert SessionFactory().client("sts") is not other_file
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "2")  # any environment change
    assert SessionFactory().client("sts") not in (sts, other_file)
    assert len(aws_session._OPERATOR) == aws_session._OPERATOR_POOLS  # bounded
