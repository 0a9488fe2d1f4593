"""`rootctl.deletion-plan/v1`: a saved deletion plan (`delete-credentials --plan-out`), and
the checks that refuse to apply it once the world moved (`delete-credentials --plan`).

Each planned account carries `credentials_sha256`, the fingerprint of what the audit found
in it. Applying re-audits the plan's accounts; any account whose fingerprint differs (a new
key, a deleted MFA device, a reactivated key), that can no longer be audited, or that the
re-audit no longer selects, refuses the whole plan: a reviewed plan is applied exactly or
not at all. Last-used dates are left out of the fingerprint: using a key changes nothing
about what the plan deletes.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Final, Literal

from pydantic import Field

from rootctl.documents.base import Document, Part, Timestamp, sha256_of
from rootctl.documents.deletion import KeptPart, PlannedStep, ReconciledStep, planned_account
from rootctl.documents.saved import (
    DEFAULT_MAX_AGE,
    StalePlanError,
    check_saved_plan,
    config_sha256,
    sealed,
)

if TYPE_CHECKING:
    from rootctl.config import RootctlConfig
    from rootctl.credentials.models import AuditReport, RootCredentials
    from rootctl.credentials.plan import DeletionPlan

DELETION_PLAN_SCHEMA: Final = "rootctl.deletion-plan/v1"
# The config sections a deletion plan depends on (exceptions decide what is kept).
DELETION_CONFIG_SECTIONS = ("root_credentials",)


class PlannedDeletion(Part):
    account_id: str
    account_name: str
    ou_path: str
    credentials_sha256: str
    steps: list[PlannedStep]
    kept: list[KeptPart]
    reconciled: list[ReconciledStep]


class DeletionPlanDocument(Document):
    schema_id: Literal["rootctl.deletion-plan/v1"] = Field(
        default=DELETION_PLAN_SCHEMA, alias="schema"
    )
    organization_id: str
    operator: str
    created_at: Timestamp
    rootctl_version: str
    config_sha256: str
    only: list[str]
    accounts: list[PlannedDeletion]
    digest: str = ""


def credentials_fingerprint(root: RootCredentials | None) -> str:
    """sha256 of what a root user has, by identity and state (no last-used dates)."""
    if root is None:
        return sha256_of(None)
    pw = root.password
    return sha256_of(
        {
            "password": [pw.present, _t(pw.created)],
            "access_keys": sorted(
                [k.access_key_id, k.status, _t(k.created)] for k in root.access_keys
            ),
            "signing_certificates": sorted(
                [c.certificate_id, c.status, _t(c.uploaded)] for c in root.signing_certificates
            ),
            "mfa_devices": sorted(
                [m.serial_number, m.type, _t(m.enabled)] for m in root.mfa_devices
            ),
        }
    )


def deletion_config_sha256(config: RootctlConfig) -> str:
    return config_sha256(config, DELETION_CONFIG_SECTIONS)


def deletion_plan_document(
    plan: DeletionPlan,
    *,
    operator: str,
    config: RootctlConfig,
    created_at: datetime | None = None,
) -> DeletionPlanDocument:
    """The saved form of a deletion plan (accounts with something to delete or keep)."""
    from rootctl import __version__

    roots = {a.account_id: a.root for a in plan.audit.accounts}
    accounts = []
    for account in plan.accounts:
        part = planned_account(account)
        accounts.append(
            PlannedDeletion(
                account_id=part.account_id,
                account_name=part.account_name,
                ou_path=part.ou_path,
                credentials_sha256=credentials_fingerprint(roots.get(account.account_id)),
                steps=part.steps,
                kept=part.kept,
                reconciled=part.reconciled,
            )
        )
    document = DeletionPlanDocument(
        organization_id=plan.audit.organization_id,
        operator=operator,
        created_at=created_at or datetime.now(UTC),
        rootctl_version=__version__,
        config_sha256=deletion_config_sha256(config),
        only=list(plan.only),
        accounts=accounts,
    )
    sealed_document: DeletionPlanDocument = sealed(document)
    return sealed_document


def check_deletion_plan(
    document: DeletionPlanDocument,
    audit: AuditReport,
    *,
    config: RootctlConfig,
    now: datetime | None = None,
    max_age: timedelta = DEFAULT_MAX_AGE,
    source: str = "plan",
) -> None:
    """Refuse (StalePlanError) a deletion plan that no longer matches `audit` (a fresh audit
    of at least the plan's accounts), the config, the organization or the age limit."""
    check_saved_plan(
        document,
        organization_id=audit.organization_id,
        config_sha256=deletion_config_sha256(config),
        now=now,
        max_age=max_age,
        source=source,
    )
    audited = {a.account_id: a for a in audit.accounts}
    for account in document.accounts:
        found = audited.get(account.account_id)
        if found is None or found.outcome != "ok":
            why = "not audited" if found is None else f"audit {found.outcome}"
            raise StalePlanError(
                f"{source}: account {account.account_id} could not be re-audited ({why}): nothing deleted"
            )
        if credentials_fingerprint(found.root) != account.credentials_sha256:
            raise StalePlanError(
                f"{source}: the root credentials of account {account.account_id} changed since "
                "the plan was made: nothing deleted; make a new plan"
            )


def _t(value: datetime | None) -> str | None:
    from rootctl.results import iso

    return iso(value)


def to_delete_plan(document: DeletionPlanDocument, audit: AuditReport) -> DeletionPlan:
    """The `DeletionPlan` to apply: the saved steps, over the fresh audit (check it first).

    A reconciled step's `failed_call` is not saved: the note journaled for it at apply time
    is the generic "interrupted run" one.
    """
    from rootctl.credentials.plan import AccountPlan, DeletionPlan, Kept, Step

    def step(part: PlannedStep) -> Step:
        return Step(action=part.action, kind=part.kind, target=part.target, before=part.before)

    accounts = tuple(
        AccountPlan(
            account_id=a.account_id,
            account_name=a.account_name,
            ou_path=a.ou_path,
            steps=tuple(step(s) for s in a.steps),
            kept=tuple(Kept(kind=k.kind, target=k.target, reason=k.reason) for k in a.kept),
            reconciled=tuple(step(s) for s in a.reconciled),
        )
        for a in document.accounts
    )
    return DeletionPlan(audit=audit, accounts=accounts, only=tuple(document.only))
