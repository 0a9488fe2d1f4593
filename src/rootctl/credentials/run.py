"""Runs of the credential commands as a library call: inventory, selection, sessions, journal.

The CLI is a thin skin over these functions; a Python user gets the same behaviour:

    ctx = CredentialContext.open(factory, journal, command="audit", concurrency=32)
    selection = ctx.select(SelectionSpec(ous=("/root/workloads",)))
    report = ctx.audit(selection)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from rootctl.credentials.audit import audit_accounts
from rootctl.credentials.models import AuditReport
from rootctl.credentials.plan import COMMAND as DELETE_COMMAND
from rootctl.fanout import DEFAULT_CONCURRENCY
from rootctl.journal import Recorder
from rootctl.org.accounts import OrgInventory, list_accounts
from rootctl.org.selection import Selection, SelectionSpec, select_accounts
from rootctl.results import iso
from rootctl.tasks import MAX_ROOT_SESSION_SECONDS

if TYPE_CHECKING:
    from rootctl.aws.broker import RootSessionBroker
    from rootctl.aws.session import SessionFactory
    from rootctl.credentials.delete import AccountDeletion
    from rootctl.credentials.plan import DeletePlan
    from rootctl.journal import Journal
    from rootctl.progress import ProgressLike

DELETE_SCHEMA = "rootctl.delete-credentials/v1"
_REFRESH_MARGIN_SECONDS = 120


@dataclass
class CredentialContext:
    """Everything one run shares: operator, organization, broker, journal recorder."""

    factory: SessionFactory
    broker: RootSessionBroker
    recorder: Recorder
    inventory: OrgInventory
    operator: str
    concurrency: int = DEFAULT_CONCURRENCY

    @classmethod
    def open(
        cls,
        factory: SessionFactory,
        journal: Journal,
        *,
        command: str,
        reason: str | None = None,
        concurrency: int = DEFAULT_CONCURRENCY,
        session_seconds: int = MAX_ROOT_SESSION_SECONDS,
    ) -> CredentialContext:
        """Who is calling, what the organization holds, and a broker that journals sessions."""
        from rootctl.aws.broker import RootSessionBroker

        operator = factory.caller_identity().arn
        recorder = Recorder(
            journal, command=command, operator=operator, reason=reason, format_expiration=iso
        )
        broker = RootSessionBroker(
            factory,
            duration_seconds=session_seconds,
            refresh_margin_seconds=min(_REFRESH_MARGIN_SECONDS, session_seconds // 4),
            on_session_opened=recorder.session_opened,
        )
        return cls(factory, broker, recorder, list_accounts(factory), operator, concurrency)

    def select(self, spec: SelectionSpec) -> Selection:
        return select_accounts(self.inventory, spec)

    def audit(
        self,
        selection: Selection,
        progress: ProgressLike | None = None,
        on_result: Callable[..., None] | None = None,
    ) -> AuditReport:
        return audit_accounts(
            self.broker,
            selection,
            organization_id=self.inventory.organization_id,
            operator=self.operator,
            concurrency=self.concurrency,
            progress=progress,
            on_result=on_result,
        )


def delete_report(
    plan: DeletePlan,
    results: list[AccountDeletion] | None,
    *,
    operator: str,
    run_id: str,
    dry_run: bool,
) -> dict[str, Any]:
    """The JSON document of delete-credentials (docs/output.md, rootctl.delete-credentials/v1)."""
    by_id = {result.plan.account_id: result for result in results or []}
    accounts: list[dict[str, Any]] = []
    for account in plan.accounts:
        result = by_id.get(account.account_id)
        if result is not None:
            accounts.append(result.to_dict())
        else:
            status = "planned" if account.steps else "unchanged"
            accounts.append({**account.to_dict(), "status": status})
    steps = [step for result in by_id.values() for step in result.steps]
    not_planned = [a.to_dict() for a in plan.audit.accounts if a.status != "ok"]
    return {
        "schema": DELETE_SCHEMA,
        "generated_at": iso(datetime.now(UTC)),
        "organization_id": plan.audit.organization_id,
        "operator": operator,
        "command": DELETE_COMMAND,
        "run_id": run_id,
        "dry_run": dry_run,
        "only": list(plan.only),
        "summary": {
            "accounts_audited": len(plan.audit.accounts),
            "accounts_planned": len(plan.changes),
            "steps_planned": plan.step_count(),
            "deleted": sum(1 for s in steps if s.outcome == "deleted"),
            "already_gone": sum(1 for s in steps if s.outcome == "already-gone"),
            "verified_gone": sum(1 for s in steps if s.outcome == "verified-gone"),
            "failed": sum(1 for s in steps if s.outcome in ("failed", "not-attempted")),
            "kept": sum(len(a.kept) for a in plan.accounts),
            "reconciled": sum(len(a.reconciled) for a in plan.accounts),
            "errors": sum(1 for r in by_id.values() if r.status == "error")
            + sum(1 for a in plan.audit.accounts if a.status == "error"),
            "skipped": sum(1 for a in plan.audit.accounts if a.status == "skipped"),
        },
        "accounts": accounts,
        "not_planned": not_planned,
    }
