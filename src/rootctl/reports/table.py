"""Table: a human summary, one line per account, findings first, then a totals line.

Names, OU paths and error messages are untrusted: every cell goes through
`rootctl.reports.terminal.cell`, and the table keeps its natural width off a terminal.
"""

from __future__ import annotations

from typing import TextIO

from rootctl.credentials.models import AccountAudit, AuditReport, RootCredentials
from rootctl.reports.terminal import cell, console

_ORDER = {"error": 0, "ok": 1, "skipped": 2}


class TableWriter:
    format = "table"

    def write(self, report: AuditReport, out: TextIO) -> None:
        from rich.table import Table

        page = console(out)
        table = Table(
            title=cell(f"Root credentials in {report.organization_id}"), title_justify="left"
        )
        for name in ("Account", "Name", "OU", "Status", "Password", "Access keys", "Certs", "MFA"):
            table.add_column(name, no_wrap=name in ("Account", "Status"))
        table.add_column("Note", overflow="fold")
        for audit in sorted(report.accounts, key=_sort_key):
            table.add_row(*(cell(value) for value in cells(audit)))
        page.print(table)
        page.print(cell(summary_line(report)))


def cells(audit: AccountAudit) -> list[str]:
    head = [audit.account_id, audit.account_name, audit.ou_path]
    if audit.root is None:
        note = f"{audit.error.code}: {audit.error.message}" if audit.error else ""
        if audit.outcome == "skipped" and audit.error:
            note = audit.error.message
        return [*head, audit.outcome, "", "", "", "", note]
    status = "FINDING" if audit.has_root_credentials else "clean"
    return [*head, status, *credential_cells(audit.root), ""]


def credential_cells(root: RootCredentials) -> list[str]:
    password = "-"
    if root.password.present:
        last = root.password.last_used
        password = f"yes (last used {last.date().isoformat()})" if last else "yes (never used)"
    active = sum(1 for key in root.access_keys if key.status == "Active")
    keys = f"{len(root.access_keys)} ({active} active)" if root.access_keys else "-"
    certs = str(len(root.signing_certificates)) if root.signing_certificates else "-"
    kinds = [device.type for device in root.mfa_devices]
    mfa = ", ".join(f"{kinds.count(k)} {k}" for k in ("virtual", "hardware") if k in kinds)
    return [password, keys, certs, mfa or "-"]


def summary_line(report: AuditReport) -> str:
    s = report.summary
    return (
        f"{s.accounts} accounts: {s.with_root_credentials} with root credentials, "
        f"{s.without_root_credentials} without, {s.errors} errors, {s.skipped} skipped"
    )


def _sort_key(audit: AccountAudit) -> tuple[int, int, str, str]:
    finding = 0 if audit.has_root_credentials else 1
    return (_ORDER.get(audit.outcome, 3), finding, audit.ou_path, audit.account_id)
