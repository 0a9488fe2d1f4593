"""A strict checker of raw AWS HTTP answers against botocore's own service models.

Independent of the sandbox's code: it reads the HTTP status, headers and body botocore
received and checks them against `botocore/data/<service>/.../service-2.json` (the same
models AWS generates its SDKs from) and AWS's documented common errors. botocore's parsers
are lenient (they skip undeclared members and never check constraints), so this walks the
raw XML or JSON itself.

Use `capture_http()` around any code that makes botocore calls (rootctl's own clients
included): it records every answer; `problems(capture)` lists what is wrong with one.
"""

from __future__ import annotations

import base64
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from botocore.endpoint import Endpoint
from botocore.model import OperationModel, Shape

S3_NAMESPACE = "http://s3.amazonaws.com/doc/2006-03-01/"

# Errors common to every operation, with the HTTP status AWS documents for them.
# Sources: "Common Errors" of the IAM, STS, Organizations, SQS and CloudTrail API references
# (https://docs.aws.amazon.com/IAM/latest/APIReference/CommonErrors.html and the same page
# under STS/, organizations/, AWSSimpleQueueService/, awscloudtrail/).
COMMON_ERRORS: dict[str, int] = {
    "AccessDeniedException": 403,
    "ExpiredTokenException": 403,
    "IncompleteSignature": 403,
    "InternalFailure": 500,
    "InvalidAction": 400,
    "InvalidClientTokenId": 403,
    "MalformedHttpRequestException": 400,
    "NotAuthorized": 401,
    "OptInRequired": 403,
    "RequestExpired": 400,
    "ServiceUnavailable": 503,
    "ThrottlingException": 400,
    "UnrecognizedClientException": 403,
    "ValidationError": 400,
}
# The query protocol's own spellings (IAM and STS answer these codes; the IAM user guide's
# "Troubleshoot access denied error messages" shows `AccessDenied`; STS API reference
# "Common Errors" and IAM's ExpiredToken, HTTP 403, per the IAM common-errors page).
QUERY_ERRORS: dict[str, int] = {
    "AccessDenied": 403,
    "ExpiredToken": 403,
    "Throttling": 400,
}
# S3 "Error responses - List of error codes" (https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html).
S3_ERRORS: dict[str, int] = {
    "AccessDenied": 403,
    "ExpiredToken": 400,
    "InternalError": 500,
    "InvalidAccessKeyId": 403,
    "InvalidToken": 400,
    "NoSuchBucket": 404,
    "NoSuchBucketPolicy": 404,
    "ServiceUnavailable": 503,
    "SlowDown": 503,
}
# SQS answers in JSON but keeps its query error codes in `x-amzn-query-error` (SQS API
# reference "Common Errors"): these are what botocore reports.
SQS_QUERY_ERRORS: dict[str, int] = {"AccessDenied": 403, "ExpiredToken": 403}


@dataclass
class Capture:
    """One raw HTTP answer botocore received, with the operation it answered."""

    operation: OperationModel
    status: int
    headers: dict[str, str]
    body: bytes
    request_body: bytes = b""

    @property
    def name(self) -> str:
        return f"{self.operation.service_model.service_name}:{self.operation.name}"

    def header(self, name: str) -> str | None:
        wanted = name.lower()
        return next((v for k, v in self.headers.items() if k.lower() == wanted), None)


@dataclass
class Recorder:
    captures: list[Capture] = field(default_factory=list)

    def operations(self) -> set[str]:
        return {c.name for c in self.captures}


@contextmanager
def capture_http() -> Iterator[Recorder]:
    """Record every HTTP answer any botocore client in this process receives.

    A wrapper around `Endpoint._do_get_response`, the one place botocore holds both the
    operation model and the raw response (the `before-parse` event is per session, and
    rootctl builds its own sessions). Nothing is changed: the answer goes on to botocore.
    """
    recorder = Recorder()
    original = Endpoint._do_get_response

    def wrapped(self: Endpoint, request: Any, operation_model: Any, context: Any) -> Any:
        result = original(self, request, operation_model, context)
        success, _ = result
        if success is not None:
            http = success[0]
            recorder.captures.append(
                Capture(
                    operation_model,
                    http.status_code,
                    dict(http.headers),
                    http.content,
                    _as_bytes(request.body),
                )
            )
        return result

    Endpoint._do_get_response = wrapped  # type: ignore[method-assign]
    try:
        yield recorder
    finally:
        Endpoint._do_get_response = original  # type: ignore[method-assign]


def _as_bytes(body: Any) -> bytes:
    if isinstance(body, bytes):
        return body
    return body.encode("utf-8") if isinstance(body, str) else b""


# --- the checks --------------------------------------------------------------------------


def problems(capture: Capture) -> list[str]:
    """Everything in one answer that AWS's model or documentation would not produce."""
    protocol = capture.operation.service_model.protocol
    out = _request_id_problems(capture, protocol)
    if capture.status >= 300:
        out += _error_problems(capture, protocol)
    elif protocol == "query":
        out += _query_problems(capture)
    elif protocol == "rest-xml":
        out += _rest_xml_problems(capture)
    else:
        out += _json_problems(capture)
    return [f"{capture.name} {capture.status}: {p}" for p in out]


def _request_id_problems(capture: Capture, protocol: str) -> list[str]:
    if protocol == "rest-xml":
        missing = [h for h in ("x-amz-request-id", "x-amz-id-2") if not capture.header(h)]
        return [f"no {h} header (S3 always sends it)" for h in missing]
    if not capture.header("x-amzn-RequestId"):
        return ["no x-amzn-RequestId header"]
    return []


def _content_type(capture: Capture) -> str:
    return (capture.header("content-type") or "").split(";")[0].strip()


def _json_content_type(capture: Capture) -> str:
    version = capture.operation.service_model.metadata.get("jsonVersion", "1.0")
    return f"application/x-amz-json-{version}"


def _json_problems(capture: Capture) -> list[str]:
    out: list[str] = []
    expected = _json_content_type(capture)
    if _content_type(capture) != expected:
        out.append(f"Content-Type {_content_type(capture)!r}, expected {expected!r}")
    shape = capture.operation.output_shape
    if not capture.body.strip():
        return out if shape is None or not shape.required_members else [*out, "empty body"]
    try:
        data = json.loads(capture.body)
    except ValueError:
        return [*out, "body is not JSON"]
    if shape is None:
        return [*out, "body for an operation with no output"] if data else out
    return out + check_json(shape, data, "")


def _query_problems(capture: Capture) -> list[str]:
    out: list[str] = []
    if _content_type(capture) != "text/xml":
        out.append(f"Content-Type {_content_type(capture)!r}, expected 'text/xml'")
    try:
        root = ET.fromstring(capture.body)
    except ET.ParseError as exc:
        return [*out, f"body is not XML ({exc})"]
    namespace = capture.operation.service_model.metadata["xmlNamespace"]
    name = capture.operation.name
    if root.tag != f"{{{namespace}}}{name}Response":
        out.append(f"root element {root.tag!r}, expected {{{namespace}}}{name}Response")
    shape = capture.operation.output_shape
    children = {_local(c.tag): c for c in root}
    metadata = children.pop("ResponseMetadata", None)
    if metadata is None or not (metadata.findtext(f"{{{namespace}}}RequestId") or "").strip():
        out.append("no ResponseMetadata/RequestId")
    wrapper = shape.serialization.get("resultWrapper") if shape is not None else None
    result = children.pop(wrapper, None) if wrapper else None
    out += [f"undeclared element <{tag}>" for tag in children]
    if shape is not None and wrapper:
        if result is None:
            return [*out, f"no <{wrapper}>"]
        out += check_xml(shape, result, wrapper)
    return out


def _rest_xml_problems(capture: Capture) -> list[str]:
    shape = capture.operation.output_shape
    if shape is None:
        return ["body for an operation with no output"] if capture.body.strip() else []
    payload = shape.serialization.get("payload")
    if payload is not None and shape.members[payload].type_name != "structure":
        return []  # a raw payload (GetBucketPolicy's policy text): nothing to parse
    members = {n: m for n, m in shape.members.items() if "location" not in m.serialization}
    if not members:
        return ["body for an operation with no XML output"] if capture.body.strip() else []
    out: list[str] = []
    if _content_type(capture) != "application/xml":
        out.append(f"Content-Type {_content_type(capture)!r}, expected 'application/xml'")
    try:
        root = ET.fromstring(capture.body)
    except ET.ParseError as exc:
        return [*out, f"body is not XML ({exc})"]
    if payload is not None:
        shape = shape.members[payload]
    if not root.tag.startswith(f"{{{S3_NAMESPACE}}}"):
        out.append(f"root element {root.tag!r} outside S3's namespace {S3_NAMESPACE}")
    # botocore keeps an output's root element name only for payload members.
    root_name = shape.serialization.get("name")
    if root_name and _local(root.tag) != root_name:
        out.append(f"root element {_local(root.tag)!r}, expected {root_name!r}")
    return out + check_xml(shape, root, _local(root.tag))


# --- errors ------------------------------------------------------------------------------


def modeled_errors(operation: OperationModel) -> dict[str, int | None]:
    """Error code -> HTTP status of the errors the operation's model declares."""
    out: dict[str, int | None] = {}
    for shape in operation.error_shapes:
        error = shape.metadata.get("error", {})
        out[error.get("code", shape.name)] = error.get("httpStatusCode")
    return out


def error_code(capture: Capture, protocol: str) -> str | None:
    if protocol in ("query", "rest-xml"):
        try:
            root = ET.fromstring(capture.body)
        except ET.ParseError:
            return None
        found = next((e for e in root.iter() if _local(e.tag) == "Code"), None)
        return found.text if found is not None else None
    query_error = capture.header("x-amzn-query-error")
    if query_error:
        return query_error.split(";")[0]
    try:
        data = json.loads(capture.body)
    except ValueError:
        return None
    code = data.get("__type") if isinstance(data, dict) else None
    return str(code).rsplit("#", 1)[-1] if code else None


def _error_problems(capture: Capture, protocol: str) -> list[str]:
    out: list[str] = []
    code = error_code(capture, protocol)
    if code is None:
        return ["error answer without an error code"]
    if protocol == "query":
        out += _query_error_shape(capture)
    elif protocol == "json" and _content_type(capture) != _json_content_type(capture):
        out.append(
            f"Content-Type {_content_type(capture)!r}, expected {_json_content_type(capture)!r}"
        )
    known: dict[str, int | None] = dict(COMMON_ERRORS)
    if protocol == "query":
        known.update(QUERY_ERRORS)
    if protocol == "rest-xml":
        known = dict(S3_ERRORS)
    if capture.operation.service_model.service_name == "sqs":
        known.update(SQS_QUERY_ERRORS)
    known.update(modeled_errors(capture.operation))
    if capture.operation.service_model.service_name == "sqs":
        # SQS's modeled errors carry their query code (awsQueryError) as `code`.
        for shape in capture.operation.error_shapes:
            query = shape.metadata.get("error", {})
            known.setdefault(query.get("code", shape.name), query.get("httpStatusCode"))
    if code not in known:
        return [
            *out,
            f"error code {code!r} is neither modeled for the operation nor a common error",
        ]
    status = known[code]
    if status is not None and status != capture.status:
        out.append(f"error {code} with HTTP {capture.status}, AWS documents {status}")
    return out


def _query_error_shape(capture: Capture) -> list[str]:
    try:
        root = ET.fromstring(capture.body)
    except ET.ParseError:
        return ["error body is not XML"]
    namespace = capture.operation.service_model.metadata["xmlNamespace"]
    out = []
    if root.tag != f"{{{namespace}}}ErrorResponse":
        out.append(f"error root {root.tag!r}, expected {{{namespace}}}ErrorResponse")
    if root.find(f"{{{namespace}}}Error/{{{namespace}}}Code") is None:
        out.append("no Error/Code")
    if not (root.findtext(f"{{{namespace}}}RequestId") or "").strip():
        out.append("no RequestId")
    return out


# --- shapes ------------------------------------------------------------------------------


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def check_xml(shape: Shape, element: ET.Element, path: str) -> list[str]:
    """Check an XML element against a shape (query and rest-xml serialisation rules)."""
    if shape.type_name == "structure":
        return _xml_structure(shape, element, path)
    if shape.type_name == "list":
        member_shape = shape.member  # type: ignore[attr-defined]
        tag = member_shape.serialization.get("name", "member")
        out: list[str] = []
        for index, child in enumerate(element):
            if _local(child.tag) != tag:
                out.append(f"{path}: undeclared element <{_local(child.tag)}> in a list")
                continue
            out += check_xml(member_shape, child, f"{path}[{index}]")
        return out + _length(shape, len(element), path)
    if shape.type_name == "map":
        out = []
        for entry in element:
            key = next((c for c in entry if _local(c.tag) == "key"), None)
            value = next((c for c in entry if _local(c.tag) == "value"), None)
            if key is None or value is None:
                out.append(f"{path}: map entry without key/value")
                continue
            out += check_scalar(shape.key, key.text or "", f"{path}.key")  # type: ignore[attr-defined]
            out += check_xml(shape.value, value, f"{path}[{key.text}]")  # type: ignore[attr-defined]
        return out
    return check_scalar(shape, element.text or "", path)


def _xml_structure(shape: Shape, element: ET.Element, path: str) -> list[str]:
    by_tag: dict[str, tuple[str, Shape]] = {}
    for name, member in shape.members.items():  # type: ignore[attr-defined]
        if "location" in member.serialization:
            continue
        by_tag[member.serialization.get("name", name)] = (name, member)
    seen: dict[str, list[ET.Element]] = {}
    out: list[str] = []
    for child in element:
        tag = _local(child.tag)
        if tag not in by_tag:
            out.append(f"{path}: undeclared member <{tag}>")
            continue
        seen.setdefault(tag, []).append(child)
    for tag, children in seen.items():
        name, member = by_tag[tag]
        if member.type_name == "list" and member.serialization.get("flattened"):
            for index, child in enumerate(children):
                out += check_xml(member.member, child, f"{path}.{name}[{index}]")  # type: ignore[attr-defined]
            continue
        if len(children) > 1:
            out.append(f"{path}: <{tag}> appears {len(children)} times")
        out += check_xml(member, children[0], f"{path}.{name}")
    present = {by_tag_name for by_tag_name, (name, _) in by_tag.items() if by_tag_name in seen}
    for name in shape.required_members:  # type: ignore[attr-defined]
        tag = shape.members[name].serialization.get("name", name)  # type: ignore[attr-defined]
        if tag not in present:
            out.append(f"{path}: required member {name} missing")
    return out


def check_json(shape: Shape, value: Any, path: str) -> list[str]:
    """Check a decoded JSON value against a shape (json protocol rules)."""
    kind = shape.type_name
    if kind == "structure":
        if not isinstance(value, dict):
            return [f"{path}: expected an object, got {type(value).__name__}"]
        members = shape.members  # type: ignore[attr-defined]
        out = [f"{path}: undeclared member {k}" for k in value if k not in members]
        out += [
            f"{path}: required member {name} missing"
            for name in shape.required_members  # type: ignore[attr-defined]
            if value.get(name) is None
        ]
        for name, item in value.items():
            if name in members and item is not None:
                out += check_json(members[name], item, f"{path}.{name}")
        return out
    if kind == "list":
        if not isinstance(value, list):
            return [f"{path}: expected a list"]
        out = _length(shape, len(value), path)
        for index, item in enumerate(value):
            out += check_json(shape.member, item, f"{path}[{index}]")  # type: ignore[attr-defined]
        return out
    if kind == "map":
        if not isinstance(value, dict):
            return [f"{path}: expected a map"]
        out = _length(shape, len(value), path)
        for key, item in value.items():
            out += check_scalar(shape.key, str(key), f"{path}.key")  # type: ignore[attr-defined]
            out += check_json(shape.value, item, f"{path}[{key}]")  # type: ignore[attr-defined]
        return out
    if kind == "timestamp":
        if isinstance(value, bool) or not isinstance(value, int | float):
            return [f"{path}: timestamp {value!r} is not epoch seconds"]
        return []
    if kind == "boolean":
        return [] if isinstance(value, bool) else [f"{path}: {value!r} is not a boolean"]
    if kind in ("integer", "long"):
        if isinstance(value, bool) or not isinstance(value, int):
            return [f"{path}: {value!r} is not an integer"]
        return _range(shape, value, path)
    if kind == "string":
        if not isinstance(value, str):
            return [f"{path}: {value!r} is not a string"]
        return check_scalar(shape, value, path)
    return check_scalar(shape, str(value), path)


_NUMBER = re.compile(r"^-?\d+$")


def check_scalar(shape: Shape, text: str, path: str) -> list[str]:
    """Type, enum, length, range and pattern of one scalar as it appears on the wire."""
    kind = shape.type_name
    if kind == "string":
        out = _length(shape, len(text), path)
        enum = shape.metadata.get("enum")
        if enum and text not in enum:
            out.append(f"{path}: {text!r} is not one of {enum}")
        pattern = shape.metadata.get("pattern")
        if pattern and not _matches(pattern, text):
            out.append(f"{path}: {text!r} does not match {pattern}")
        return out
    if kind in ("integer", "long"):
        if not _NUMBER.match(text.strip()):
            return [f"{path}: {text!r} is not an integer"]
        return _range(shape, int(text), path)
    if kind == "boolean":
        return [] if text in ("true", "false") else [f"{path}: {text!r} is not a boolean"]
    if kind == "timestamp":
        try:
            datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return [f"{path}: {text!r} is not an ISO 8601 timestamp"]
        return []
    if kind == "blob":
        try:
            base64.b64decode(text, validate=True)
        except ValueError:
            return [f"{path}: blob is not base64"]
        return []
    return []


def _matches(pattern: str, text: str) -> bool:
    """Java regex from the model; the few Java-only constructs are translated."""
    python = pattern.replace("\\p{Alnum}", "A-Za-z0-9")
    try:
        return re.fullmatch(python, text, re.DOTALL) is not None
    except re.error:
        return True  # a construct Python cannot read: the model's other checks still apply


def _length(shape: Shape, length: int, path: str) -> list[str]:
    low, high = shape.metadata.get("min"), shape.metadata.get("max")
    out = []
    if low is not None and length < low:
        out.append(f"{path}: length {length} below the model's min {low}")
    if high is not None and length > high:
        out.append(f"{path}: length {length} above the model's max {high}")
    return out


def _range(shape: Shape, value: int, path: str) -> list[str]:
    low, high = shape.metadata.get("min"), shape.metadata.get("max")
    out = []
    if low is not None and value < low:
        out.append(f"{path}: {value} below the model's min {low}")
    if high is not None and value > high:
        out.append(f"{path}: {value} above the model's max {high}")
    return out
