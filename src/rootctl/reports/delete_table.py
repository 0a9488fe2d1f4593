"""Human rendering of a deletion plan and of its results (delete-credentials, table output).

The plan is what the operator confirms, so it names every credential that will be
deleted and every one that is kept, with the reason.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TextIO

from rootctl.reports.terminal import cell, console

if TYPE_CHECKING:
    from rich.text import Text

    from rootctl.credentials.delete import AccountDeletion
    from rootctl.credentials.plan import DeletionPlan, Kept, Step

_LABELS = {
    "delete-login-profile": "delete password",
    "delete-access-key": "delete access key {target}",
    "delete-signing-certificate": "delete signing certificate {target}",
    "deactivate-mfa-device": "deactivate MFA {target}",
    "delete-virtual-mfa-device": "delete virtual MFA {target}",
}


def step_label(step: Step) -> str:
    return _LABELS[step.action].format(target=step.target)


def kept_label(kept: Kept) -> str:
    what = kept.kind if kept.target == "login-profile" else f"{kept.kind} {kept.target}"
    return f"{what}: {kept.reason}"


def render_plan(plan: DeletionPlan, out: TextIO) -> None:
    from rich.table import Table

    page = console(out)
    if plan.accounts:
        table = Table(title="Plan", title_justify="left", show_lines=True)
        for name in ("Account", "Name", "OU", "Delete", "Keep (why)"):
            table.add_column(name, overflow="fold")
        for account in plan.accounts:
            table.add_row(
                cell(account.account_id),
                cell(account.account_name),
                cell(account.ou_path),
                _lines(
                    [step_label(step) for step in account.steps]
                    + [f"{_found_done(s)} {step_label(s)}" for s in account.reconciled]
                ),
                _lines([kept_label(k) for k in account.kept]),
            )
        page.print(table)
    summary = plan.audit.summary
    page.print(
        f"Plan: {plan.step_count()} deletions in {len(plan.changes)} accounts; "
        f"{sum(len(a.reconciled) for a in plan.accounts)} found done by earlier runs; "
        f"{sum(len(a.kept) for a in plan.accounts)} credentials kept; "
        f"{summary.without_root_credentials} accounts already clean; "
        f"{summary.errors} audit errors, {summary.skipped} skipped."
    )
    for audit in plan.audit.accounts:
        if audit.outcome != "ok" and audit.error is not None:
            page.print(
                cell(
                    f"  {audit.outcome}: {audit.account_id} ({audit.account_name}): "
                    f"{audit.error.message}"
                )
            )


def _found_done(step: Step) -> str:
    if step.failed_call is not None:
        return "(done: its call failed, answer lost)"
    return "(done by an interrupted run)"


def render_results(results: list[AccountDeletion], out: TextIO) -> None:
    from rich.table import Table

    page = console(out)
    table = Table(title="Result", title_justify="left")
    for name in ("Account", "Status", "Deleted", "Already gone", "Failed", "Verified", "Note"):
        table.add_column(name, overflow="fold")
    for result in results:
        counts = {
            outcome: sum(1 for s in result.steps if s.outcome == outcome)
            for outcome in ("deleted", "already-gone", "verified-gone", "failed", "not-attempted")
        }
        verified = {True: "yes", False: "NO", None: "-"}[result.verified]
        notes = [f"{result.error.code}: {result.error.message}"] if result.error else []
        if counts["verified-gone"]:
            notes.append(
                f"verified done although the call failed (answer lost): {counts['verified-gone']}"
            )
        table.add_row(
            cell(result.plan.account_id),
            result.outcome,
            str(counts["deleted"] + counts["verified-gone"]),
            str(counts["already-gone"]),
            str(counts["failed"] + counts["not-attempted"]),
            verified,
            cell("; ".join(notes)),
        )
    page.print(table)
    errors = sum(1 for r in results if r.outcome == "error")
    page.print(f"Done: {len(results) - errors} accounts ok, {errors} with errors.")


def _lines(items: list[str]) -> Text:
    """One cell of several lines: each line escaped, the line breaks kept as layout."""
    from rich.text import Text

    if not items:
        return Text("-")
    return Text("\n").join(cell(item) for item in items)
