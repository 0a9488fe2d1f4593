"""One model per output document, with its schema id, shipped JSON Schema and parser.

    from rootctl.documents import dump, parse, model_for
    text = dump(audit_document(report))                 # rootctl.documents.audit
    plan = parse(model_for("plan"), text, source=path)  # DocumentError: one line, exit 2

Document modules are imported only when a command writes or reads that document (start-up
cost, issue 17); this module imports no pydantic model itself.
"""

from __future__ import annotations

import importlib
import json
from importlib import resources
from typing import Any

from rootctl.documents.base import Document, DocumentError, dump, parse, to_data
from rootctl.errors import UsageError

# name -> (schema id, "module:Model"). Keep in sync with docs/output.md.
DOCUMENTS: dict[str, tuple[str, str]] = {
    "audit": ("rootctl.audit/v1", "rootctl.documents.audit:AuditDocument"),
    "delete-credentials": (
        "rootctl.delete-credentials/v1",
        "rootctl.documents.deletion:DeletionReportDocument",
    ),
    "deletion-plan": (
        "rootctl.deletion-plan/v1",
        "rootctl.documents.deletion_plan:DeletionPlanDocument",
    ),
    "status": ("rootctl.status/v1", "rootctl.documents.org:StatusDocument"),
    "plan": ("rootctl.plan/v1", "rootctl.documents.org:PlanDocument"),
    "locked": ("rootctl.locked/v1", "rootctl.documents.sessions:LockedDocument"),
    "unlock": ("rootctl.unlock/v1", "rootctl.documents.sessions:UnlockDocument"),
    "events": ("rootctl.events/v1", "rootctl.documents.events:EventsDocument"),
    "enforce": ("rootctl.enforce/v1", "rootctl.documents.enforce:EnforceDocument"),
    "guardrails-check": (
        "rootctl.guardrails-check/v1",
        "rootctl.documents.guardrails:GuardrailsCheckDocument",
    ),
    "journal-entry": (
        "rootctl.journal-entry/v1",
        "rootctl.documents.journal:JournalEntryDocument",
    ),
    "requests": ("rootctl.requests/v1", "rootctl.documents.approvals:RequestsDocument"),
}
JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


def document_names() -> tuple[str, ...]:
    return tuple(DOCUMENTS)


def resolve(name: str) -> str:
    """A document name from its name or schema id; UsageError naming the documents."""
    if name in DOCUMENTS:
        return name
    for key, (schema_id, _) in DOCUMENTS.items():
        if name == schema_id:
            return key
    raise UsageError(f"unknown document {name!r}; use one of: {', '.join(DOCUMENTS)}")


def model_for(name: str) -> type[Document]:
    module_name, class_name = DOCUMENTS[resolve(name)][1].split(":")
    model: type[Document] = getattr(importlib.import_module(module_name), class_name)
    return model


def generate_schema(name: str) -> dict[str, Any]:
    """The JSON Schema the model gives now (what the shipped file must equal)."""
    key = resolve(name)
    schema = model_for(key).model_json_schema(mode="serialization", by_alias=True)
    return {"$schema": JSON_SCHEMA_DIALECT, "$comment": DOCUMENTS[key][0], **schema}


def shipped_schema_text(name: str) -> str:
    """The JSON Schema file shipped in the package (rootctl/documents/schemas/NAME.json)."""
    path = resources.files("rootctl.documents") / "schemas" / f"{resolve(name)}.json"
    return path.read_text(encoding="utf-8")


def shipped_schema(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(shipped_schema_text(name))
    return data


def schema_text(schema: dict[str, Any]) -> str:
    """How a schema file is spelt (stable, so the drift test compares text)."""
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


__all__ = [
    "DOCUMENTS",
    "Document",
    "DocumentError",
    "document_names",
    "dump",
    "generate_schema",
    "model_for",
    "parse",
    "resolve",
    "schema_text",
    "shipped_schema",
    "shipped_schema_text",
    "to_data",
]
