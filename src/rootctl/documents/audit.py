"""`rootctl.audit/v1`: the audit report (docs/output.md), and its builder from an audit run."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final, Literal

from pydantic import Field

from rootctl.documents.base import Document, Part, Timestamp

if TYPE_CHECKING:
    from rootctl.credentials.models import AccountAudit, AuditReport, RootCredentials
    from rootctl.results import ErrorInfo

AUDIT_SCHEMA: Final = "rootctl.audit/v1"


class ErrorPart(Part):
    """An AWS error code (or `Skipped`) and its message."""

    code: str
    message: str


class PasswordPart(Part):
    present: bool
    created: Timestamp | None
    last_used: Timestamp | None


class AccessKeyPart(Part):
    access_key_id: str
    status: str
    created: Timestamp | None
    last_used_date: Timestamp | None
    last_used_service: str | None
    last_used_region: str | None


class SigningCertificatePart(Part):
    certificate_id: str
    status: str
    uploaded: Timestamp | None


class MfaDevicePart(Part):
    serial_number: str
    type: Literal["virtual", "hardware"]
    enabled: Timestamp | None


class RootPart(Part):
    """What one root user has (metadata only)."""

    password: PasswordPart
    access_keys: list[AccessKeyPart]
    signing_certificates: list[SigningCertificatePart]
    mfa_devices: list[MfaDevicePart]


class AccountAuditPart(Part):
    account_id: str
    account_name: str
    ou_path: str
    status: Literal["ok", "error", "skipped"]
    has_root_credentials: bool | None
    root: RootPart | None
    error: ErrorPart | None


class AuditSummaryPart(Part):
    accounts: int
    with_root_credentials: int
    without_root_credentials: int
    errors: int
    skipped: int


class AuditDocument(Document):
    schema_id: Literal["rootctl.audit/v1"] = Field(default=AUDIT_SCHEMA, alias="schema")
    generated_at: Timestamp
    organization_id: str
    operator: str
    summary: AuditSummaryPart
    accounts: list[AccountAuditPart]


def error_part(error: ErrorInfo | None) -> ErrorPart | None:
    return None if error is None else ErrorPart(code=error.code, message=error.message)


def root_part(root: RootCredentials | None) -> RootPart | None:
    """The `root` object of rootctl.audit/v1 (also `remaining` of a deletion report)."""
    if root is None:
        return None
    pw = root.password
    return RootPart(
        password=PasswordPart(present=pw.present, created=pw.created, last_used=pw.last_used),
        access_keys=[
            AccessKeyPart(
                access_key_id=k.access_key_id,
                status=k.status,
                created=k.created,
                last_used_date=k.last_used_date,
                last_used_service=k.last_used_service,
                last_used_region=k.last_used_region,
            )
            for k in root.access_keys
        ],
        signing_certificates=[
            SigningCertificatePart(
                certificate_id=c.certificate_id, status=c.status, uploaded=c.uploaded
            )
            for c in root.signing_certificates
        ],
        mfa_devices=[
            MfaDevicePart(serial_number=m.serial_number, type=m.type, enabled=m.enabled)
            for m in root.mfa_devices
        ],
    )


def account_audit_part(audit: AccountAudit) -> AccountAuditPart:
    return AccountAuditPart(
        account_id=audit.account_id,
        account_name=audit.account_name,
        ou_path=audit.ou_path,
        status=audit.outcome,
        has_root_credentials=audit.has_root_credentials,
        root=root_part(audit.root),
        error=error_part(audit.error),
    )


def audit_document(report: AuditReport) -> AuditDocument:
    """The rootctl.audit/v1 document of an audit run (what `audit --output json` prints)."""
    summary = report.summary
    return AuditDocument(
        generated_at=report.generated_at,
        organization_id=report.organization_id,
        operator=report.operator,
        summary=AuditSummaryPart(
            accounts=summary.accounts,
            with_root_credentials=summary.with_root_credentials,
            without_root_credentials=summary.without_root_credentials,
            errors=summary.errors,
            skipped=summary.skipped,
        ),
        accounts=[account_audit_part(a) for a in report.accounts],
    )
