"""Root user credentials of member accounts: audit, delete (plan, apply, verify), recovery.

    from rootctl.credentials import CredentialContext, build_plan, apply_plan
    cc = CredentialContext.open(factory, journal, command="audit")
    report = cc.audit(cc.select(SelectionSpec()))

Every per-account function returns a value (results are values); the CLI in
`rootctl.cli.credentials` is a thin skin over these.
"""

from rootctl.credentials.audit import audit_account, audit_accounts
from rootctl.credentials.delete import AccountDeletion, apply_plan, delete_account
from rootctl.credentials.models import (
    AccessKey,
    AccountAudit,
    AuditReport,
    MfaDevice,
    Password,
    RootCredentials,
    SigningCertificate,
)
from rootctl.credentials.plan import AccountPlan, DeletePlan, build_plan, parse_only
from rootctl.credentials.read import read_root_credentials
from rootctl.credentials.recovery import RecoveryResult, allow_password_recovery
from rootctl.credentials.resume import unfinished_steps
from rootctl.credentials.run import CredentialContext, delete_report

__all__ = [
    "AccessKey",
    "AccountAudit",
    "AccountDeletion",
    "AccountPlan",
    "AuditReport",
    "CredentialContext",
    "DeletePlan",
    "MfaDevice",
    "Password",
    "RecoveryResult",
    "RootCredentials",
    "SigningCertificate",
    "allow_password_recovery",
    "apply_plan",
    "audit_account",
    "audit_accounts",
    "build_plan",
    "delete_account",
    "delete_report",
    "parse_only",
    "read_root_credentials",
    "unfinished_steps",
]
