"""The base of every output document: a frozen pydantic model with a `schema` id.

Why pydantic v2 models (docs/design.md, "One document layer"): one class gives the JSON a
command writes, the parser that reads it back (a saved plan, a report fed to another tool)
and the JSON Schema that ships in the package, so the three cannot drift apart. Models are
built lazily (`defer_build`): importing a document module costs no schema building until a
document is first made or parsed, and only the commands that write documents import them.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, ConfigDict, PlainSerializer, ValidationError, WithJsonSchema
from pydantic.functional_validators import AfterValidator

from rootctl.errors import UsageError

D = TypeVar("D", bound="Document")


def _utc(value: datetime) -> datetime:
    """Naive times are UTC (as `rootctl.results.iso` treats them); aware ones move to UTC."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _z(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


# A time in a document: UTC, ISO 8601 with a Z suffix (docs/output.md).
Timestamp = Annotated[
    datetime,
    AfterValidator(_utc),
    PlainSerializer(_z, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]


class Part(BaseModel):
    """A nested object of a document: frozen, unknown keys refused (a typo is not ignored)."""

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        defer_build=True,
        json_schema_serialization_defaults_required=True,
    )


class Document(Part):
    """A whole document. Subclasses set `schema_id` to a `Literal` with its default.

    The JSON key is `schema` (`<name>/v<major>`); the attribute is `schema_id` because
    `BaseModel.schema` is a pydantic method.
    """

    model_config = ConfigDict(populate_by_name=True)


class DocumentError(UsageError):
    """A document that cannot be read: not JSON, another document, or a field that is wrong."""


def to_data(document: Part) -> dict[str, Any]:
    """The document as JSON-ready data (what `dump` prints)."""
    data: dict[str, Any] = document.model_dump(mode="json", by_alias=True)
    return data


def dump(document: Part, *, indent: int | None = 2) -> str:
    """The document's JSON text, as every command prints it: UTF-8, not ASCII-escaped, but
    C1 controls and bidi characters written as \\u escapes (`rootctl.text.clean_json`), so
    untrusted names cannot drive a terminal the JSON is shown on; the data is unchanged."""
    from rootctl.text import clean_json

    return clean_json(json.dumps(to_data(document), indent=indent, ensure_ascii=False))


def parse(model: type[D], text: str | bytes, *, source: str = "document") -> D:
    """Read a document back with the code that wrote it; DocumentError (one line) if bad."""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise DocumentError(f"{source}: not a JSON document ({_first_line(exc)})") from None
    expected = model.model_fields["schema_id"].default
    if not isinstance(data, dict) or data.get("schema") != expected:
        found = data.get("schema") if isinstance(data, dict) else type(data).__name__
        raise DocumentError(f"{source}: not a {expected} document (schema: {found!r})")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top)"
        raise DocumentError(
            f"{source}: {expected}: {where}: {first['msg']} ({exc.error_count()} error(s))"
        ) from None


def canonical(value: Any) -> str:
    """One spelling per value (sorted keys, no spaces): what fingerprints and digests hash."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sha256_of(value: Any) -> str:
    """sha256 hex of the canonical JSON of `value`."""
    return hashlib.sha256(canonical(value).encode("utf-8")).hexdigest()


def _first_line(exc: BaseException) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
