"""`rootctl.guardrails-check/v1`: which root sessions the SCPs block, per account
(`rootctl guardrails check -o json`; the table is rendered from this document too)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final, Literal

from pydantic import Field

from rootctl.documents.base import Document, Part

if TYPE_CHECKING:
    from rootctl.guardrails.analysis import AccountAnalysis
    from rootctl.guardrails.check import BlockingCause, GuardrailCheck
    from rootctl.guardrails.evaluate import StatementRef

GUARDRAILS_CHECK_SCHEMA: Final = "rootctl.guardrails-check/v1"


class StatementRefPart(Part):
    """The SCP statement a decision came from: policy name, Sid, index in the policy."""

    policy: str
    sid: str | None
    index: int


class TaskCheckPart(Part):
    task: str
    task_policy: str
    blocked: bool
    blocked_actions: list[str]
    denied_by: StatementRefPart | None
    missing_allow_level: str | None


class CheckedAccountPart(Part):
    account_id: str
    name: str
    ou_path: str
    status: str
    scp_exempt: bool
    error: str | None
    blocked_tasks: list[str]
    tasks: list[TaskCheckPart]
    long_term_root_denied: bool
    long_term_root_denied_by: StatementRefPart | None


class CausePart(Part):
    policy: str | None
    sid: str | None
    missing_allow_level: str | None
    attached_at: list[str]
    accounts: list[str]
    tasks: list[str]
    message: str


class GuardrailsCheckDocument(Document):
    schema_id: Literal["rootctl.guardrails-check/v1"] = Field(
        default=GUARDRAILS_CHECK_SCHEMA, alias="schema"
    )
    organization_id: str
    management_account_id: str
    enabled_features: list[str] | None
    accounts: list[CheckedAccountPart]
    causes: list[CausePart]
    conflicts: list[str]
    failed: bool
    unknown: list[str]


def _ref(ref: StatementRef | None) -> StatementRefPart | None:
    return (
        None if ref is None else StatementRefPart(policy=ref.policy, sid=ref.sid, index=ref.index)
    )


def _account(check: GuardrailCheck, result: AccountAnalysis) -> CheckedAccountPart:
    account = check.snapshot.account(result.account_id)
    return CheckedAccountPart(
        account_id=account.id,
        name=account.name,
        ou_path=account.ou_path,
        status=account.status,
        scp_exempt=result.scp_exempt,
        error=result.error,
        blocked_tasks=[task.short_name for task in result.blocked_tasks],
        tasks=[
            TaskCheckPart(
                task=t.task.short_name,
                task_policy=t.task.value,
                blocked=t.blocked,
                blocked_actions=list(t.blocked_actions),
                denied_by=_ref(t.denied_by),
                missing_allow_level=t.missing_allow_level,
            )
            for t in result.tasks
        ],
        long_term_root_denied=result.long_term_root_denied,
        long_term_root_denied_by=_ref(result.long_term_root_denied_by),
    )


def _cause(cause: BlockingCause) -> CausePart:
    return CausePart(
        policy=cause.policy,
        sid=cause.sid,
        missing_allow_level=cause.missing_allow_level,
        attached_at=list(cause.attached_at),
        accounts=list(cause.accounts),
        tasks=list(cause.tasks),
        message=cause.describe(),
    )


def guardrails_check_document(check: GuardrailCheck) -> GuardrailsCheckDocument:
    """The rootctl.guardrails-check/v1 document of a check."""
    return GuardrailsCheckDocument(
        organization_id=check.snapshot.organization_id,
        management_account_id=check.snapshot.management_account_id,
        enabled_features=None if check.enabled_features is None else list(check.enabled_features),
        accounts=[_account(check, a) for a in check.analysis.accounts],
        causes=[_cause(c) for c in check.causes()],
        conflicts=check.conflicts(),
        failed=check.failed,
        unknown=list(check.unknown),
    )
