"""The HTML report's charts: horizontal bar charts drawn as SVG on the server.

Server-side SVG needs no script to be seen and no library to be drawn; the layout arithmetic
(scales, bar widths, the cap on how many OUs fit) is kept here, apart from the page assembly
in html_report.py. The counts behind the charts are also what the page's tables show.
"""

from __future__ import annotations

from collections import Counter

from rootctl.credentials.models import AuditReport
from rootctl.reports.findings import KIND_LABELS, credential_kinds
from rootctl.reports.html_table import STATUS_LABELS, status_key
from rootctl.text import html_text as escape

__all__ = ["KIND_TITLES", "MAX_CHART_OUS", "kind_chart", "kind_counts", "ou_chart", "ou_counts"]

# The OU chart shows at most this many OUs (those with the most findings); the table has all.
MAX_CHART_OUS = 15
# Capitalised labels for charts and tables ("MFA", not "Mfa").
KIND_TITLES = {
    "password": "Password",
    "access-keys": "Access keys",
    "signing-certificates": "Signing certificates",
    "mfa-devices": "MFA devices",
}


# -- counts -------------------------------------------------------------------------------------


def kind_counts(report: AuditReport) -> dict[str, int]:
    """Accounts that have each kind of credential (an account counts once per kind)."""
    counts = dict.fromkeys(KIND_LABELS, 0)
    for audit in report.accounts:
        if audit.outcome == "ok" and audit.root is not None:
            for kind in credential_kinds(audit.root):
                counts[kind] += 1
    return counts


def ou_counts(report: AuditReport) -> dict[str, Counter[str]]:
    """Per OU path (sorted): accounts by status key."""
    by_ou: dict[str, Counter[str]] = {}
    for audit in report.accounts:
        by_ou.setdefault(audit.ou_path, Counter())[status_key(audit)] += 1
    return dict(sorted(by_ou.items()))


# -- SVG ----------------------------------------------------------------------------------------

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
                f"<title>{escape(ou)}: {count} {STATUS_LABELS[key].lower()}</title></rect>"
            )
            x += width
        total = sum(by_ou[ou].values())
        parts.append(
            f'<g data-ou="{escape(ou)}"><text x="0" y="{y + 13}"><title>{escape(ou)}</title>{escape(_shorten(ou))}</text>'
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
