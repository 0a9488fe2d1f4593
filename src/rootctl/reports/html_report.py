"""HTML: one self-contained page (inline CSS, JS and SVG) for people who read reports.

Summary cards, bar charts by credential kind and by OU, a sortable and filterable table of
accounts, and the accounts that could not be audited. Nothing is loaded from the network,
and a Content-Security-Policy with hashes of the one style and one script makes sure of it
(and blocks any script that escaping might have missed).

Every value from the organization (account names, OU paths, error messages, the operator
ARN) is HTML-escaped where it becomes markup: here, in html_table.py (the accounts table) and
in html_charts.py (the SVG charts); the page's script only reads the DOM and never builds
markup. The template is filled in one pass, so a value that looks like a placeholder stays text.
This module assembles the page: summary, breakdown tables, errors section, CSP and assets.
"""

from __future__ import annotations

import base64
import hashlib
import re
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from typing import TextIO

from rootctl import __version__
from rootctl.credentials.models import AuditReport
from rootctl.reports.html_charts import KIND_TITLES, kind_chart, kind_counts, ou_chart, ou_counts
from rootctl.reports.html_table import COLUMNS, STATUS_LABELS, STATUS_ORDER, Row, status_key
from rootctl.results import iso
from rootctl.text import html_text as escape

_PLACEHOLDER = re.compile(r"\{\{ (\w+) \}\}")


class HtmlWriter:
    format = "html"

    def write(self, report: AuditReport, out: TextIO) -> None:
        out.write(render(report))


def render(report: AuditReport) -> str:
    """The whole page as a string."""
    style, script = _asset("report.css"), _asset("report.js")
    rows = [Row.of(audit) for audit in report.accounts]
    rows.sort(key=lambda r: (-r.severity_rank, STATUS_ORDER[r.status], r.ou_path, r.account_id))
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


# -- summary and breakdown tables ----------------------------------------------------------------


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
    problems = [a for a in report.accounts if a.outcome != "ok"]
    if not problems:
        return '<p class="empty" id="no-problems">Every selected account was audited.</p>'
    rows = "".join(
        f'<tr data-status="{status_key(a)}"><td class="mono">{_e(a.account_id)}</td>'
        f'<td>{_e(a.account_name)}</td><td class="mono">{_e(a.ou_path)}</td>'
        f'<td><span class="badge badge-{status_key(a)}">{STATUS_LABELS[status_key(a)]}</span></td>'
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


# -- helpers ----------------------------------------------------------------------------------


def _e(value: str) -> str:
    return escape(value, quote=True)


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
