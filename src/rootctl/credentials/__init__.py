"""Root user credentials of member accounts: audit, delete (plan, apply, verify), recovery.

The whole job, with every rule, is `rootctl.connect()` (rootctl.api); these are its parts.
Every per-account function returns a value (results are values).
"""

from rootctl.credentials.audit import audit_account, audit_accounts
from rootctl.credentials.delete import AccountDeletion, delete_account, delete_planned
from rootctl.credentials.models import (
    AccessKey,
    AccountAudit,
    AuditReport,
    MfaDevice,
    Password,
    RootCredentials,
    SigningCertificate,
)
from rootctl.credentials.plan import AccountPlan, DeletionPlan, parse_kinds, plan_deletion
from rootctl.credentials.read import read_root_credentials
from rootctl.credentials.recovery import RecoveryResult, allow_password_recovery
from rootctl.credentials.resume import unfinished_steps

__all__ = [
    "AccessKey",
    "AccountAudit",
    "AccountDeletion",
    "AccountPlan",
    "AuditReport",
    "DeletionPlan",
    "MfaDevice",
    "Password",
    "RecoveryResult",
    "RootCredentials",
    "SigningCertificate",
    "allow_password_recovery",
    "audit_account",
    "audit_accounts",
    "delete_account",
    "delete_planned",
    "parse_kinds",
    "plan_deletion",
    "read_root_credentials",
    "unfinished_steps",
]
