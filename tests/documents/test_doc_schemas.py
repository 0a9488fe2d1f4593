"""The shipped JSON Schemas equal what the models generate, documents read back what they wrote,
and a bad document is one line. Regenerate the schemas with `python -m rootctl.documents.generate`."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from click.testing import CliRunner

from rootctl.documents import (
    DOCUMENTS,
    DocumentError,
    dump,
    generate_schema,
    model_for,
    parse,
    schema_text,
    shipped_schema_text,
)
from rootctl.errors import UsageError
from rootctl.reports import report_formats, writer_for


@pytest.mark.parametrize("name", list(DOCUMENTS))
def test_shipped_schema_is_what_the_model_generates(name: str) -> None:
    assert shipped_schema_text(name) == schema_text(generate_schema(name)), (
        f"schemas/{name}.json drifted: run python -m rootctl.documents.generate"
    )


@pytest.mark.parametrize(("name", "entry"), list(DOCUMENTS.items()))
def test_schema_id_is_the_models_literal(name: str, entry: tuple[str, str]) -> None:
    schema = json.loads(shipped_schema_text(name))
    assert schema["properties"]["schema"]["const"] == entry[0]
    assert schema["additionalProperties"] is False
    assert model_for(entry[0]) is model_for(name)


def test_a_document_reads_back_what_it_wrote() -> None:
    from rootctl.documents.events import ActionItem, EventsDocument, SessionItem

    when = datetime(2026, 11, 24, 19, 45, 38, tzinfo=UTC)
    document = EventsDocument(
        timeline=[
            SessionItem(
                time=when,
                account_id="444444444444",
                task="IAMAuditRootUserCredentials",
                access_key_id="ASIAEXAMPLE",
                caller="arn:aws:iam::111111111111:user/op",
                region="us-east-1",
                error=None,
                started_outside_rootctl=False,
                probable_retry_of=None,
            ),
            ActionItem(
                time=when,
                account_id="444444444444",
                access_key_id="ASIAEXAMPLE",
                event="iam:GetLoginProfile",
                region="us-east-1",
                resources=[],
                request_parameters={},
                error="NoSuchEntity",
            ),
        ],
        errors={},
    )
    text = dump(document)
    assert json.loads(text)["timeline"][0]["time"] == "2026-11-24T19:45:38Z"
    assert parse(EventsDocument, text) == document


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "not a JSON document"),
        ("[1, 2]", "not a rootctl.events/v1 document"),
        ('{"schema": "rootctl.audit/v1"}', "not a rootctl.events/v1 document"),
        ('{"schema": "rootctl.events/v1", "timeline": []}', "errors: Field required"),
        ('{"schema": "rootctl.events/v1", "timeline": [], "errors": {}, "x": 1}', "x: Extra"),
        (
            '{"schema": "rootctl.events/v1", "timeline": [{"type": "other"}], "errors": {}}',
            "timeline.0",
        ),
        ("[" * 100_000, "not a JSON document"),
    ],
)
def test_a_bad_document_is_one_line(text: str, fragment: str) -> None:
    from rootctl.documents.events import EventsDocument

    with pytest.raises(DocumentError) as raised:
        parse(EventsDocument, text, source="events.json")
    message = str(raised.value)
    assert fragment in message and "\n" not in message and message.startswith("events.json: ")


def test_writers_are_registered_per_document_and_format() -> None:
    assert report_formats("audit")[:3] == ("table", "json", "csv")
    assert report_formats("status") == ("json",)
    assert writer_for("audit", "csv").format == "csv"
    assert writer_for("csv").format == "csv"  # the one-argument spelling: an audit format
    with pytest.raises(UsageError, match="use one of: json"):
        writer_for("status", "csv")
    with pytest.raises(UsageError, match="no writer"):
        writer_for("nothing", "json")


def test_rootctl_schema_prints_the_shipped_schema() -> None:
    from rootctl.cli.main import cli

    listed = CliRunner().invoke(cli, ["schema", "--list"])
    assert listed.exit_code == 0
    assert [line.split()[0] for line in listed.stdout.splitlines()] == list(DOCUMENTS)
    shown = CliRunner().invoke(cli, ["schema", "rootctl.plan/v1"])
    assert shown.exit_code == 0 and shown.stdout == shipped_schema_text("plan")
    unknown = CliRunner().invoke(cli, ["schema", "nope"])
    assert unknown.exit_code == 2 and "unknown document 'nope'" in unknown.stderr
