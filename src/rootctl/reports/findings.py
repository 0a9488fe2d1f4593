"""One finding per audited account, shared by the OCSF and ASFF writers (and the HTML report).

A finding is the answer to one check, "the root user of this member account has no
long-term credentials", for one account: FAILED when it has some (naming the kinds),
PASSED when it is clean. Sending the PASSED answer too is what closes an old FAILED
finding in Security Hub or a SIEM once the credentials are gone.

Finding ids are derived from the organization, the account and the check, never from the
time of the run, so importing the next run's findings updates the same records instead of
adding duplicates.

Accounts whose audit failed or was skipped get no finding: a failed audit is no evidence
either way, so the last known state stays in the SIEM (the error is in the exit code and
in the table, JSON, CSV and HTML reports).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from rootctl.credentials.models import AccountAudit, AuditReport, RootCredentials
from rootctl.credentials.plan import KINDS

CHECK_ID = "root-user-credentials"
CHECK_TITLE = "Member account root user has no long-term credentials"
PRODUCT = "rootctl"
REMEDIATION_TEXT = (
    "Delete the root user credentials with centralized root access: "
    "rootctl delete-credentials --accounts <account-id> (or the IAM console's Root access "
    "management page). Keep a password only with a documented, time-bound exception."
)
REMEDIATION_URL = (
    "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_root-user.html"
    "#id_root-user-access-management"
)
# What a check result is called in each kind of output; ASFF spells them PASSED/FAILED.
Result = Literal["PASS", "FAIL"]
SeverityLabel = Literal["CRITICAL", "HIGH", "MEDIUM", "LOW", "INFORMATIONAL"]
KIND_LABELS = {
    "password": "password",
    "access-keys": "access keys",
    "signing-certificates": "signing certificates",
    "mfa-devices": "MFA devices",
}


@dataclass(frozen=True)
class AccountFinding:
    """The result of the root-credentials check for one account (see module docstring)."""

    id: str
    organization_id: str
    account_id: str
    account_name: str
    ou_path: str
    result: Result
    kinds: tuple[str, ...]
    severity: SeverityLabel
    observed_at: datetime
    title: str
    description: str

    @property
    def passed(self) -> bool:
        return self.result == "PASS"


def finding_id(organization_id: str, account_id: str, check: str = CHECK_ID) -> str:
    """`rootctl/<org id>/<account id>/<check>`: stable across runs, unique per account and check."""
    return f"{PRODUCT}/{organization_id}/{account_id}/{check}"


def credential_kinds(root: RootCredentials) -> tuple[str, ...]:
    """The kinds of credential present, in the order `--only` and deletion use."""
    present = {
        "password": root.password.present,
        "access-keys": bool(root.access_keys),
        "signing-certificates": bool(root.signing_certificates),
        "mfa-devices": bool(root.mfa_devices),
    }
    return tuple(kind for kind in KINDS if present[kind])


def severity(root: RootCredentials) -> SeverityLabel:
    """CRITICAL for an active access key (Security Hub's IAM.4 rates it so), HIGH for a way to
    sign in or sign requests (password, active certificate), MEDIUM for the rest (inactive keys
    or certificates, MFA devices), INFORMATIONAL when there is nothing."""
    if any(key.status == "Active" for key in root.access_keys):
        return "CRITICAL"
    if root.password.present or any(c.status == "Active" for c in root.signing_certificates):
        return "HIGH"
    return "MEDIUM" if root.has_any() else "INFORMATIONAL"


def describe(root: RootCredentials) -> str:
    """One sentence listing what the root user has, with counts."""
    parts: list[str] = []
    if root.password.present:
        used = root.password.last_used
        parts.append(f"a password (last used {used.date().isoformat()})" if used else "a password")
    if root.access_keys:
        active = sum(1 for key in root.access_keys if key.status == "Active")
        parts.append(f"{len(root.access_keys)} access key(s), {active} active")
    if root.signing_certificates:
        parts.append(f"{len(root.signing_certificates)} signing certificate(s)")
    if root.mfa_devices:
        types = sorted({device.type for device in root.mfa_devices})
        parts.append(f"{len(root.mfa_devices)} MFA device(s) ({', '.join(types)})")
    return "; ".join(parts)


def account_finding(audit: AccountAudit, report: AuditReport) -> AccountFinding | None:
    """The finding for one audit; None when the audit did not complete (error or skipped)."""
    if audit.outcome != "ok" or audit.root is None:
        return None
    root = audit.root
    who = f"{audit.account_id} ({audit.account_name})"
    kinds = credential_kinds(root)
    if kinds:
        title = f"Root user of account {who} has long-term credentials"
        description = (
            f"The root user of member account {who} in {audit.ou_path} has {describe(root)}. "
            "With centralized root access the management account can run privileged root "
            "tasks, so member accounts should have no root credentials."
        )
    else:
        title = f"Root user of account {who} has no long-term credentials"
        description = (
            f"The root user of member account {who} in {audit.ou_path} has no password, "
            "access keys, signing certificates or MFA devices."
        )
    return AccountFinding(
        id=finding_id(report.organization_id, audit.account_id),
        organization_id=report.organization_id,
        account_id=audit.account_id,
        account_name=audit.account_name,
        ou_path=audit.ou_path,
        result="FAIL" if kinds else "PASS",
        kinds=kinds,
        severity=severity(root),
        observed_at=report.generated_at,
        title=title,
        description=description,
    )


def account_findings(report: AuditReport) -> list[AccountFinding]:
    """One finding per account audited to completion, in the report's order."""
    findings = (account_finding(audit, report) for audit in report.accounts)
    return [finding for finding in findings if finding is not None]
