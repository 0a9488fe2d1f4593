"""The writer interface and the ONE registry of writers, per (document, format).

Modelled on Prowler's `Output` class, reduced to what rootctl needs: a writer renders one
document value to a text stream. Writers are registered by import path and imported only
when asked for, so `rootctl --help` stays fast and a new format is one class plus one line
in `_WRITERS`. Audit writers take the `AuditReport` (HTML, OCSF and ASFF need more than the
JSON document holds); every other JSON writer takes the document model itself.
"""

from __future__ import annotations

import importlib
from typing import Any, Protocol, TextIO

from rootctl.errors import UsageError


class ReportWriter(Protocol):
    """Renders one document in one format."""

    format: str

    def write(self, report: Any, out: TextIO) -> None:
        """Write the whole document to `out` (a text stream; the caller opens and closes it)."""
        ...


_DOCUMENT_JSON = "rootctl.reports.json_report:DocumentJsonWriter"
# (document, format) -> "module:class". Keep in sync with docs/output.md.
_WRITERS: dict[tuple[str, str], str] = {
    ("audit", "table"): "rootctl.reports.table:TableWriter",
    ("audit", "json"): "rootctl.reports.json_report:JsonWriter",
    ("audit", "csv"): "rootctl.reports.csv_report:CsvWriter",
    ("audit", "html"): "rootctl.reports.html_report:HtmlWriter",
    ("audit", "ocsf"): "rootctl.reports.ocsf_report:OcsfWriter",
    ("audit", "asff"): "rootctl.reports.asff_report:AsffWriter",
    ("delete-credentials", "json"): _DOCUMENT_JSON,
    ("deletion-plan", "json"): _DOCUMENT_JSON,
    ("status", "json"): _DOCUMENT_JSON,
    ("plan", "json"): _DOCUMENT_JSON,
    ("locked", "json"): _DOCUMENT_JSON,
    ("unlock", "json"): _DOCUMENT_JSON,
    ("events", "json"): _DOCUMENT_JSON,
    ("enforce", "json"): _DOCUMENT_JSON,
    ("guardrails-check", "json"): _DOCUMENT_JSON,
    ("requests", "json"): _DOCUMENT_JSON,
    ("enforce", "ocsf"): "rootctl.reports.ocsf_report:EnforceOcsfWriter",
    ("enforce", "asff"): "rootctl.reports.asff_report:EnforceAsffWriter",
    ("journal-entry", "jsonl"): "rootctl.reports.json_report:JsonLinesWriter",
}


def report_formats(document: str = "audit") -> tuple[str, ...]:
    """Every format a writer is registered for `document`, in registration order."""
    return tuple(fmt for doc, fmt in _WRITERS if doc == document)


def writer_for(document: str, format: str | None = None) -> ReportWriter:
    """The writer of `document` in `format`; UsageError naming the formats that exist.

    `writer_for("csv")` (one argument: an audit format) is the pre-registry spelling, kept
    while its callers move to `writer_for("audit", "csv")`.
    """
    if format is None:
        document, format = "audit", document
    target = _WRITERS.get((document, format))
    if target is None:
        known = report_formats(document)
        if not known:
            raise UsageError(f"no writer is registered for document {document!r}")
        raise UsageError(f"unknown output format {format!r}; use one of: {', '.join(known)}")
    module_name, class_name = target.split(":")
    writer: ReportWriter = getattr(importlib.import_module(module_name), class_name)()
    return writer
