"""Retry policy: botocore's adaptive mode first, then a small bounded backoff of our own.

botocore's adaptive mode retries throttling (and transient 5xx) inside each client with a
client-side rate limiter. That is enough for most calls; for the few calls a whole run
depends on (AssumeRoot into every account), `call_with_backoff` adds a bounded outer loop
with full-jitter exponential backoff, so a burst of throttling at 16-way concurrency turns
into a short wait instead of thousands of per-account errors.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from botocore.config import Config
from botocore.exceptions import ClientError

from rootctl.errors import code_is

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
CONNECT_TIMEOUT_SECONDS = 10.0
READ_TIMEOUT_SECONDS = 30.0


def client_config(max_pool_connections: int) -> Config:
    """The one botocore Config every rootctl client shares (see docs/design.md)."""
    return Config(
        retries={"mode": "adaptive", "max_attempts": BOTOCORE_MAX_ATTEMPTS},
        max_pool_connections=max_pool_connections,
        connect_timeout=CONNECT_TIMEOUT_SECONDS,
        read_timeout=READ_TIMEOUT_SECONDS,
    )


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
