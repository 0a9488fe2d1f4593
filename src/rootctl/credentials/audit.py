"""Audit root user credentials: one IAMAuditRootUserCredentials session per account.

Inside the session every IAM call omits `UserName`, so it acts on the root user (AWS:
"omit the user name ... to default to the member account"). An account that fails becomes
an error result; the run goes on.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from rootctl.credentials.models import (
    AccessKey,
    AccountAudit,
    AuditReport,
    MfaDevice,
    Password,
    RootCredentials,
    SigningCertificate,
    mfa_type,
)
from rootctl.errors import RootctlError, code_is
from rootctl.fanout import DEFAULT_CONCURRENCY, run_over_accounts
from rootctl.results import Account, ErrorInfo
from rootctl.tasks import Task

if TYPE_CHECKING:
    from rootctl.aws.broker import RootSessionBroker
    from rootctl.org.selection import Selection
    from rootctl.progress import ProgressLike

# What an audit needs, besides the Organizations reads (rootctl.org.accounts.PERMISSIONS).
PERMISSIONS = (
    "sts:AssumeRoot",
    "iam:GetLoginProfile",
    "iam:GetUser",
    "iam:ListAccessKeys",
    "iam:GetAccessKeyLastUsed",
    "iam:ListSigningCertificates",
    "iam:ListMFADevices",
)
# GetAccessKeyLastUsed answers "N/A" for a key that was never used.
_NOT_USED = "N/A"


def read_root_credentials(iam: Any) -> RootCredentials:
    """Read every kind of root credential with an IAM client of an audit (or delete) session."""
    return RootCredentials(
        password=_password(iam),
        access_keys=tuple(_access_key(iam, raw) for raw in _pages(iam, "list_access_keys")),
        signing_certificates=tuple(
            SigningCertificate(
                certificate_id=str(raw["CertificateId"]),
                status=str(raw.get("Status", "")),
                uploaded=raw.get("UploadDate"),
            )
            for raw in _pages(iam, "list_signing_certificates")
        ),
        mfa_devices=tuple(
            MfaDevice(
                serial_number=str(raw["SerialNumber"]),
                type=mfa_type(str(raw["SerialNumber"])),
                enabled=raw.get("EnableDate"),
            )
            for raw in _pages(iam, "list_mfa_devices")
        ),
    )


def audit_account(broker: RootSessionBroker, account: Account) -> AccountAudit:
    """Audit one member account; AWS errors become an error result."""
    try:
        root = broker.call(account.id, Task.AUDIT, "iam", read_root_credentials)
    except (ClientError, BotoCoreError) as exc:
        return error_audit(account, ErrorInfo.from_exception(exc))
    return AccountAudit(
        account_id=account.id,
        account_name=account.name,
        ou_path=account.ou_path,
        status="ok",
        has_root_credentials=root.has_any(),
        root=root,
    )


def account_error(exc: BaseException) -> ErrorInfo:
    """An unexpected error of one account as a value; operator-level errors stop the run.

    A RootctlError here (rejected operator credentials, a journal that cannot be written)
    is not about this account: every other account would fail the same way.
    """
    if isinstance(exc, RootctlError):
        raise exc
    return ErrorInfo.from_exception(exc)


def error_audit(account: Account, error: ErrorInfo) -> AccountAudit:
    return AccountAudit(
        account_id=account.id,
        account_name=account.name,
        ou_path=account.ou_path,
        status="error",
        error=error,
    )


def skipped_audit(account: Account, reason: str) -> AccountAudit:
    """A selected account AssumeRoot cannot target; the reason travels in `error.message`."""
    return AccountAudit(
        account_id=account.id,
        account_name=account.name,
        ou_path=account.ou_path,
        status="skipped",
        error=ErrorInfo(code="Skipped", message=reason),
    )


def audit_accounts(
    broker: RootSessionBroker,
    selection: Selection,
    *,
    organization_id: str,
    operator: str,
    concurrency: int = DEFAULT_CONCURRENCY,
    progress: ProgressLike | None = None,
    on_result: Callable[[Account, AccountAudit], None] | None = None,
) -> AuditReport:
    """Audit every target of `selection` concurrently; skipped accounts are reported too."""
    generated_at = datetime.now(UTC)
    audits = run_over_accounts(
        selection.targets,
        lambda account: audit_account(broker, account),
        on_exception=lambda account, exc: error_audit(account, account_error(exc)),
        concurrency=concurrency,
        on_result=on_result,
        progress=progress,
    )
    audits.extend(skipped_audit(s.account, s.reason) for s in selection.skipped)
    audits.sort(key=lambda a: (a.ou_path, a.account_name, a.account_id))
    return AuditReport(
        generated_at=generated_at,
        organization_id=organization_id,
        operator=operator,
        accounts=tuple(audits),
    )


def _password(iam: Any) -> Password:
    try:
        profile = iam.get_login_profile()["LoginProfile"]
    except ClientError as exc:
        if not code_is(exc, "NoSuchEntity"):
            raise
        profile = None
    user = iam.get_user()["User"]
    return Password(
        present=profile is not None,
        created=profile.get("CreateDate") if profile is not None else None,
        last_used=user.get("PasswordLastUsed"),
    )


def _access_key(iam: Any, raw: dict[str, Any]) -> AccessKey:
    key_id = str(raw["AccessKeyId"])
    try:
        used = iam.get_access_key_last_used(AccessKeyId=key_id).get("AccessKeyLastUsed", {})
    except ClientError as exc:
        if not code_is(exc, "NoSuchEntity"):  # deleted between the list and this call
            raise
        used = {}
    return AccessKey(
        access_key_id=key_id,
        status=str(raw.get("Status", "")),
        created=raw.get("CreateDate"),
        last_used_date=used.get("LastUsedDate"),
        last_used_service=_used(used.get("ServiceName")),
        last_used_region=_used(used.get("Region")),
    )


def _used(value: Any) -> str | None:
    return None if value in (None, "", _NOT_USED) else str(value)


def _pages(iam: Any, operation: str) -> list[dict[str, Any]]:
    key = {
        "list_access_keys": "AccessKeyMetadata",
        "list_signing_certificates": "Certificates",
        "list_mfa_devices": "MFADevices",
    }[operation]
    items: list[dict[str, Any]] = []
    for page in iam.get_paginator(operation).paginate():
        items.extend(page.get(key, []))
    return items
