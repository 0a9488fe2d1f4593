"""JSON writers: the audit report (rootctl.audit/v1) and any other document model."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from rootctl.credentials.models import AuditReport
    from rootctl.documents.base import Part


class JsonWriter:
    """rootctl.audit/v1 from an `AuditReport`, through its document model."""

    format = "json"

    def write(self, report: AuditReport, out: TextIO) -> None:
        from rootctl.documents.audit import audit_document
        from rootctl.documents.base import dump

        out.write(dump(audit_document(report)))
        out.write("\n")


class DocumentJsonWriter:
    """Any document model, as every command prints it (indented, UTF-8)."""

    format = "json"

    def write(self, report: Part, out: TextIO) -> None:
        from rootctl.documents.base import dump

        out.write(dump(report))
        out.write("\n")


class JsonLinesWriter:
    """Documents one per line (journal export): compact JSON, `\\n` after each."""

    format = "jsonl"

    def write(self, report: Iterable[Part], out: TextIO) -> None:
        from rootctl.documents.base import dump

        for document in report:
            out.write(dump(document, indent=None))
            out.write("\n")
