"""`rootctl.delete-credentials/v1` (what a deletion run did) and `rootctl.deletion-plan/v1`
(a saved deletion plan, applied later with the stale checks of `rootctl.documents.saved`).

The report keeps the exact shape docs/output.md documented before the document layer: a
planned account (`planned`, `unchanged`) carries its plan's steps (with `before`), an account
that ran carries step results (`outcome`, `error`, `note`), `verified` and `remaining`. The
two shapes are two models told apart by `status`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any, Final, Literal

from pydantic import Field

from rootctl.documents.audit import (
    AccountAuditPart,
    ErrorPart,
    RootPart,
    account_audit_part,
    error_part,
    root_part,
)
from rootctl.documents.base import Document, Part, Timestamp

if TYPE_CHECKING:
    from rootctl.credentials.delete import AccountDeletion, StepResult
    from rootctl.credentials.plan import AccountPlan, DeletionPlan, Step

DELETE_SCHEMA: Final = "rootctl.delete-credentials/v1"
DELETION_PLAN_SCHEMA: Final = "rootctl.deletion-plan/v1"
StepActionName = Literal[
    "delete-login-profile",
    "delete-access-key",
    "delete-signing-certificate",
    "deactivate-mfa-device",
    "delete-virtual-mfa-device",
]


class PlannedStep(Part):
    """A deletion call to make, with the credential's metadata as audited (`before`)."""

    action: StepActionName
    kind: str
    target: str
    before: dict[str, Any]


class ReconciledStep(PlannedStep):
    """A step of an earlier run found done, journaled now; `note` says why."""

    note: str


class KeptPart(Part):
    kind: str
    target: str
    reason: str


class StepResultPart(Part):
    action: StepActionName
    kind: str
    target: str
    outcome: Literal["deleted", "already-gone", "verified-gone", "failed", "not-attempted"]
    error: ErrorPart | None
    note: str | None


class PlannedAccount(Part):
    """An account of a plan that was not applied (dry run, declined) or only keeps credentials."""

    account_id: str
    account_name: str
    ou_path: str
    steps: list[PlannedStep]
    kept: list[KeptPart]
    reconciled: list[ReconciledStep]
    status: Literal["planned", "unchanged"]


class DeletedAccount(Part):
    """An account the run acted on: step results and what the fresh audit found."""

    account_id: str
    account_name: str
    ou_path: str
    kept: list[KeptPart]
    reconciled: list[ReconciledStep]
    status: Literal["ok", "error", "skipped"]
    steps: list[StepResultPart]
    verified: bool | None
    remaining: RootPart | None
    error: ErrorPart | None


class DeleteSummaryPart(Part):
    accounts_audited: int
    accounts_planned: int
    steps_planned: int
    deleted: int
    already_gone: int
    verified_gone: int
    failed: int
    kept: int
    reconciled: int
    errors: int
    skipped: int


class DeletionReportDocument(Document):
    schema_id: Literal["rootctl.delete-credentials/v1"] = Field(
        default=DELETE_SCHEMA, alias="schema"
    )
    generated_at: Timestamp
    organization_id: str
    operator: str
    command: Literal["delete-credentials"] = "delete-credentials"
    run_id: str
    dry_run: bool
    only: list[str]
    summary: DeleteSummaryPart
    accounts: list[Annotated[PlannedAccount | DeletedAccount, Field(discriminator="status")]]
    not_planned: list[AccountAuditPart]


def planned_step(step: Step) -> PlannedStep:
    return PlannedStep(action=step.action, kind=step.kind, target=step.target, before=step.before)


def _reconciled(account: AccountPlan) -> list[ReconciledStep]:
    from rootctl.credentials.plan import reconciled_note

    return [
        ReconciledStep(**planned_step(s).model_dump(), note=reconciled_note(s))
        for s in account.reconciled
    ]


def _kept(account: AccountPlan) -> list[KeptPart]:
    return [KeptPart(kind=k.kind, target=k.target, reason=k.reason) for k in account.kept]


def planned_account(account: AccountPlan) -> PlannedAccount:
    return PlannedAccount(
        account_id=account.account_id,
        account_name=account.account_name,
        ou_path=account.ou_path,
        steps=[planned_step(s) for s in account.steps],
        kept=_kept(account),
        reconciled=_reconciled(account),
        status="planned" if account.steps else "unchanged",
    )


def _step_result(result: StepResult) -> StepResultPart:
    return StepResultPart(
        action=result.step.action,
        kind=result.step.kind,
        target=result.step.target,
        outcome=result.outcome,
        error=error_part(result.error),
        note=result.note,
    )


def deleted_account(result: AccountDeletion) -> DeletedAccount:
    account = result.plan
    return DeletedAccount(
        account_id=account.account_id,
        account_name=account.account_name,
        ou_path=account.ou_path,
        kept=_kept(account),
        reconciled=_reconciled(account),
        status=result.outcome,
        steps=[_step_result(s) for s in result.steps],
        verified=result.verified,
        remaining=root_part(result.remaining),
        error=error_part(result.error),
    )


def deletion_report(
    plan: DeletionPlan,
    results: list[AccountDeletion] | None,
    *,
    operator: str,
    run_id: str,
    dry_run: bool,
    generated_at: datetime | None = None,
) -> DeletionReportDocument:
    """The rootctl.delete-credentials/v1 document (replaces `credentials.run.delete_report`)."""
    by_id = {result.plan.account_id: result for result in results or []}
    accounts: list[PlannedAccount | DeletedAccount] = [
        deleted_account(by_id[a.account_id]) if a.account_id in by_id else planned_account(a)
        for a in plan.accounts
    ]
    steps = [step for result in by_id.values() for step in result.steps]
    audits = plan.audit.accounts
    return DeletionReportDocument(
        generated_at=generated_at or datetime.now(UTC),
        organization_id=plan.audit.organization_id,
        operator=operator,
        run_id=run_id,
        dry_run=dry_run,
        only=list(plan.only),
        summary=DeleteSummaryPart(
            accounts_audited=len(audits),
            accounts_planned=len(plan.changes),
            steps_planned=plan.step_count(),
            deleted=sum(1 for s in steps if s.outcome == "deleted"),
            already_gone=sum(1 for s in steps if s.outcome == "already-gone"),
            verified_gone=sum(1 for s in steps if s.outcome == "verified-gone"),
            failed=sum(1 for s in steps if s.outcome in ("failed", "not-attempted")),
            kept=sum(len(a.kept) for a in plan.accounts),
            reconciled=sum(len(a.reconciled) for a in plan.accounts),
            errors=sum(1 for r in by_id.values() if r.outcome == "error")
            + sum(1 for a in audits if a.outcome == "error"),
            skipped=sum(1 for a in audits if a.outcome == "skipped"),
        ),
        accounts=accounts,
        not_planned=[account_audit_part(a) for a in audits if a.outcome != "ok"],
    )
