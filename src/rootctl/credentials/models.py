"""Values the credential operations return: what a root user has, and per-account results.

They cross module boundaries (library -> CLI -> report writers), so they are frozen
dataclasses. Their JSON form is the document layer's (`rootctl.documents.audit`,
docs/output.md), never a method here: the one `to_dict` left on a credential (access key,
signing certificate, MFA device) is the `before` value a deletion step journals.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from rootctl.results import ErrorInfo, Outcome, iso

AUDIT_SCHEMA = "rootctl.audit/v1"
MfaType = Literal["virtual", "hardware"]


def mfa_type(serial_number: str) -> MfaType:
    """A virtual device's serial is its ARN (arn:aws:iam::<id>:mfa/<name>); others are hardware."""
    return (
        "virtual" if serial_number.startswith("arn:") and ":mfa/" in serial_number else "hardware"
    )


@dataclass(frozen=True)
class Password:
    present: bool
    created: datetime | None = None
    last_used: datetime | None = None


@dataclass(frozen=True)
class AccessKey:
    access_key_id: str
    status: str
    created: datetime | None = None
    last_used_date: datetime | None = None
    last_used_service: str | None = None
    last_used_region: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "access_key_id": self.access_key_id,
            "status": self.status,
            "created": iso(self.created),
            "last_used_date": iso(self.last_used_date),
            "last_used_service": self.last_used_service,
            "last_used_region": self.last_used_region,
        }


@dataclass(frozen=True)
class SigningCertificate:
    certificate_id: str
    status: str
    uploaded: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "certificate_id": self.certificate_id,
            "status": self.status,
            "uploaded": iso(self.uploaded),
        }


@dataclass(frozen=True)
class MfaDevice:
    serial_number: str
    type: MfaType
    enabled: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "serial_number": self.serial_number,
            "type": self.type,
            "enabled": iso(self.enabled),
        }


@dataclass(frozen=True)
class RootCredentials:
    """The long-term credentials of one account's root user (metadata only, never secrets)."""

    password: Password = field(default_factory=lambda: Password(present=False))
    access_keys: tuple[AccessKey, ...] = ()
    signing_certificates: tuple[SigningCertificate, ...] = ()
    mfa_devices: tuple[MfaDevice, ...] = ()

    def has_any(self) -> bool:
        return bool(
            self.password.present
            or self.access_keys
            or self.signing_certificates
            or self.mfa_devices
        )


@dataclass(frozen=True)
class AccountAudit:
    """The audit of one account: ok (with `root`), error (with `error`) or skipped (with why)."""

    account_id: str
    account_name: str
    ou_path: str
    outcome: Outcome
    has_root_credentials: bool | None = None
    root: RootCredentials | None = None
    error: ErrorInfo | None = None


@dataclass(frozen=True)
class AuditSummary:
    accounts: int
    with_root_credentials: int
    without_root_credentials: int
    errors: int
    skipped: int


@dataclass(frozen=True)
class AuditReport:
    """A whole audit run: what every report writer renders."""

    generated_at: datetime
    organization_id: str
    operator: str
    accounts: tuple[AccountAudit, ...]
    schema: str = AUDIT_SCHEMA

    @property
    def summary(self) -> AuditSummary:
        audits = self.accounts
        return AuditSummary(
            accounts=len(audits),
            with_root_credentials=sum(1 for a in audits if a.has_root_credentials is True),
            without_root_credentials=sum(1 for a in audits if a.has_root_credentials is False),
            errors=sum(1 for a in audits if a.outcome == "error"),
            skipped=sum(1 for a in audits if a.outcome == "skipped"),
        )

    def outcomes(self) -> list[str]:
        return [audit.outcome for audit in self.accounts]
