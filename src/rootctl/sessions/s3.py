"""S3 buckets through an S3UnlockBucketPolicy root session.

That task policy allows exactly GetBucketPolicy, PutBucketPolicy, DeleteBucketPolicy and
ListAllMyBuckets, which is all this module calls. `ExpectedBucketOwner` guards against a
bucket name that belongs to another account (bucket names are global).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from botocore.exceptions import ClientError

from rootctl.errors import code_is
from rootctl.sessions.policy import resource_arn
from rootctl.sessions.resources import ResourceMissing
from rootctl.tasks import Task

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

PERMISSIONS = (
    "s3:GetBucketPolicy",
    "s3:PutBucketPolicy",
    "s3:DeleteBucketPolicy",
    "s3:ListAllMyBuckets",
)
TASKS = (Task.S3_UNLOCK,)


@dataclass
class S3Bucket:
    """One bucket of a member account, reached with a root session's S3 client."""

    client: S3Client = field(repr=False)
    account_id: str
    name: str
    region: str
    kind: Literal["s3"] = "s3"

    @property
    def arn(self) -> str:
        return resource_arn("s3", self.account_id, self.name, self.region)

    def read(self) -> str | None:
        try:
            response = self.client.get_bucket_policy(
                Bucket=self.name, ExpectedBucketOwner=self.account_id
            )
        except ClientError as exc:
            if code_is(exc, "NoSuchBucketPolicy"):
                return None
            if code_is(exc, "NoSuchBucket"):
                raise ResourceMissing(
                    f"bucket {self.name!r} does not exist in account {self.account_id}"
                ) from None
            raise
        return response["Policy"]

    def remove(self) -> None:
        self.client.delete_bucket_policy(Bucket=self.name, ExpectedBucketOwner=self.account_id)

    def put(self, text: str) -> None:
        self.client.put_bucket_policy(
            Bucket=self.name, Policy=text, ExpectedBucketOwner=self.account_id
        )


def list_buckets(client: S3Client, account_id: str, region: str) -> Iterator[S3Bucket]:
    """Every bucket of the account (ListBuckets pages by ContinuationToken)."""
    token: str | None = None
    while True:
        response = client.list_buckets(ContinuationToken=token) if token else client.list_buckets()
        for bucket in response.get("Buckets", []):
            if "Name" in bucket:
                yield S3Bucket(client, account_id, bucket["Name"], region)
        token = response.get("ContinuationToken")
        if not token:
            return
