"""Regenerate the shipped JSON Schemas: `python -m rootctl.documents.generate`.

tests/documents/test_doc_schemas.py fails when a shipped file differs from what the models
give, and names this command.
"""

from __future__ import annotations

from pathlib import Path

from rootctl.documents import DOCUMENTS, generate_schema, schema_text

SCHEMA_DIR = Path(__file__).parent / "schemas"


def main() -> None:
    SCHEMA_DIR.mkdir(exist_ok=True)
    for name in DOCUMENTS:
        (SCHEMA_DIR / f"{name}.json").write_text(schema_text(generate_schema(name)), "utf-8")
        print(f"wrote {SCHEMA_DIR / name}.json")


if __name__ == "__main__":
    main()
