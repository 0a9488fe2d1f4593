"""The HTML report's accounts table, and the status every part of the page shows an account with.

One row per account, sortable and filterable by the page's script through `data-sort` and
`data-status` attributes only: every value is escaped here and the script never builds markup.
The status (finding, clean, error, skipped) is also what the OU chart and the errors section
group by, so its labels live here with the rows.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from rootctl.credentials.models import AccountAudit
from rootctl.reports.findings import severity
from rootctl.results import iso
from rootctl.text import html_text as escape

__all__ = ["COLUMNS", "STATUS_LABELS", "STATUS_ORDER", "Column", "Row", "StatusKey", "status_key"]

StatusKey = str  # "finding" | "clean" | "error" | "skipped"
STATUS_LABELS = {
    "finding": "Root credentials",
    "clean": "Clean",
    "error": "Error",
    "skipped": "Skipped",
}
STATUS_ORDER = {"finding": 0, "error": 1, "skipped": 2, "clean": 3}
_SEVERITY_RANK = {"CRITICAL": 4, "HIGH": 3, "MEDIUM": 2, "LOW": 1, "INFORMATIONAL": 0}


@dataclass(frozen=True)
class Column:
    title: str
    numeric: bool = False
    initial_sort: str = "none"

    def header(self) -> str:
        kind = ' data-type="number" class="num"' if self.numeric else ""
        return (
            f'<th scope="col" aria-sort="{self.initial_sort}"{kind}>'
            f'<button type="button">{escape(self.title)}</button></th>'
        )


COLUMNS = (
    Column("Account"),
    Column("Name"),
    Column("OU"),
    Column("Status"),
    Column("Severity", numeric=True, initial_sort="descending"),
    Column("Password"),
    Column("Access keys", numeric=True),
    Column("Certs", numeric=True),
    Column("MFA", numeric=True),
    Column("Last used"),
)


@dataclass(frozen=True)
class Row:
    account_id: str
    account_name: str
    ou_path: str
    status: StatusKey
    severity: str
    severity_rank: int
    cells: tuple[str, ...]

    @classmethod
    def of(cls, audit: AccountAudit) -> Row:
        status = status_key(audit)
        label = severity(audit.root) if audit.root is not None and status == "finding" else ""
        rank = _SEVERITY_RANK[label] if label else -1
        cells = (
            _td(audit.account_id, cls_="mono"),
            _td(audit.account_name, cls_="name"),
            _td(audit.ou_path, cls_="mono"),
            _td_html(_status_badge(audit, status), sort=str(STATUS_ORDER[status])),
            _td_html(
                f'<span class="sev sev-{label.lower()}">{label}</span>'
                if label
                else '<span class="sev sev-none">&ndash;</span>',
                sort=str(rank),
                cls_="num",
            ),
            *_credential_cells(audit),
        )
        return cls(audit.account_id, audit.account_name, audit.ou_path, status, label, rank, cells)

    def html(self) -> str:
        return f'<tr data-status="{self.status}">{"".join(self.cells)}</tr>'


def _credential_cells(audit: AccountAudit) -> list[str]:
    root = audit.root
    if root is None:
        blank = _td_html('<span class="dash">&ndash;</span>', sort="-1", cls_="num")
        return [
            _td_html('<span class="dash">&ndash;</span>', sort=""),
            blank,
            blank,
            blank,
            _td(""),
        ]
    password = "yes" if root.password.present else "no"
    keys = root.access_keys
    active = sum(1 for key in keys if key.status == "Active")
    kinds = Counter(device.type for device in root.mfa_devices)
    mfa = ", ".join(f"{count} {kind}" for kind, count in sorted(kinds.items()))
    used_dates = [key.last_used_date for key in keys if key.last_used_date is not None]
    if root.password.last_used is not None:
        used_dates.append(root.password.last_used)
    last = max(used_dates) if used_dates else None
    return [
        _td(password),
        _td(_keys_text(len(keys), active), sort=str(len(keys)), cls_="num"),
        _td(str(len(root.signing_certificates)), cls_="num"),
        _td(mfa or "0", sort=str(len(root.mfa_devices)), cls_="num"),
        _td(last.date().isoformat() if last else "never", sort=iso(last) or ""),
    ]


def _keys_text(count: int, active: int) -> str:
    if count == 0:
        return "0"
    if active in (0, count):
        return f"{count} {'active' if active else 'inactive'}"
    return f"{count} ({active} active)"


def status_key(audit: AccountAudit) -> StatusKey:
    """How the page classifies an account: finding, clean, error or skipped."""
    if audit.outcome == "ok":
        return "finding" if audit.has_root_credentials else "clean"
    return "skipped" if audit.outcome == "skipped" else "error"


def _status_badge(audit: AccountAudit, status: StatusKey) -> str:
    """The badge, and for an error its code (the message is in the errors section)."""
    badge = f'<span class="badge badge-{status}">{STATUS_LABELS[status]}</span>'
    if status == "error" and audit.error is not None:
        badge += f'<span class="detail mono">{escape(audit.error.code)}</span>'
    return badge


def _td(text: str, *, sort: str | None = None, cls_: str = "") -> str:
    return _td_html(escape(text), sort=sort, cls_=cls_)


def _td_html(markup: str, *, sort: str | None = None, cls_: str = "") -> str:
    attrs = f' class="{cls_}"' if cls_ else ""
    if sort is not None:
        attrs += f' data-sort="{escape(sort)}"'
    return f"<td{attrs}>{markup}</td>"
