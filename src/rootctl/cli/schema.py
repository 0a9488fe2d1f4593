"""`rootctl schema DOCUMENT`: the JSON Schema of an output document, as shipped."""

from __future__ import annotations

import click


@click.command()
@click.argument("document", required=False)
@click.option("--list", "list_", is_flag=True, help="List the documents and their schema ids.")
def schema(document: str | None, list_: bool) -> None:
    """Print the JSON Schema of DOCUMENT (a name such as `audit`, or a schema id).

    The schemas ship in the package and are generated from the models that write and read
    the documents, so what a command prints always validates against them.
    """
    from rootctl.documents import DOCUMENTS, shipped_schema_text
    from rootctl.errors import UsageError

    if list_ or document is None:
        if document is None and not list_:
            raise UsageError("name a document (rootctl schema --list shows them)")
        for name, (schema_id, _) in DOCUMENTS.items():
            click.echo(f"{name:20} {schema_id}")
        return
    click.echo(shipped_schema_text(document), nl=False)
