"""Throttling detection and the bounded, jittered backoff loop."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from rootctl.aws.retry import (
    THROTTLING_CODES,
    Backoff,
    call_with_backoff,
    client_config,
    is_throttling,
)


def client_error(code: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "m"}}, "AssumeRoot")


@pytest.mark.parametrize(
    "code", [*THROTTLING_CODES, "TooManyRequests", "RequestLimitExceededException"]
)
def test_every_throttling_spelling_is_recognised(code: str) -> None:
    assert is_throttling(client_error(code))


@pytest.mark.parametrize("code", ["AccessDenied", "ExpiredToken", "ValidationError"])
def test_other_errors_are_not_throttling(code: str) -> None:
    assert not is_throttling(client_error(code))
    assert not is_throttling(RuntimeError("Throttling"))


def test_throttling_is_retried_until_success() -> None:
    answers: list[object] = [client_error("Throttling"), client_error("SlowDown"), "ok"]
    sleeps: list[float] = []

    def call() -> str:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return str(answer)

    assert call_with_backoff(call, sleep=sleeps.append, rng=lambda: 1.0) == "ok"
    assert sleeps == [0.5, 1.0]  # ceiling doubles; rng=1.0 shows the ceiling


def test_gives_up_after_max_attempts_with_the_real_error() -> None:
    calls = 0
    sleeps: list[float] = []

    def call() -> str:
        nonlocal calls
        calls += 1
        raise client_error("ThrottlingException")

    with pytest.raises(ClientError) as exc:
        call_with_backoff(call, policy=Backoff(max_attempts=3), sleep=sleeps.append)
    assert exc.value.response["Error"]["Code"] == "ThrottlingException"
    assert calls == 3
    assert len(sleeps) == 2


def test_other_errors_are_not_retried() -> None:
    calls = 0

    def call() -> str:
        nonlocal calls
        calls += 1
        raise client_error("AccessDenied")

    with pytest.raises(ClientError):
        call_with_backoff(call, sleep=lambda s: None)
    assert calls == 1


def test_delay_is_jittered_and_capped() -> None:
    policy = Backoff(max_attempts=10, base_delay=1.0, max_delay=5.0)
    assert [policy.delay(n, lambda: 1.0) for n in range(5)] == [1.0, 2.0, 4.0, 5.0, 5.0]
    assert policy.delay(3, lambda: 0.5) == 2.5
    assert policy.delay(3, lambda: 0.0) == 0.0


def test_client_config(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ROOTCTL_CONNECT_TIMEOUT", "ROOTCTL_READ_TIMEOUT"):
        monkeypatch.delenv(name, raising=False)
    config = client_config(max_pool_connections=20)
    assert config.retries == {"mode": "adaptive", "max_attempts": 10}
    assert config.max_pool_connections == 20
    assert config.connect_timeout == 5.0
    assert config.read_timeout == 15.0
