"""`RootSessionBroker`: one AssumeRoot session per (account, task), reused until near expiry.

A run over 10,000 accounts may ask for the same account's session several times (audit,
then act, then verify). Each AssumeRoot call costs a round trip, counts against STS rate
limits and leaves a CloudTrail event in two accounts, so the broker opens one session per
(account, task), hands out the cached credentials until `expiration - refresh_margin`, and
lets two threads asking for the same key share one call (per-key locks; different keys do
not wait for each other).
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal, TypeVar, overload

from botocore.exceptions import ClientError

from rootctl.aws.errors import stops_the_run
from rootctl.aws.retry import DEFAULT_BACKOFF, Backoff, call_with_backoff
from rootctl.aws.root_session import RootSession
from rootctl.aws.session import Credentials, SessionFactory, acting_as
from rootctl.errors import UsageError, code_is, error_code
from rootctl.tasks import MAX_ROOT_SESSION_SECONDS, Task

if TYPE_CHECKING:
    from mypy_boto3_cloudtrail import CloudTrailClient
    from mypy_boto3_iam import IAMClient
    from mypy_boto3_organizations import OrganizationsClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sts import STSClient

R = TypeVar("R")

# (account_id, task, access_key_id, expiration) -> None. Never receives secrets.
SessionOpened = Callable[[str, Task, str, datetime], None]
# (account_id, task, "Code: message") -> None: AssumeRoot refused or failed (journal it).
SessionFailed = Callable[[str, Task, str], None]

DEFAULT_REFRESH_MARGIN_SECONDS = 120
_ACCOUNT_ID = re.compile(r"^[0-9]{12}$")
# Codes that mean "this session's credentials are no longer valid": drop it, open a new one.
EXPIRED_CODES = ("ExpiredToken", "ExpiredTokenException")


def _utcnow() -> datetime:
    return datetime.now(UTC)


class _Slot:
    """The cached session of one (account, task) and the lock that guards opening it."""

    __slots__ = ("credentials", "lock")

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.credentials: Credentials | None = None


class RootSessionBroker:
    """Opens, caches and refreshes AssumeRoot sessions; builds clients from them.

    `on_session_opened` runs on the thread that opened the session (a fan-out worker), so
    it must be thread-safe. If it raises, the session is not cached and the error
    propagates: a session the journal did not record is never used.
    """

    def __init__(
        self,
        factory: SessionFactory,
        duration_seconds: int = MAX_ROOT_SESSION_SECONDS,
        refresh_margin_seconds: int = DEFAULT_REFRESH_MARGIN_SECONDS,
        *,
        on_session_opened: SessionOpened | None = None,
        on_session_failed: SessionFailed | None = None,
        region: str | None = None,
        backoff: Backoff = DEFAULT_BACKOFF,
        clock: Callable[[], datetime] = _utcnow,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not 1 <= duration_seconds <= MAX_ROOT_SESSION_SECONDS:
            raise UsageError(
                f"root session duration must be 1..{MAX_ROOT_SESSION_SECONDS} seconds "
                f"(AssumeRoot's maximum); got {duration_seconds}"
            )
        if not 0 <= refresh_margin_seconds < duration_seconds:
            raise UsageError(
                f"refresh margin ({refresh_margin_seconds} s) must be at least 0 and shorter "
                f"than the session duration ({duration_seconds} s)"
            )
        self.factory = factory
        self.duration_seconds = duration_seconds
        self.refresh_margin_seconds = refresh_margin_seconds
        self.region = region
        self._on_session_opened = on_session_opened
        self._on_session_failed = on_session_failed
        self._backoff = backoff
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._slots: dict[tuple[str, Task], _Slot] = {}

    # -- sessions ------------------------------------------------------------------------------

    def credentials(self, account_id: str, task: Task) -> Credentials:
        """The session of (account, task): cached while fresh, else one new AssumeRoot call."""
        slot = self._slot(account_id, task)
        cached = slot.credentials
        if cached is not None and self._fresh(cached):
            return cached
        with slot.lock:
            cached = slot.credentials  # another thread may have opened it while we waited
            if cached is not None and self._fresh(cached):
                return cached
            slot.credentials = None
            opened = self._assume_root(account_id, task)
            if self._on_session_opened is not None:
                self._on_session_opened(account_id, task, opened.access_key_id, opened.expiration)
            slot.credentials = opened
            return opened

    def evict(self, account_id: str, task: Task, access_key_id: str | None = None) -> None:
        """Forget the cached session (e.g. after ExpiredToken).

        With `access_key_id`, only if the cached session is still that one: a thread that
        saw an old session expire must not drop the fresh one another thread just opened.
        """
        with self._lock:
            slot = self._slots.get((account_id, task))
        if slot is None:
            return
        with slot.lock:
            current = slot.credentials
            if current is not None and access_key_id in (None, current.access_key_id):
                slot.credentials = None

    def clear(self) -> None:
        """Forget every cached session."""
        with self._lock:
            self._slots.clear()

    def _slot(self, account_id: str, task: Task) -> _Slot:
        if not _ACCOUNT_ID.fullmatch(account_id):
            raise UsageError(f"account id {account_id!r} is not 12 digits")
        key = (account_id, task)
        with self._lock:
            slot = self._slots.get(key)
            if slot is None:
                slot = self._slots[key] = _Slot()
            return slot

    def _fresh(self, credentials: Credentials) -> bool:
        return not credentials.expires_within(self.refresh_margin_seconds, self._clock())

    def _assume_root(self, account_id: str, task: Task) -> Credentials:
        sts = self.factory.client("sts", region=self.region)

        def call() -> Any:
            return sts.assume_root(
                TargetPrincipal=account_id,
                TaskPolicyArn={"arn": task.arn},
                DurationSeconds=self.duration_seconds,
            )

        try:
            response = call_with_backoff(call, policy=self._backoff, sleep=self._sleep)
        except Exception as exc:
            # Missing, rejected or expired operator credentials are not this account's problem.
            error = stops_the_run(exc)
            if error is not None:
                raise error from exc
            if self._on_session_failed is not None:
                self._on_session_failed(account_id, task, f"{error_code(exc)}: {exc}")
            raise
        return Credentials.from_response(response["Credentials"])

    # -- clients -------------------------------------------------------------------------------

    @overload
    def client(
        self, account_id: str, task: Task, service: Literal["sts"], region: str | None = None
    ) -> STSClient: ...
    @overload
    def client(
        self, account_id: str, task: Task, service: Literal["iam"], region: str | None = None
    ) -> IAMClient: ...
    @overload
    def client(
        self,
        account_id: str,
        task: Task,
        service: Literal["organizations"],
        region: str | None = None,
    ) -> OrganizationsClient: ...
    @overload
    def client(
        self, account_id: str, task: Task, service: Literal["s3"], region: str | None = None
    ) -> S3Client: ...
    @overload
    def client(
        self, account_id: str, task: Task, service: Literal["sqs"], region: str | None = None
    ) -> SQSClient: ...
    @overload
    def client(
        self,
        account_id: str,
        task: Task,
        service: Literal["cloudtrail"],
        region: str | None = None,
    ) -> CloudTrailClient: ...
    @overload
    def client(
        self, account_id: str, task: Task, service: str, region: str | None = None
    ) -> Any: ...

    def client(self, account_id: str, task: Task, service: str, region: str | None = None) -> Any:
        """A client acting as `account_id`'s root user for `task` (cached with the session)."""
        credentials = self.credentials(account_id, task)
        return self.factory.client(service, credentials=credentials, region=region)

    @contextmanager
    def session(
        self, account_id: str, task: Task, region: str | None = None
    ) -> Iterator[RootSession]:
        """`with broker.session(account, task) as s:` -- `s.iam`, `s.s3`, `s.sqs` sign as the
        (account, task) root session inside the block only (opened or reused from the cache,
        journaled by `on_session_opened` before its first use)."""
        credentials = self.credentials(account_id, task)
        with acting_as(credentials):
            yield RootSession(account_id, task, credentials, self.factory, region or self.region)

    def run(
        self,
        account_id: str,
        task: Task,
        fn: Callable[[RootSession], R],
        region: str | None = None,
    ) -> R:
        """`fn(session)` inside the (account, task) session; on ExpiredToken, reopen once.

        Sessions are refreshed before the margin, but a long per-account step (or clock
        skew) can still outlive one; one retry with a new session covers that.
        """
        with self.session(account_id, task, region) as session:
            try:
                return fn(session)
            except ClientError as exc:
                if not code_is(exc, *EXPIRED_CODES):
                    raise
                expired = session.access_key_id
        self.evict(account_id, task, expired)
        with self.session(account_id, task, region) as session:
            return fn(session)

    def call(
        self,
        account_id: str,
        task: Task,
        service: str,
        fn: Callable[[Any], R],
        region: str | None = None,
    ) -> R:
        """`fn(client)` with the session's `service` client: `run` for one-client work."""
        return self.run(account_id, task, lambda session: fn(session.client(service)), region)
