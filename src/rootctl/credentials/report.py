"""The deletion report document (rootctl.delete-credentials/v1, docs/output.md)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from rootctl.credentials.plan import COMMAND as DELETE_COMMAND
from rootctl.results import iso

if TYPE_CHECKING:
    from rootctl.credentials.delete import AccountDeletion
    from rootctl.credentials.plan import DeletionPlan

DELETE_SCHEMA = "rootctl.delete-credentials/v1"


def delete_report(
    plan: DeletionPlan,
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
