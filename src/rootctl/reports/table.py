"""Table: a human summary, one line per account, findings first, then a totals line."""

from __future__ import annotations

from typing import TextIO

from rootctl.credentials.models import AccountAudit, AuditReport, RootCredentials

# Without a terminal (a file, a pipe) rich would wrap at 80 columns: use a wide page.
FILE_WIDTH = 200
_ORDER = {"error": 0, "ok": 1, "skipped": 2}


class TableWriter:
    format = "table"

    def write(self, report: AuditReport, out: TextIO) -> None:
        from rich.console import Console
        from rich.table import Table

        console = Console(
            file=out,
            width=None if _isatty(out) else FILE_WIDTH,
            highlight=False,
            emoji=False,
            markup=False,
        )
        table = Table(title=f"Root credentials in {report.organization_id}", title_justify="left")
        for name in ("Account", "Name", "OU", "Status", "Password", "Access keys", "Certs", "MFA"):
            table.add_column(name, no_wrap=name in ("Account", "Status"))
        table.add_column("Note", overflow="fold")
        for audit in sorted(report.accounts, key=_sort_key):
            table.add_row(*cells(audit))
        console.print(table)
        console.print(summary_line(report))


def cells(audit: AccountAudit) -> list[str]:
    head = [audit.account_id, audit.account_name, audit.ou_path]
    if audit.root is None:
        note = f"{audit.error.code}: {audit.error.message}" if audit.error else ""
        if audit.status == "skipped" and audit.error:
            note = audit.error.message
        return [*head, audit.status, "", "", "", "", note]
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
    return (_ORDER.get(audit.status, 3), finding, audit.ou_path, audit.account_id)


def _isatty(out: TextIO) -> bool:
    try:
        return out.isatty()
    except (AttributeError, ValueError):
        return False
