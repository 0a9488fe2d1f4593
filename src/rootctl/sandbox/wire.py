"""Wire format of the sandbox: parse AWS requests, serialise responses and errors.

Results are serialised with moto's model-driven serialisers (botocore service models), so
the shapes are exactly what unmodified boto3 and AWS CLI clients expect. Errors are written
by hand per protocol because our codes are not always modelled.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import uuid
from dataclasses import dataclass, field
from functools import cache, lru_cache
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse
from xml.sax.saxutils import escape

_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/\d{8}/([^/]+)/([^/]+)/aws4_request")

# Services botocore speaks the query protocol to (form-encoded requests, XML answers and
# errors), with the namespace each answer's root element carries (the model's xmlNamespace).
# iam and sts: the root-access flows; sns: enforce's summary (rootctl.integrations.sns);
# cloudformation: the deploy tests create the stacks of deploy/cloudformation here.
# tests/sandbox/test_sandbox_query_wire.py checks both against botocore's models.
QUERY_SERVICES = {"iam", "sts", "sns", "cloudformation"}
JSON_TARGET_PREFIXES = {
    "AWSOrganizationsV20161128.": "organizations",
    "AmazonSQS.": "sqs",
    "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.": "cloudtrail",
}
XML_NAMESPACES = {
    "iam": "https://iam.amazonaws.com/doc/2010-05-08/",
    "sts": "https://sts.amazonaws.com/doc/2011-06-15/",
    "sns": "http://sns.amazonaws.com/doc/2010-03-31/",
    "cloudformation": "http://cloudformation.amazonaws.com/doc/2010-05-15/",
}

Response = tuple[int, dict[str, str], bytes]


@dataclass
class AwsRequest:
    """What the sandbox needs to know about one HTTP request."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    service: str = ""
    action: str = ""
    region: str = "us-east-1"
    access_key_id: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    @property
    def protocol(self) -> str:
        if self.service in QUERY_SERVICES:
            return "query"
        if self.service == "s3":
            return "rest-xml"
        return "json"


def parse_environ(environ: dict[str, Any]) -> AwsRequest:
    """Read a WSGI environ into an AwsRequest; the body stays readable for moto afterwards."""
    import io

    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length) if length else b""
    environ["wsgi.input"] = io.BytesIO(body)
    headers = {
        key[5:].replace("_", "-").lower(): str(value)
        for key, value in environ.items()
        if key.startswith("HTTP_")
    }
    if environ.get("CONTENT_TYPE"):
        headers["content-type"] = str(environ["CONTENT_TYPE"])
    req = AwsRequest(
        method=str(environ.get("REQUEST_METHOD", "GET")).upper(),
        path=unquote(str(environ.get("PATH_INFO", "/"))),
        query=parse_qs(str(environ.get("QUERY_STRING", "")), keep_blank_values=True),
        headers=headers,
        body=body,
    )
    match = _CREDENTIAL.search(headers.get("authorization", ""))
    if match:
        req.access_key_id, req.region, req.service = match.group(1), match.group(2), match.group(3)
    elif "X-Amz-Credential" in req.query:  # presigned URL
        parts = req.query["X-Amz-Credential"][0].split("/")
        if len(parts) >= 4:
            req.access_key_id, req.region, req.service = parts[0], parts[2], parts[3]
    _parse_action(req)
    return req


# REST-JSON operations rootctl calls (no X-Amz-Target): (service, method, path) -> action.
REST_ACTIONS = {
    ("securityhub", "POST", "/findings/import"): "BatchImportFindings",
    ("securityhub", "POST", "/findings"): "GetFindings",
}


def _parse_action(req: AwsRequest) -> None:
    rest = REST_ACTIONS.get((req.service, req.method, req.path.rstrip("/")))
    if rest is not None:
        req.action = rest
        return
    target = req.headers.get("x-amz-target", "")
    for prefix, service in JSON_TARGET_PREFIXES.items():
        if target.startswith(prefix):
            req.service = req.service or service
            req.action = target[len(prefix) :]
            try:
                req.params = json.loads(req.body or b"{}")
            except ValueError:
                req.params = {}
            return
    if req.service in QUERY_SERVICES or (
        req.headers.get("content-type", "").startswith("application/x-www-form-urlencoded")
        and req.service != "s3"
    ):
        form = parse_qs(req.body.decode("utf-8", "replace"), keep_blank_values=True)
        form.update({k: v for k, v in req.query.items() if k not in form})
        req.params = {key: values[0] for key, values in form.items()}
        req.action = req.params.get("Action", "")
        return
    if req.service == "s3":
        req.action = s3_action(req.method, req.path, req.query, req.headers.get("host", ""))


def s3_bucket_and_key(path: str, host: str) -> tuple[str | None, str | None]:
    """Bucket and key of an S3 request, path-style or virtual-hosted."""
    hostname = host.split(":")[0]
    if ".s3." in hostname or hostname.endswith(".localhost"):
        return hostname.split(".")[0], path.lstrip("/") or None
    parts = path.lstrip("/").split("/", 1)
    bucket = parts[0] or None
    key = parts[1] if len(parts) > 1 and parts[1] else None
    return bucket, key


def s3_action(method: str, path: str, query: dict[str, list[str]], host: str) -> str:
    """The IAM action name of an S3 REST request (enough for task-policy enforcement)."""
    bucket, key = s3_bucket_and_key(path, host)
    if bucket is None:
        return "ListBuckets" if method == "GET" else f"{method.title()}Service"
    if "policy" in query and key is None:
        return {
            "GET": "GetBucketPolicy",
            "PUT": "PutBucketPolicy",
            "DELETE": "DeleteBucketPolicy",
        }.get(method, "BucketPolicy")
    if key is None:
        if query:
            sub = next(iter(query)).title().replace("-", "")
            verb = {"GET": "Get", "PUT": "Put", "DELETE": "Delete", "POST": "Post"}.get(
                method, method
            )
            return f"{verb}Bucket{sub}"
        return {
            "GET": "ListObjects",
            "PUT": "CreateBucket",
            "DELETE": "DeleteBucket",
            "HEAD": "HeadBucket",
        }.get(method, f"{method.title()}Bucket")
    return {
        "GET": "GetObject",
        "PUT": "PutObject",
        "DELETE": "DeleteObject",
        "HEAD": "HeadObject",
    }.get(method, f"{method.title()}Object")


# IAM action names of API operations whose permission name differs from the operation name.
_IAM_ACTION_NAMES = {("s3", "ListBuckets"): "s3:ListAllMyBuckets"}


def iam_action(req: AwsRequest) -> str:
    """The IAM action (service:Action) a request needs."""
    return _IAM_ACTION_NAMES.get((req.service, req.action), f"{req.service}:{req.action}")


def serialize_result(
    service: str, action: str, result: dict[str, Any], request_id: str
) -> Response:
    """Serialise a successful result with moto's model-driven serialiser."""
    operation, serializer_class = _serializer(service, action)
    serializer = serializer_class(operation_model=operation, value_picker=_picker())
    out = serializer.serialize(result)
    body = out["body"]
    if isinstance(body, str):
        body = body.replace(
            "<RequestId>request-id</RequestId>", f"<RequestId>{request_id}</RequestId>"
        )
        body_bytes = body.encode("utf-8")
    else:
        body_bytes = bytes(body)
    headers = {str(k): str(v) for k, v in out["headers"].items()}
    headers["x-amzn-RequestId"] = request_id
    return int(out["status_code"]), headers, body_bytes


@lru_cache(maxsize=512)
def _serializer(service: str, action: str) -> tuple[Any, type[Any]]:
    """The operation's model and the sandbox's serialiser class for it, looked up once."""
    from moto.core.serialize import get_serializer_class
    from moto.core.utils import get_service_model

    model = get_service_model(service)
    operation = model.operation_model(action)
    return operation, fast_serializer_class(get_serializer_class(service, model.protocol))


@cache
def _picker() -> Any:
    """moto's XFormedAttributePicker, with the keys it tries on a plain dict remembered.

    For each model member the picker tries a list of candidate keys (aliases from the shape,
    the member name, their snake_case forms) until one is present. For a plain dict (what the
    sandbox's handlers and moto's DynamoDB return) that list depends only on the member name
    and its shape, so it is built once per (name, shape) instead of on every value of every
    answer. Other objects, and any picker with response transformers, take moto's path
    unchanged.
    """
    from moto.core.constants import MISSING
    from moto.core.serialize import XFormedAttributePicker
    from moto.core.utils import get_value

    class DictKeysRemembered(XFormedAttributePicker):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            self.keys: dict[tuple[str, Any], tuple[str, ...]] = {}

        def __call__(self, context: Any) -> Any:
            obj = context.obj
            if type(obj) is not dict or self.response_transformers:
                return super().__call__(context)
            remembered = (context.key, context.shape)
            keys = self.keys.get(remembered)
            if keys is None:
                keys = self.keys[remembered] = tuple(self.get_possible_keys(context))
            for key in keys:
                value = get_value(obj, key, MISSING)
                if value is not MISSING:
                    return value
            return None

    return DictKeysRemembered()


def speed_up_moto_serialisers() -> None:
    """moto's own answers (DynamoDB, Organizations, S3, SQS, ...) are serialised like the
    sandbox's own: with the remembered keys of `_picker()` and `fast_serializer_class`.

    moto's `ActionResult.execute_result` builds a new `XFormedAttributePicker` for every
    answer, which works out the candidate keys of every member of every value again, and
    its serialisers build a picker context (with the joined key path) per value: most of a
    DynamoDB answer's CPU. The two names it calls are pointed at `_moto_picker` (the shared
    picker without response transformers, moto's own class with them) and
    `_moto_serializer_class`. Answers are the same bytes (tests/sandbox/test_sandbox_xml_body.py).
    Idempotent.
    """
    import moto.core.responses

    responses: Any = moto.core.responses  # moto's module globals, not exports
    if responses.XFormedAttributePicker is not _moto_picker:
        _MOTO_NAMES["XFormedAttributePicker"] = responses.XFormedAttributePicker
        responses.XFormedAttributePicker = _moto_picker
    if responses.get_serializer_class is not _moto_serializer_class:
        _MOTO_NAMES["get_serializer_class"] = responses.get_serializer_class
        responses.get_serializer_class = _moto_serializer_class


_MOTO_NAMES: dict[str, Any] = {}


def _moto_picker(response_transformers: dict[str, Any] | None = None) -> Any:
    if response_transformers:
        return _MOTO_NAMES["XFormedAttributePicker"](response_transformers=response_transformers)
    return _picker()


def _moto_serializer_class(service_name: str, protocol: str) -> type[Any]:
    return fast_serializer_class(_MOTO_NAMES["get_serializer_class"](service_name, protocol))


_FAST_CLASSES: dict[type[Any], type[Any]] = {}


def fast_serializer_class(base: type[Any]) -> type[Any]:
    """moto's serialiser class `base`, with two shortcuts that change no byte of an answer:

    - `get_value` on a plain dict with the shared picker reads the remembered keys directly,
      without the picker context moto builds per value (the first look-up of a member goes
      through moto's path, which remembers it);
    - an XML serialiser that writes its body with xmltodict gets the same body from
      rootctl.sandbox.xmlbody.unparse instead (byte-identical, several times faster).
    """
    known = _FAST_CLASSES.get(base)
    if known is not None:
        return known
    from moto.core.constants import MISSING
    from moto.core.serialize import BaseXMLSerializer, ResponseSerializer

    from rootctl.sandbox.xmlbody import unparse

    picker = _picker()
    remembered = picker.keys
    plain: dict[tuple[str, Any], tuple[str, ...]] = {}  # remembered keys without a dot path
    moto_get_value = ResponseSerializer.get_value

    def get_value(self: Any, value: Any, key: str, shape: Any) -> Any:
        if type(value) is dict and self._value_picker is picker:
            keys = plain.get((key, shape))
            if keys is None:
                keys = remembered.get((key, shape))
                if keys is not None and not any("." in k for k in keys):
                    plain[key, shape] = keys
                else:
                    keys = None
            if keys is not None:
                for candidate in keys:
                    found = value.get(candidate, MISSING)
                    if found is not MISSING:
                        return found
                return None
        return moto_get_value(self, value, key, shape)

    attributes: dict[str, Any] = {"get_value": get_value}
    if (
        issubclass(base, BaseXMLSerializer)
        and base._serialize_body is BaseXMLSerializer._serialize_body
    ):

        def _serialize_body(self: Any, body: dict[str, Any]) -> str:
            if self.pretty_print:  # never asked by the sandbox: xmltodict's pretty printing
                return str(base._serialize_body(self, body))
            return unparse(body)

        attributes["_serialize_body"] = _serialize_body
    made = type(f"Sandbox{base.__name__}", (base,), attributes)
    return _FAST_CLASSES.setdefault(base, made)


def error_response(req: AwsRequest, code: str, message: str, status: int = 400) -> Response:
    """An AWS-shaped error for the request's protocol."""
    headers = {"x-amzn-RequestId": req.request_id}
    if req.protocol == "query":
        namespace = XML_NAMESPACES.get(req.service, "")
        fault = "Sender" if status < 500 else "Receiver"
        body = (
            f'<ErrorResponse xmlns="{namespace}"><Error><Type>{fault}</Type>'
            f"<Code>{escape(code)}</Code><Message>{escape(message)}</Message></Error>"
            f"<RequestId>{req.request_id}</RequestId></ErrorResponse>"
        )
        headers["Content-Type"] = "text/xml"
        return status, headers, body.encode("utf-8")
    if req.protocol == "rest-xml":
        headers = s3_request_headers(req.request_id)
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Error><Code>{escape(code)}</Code><Message>{escape(message)}</Message>"
            f"<RequestId>{req.request_id}</RequestId>"
            f"<HostId>{headers['x-amz-id-2']}</HostId></Error>"
        )
        headers["Content-Type"] = "application/xml"
        return status, headers, body.encode("utf-8")
    headers["Content-Type"] = "application/x-amz-json-1.1"
    if req.service == "sqs":
        # SQS is awsQueryCompatible: botocore maps this header to the legacy query error code.
        headers["x-amzn-query-error"] = f"{code};{'Sender' if status < 500 else 'Receiver'}"
        headers["Content-Type"] = "application/x-amz-json-1.0"
    return status, headers, json.dumps({"__type": code, "message": message}).encode("utf-8")


def fault_status(req: AwsRequest, code: str) -> int:
    """The HTTP status AWS answers `code` with on this operation (an injected `fail_actions`
    error): the status its model declares for the code (SNS AuthorizationError 403, Security
    Hub InvalidAccessException 401), else 500/503 for the server-side common errors, 403 for
    a denial and 400 for the rest (the common-errors pages of the IAM, STS and SNS API
    references)."""
    modeled = _modeled_status(req.service, req.action, code)
    if modeled is not None:
        return modeled
    if code in ("InternalFailure", "InternalError"):
        return 500
    if code == "ServiceUnavailable":
        return 503
    return 403 if "Denied" in code else 400


def _modeled_status(service: str, action: str, code: str) -> int | None:
    from botocore.exceptions import DataNotFoundError
    from botocore.model import OperationNotFoundError
    from moto.core.utils import get_service_model

    try:
        operation = get_service_model(service).operation_model(action)
    except (DataNotFoundError, OperationNotFoundError):
        return None  # not a botocore service or operation: no model to follow
    for shape in operation.error_shapes:
        error = shape.metadata.get("error") or {}
        if error.get("code", shape.name) == code and "httpStatusCode" in error:
            return int(error["httpStatusCode"])
    return None


def s3_request_headers(request_id: str) -> dict[str, str]:
    """S3's two request ids: every S3 answer carries both (S3 API reference, Common Response Headers)."""
    host_id = base64.b64encode(hashlib.sha256(request_id.encode()).digest()).decode()
    return {"x-amz-request-id": request_id.replace("-", "")[:16].upper(), "x-amz-id-2": host_id}


def json_content_type(service: str) -> str:
    """The JSON protocol version botocore's model declares (SQS 1.0, the others 1.1)."""
    return "application/x-amz-json-1.0" if service == "sqs" else "application/x-amz-json-1.1"


def access_denied(req: AwsRequest, principal_arn: str, reason: str) -> Response:
    """AccessDenied in the spelling each protocol uses, with AWS's message layout."""
    action = iam_action(req)
    message = f"User: {principal_arn} is not authorized to perform: {action} {reason}"
    if req.protocol == "json" and req.service != "sqs":
        return error_response(req, "AccessDeniedException", message, 400)
    return error_response(req, "AccessDenied", message, 403)


def queue_url_parts(url: str) -> tuple[str, str]:
    """(account id, queue name) of an SQS queue URL."""
    parts = urlparse(url).path.strip("/").split("/")
    if len(parts) >= 2:
        return parts[-2], parts[-1]
    return "", parts[-1] if parts else ""
