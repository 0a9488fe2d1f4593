"""SQS queues through an SQSUnlockQueuePolicy root session.

That task policy allows ListQueues, GetQueueUrl, GetQueueAttributes and SetQueueAttributes;
RemovePermission is denied, so a policy is removed by setting it to "" (what AWS documents
for SetQueueAttributes). A queue is given by name or by URL; a URL names its account, which
must be the account the session is for.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal
from urllib.parse import urlparse

from botocore.exceptions import ClientError

from rootctl.errors import UsageError, code_is
from rootctl.sessions.policy import resource_arn
from rootctl.sessions.resources import ResourceMissing, check_queue_name
from rootctl.tasks import Task
from rootctl.text import clean

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

PERMISSIONS = (
    "sqs:ListQueues",
    "sqs:GetQueueUrl",
    "sqs:GetQueueAttributes",
    "sqs:SetQueueAttributes",
)
TASKS = (Task.SQS_UNLOCK,)
MISSING_CODES = ("QueueDoesNotExist", "AWS.SimpleQueueService.NonExistentQueue")
# SQS's own hosts: sqs.REGION.SUFFIX (and sqs-fips), the legacy REGION.queue.SUFFIX, and
# queue.amazonaws.com (us-east-1). SUFFIX is checked against the region's partition.
_REGION_HOSTS = (
    re.compile(r"^sqs(?:-fips)?\.([a-z0-9-]+)\.([a-z0-9.-]+)$"),
    re.compile(r"^([a-z0-9-]+)\.queue\.([a-z0-9.-]+)$"),
)
_LEGACY_HOST = "queue.amazonaws.com"


@dataclass(frozen=True)
class QueueRef:
    """A queue as the user named it: its name, and its URL and region when a URL was given."""

    name: str
    url: str | None = None
    region: str | None = None


def parse_queue(value: str, account_id: str) -> QueueRef:
    """Accept a queue name or URL; a URL must point into `account_id` (checked locally).
    Surrounding whitespace is dropped (a pasted line); whitespace or a control character inside
    is refused (urlparse would silently drop tabs and newlines from a URL)."""
    value = value.strip()
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in value):
        raise UsageError(f"{clean(repr(value))} is not an SQS queue name or URL: it has whitespace")
    if "://" not in value:
        return QueueRef(check_queue_name(value))
    parsed = urlparse(value)
    parts = [p for p in parsed.path.split("/") if p]
    if parsed.scheme not in ("http", "https") or len(parts) != 2 or not parts[0].isdigit():
        raise UsageError(
            f"{value!r} is not an SQS queue URL (https://sqs.<region>.amazonaws.com/<account>/<name>)"
        )
    owner, name = parts
    if owner != account_id:
        raise UsageError(f"queue URL {value!r} is in account {owner}, not --account {account_id}")
    host = (parsed.hostname or "").lower()
    region = "us-east-1" if host == _LEGACY_HOST else _aws_region(host)
    return QueueRef(check_queue_name(name), value, region)


def check_queue_host(ref: QueueRef, endpoint_url: str | None) -> None:
    """A queue URL must name an SQS host: AWS's (sqs.REGION.amazonaws.com, in the region's
    partition) or the SQS endpoint the user configured (the sandbox). Checked before any
    session: rootctl sends the URL to SQS as the queue's identity, and a URL of another
    host is a typo or a paste from somewhere else."""
    if ref.url is None:
        return
    parsed = urlparse(ref.url)
    if ref.region is not None:
        return  # parse_queue found an SQS host of AWS
    if endpoint_url is not None:
        configured = urlparse(endpoint_url)
        if (parsed.hostname, parsed.port) == (configured.hostname, configured.port):
            return
    expected = "https://sqs.<region>.amazonaws.com/<account>/<name>"
    if endpoint_url is not None:
        expected += f" or {endpoint_url.rstrip('/')}/<account>/<name>"
    raise UsageError(
        f"queue URL {ref.url!r} is not an SQS URL (host {parsed.netloc!r}): expected {expected}"
    )


def _aws_region(host: str) -> str | None:
    """The region of an SQS host of AWS, or None for any other host."""
    from rootctl.aws.session import dns_suffix

    for pattern in _REGION_HOSTS:
        match = pattern.match(host)
        if match is not None and dns_suffix(match.group(1)) == match.group(2):
            return match.group(1)
    return None


@dataclass
class SqsQueue:
    """One queue of a member account, reached with a root session's SQS client."""

    client: SQSClient = field(repr=False)
    account_id: str
    name: str
    region: str
    url: str
    kind: Literal["sqs"] = "sqs"

    @property
    def arn(self) -> str:
        return resource_arn("sqs", self.account_id, self.name, self.region)

    def read(self) -> str | None:
        try:
            response = self.client.get_queue_attributes(
                QueueUrl=self.url, AttributeNames=["Policy"]
            )
        except ClientError as exc:
            if code_is(exc, *MISSING_CODES):
                raise _missing(self.name, self.account_id, self.region) from None
            raise
        return response.get("Attributes", {}).get("Policy") or None

    def remove(self) -> None:
        self.client.set_queue_attributes(QueueUrl=self.url, Attributes={"Policy": ""})

    def put(self, text: str) -> None:
        self.client.set_queue_attributes(QueueUrl=self.url, Attributes={"Policy": text})


def open_queue(client: SQSClient, account_id: str, ref: QueueRef, region: str) -> SqsQueue:
    """Resolve the queue's URL with GetQueueUrl (name given) or trust the URL given."""
    if ref.url is not None:
        return SqsQueue(client, account_id, ref.name, region, ref.url)
    try:
        url = client.get_queue_url(QueueName=ref.name, QueueOwnerAWSAccountId=account_id)
    except ClientError as exc:
        if code_is(exc, *MISSING_CODES):
            raise _missing(ref.name, account_id, region) from None
        raise
    return SqsQueue(client, account_id, ref.name, region, url["QueueUrl"])


def list_queues(client: SQSClient, account_id: str, region: str) -> Iterator[SqsQueue]:
    """Every queue of the account in `region` (ListQueues pages by NextToken)."""
    token: str | None = None
    while True:
        response = (
            client.list_queues(MaxResults=1000, NextToken=token)
            if token
            else client.list_queues(MaxResults=1000)
        )
        for url in response.get("QueueUrls", []):
            name = url.rstrip("/").rsplit("/", 1)[-1]
            yield SqsQueue(client, account_id, name, region, url)
        token = response.get("NextToken")
        if not token:
            return


def _missing(name: str, account_id: str, region: str) -> ResourceMissing:
    return ResourceMissing(f"queue {name!r} does not exist in account {account_id} ({region})")
