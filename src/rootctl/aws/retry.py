"""Retry policy and bounded waits: botocore's adaptive mode, a connection-failure budget, a
small bounded backoff of our own.

Bounded waits (docs/design.md, "Bounded waits"): every client connects within
`connect` seconds and waits at most `read` seconds for each answer; a call whose connection
fails or times out is tried at most `connection_attempts` times, while throttling keeps
botocore's larger budget. A stalled endpoint thus costs one call at most
3 x 15 s + 3 s of backoff (48 s) before the command stops with one line. The figures can be
lowered for tests (and raised for a slow proxy) with ROOTCTL_CONNECT_TIMEOUT,
ROOTCTL_READ_TIMEOUT and ROOTCTL_CONNECTION_ATTEMPTS.

botocore's adaptive mode retries throttling (and transient 5xx) inside each client with a
client-side rate limiter. That is enough for most calls; for the few calls a whole run
depends on (AssumeRoot into every account), `call_with_backoff` adds a bounded outer loop
with full-jitter exponential backoff, so a burst of throttling at 16-way concurrency turns
into a short wait instead of thousands of per-account errors.
"""

from __future__ import annotations

import math
import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from botocore import exceptions as bex
from botocore.config import Config
from botocore.exceptions import ClientError

from rootctl.errors import UsageError, code_is

R = TypeVar("R")

# Every spelling AWS services use for "slow down" (STS/IAM query: Throttling; JSON
# protocols: ThrottlingException; Organizations: TooManyRequestsException; EC2-style:
# RequestLimitExceeded; S3: SlowDown). `code_is` also accepts the `...Exception` forms.
THROTTLING_CODES = (
    "Throttling",
    "ThrottlingException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "SlowDown",
)

BOTOCORE_MAX_ATTEMPTS = 10
CONNECT_TIMEOUT_SECONDS = 5.0
READ_TIMEOUT_SECONDS = 15.0
CONNECTION_ATTEMPTS = 3
# Connection failures and timeouts: retried within CONNECTION_ATTEMPTS, not the throttling budget.
CONNECTION_ERRORS = (bex.ConnectionError, bex.HTTPClientError)


@dataclass(frozen=True)
class Timeouts:
    """Seconds to connect, seconds to wait for each answer, tries per call on a bad connection."""

    connect: float = CONNECT_TIMEOUT_SECONDS
    read: float = READ_TIMEOUT_SECONDS
    connection_attempts: int = CONNECTION_ATTEMPTS

    def worst_case_seconds(self) -> float:
        """The longest one call can wait on an endpoint that accepts and never answers."""
        backoff = sum(min(20.0, 2.0**i) for i in range(self.connection_attempts - 1))
        return self.connection_attempts * (self.connect + self.read) + backoff


def timeouts() -> Timeouts:
    """The figures in force: defaults, or ROOTCTL_* environment overrides (validated)."""
    return Timeouts(
        connect=_seconds("ROOTCTL_CONNECT_TIMEOUT", CONNECT_TIMEOUT_SECONDS),
        read=_seconds("ROOTCTL_READ_TIMEOUT", READ_TIMEOUT_SECONDS),
        connection_attempts=int(_seconds("ROOTCTL_CONNECTION_ATTEMPTS", CONNECTION_ATTEMPTS, 10)),
    )


def _seconds(name: str, default: float, most: float = 600.0) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    whole = name.endswith("ATTEMPTS")
    if not (0 < value <= most) or (whole and value != int(value)):
        kind = "a whole number" if whole else "a number of seconds"
        raise UsageError(f"{name}={raw!r} is not valid: use {kind} above 0 and at most {most:g}")
    return value


def client_config(max_pool_connections: int) -> Config:
    """The one botocore Config every rootctl client shares (see docs/design.md)."""
    limits = timeouts()
    return Config(
        retries={"mode": "adaptive", "max_attempts": BOTOCORE_MAX_ATTEMPTS},
        max_pool_connections=max_pool_connections,
        connect_timeout=limits.connect,
        read_timeout=limits.read,
    )


def connection_budget(attempts_allowed: int) -> Callable[..., None]:
    """A botocore `needs-retry` handler that ends retries of a failing connection early.

    botocore's retry modes have one attempt budget for every retryable error; throttling
    needs a large one (adaptive mode, 10 attempts), a stalled endpoint a small one (each
    attempt waits the whole read timeout). Every `needs-retry` handler runs, so after
    `attempts_allowed` failed connections of one call (counted in the request's context:
    a 500 or a throttle before them does not use up the connection budget) this one
    re-raises the connection error, which ends the call before botocore tries again.
    """

    def handler(
        attempts: int = 0,
        caught_exception: Any = None,
        request_dict: Any = None,
        **_: Any,
    ) -> None:
        if not isinstance(caught_exception, CONNECTION_ERRORS):
            return
        context = request_dict.get("context") if isinstance(request_dict, dict) else None
        if isinstance(context, dict):
            failed = int(context.get("rootctl_connection_failures", 0)) + 1
            context["rootctl_connection_failures"] = failed
        else:
            failed = attempts
        if failed >= attempts_allowed:
            raise caught_exception

    return handler


def is_throttling(exc: BaseException) -> bool:
    """True for a ClientError whose code is one of the throttling codes."""
    return isinstance(exc, ClientError) and code_is(exc, *THROTTLING_CODES)


@dataclass(frozen=True)
class Backoff:
    """Bounded full-jitter exponential backoff: sleep U(0, min(cap, base * 2**n))."""

    max_attempts: int = 4
    base_delay: float = 0.5
    max_delay: float = 20.0

    def delay(self, attempt: int, rng: Callable[[], float] = random.random) -> float:
        """The sleep before retry number `attempt` (0-based)."""
        ceiling = min(self.max_delay, self.base_delay * (2.0**attempt))
        return ceiling * rng()


DEFAULT_BACKOFF = Backoff()


def call_with_backoff(
    fn: Callable[[], R],
    *,
    policy: Backoff = DEFAULT_BACKOFF,
    should_retry: Callable[[BaseException], bool] = is_throttling,
    sleep: Callable[[float], None] = time.sleep,
    rng: Callable[[], float] = random.random,
) -> R:
    """Call `fn`; on an error `should_retry` accepts, back off and call again (bounded).

    The last error is re-raised unchanged once `policy.max_attempts` calls have failed, so
    the caller still sees the real AWS error code.
    """
    attempt = 0
    while True:
        try:
            return fn()
        except Exception as exc:
            attempt += 1
            if attempt >= policy.max_attempts or not should_retry(exc):
                raise
            sleep(policy.delay(attempt - 1, rng))
