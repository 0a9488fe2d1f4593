"""`RootSession`: the visible boundary of one root session (`with broker.session(...) as s:`).

Inside the block, `s.iam`, `s.s3`, `s.sqs` (and `s.client(service)`) sign as the member
account's root user for the session's task; outside it they refuse to sign (they are the
factory's per-thread acting clients, see rootctl.aws.session). Work handed to other threads
goes through `s.submit(pool, fn, ...)` or `s.map(pool, fn, items)`, which carry the session
to the pool thread, so no caller ever touches the ContextVar behind it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import Executor, Future
from contextvars import copy_context
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from mypy_boto3_iam import IAMClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sqs import SQSClient

    from rootctl.aws.session import Credentials, SessionFactory
    from rootctl.tasks import Task

R = TypeVar("R")
T = TypeVar("T")


@dataclass(frozen=True)
class RootSession:
    """A root session of (account, task) while its `with` block is open."""

    account_id: str
    task: Task
    credentials: Credentials
    factory: SessionFactory
    region: str | None = None

    @property
    def access_key_id(self) -> str:
        return self.credentials.access_key_id

    def client(self, service: str, region: str | None = None) -> Any:
        """This thread's client of `service`, signing as this session inside the block."""
        return self.factory.acting_client(service, region or self.region)

    @property
    def iam(self) -> IAMClient:
        client: IAMClient = self.client("iam")
        return client

    @property
    def s3(self) -> S3Client:
        client: S3Client = self.client("s3")
        return client

    @property
    def sqs(self) -> SQSClient:
        client: SQSClient = self.client("sqs")
        return client

    def submit(self, pool: Executor, fn: Callable[..., R], /, *args: Any) -> Future[R]:
        """Run `fn(*args)` on `pool` acting as this session (the pool thread sees it)."""
        context = copy_context()

        def acting() -> R:
            return context.run(fn, *args)

        return pool.submit(acting)

    def map(self, pool: Executor, fn: Callable[[T], R], items: Iterable[T]) -> list[R]:
        """`fn(item)` for every item on `pool`, acting as this session; results in order."""
        futures = [self.submit(pool, fn, item) for item in items]
        return [future.result() for future in futures]
