"""Allow password recovery: create the root user's login profile without a password.

With an IAMCreateRootUserPassword session, CreateLoginProfile takes no Password (AWS
requires it to be omitted); the owner of the root email address then resets the password.
An account that already has a password is refused: there is nothing to recover.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from botocore.exceptions import ClientError

from rootctl.errors import code_is
from rootctl.results import ErrorInfo, iso
from rootctl.tasks import Task

if TYPE_CHECKING:
    from rootctl.aws.broker import RootSessionBroker
    from rootctl.journal import Recorder

COMMAND = "allow-password-recovery"
ACTION = "create-login-profile"  # the journal action of the command's entry
PERMISSIONS = ("sts:AssumeRoot", "iam:GetLoginProfile", "iam:CreateLoginProfile")
# The task policies this module opens root sessions with (rootctl.permissions).
TASKS = (Task.CREATE_PASSWORD,)
RecoveryStatus = Literal["ok", "refused", "error"]


@dataclass(frozen=True)
class RecoveryResult:
    account_id: str
    outcome: RecoveryStatus
    created: datetime | None = None
    error: ErrorInfo | None = None


def existing_password(broker: RootSessionBroker, account_id: str) -> datetime | None:
    """When the root password was created, or None when there is none (GetLoginProfile)."""

    def read(iam: Any) -> datetime | None:
        try:
            profile = iam.get_login_profile()["LoginProfile"]
        except ClientError as exc:
            if code_is(exc, "NoSuchEntity"):
                return None
            raise
        created: datetime = profile["CreateDate"]
        return created

    return broker.call(account_id, Task.CREATE_PASSWORD, "iam", read)


def refusal(account_id: str, created: datetime) -> RecoveryResult:
    message = (
        f"account {account_id} already has a root password (created {iso(created)}); "
        "password recovery is only for accounts without one"
    )
    return RecoveryResult(account_id, "refused", created, ErrorInfo("PasswordExists", message))


def allow_password_recovery(
    broker: RootSessionBroker, account_id: str, recorder: Recorder
) -> RecoveryResult:
    """GetLoginProfile, then CreateLoginProfile without a password; journaled either way."""
    try:
        created = existing_password(broker, account_id)
        if created is not None:
            result = refusal(account_id, created)
        else:
            result = _create(broker, account_id)
    except ClientError as exc:
        result = RecoveryResult(account_id, "error", error=ErrorInfo.from_exception(exc))
    recorder.append(
        action=ACTION,
        outcome=result.outcome,
        account_id=account_id,
        task=Task.CREATE_PASSWORD,
        target="login-profile",
        before={"login_profile": {"created": iso(result.created)}}
        if result.outcome == "refused"
        else {"login_profile": None},
        after={"login_profile": {"created": iso(result.created)}}
        if result.outcome == "ok"
        else None,
        error=f"{result.error.code}: {result.error.message}" if result.error else None,
    )
    return result


def _create(broker: RootSessionBroker, account_id: str) -> RecoveryResult:
    def create(iam: Any) -> RecoveryResult:
        try:
            profile = iam.create_login_profile()["LoginProfile"]
        except ClientError as exc:
            if not code_is(exc, "EntityAlreadyExists"):  # created since we looked
                raise
            return refusal(account_id, iam.get_login_profile()["LoginProfile"]["CreateDate"])
        return RecoveryResult(account_id, "ok", profile.get("CreateDate"))

    return broker.call(account_id, Task.CREATE_PASSWORD, "iam", create)
