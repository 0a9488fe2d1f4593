"""What every privileged command shares: rules, journal, and the root-session broker.

`PrivilegedContext.check` applies the emergency-access rules and journals a refusal before
anything touches AWS; `open_resource` opens the task's root session (journaled by the
broker's callback, with the session's access key id) and resolves the bucket or queue,
journaling a resource that does not exist before reporting it as bad input.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

from botocore.exceptions import BotoCoreError, ClientError

from rootctl.errors import RootctlError, UsageError, error_code
from rootctl.journal import Recorder
from rootctl.sessions.resources import TASK_FOR, PolicyResource, ResourceMissing
from rootctl.sessions.rules import SessionRefused, SessionRequest, check_session, session_seconds
from rootctl.sessions.s3 import S3Bucket
from rootctl.sessions.sqs import QueueRef, open_queue
from rootctl.tasks import Task

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sqs import SQSClient

    from rootctl.aws import Credentials, RootSessionBroker, SessionFactory
    from rootctl.config import RootctlConfig
    from rootctl.journal import Journal
    from rootctl.sessions.policy import Kind

T = TypeVar("T")

# What the operator's identity needs for every privileged command; the session itself is
# limited by its task policy (see `s3.PERMISSIONS`, `sqs.PERMISSIONS`). In the caller's IAM
# policy, scope it with the `sts:TaskPolicyArn` condition to the tasks you allow.
PERMISSIONS = (
    "sts:AssumeRoot",
    "sts:GetCallerIdentity",
    # the checks before the first root session: caller role and target account
    "organizations:DescribeOrganization",
    "organizations:ListDelegatedAdministrators",
    "organizations:DescribeAccount",
)


class SessionFailed(RootctlError):
    """AssumeRoot was refused or failed (exit 1): the reason is AWS's, journaled."""


@dataclass
class PrivilegedContext:
    """One command run: its factory, config and journal, and the sessions it opens."""

    factory: SessionFactory
    config: RootctlConfig
    journal: Journal
    command: str
    reason: str | None
    recorder: Recorder = field(init=False)
    _broker: RootSessionBroker | None = field(default=None, init=False, repr=False)
    _checked: set[str] = field(default_factory=set, init=False, repr=False)

    def __post_init__(self) -> None:
        self.recorder = Recorder(self.journal, self.command, self._operator, self.reason)

    def _operator(self) -> str | None:
        try:
            return self.factory.caller_identity().arn
        except UsageError:
            # Broken operator credentials: the entry (often a refusal) is still worth
            # writing; the command reports the credential problem when it calls AWS.
            return None

    @property
    def region(self) -> str:
        return self.factory.region

    @property
    def broker(self) -> RootSessionBroker:
        if self._broker is None:
            from rootctl.aws import RootSessionBroker

            self._broker = RootSessionBroker(
                self.factory,
                duration_seconds=session_seconds(self.config),
                refresh_margin_seconds=min(120, session_seconds(self.config) // 2),
                on_session_opened=self.recorder.session_opened,
            )
        return self._broker

    def check(self, request: SessionRequest, target: str | None = None) -> str:
        """Apply the rules; journal and re-raise a refusal. Returns the reason to record."""
        try:
            reason = check_session(self.config, request)
        except SessionRefused as exc:
            self.recorder.append(
                self.command.split()[0],
                "refused",
                account_id=request.account_id,
                task=request.task,
                target=target,
                error=f"{exc} [{exc.rule}]",
            )
            raise
        self.recorder.reason = reason
        return reason

    def credentials(self, account_id: str, task: Task) -> Credentials:
        """The task's root session in `account_id` (opened once, journaled by the broker)."""
        return self._opening(account_id, task, lambda: self.broker.credentials(account_id, task))

    def s3(self, account_id: str, region: str | None = None) -> S3Client:
        task = Task.S3_UNLOCK
        return self._opening(
            account_id, task, lambda: self.broker.client(account_id, task, "s3", region)
        )

    def sqs(self, account_id: str, region: str | None = None) -> SQSClient:
        task = Task.SQS_UNLOCK
        return self._opening(
            account_id, task, lambda: self.broker.client(account_id, task, "sqs", region)
        )

    def precheck(self, account_id: str) -> None:
        """Before the first root session: the operator's credentials work, the caller may call
        AssumeRoot, and the target is an ACTIVE member account. A refused AssumeRoot would
        otherwise reach AWS (and CloudTrail) for what is bad input."""
        if account_id in self._checked:
            return
        from rootctl.org.accounts import check_root_session_caller

        caller = self.factory.caller_identity().account  # UsageError for rejected keys
        org = self.factory.client("organizations")
        try:
            management = str(org.describe_organization()["Organization"]["MasterAccountId"])
        except ClientError as exc:
            raise UsageError(
                f"account {caller} cannot read its organization ({error_code(exc)}): run rootctl "
                "with the management account's or the IAM delegated administrator's credentials"
            ) from exc
        check_root_session_caller(org, caller, management)
        if account_id == management:
            raise UsageError(
                f"{account_id} is the management account: AssumeRoot only targets member accounts"
            )
        try:
            status = org.describe_account(AccountId=account_id)["Account"].get("Status", "ACTIVE")
        except ClientError as exc:
            if error_code(exc).removesuffix("Exception") == "AccountNotFound":
                raise UsageError(
                    f"account {account_id} is not a member of the organization: check --account"
                ) from exc
            raise
        if status != "ACTIVE":
            raise UsageError(
                f"account {account_id} is {status}: AssumeRoot only targets ACTIVE accounts"
            )
        self._checked.add(account_id)

    def _opening(self, account_id: str, task: Task, open_: Callable[[], T]) -> T:
        self.precheck(account_id)
        try:
            return open_()
        except (ClientError, BotoCoreError) as exc:
            message = f"{error_code(exc)}: {exc}"
            self.recorder.session_failed(account_id, task, message)
            raise SessionFailed(
                f"could not open a {task.short_name} root session in {account_id}: {message}"
            ) from exc

    def resource(
        self, kind: Kind, account_id: str, name: str | QueueRef, region: str | None = None
    ) -> PolicyResource:
        """Open the task session and bind the bucket or queue (a queue name is resolved)."""
        if kind == "s3":
            where = region or self.region
            return S3Bucket(self.s3(account_id, where), account_id, str(name), where)
        ref = name if isinstance(name, QueueRef) else QueueRef(name)
        where = region or ref.region or self.region
        with self.missing_journaled(account_id, TASK_FOR[kind], None):
            return open_queue(self.sqs(account_id, where), account_id, ref, where)

    @contextmanager
    def missing_journaled(self, account_id: str, task: Task, target: str | None) -> Iterator[None]:
        """Journal a ResourceMissing (bad input found only inside the session), then re-raise."""
        try:
            yield
        except ResourceMissing as exc:
            action = self.command.split()[0]
            self.recorder.append(
                action, "error", account_id=account_id, task=task, target=target, error=str(exc)
            )
            raise
