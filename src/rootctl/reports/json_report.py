"""JSON: the versioned document described in docs/output.md (schema rootctl.audit/v1)."""

from __future__ import annotations

import json
from typing import TextIO

from rootctl.credentials.models import AuditReport


class JsonWriter:
    format = "json"

    def write(self, report: AuditReport, out: TextIO) -> None:
        json.dump(report.to_dict(), out, indent=2, ensure_ascii=False)
        out.write("\n")
