"""`RunContext`: what one command run shares, whatever the command.

One run = one journal `Recorder` (command, operator, reason, run id), one root-session
broker (sessions cached per account and task, each journaled before its first use), the
organization read once, and the rules of `root_sessions` applied before anything touches
AWS. Every refusal is journaled the same way, for every command. The facade
(`rootctl.api.Rootctl`) opens one per operation; callers never build it by hand.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

from botocore.exceptions import BotoCoreError, ClientError

from rootctl.errors import RootctlError, UsageError, code_is, error_code
from rootctl.fanout import DEFAULT_CONCURRENCY
from rootctl.journal import Recorder
from rootctl.results import iso
from rootctl.sessions.rules import SessionRefused, SessionRequest, check_session, check_tasks
from rootctl.tasks import Task

if TYPE_CHECKING:
    from rootctl.aws import RootSessionBroker, SessionFactory
    from rootctl.aws.root_session import RootSession
    from rootctl.config import RootctlConfig
    from rootctl.credentials.models import AccountAudit, AuditReport
    from rootctl.journal import Journal
    from rootctl.org.accounts import OrgInventory
    from rootctl.org.selection import Selection, SelectionSpec
    from rootctl.progress import ProgressLike
    from rootctl.results import Account

T = TypeVar("T")

# Sessions are reopened this long before they expire (at most a quarter of their length).
REFRESH_MARGIN_SECONDS = 120

# What the operator's identity needs for the checks before the first root session.
PERMISSIONS = (
    "sts:AssumeRoot",
    "sts:GetCallerIdentity",
    "organizations:DescribeOrganization",
    "organizations:ListDelegatedAdministrators",
    "organizations:DescribeAccount",
)


class SessionFailed(RootctlError):
    """AssumeRoot was refused or failed (exit 1): the reason is AWS's, journaled."""


@dataclass
class RunContext:
    """One command run: factory, config, journal, recorder, broker, organization, rules."""

    factory: SessionFactory
    config: RootctlConfig
    journal: Journal
    command: str
    reason: str | None = None
    concurrency: int = DEFAULT_CONCURRENCY
    recorder: Recorder = field(init=False)
    _broker: RootSessionBroker | None = field(default=None, init=False, repr=False)
    _inventory: OrgInventory | None = field(default=None, init=False, repr=False)
    _checked: set[str] = field(default_factory=set, init=False, repr=False)

    def __post_init__(self) -> None:
        self.recorder = Recorder(
            self.journal, self.command, self._operator, self.reason, format_expiration=iso
        )

    def _operator(self) -> str | None:
        try:
            return self.factory.caller_identity().arn
        except UsageError:
            # Broken operator credentials: the entry (often a refusal) is still worth
            # writing; the command reports the credential problem when it calls AWS.
            return None

    @property
    def operator(self) -> str:
        """The caller's ARN (UsageError for missing or rejected credentials)."""
        return self.factory.caller_identity().arn

    @property
    def region(self) -> str:
        return self.factory.region

    @property
    def action(self) -> str:
        """The journal action of a refusal: the command's first word (`unlock s3` -> unlock)."""
        return self.command.split()[0]

    # -- rules ---------------------------------------------------------------------------------

    def check(self, request: SessionRequest, target: str | None = None) -> str:
        """Apply every rule to one session; journal and re-raise a refusal. Returns the reason."""
        try:
            reason = check_session(self.config, request)
        except SessionRefused as exc:
            self.refused(exc, account_id=request.account_id, task=request.task, target=target)
            raise
        self.set_reason(reason)
        return reason

    def check_tasks(self, *tasks: Task, reason: str | None = None) -> None:
        """For runs over many accounts: the tasks are allowed and (when given) the reason
        matches the pattern. A refusal is journaled once for the run, then raised."""
        try:
            check_tasks(self.config, tasks, reason)
        except SessionRefused as exc:
            self.refused(exc, task=tasks[-1])
            raise
        if reason is not None:
            self.set_reason(reason)

    def refused(
        self,
        exc: SessionRefused,
        *,
        account_id: str | None = None,
        task: Task | None = None,
        target: str | None = None,
    ) -> None:
        self.recorder.append(
            self.action,
            "refused",
            account_id=account_id,
            task=task,
            target=target,
            error=f"{exc} [{exc.rule}]",
        )

    def set_reason(self, reason: str) -> None:
        self.reason = reason
        self.recorder.reason = reason

    # -- organization ----------------------------------------------------------------------------

    @property
    def inventory(self) -> OrgInventory:
        """The organization's accounts, read once (after checking the caller may AssumeRoot)."""
        if self._inventory is None:
            from rootctl.org.accounts import list_accounts

            self._inventory = list_accounts(self.factory)
        return self._inventory

    def select(self, spec: SelectionSpec) -> Selection:
        from rootctl.org.selection import select_accounts

        return select_accounts(self.inventory, spec)

    def target(self, account_id: str) -> Account:
        """The one account a single-account command acts on; a UsageError that names the
        account (not a selection flag the user never typed) when AssumeRoot cannot target it."""
        from rootctl.org.selection import skip_reason

        account = self.inventory.by_id().get(account_id)
        if account is None:
            raise UsageError(
                f"account {account_id} is not in this organization: check the account id "
                "(rootctl audit lists every account)"
            )
        reason = skip_reason(account, self.inventory.management_account_id)
        if reason is not None:
            raise UsageError(f"account {account_id} cannot be a target: {reason}")
        return account

    def audit(
        self,
        selection: Selection,
        progress: ProgressLike | None = None,
        on_result: Callable[[Account, AccountAudit], None] | None = None,
    ) -> AuditReport:
        """Audit every target of `selection` in this run (its broker, journal and workers)."""
        from rootctl.credentials.audit import audit_accounts

        return audit_accounts(
            self.broker,
            selection,
            organization_id=self.inventory.organization_id,
            operator=self.operator,
            concurrency=self.concurrency,
            progress=progress,
            on_result=on_result,
        )

    def precheck(self, account_id: str) -> None:
        """Before the first root session into one account: the operator's credentials work,
        the caller may call AssumeRoot, and the target is an ACTIVE member account. A refused
        AssumeRoot would otherwise reach AWS (and CloudTrail) for what is bad input."""
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
            if code_is(exc, "AccountNotFound"):
                raise UsageError(
                    f"account {account_id} is not a member of the organization: check the account id"
                ) from exc
            raise
        if status != "ACTIVE":
            raise UsageError(
                f"account {account_id} is {status}: AssumeRoot only targets ACTIVE accounts"
            )
        self._checked.add(account_id)

    # -- root sessions ---------------------------------------------------------------------------

    @property
    def broker(self) -> RootSessionBroker:
        """One broker per run: sessions cached per (account, task), journaled when opened."""
        if self._broker is None:
            from rootctl.aws import RootSessionBroker

            seconds = self.config.root_sessions.max_session_seconds
            self._broker = RootSessionBroker(
                self.factory,
                duration_seconds=seconds,
                refresh_margin_seconds=min(REFRESH_MARGIN_SECONDS, seconds // 4),
                on_session_opened=self.recorder.session_opened,
                on_session_failed=self._session_failed,
            )
        return self._broker

    def _session_failed(self, account_id: str, task: Task, error: str) -> None:
        """Every refused or failed AssumeRoot of the run, in every command (the broker's
        `on_session_failed`): one `assume-root` entry with outcome error."""
        self.recorder.session_failed(account_id, task, error)

    @contextmanager
    def session(
        self, account_id: str, task: Task, region: str | None = None
    ) -> Iterator[RootSession]:
        """One account's root session for a single-account command: prechecked, and a
        refused or failed AssumeRoot is journaled and raised as `SessionFailed`."""
        self.opened(account_id, task, lambda: self.broker.credentials(account_id, task))
        with self.broker.session(account_id, task, region) as session:  # the cached session
            yield session

    def opened(self, account_id: str, task: Task, open_: Callable[[], T]) -> T:
        """`open_()` (which opens a root session) with the precheck and failure journaling."""
        self.precheck(account_id)
        try:
            return open_()
        except (ClientError, BotoCoreError) as exc:
            # A refused AssumeRoot is journaled by the broker (`_session_failed`).
            message = f"{error_code(exc)}: {exc}"
            raise SessionFailed(
                f"could not open a {task.short_name} root session in {account_id}: {message}"
            ) from exc
