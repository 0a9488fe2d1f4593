"""pytest fixtures only; shared helpers live in tests/support.py (`from support import ...`)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from types import SimpleNamespace

import botocore.endpoint
import botocore.retries.bucket
import pytest
from hypothesis import HealthCheck, settings

from rootctl.sandbox import Sandbox

from support import enabled_fixture, sample_fixture

# Hypothesis's two timing rules off, for every property test: the per-example deadline
# (200 ms by default) and the "input generation is slow" health check both fail a correct
# test on a busy machine (test_deploy_shards' health check did, beside two CPU hogs). What a
# property test asserts is the property; a hang is still caught by the suite's own means.
settings.register_profile("rootctl", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("rootctl")


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    """The sample organization as shipped: nothing enabled yet."""
    with Sandbox.start(sample_fixture()) as sb:
        yield sb


@pytest.fixture
def enabled_sandbox() -> Iterator[Sandbox]:
    """The sample organization with trusted access and both features enabled."""
    with Sandbox.start(enabled_fixture()) as sb:
        yield sb


# Time in the fault tests runs 50x faster for botocore's retry machinery, and only for it:
# - the backoff before retry n (rand * 2**n seconds), which botocore.endpoint sleeps through
#   its `time` module (its only use of it);
# - the adaptive mode's client-side rate limiter (botocore.retries.bucket): its clock runs
#   50x faster and its waits are 50x shorter, so after a throttle it lowers and restores the
#   send rate exactly as it would, in a fiftieth of the time.
# The fault tests inject throttling and errors by count; they assert which calls are retried
# and what the results are, never how long anything waits (measured before: 581 s asleep over
# 6 tests, and the delete under throttling 35 s of wall for 3 s of CPU). Processes the tests
# start keep botocore's real waits.
TIME_SCALE = 50.0


class _FastClock(botocore.retries.bucket.Clock):
    def __init__(self) -> None:
        self._start = time.time()

    def sleep(self, amount: float) -> None:
        time.sleep(amount / TIME_SCALE)

    def current_time(self) -> float:
        return self._start + (time.time() - self._start) * TIME_SCALE


class _FastCondition(threading.Condition):
    def wait(self, timeout: float | None = None) -> bool:
        return super().wait(None if timeout is None else timeout / TIME_SCALE)


@pytest.fixture(autouse=True)
def fast_retry_time(monkeypatch: pytest.MonkeyPatch) -> None:
    backoff = SimpleNamespace(sleep=lambda seconds: time.sleep(seconds / TIME_SCALE))
    monkeypatch.setattr(botocore.endpoint, "time", backoff)
    monkeypatch.setattr(botocore.retries.bucket, "Clock", _FastClock)
    monkeypatch.setattr(
        botocore.retries.bucket,
        "threading",
        SimpleNamespace(Lock=threading.Lock, Condition=_FastCondition),
    )


# The longest tests (5 to 40 s each, measured) start first: with xdist's load scheduling the
# two workers then end together instead of one finishing a 40 s test alone at the end.
# Order only; every test still runs. Keep the list to what `--durations=30` shows.
LONGEST_FIRST = (
    "deploy/test_deploy_lambda_shards.py",
    "reliability/test_rel_secrets.py",
    "deploy/test_deploy_build_lambda.py",
    "sandbox/test_sandbox_awscli.py",
    "credentials/test_cred_delete.py",
    "sandbox/test_sandbox_serve.py",
    "credentials/test_credentials_processes_delete.py",
    "credentials/test_cred_audit.py",
    "documents/test_doc_outputs.py",
    "credentials/test_cred_resume.py",
    "reliability/test_rel_midrun.py",
    "journal/test_journal_checkpoint.py",
    "enforce/test_enforce_checkpoint.py",
    "deploy/test_deploy_lambda_findings.py",
    "reliability/test_rel_crash.py",
    "sandbox/test_sandbox_wire_validator.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        path = item.nodeid.removeprefix("tests/").split("::", 1)[0]
        return LONGEST_FIRST.index(path) if path in LONGEST_FIRST else len(LONGEST_FIRST)

    items.sort(key=rank)
