"""The report writer interface and the registry of formats.

Modelled on Prowler's `Output` class, reduced to what rootctl needs: a writer knows its
format name and renders one `AuditReport` to a text stream. Writers are registered by
import path and imported only when asked for, so `rootctl --help` stays fast and a new
format is one class plus one line in `_WRITERS`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Protocol, TextIO

from rootctl.errors import UsageError

if TYPE_CHECKING:
    from rootctl.credentials.models import AuditReport


class ReportWriter(Protocol):
    """Renders an audit report in one format."""

    format: str

    def write(self, report: AuditReport, out: TextIO) -> None:
        """Write the whole report to `out` (a text stream; the caller opens and closes it)."""
        ...


# format name -> "module:class". Keep in sync with docs/output.md.
_WRITERS: dict[str, str] = {
    "table": "rootctl.reports.table:TableWriter",
    "json": "rootctl.reports.json_report:JsonWriter",
    "csv": "rootctl.reports.csv_report:CsvWriter",
    "html": "rootctl.reports.html_report:HtmlWriter",
    "ocsf": "rootctl.reports.ocsf_report:OcsfWriter",
    "asff": "rootctl.reports.asff_report:AsffWriter",
}


def report_formats() -> tuple[str, ...]:
    """Every format a writer is registered for, in registration order."""
    return tuple(_WRITERS)


def writer_for(format: str) -> ReportWriter:
    """The writer for `format`; UsageError naming the formats that exist."""
    target = _WRITERS.get(format)
    if target is None:
        raise UsageError(
            f"unknown output format {format!r}; use one of: {', '.join(report_formats())}"
        )
    module_name, class_name = target.split(":")
    writer: ReportWriter = getattr(importlib.import_module(module_name), class_name)()
    return writer
