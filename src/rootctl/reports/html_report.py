"""HTML: one self-contained page (inline CSS, JS and SVG) for people who read reports.

Summary cards, bar charts by credential kind and by OU, a sortable and filterable table of
accounts, and the accounts that could not be audited. Nothing is loaded from the network,
and a Content-Security-Policy with hashes of the one style and one script makes sure of it
(and blocks any script that escaping might have missed).

Every value from the organization (account names, OU paths, error messages, the operator
ARN) is HTML-escaped here; the page's script only reads the DOM and never builds markup.
The template is filled in one pass, so a value that looks like a placeholder stays text.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from html import escape
from importlib import resources
from typing import TextIO

from rootctl import __version__
from rootctl.credentials.models import AccountAudit, AuditReport, iso
from rootctl.reports.findings import KIND_LABELS, credential_kinds, severity

StatusKey = str  # "finding" | "clean" | "error" | "skipped"
STATUS_LABELS = {
    "finding": "Root credentials",
    "clean": "Clean",
    "error": "Error",
    "skipped": "Skipped",
}
_STATUS_ORDER = {"finding": 0, "error": 1, "skipped": 2, "clean": 3}
_SEVERITY_RANK = {"CRITICAL": 4, "HIGH": 3, "MEDIUM": 2, "LOW": 1, "INFORMATIONAL": 0}
# The OU chart shows at most this many OUs (those with the most findings); the table has all.
MAX_CHART_OUS = 15
# Capitalised labels for charts and tables ("MFA", not "Mfa").
KIND_TITLES = {
    "password": "Password",
    "access-keys": "Access keys",
    "signing-certificates": "Signing certificates",
    "mfa-devices": "MFA devices",
}
_PLACEHOLDER = re.compile(r"\{\{ (\w+) \}\}")


class HtmlWriter:
    format = "html"

    def write(self, report: AuditReport, out: TextIO) -> None:
        out.write(render(report))


def render(report: AuditReport) -> str:
    """The whole page as a string."""
    style, script = _asset("report.css"), _asset("report.js")
    rows = [Row.of(audit) for audit in report.accounts]
    rows.sort(key=lambda r: (-r.severity_rank, _STATUS_ORDER[r.status], r.ou_path, r.account_id))
    summary = report.summary
    verdict, verdict_class = _verdict(report)
    values = {
        "csp": _csp(style, script),
        "version": escape(__version__),
        "organization": _e(report.organization_id),
        "generated": _e(generated_label(report.generated_at)),
        "generated_iso": _e(iso(report.generated_at) or ""),
        "operator": _e(report.operator),
        "schema": _e(report.schema),
        "verdict": _e(verdict),
        "verdict_class": verdict_class,
        "cards": _cards(report),
        "kind_chart": kind_chart(report),
        "kind_table": _kind_table(report),
        "ou_chart": ou_chart(report),
        "ou_table": _ou_table(report),
        "total": str(summary.accounts),
        "headers": "".join(column.header() for column in COLUMNS),
        "rows": "\n".join(row.html() for row in rows),
        "problems": _problems(report),
        "style": style,
        "script": script,
    }
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)], _asset("report.html"))


# -- the accounts table -----------------------------------------------------------------------


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
        status = _status(audit)
        label = severity(audit.root) if audit.root is not None and status == "finding" else ""
        rank = _SEVERITY_RANK[label] if label else -1
        cells = (
            _td(audit.account_id, cls_="mono"),
            _td(audit.account_name, cls_="name"),
            _td(audit.ou_path, cls_="mono"),
            _td_html(_status_badge(audit, status), sort=str(_STATUS_ORDER[status])),
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


def _status(audit: AccountAudit) -> StatusKey:
    if audit.status == "ok":
        return "finding" if audit.has_root_credentials else "clean"
    return "skipped" if audit.status == "skipped" else "error"


def _status_badge(audit: AccountAudit, status: StatusKey) -> str:
    """The badge, and for an error its code (the message is in the errors section)."""
    badge = f'<span class="badge badge-{status}">{STATUS_LABELS[status]}</span>'
    if status == "error" and audit.error is not None:
        badge += f'<span class="detail mono">{_e(audit.error.code)}</span>'
    return badge


# -- summary and breakdowns -------------------------------------------------------------------


def _verdict(report: AuditReport) -> tuple[str, str]:
    s = report.summary
    audited = s.with_root_credentials + s.without_root_credentials
    if s.with_root_credentials:
        return (
            f"{s.with_root_credentials} of {audited} audited accounts still have root credentials.",
            "finding",
        )
    if s.errors:
        return (
            f"No root credentials found, but {s.errors} accounts could not be audited.",
            "error",
        )
    return (f"None of the {audited} audited accounts has root credentials.", "clean")


def _cards(report: AuditReport) -> str:
    s = report.summary
    audited = s.with_root_credentials + s.without_root_credentials
    share = (
        f"{round(100 * s.with_root_credentials / audited)}% of audited"
        if audited
        else "none audited"
    )
    cards = (
        ("total", "Accounts", s.accounts, f"{audited} audited"),
        ("finding", "With root credentials", s.with_root_credentials, share),
        ("clean", "Without root credentials", s.without_root_credentials, "nothing to delete"),
        ("error", "Errors", s.errors, "could not be audited"),
        ("skipped", "Skipped", s.skipped, "not a root-session target"),
    )
    return "".join(
        f'<div class="card card-{key}" id="card-{key}"><span class="value">{value}</span>'
        f'<span class="label">{label}</span><span class="sub">{escape(sub)}</span></div>'
        for key, label, value, sub in cards
    )


def kind_counts(report: AuditReport) -> dict[str, int]:
    """Accounts that have each kind of credential (an account counts once per kind)."""
    counts = dict.fromkeys(KIND_LABELS, 0)
    for audit in report.accounts:
        if audit.status == "ok" and audit.root is not None:
            for kind in credential_kinds(audit.root):
                counts[kind] += 1
    return counts


def ou_counts(report: AuditReport) -> dict[str, Counter[str]]:
    """Per OU path (sorted): accounts by status key."""
    by_ou: dict[str, Counter[str]] = {}
    for audit in report.accounts:
        by_ou.setdefault(audit.ou_path, Counter())[_status(audit)] += 1
    return dict(sorted(by_ou.items()))


def _kind_table(report: AuditReport) -> str:
    audited = report.summary.with_root_credentials + report.summary.without_root_credentials
    rows = "".join(
        f'<tr data-kind="{kind}"><td>{KIND_TITLES[kind]}</td>'
        f'<td class="num">{count}</td><td class="num">{escape(_percent(count, audited))}</td></tr>'
        for kind, count in kind_counts(report).items()
    )
    return (
        '<table class="data" id="kinds"><thead><tr><th scope="col">Credential kind</th>'
        '<th scope="col" class="num">Accounts</th><th scope="col" class="num">Of audited</th>'
        f"</tr></thead><tbody>{rows}</tbody></table>"
    )


def _ou_table(report: AuditReport) -> str:
    rows = []
    for ou, counts in ou_counts(report).items():
        total = sum(counts.values())
        cells = "".join(
            f'<td class="num">{counts[key]}</td>'
            for key in ("finding", "clean", "error", "skipped")
        )
        rows.append(f'<tr><td class="mono">{_e(ou)}</td><td class="num">{total}</td>{cells}</tr>')
    heads = "".join(
        f'<th scope="col" class="num">{title}</th>'
        for title in ("Accounts", "With root credentials", "Clean", "Errors", "Skipped")
    )
    return (
        f'<table class="data" id="ous"><thead><tr><th scope="col">OU</th>{heads}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def _problems(report: AuditReport) -> str:
    problems = [a for a in report.accounts if a.status != "ok"]
    if not problems:
        return '<p class="empty" id="no-problems">Every selected account was audited.</p>'
    rows = "".join(
        f'<tr data-status="{_status(a)}"><td class="mono">{_e(a.account_id)}</td>'
        f'<td>{_e(a.account_name)}</td><td class="mono">{_e(a.ou_path)}</td>'
        f'<td><span class="badge badge-{_status(a)}">{STATUS_LABELS[_status(a)]}</span></td>'
        f'<td class="mono">{_e(a.error.code if a.error else "")}</td>'
        f'<td class="wrap-anywhere">{_e(a.error.message if a.error else "")}</td></tr>'
        for a in problems
    )
    heads = "".join(
        f'<th scope="col">{title}</th>'
        for title in ("Account", "Name", "OU", "Status", "Code", "Message")
    )
    return (
        f'<table class="data" id="problems"><thead><tr>{heads}</tr></thead>'
        f"<tbody>{rows}</tbody></table>"
    )


# -- charts (server-side SVG: no script needed to see them) --------------------------------------

_LABEL_WIDTH = 180
_CHART_WIDTH = 560
_BAR_HEIGHT = 18
_ROW_HEIGHT = 30


def kind_chart(report: AuditReport) -> str:
    """Horizontal bars: accounts with each kind, on a scale of all audited accounts."""
    audited = report.summary.with_root_credentials + report.summary.without_root_credentials
    counts = kind_counts(report)
    scale = max(audited, 1)
    track = _CHART_WIDTH - _LABEL_WIDTH - 115  # room for "1234 of 5678"
    parts = []
    for index, (kind, count) in enumerate(counts.items()):
        y = 8 + index * _ROW_HEIGHT
        width = round(track * count / scale, 1)
        parts.append(
            f'<g data-kind="{kind}"><text x="0" y="{y + 13}">{KIND_TITLES[kind]}</text>'
            f'<rect class="track" x="{_LABEL_WIDTH}" y="{y}" width="{track}" height="{_BAR_HEIGHT}" rx="3"/>'
            f'<rect class="bar-finding" x="{_LABEL_WIDTH}" y="{y}" width="{width}" height="{_BAR_HEIGHT}" rx="3">'
            f"<title>{count} of {audited} audited accounts</title></rect>"
            f'<text class="value" x="{_LABEL_WIDTH + track + 8}" y="{y + 13}">{count} of {audited}</text></g>'
        )
    height = 8 + len(counts) * _ROW_HEIGHT
    return _svg("kind-chart", "Accounts with each kind of root credential", height, parts)


def ou_chart(report: AuditReport) -> str:
    """Stacked bars per OU (findings, clean, errors, skipped), largest OU = full width."""
    by_ou = ou_counts(report)
    shown = sorted(by_ou, key=lambda ou: (-by_ou[ou]["finding"], ou))[:MAX_CHART_OUS]
    shown.sort()
    scale = max((sum(by_ou[ou].values()) for ou in shown), default=1)
    track = _CHART_WIDTH - _LABEL_WIDTH - 40
    keys = ("finding", "clean", "error", "skipped")
    parts = [_legend(keys)]
    for index, ou in enumerate(shown):
        y = 34 + index * _ROW_HEIGHT
        x = float(_LABEL_WIDTH)
        bars = []
        for key in keys:
            count = by_ou[ou][key]
            if not count:
                continue
            width = round(track * count / scale, 1)
            bars.append(
                f'<rect class="bar-{key}" x="{x}" y="{y}" width="{width}" height="{_BAR_HEIGHT}">'
                f"<title>{_e(ou)}: {count} {STATUS_LABELS[key].lower()}</title></rect>"
            )
            x += width
        total = sum(by_ou[ou].values())
        parts.append(
            f'<g data-ou="{_e(ou)}"><text x="0" y="{y + 13}"><title>{_e(ou)}</title>{_e(_shorten(ou))}</text>'
            f'{"".join(bars)}<text class="value" x="{x + 6}" y="{y + 13}">{total}</text></g>'
        )
    height = 34 + max(len(shown), 1) * _ROW_HEIGHT
    svg = _svg("ou-chart", "Accounts per organizational unit by status", height, parts)
    if len(by_ou) > len(shown):
        svg += (
            f'<p class="note">The {len(shown)} of {len(by_ou)} OUs with the most accounts with '
            "root credentials; the table below lists every OU.</p>"
        )
    return svg


def _legend(keys: tuple[str, ...]) -> str:
    items, x = [], 0
    for key in keys:
        label = STATUS_LABELS[key]
        items.append(
            f'<rect class="bar-{key}" x="{x}" y="4" width="12" height="12" rx="2"/>'
            f'<text class="legend" x="{x + 17}" y="14">{label}</text>'
        )
        x += 30 + 7 * len(label)
    return f'<g class="legend-items">{"".join(items)}</g>'


def _svg(id_: str, title: str, height: int, parts: list[str]) -> str:
    return (
        f'<svg class="chart" id="{id_}" role="img" aria-labelledby="{id_}-title" '
        f'viewBox="0 0 {_CHART_WIDTH} {height}" width="{_CHART_WIDTH}" height="{height}" '
        f'preserveAspectRatio="xMinYMin meet" xmlns="http://www.w3.org/2000/svg">'
        f'<title id="{id_}-title">{escape(title)}</title>{"".join(parts)}</svg>'
    )


def _shorten(path: str, limit: int = 24) -> str:
    return path if len(path) <= limit else "\u2026" + path[-(limit - 1) :]


# -- helpers ----------------------------------------------------------------------------------


def _e(value: str) -> str:
    return escape(value, quote=True)


def _td(text: str, *, sort: str | None = None, cls_: str = "") -> str:
    return _td_html(_e(text), sort=sort, cls_=cls_)


def _td_html(markup: str, *, sort: str | None = None, cls_: str = "") -> str:
    attrs = f' class="{cls_}"' if cls_ else ""
    if sort is not None:
        attrs += f' data-sort="{_e(sort)}"'
    return f"<td{attrs}>{markup}</td>"


def _percent(count: int, total: int) -> str:
    if not total:
        return "-"
    share = round(100 * count / total)
    return "<1%" if count and share == 0 else f"{share}%"


def _csp(style: str, script: str) -> str:
    """Nothing from the network; only this page's own style and script (by hash) may run."""

    def digest(text: str) -> str:
        return base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")

    return (
        "default-src 'none'; img-src data:; "
        f"style-src 'sha256-{digest(style)}'; script-src 'sha256-{digest(script)}'; "
        "base-uri 'none'; form-action 'none'"
    )


@cache
def _asset(name: str) -> str:
    return resources.files("rootctl.reports").joinpath(f"templates/{name}").read_text("utf-8")


def generated_label(value: datetime) -> str:
    """How the page shows the generation time (UTC, to the second)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
