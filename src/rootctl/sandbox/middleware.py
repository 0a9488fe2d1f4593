"""The sandbox's WSGI application: moto's server with our extension in front of it.

For every request: identify the signer from its access key (our index first, moto's scan
once per unknown key), inject faults, enforce task policies and SCPs on root identities,
answer the operations we own, and hand the rest to moto in the right account.
"""

from __future__ import annotations

import contextlib
import json
import random
import socket
import struct
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from functools import cache
from http import HTTPStatus
from typing import Any

from rootctl.sandbox import handlers
from rootctl.sandbox.model import CallRecord, FaultKind, Principal, SandboxState, picked
from rootctl.sandbox.orgview import org_context
from rootctl.sandbox.wire import (
    AwsRequest,
    Response,
    access_denied,
    error_response,
    fault_status,
    iam_action,
    json_content_type,
    parse_environ,
    queue_url_parts,
    s3_bucket_and_key,
    s3_request_headers,
)
from rootctl.tasks import Task, task_policy_document

StartResponse = Callable[..., Any]
CONTROL_PREFIX = "/_rootctl/"
READ_PREFIXES = ("Get", "List", "Describe", "Lookup", "Head")
_KNOWN_STATUS = frozenset(status.value for status in HTTPStatus)
# DynamoDB applies a conditional write atomically; moto checks then writes without a lock,
# so concurrent requests could both pass one condition. DynamoDB calls go to moto one at a time.
_DYNAMODB = threading.Lock()


def is_mutating(action: str) -> bool:
    """True for calls that change state (AssumeRoot opens a session: counted as mutating)."""
    return not action.startswith(READ_PREFIXES) and action not in ("", "GetCallerIdentity")


class TokenBucket:
    """Requests per second allowed by --throttle-rps; thread-safe."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.tokens = rate
        self.updated = time.monotonic()
        self.lock = threading.Lock()

    def take(self) -> bool:
        with self.lock:
            now = time.monotonic()
            self.tokens = min(self.rate, self.tokens + (now - self.updated) * self.rate)
            self.updated = now
            if self.tokens >= 1:
                self.tokens -= 1
                return True
            return False


class FaultCounts:
    """Calls numbered for count-based faults since the settings were last made."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.calls = 0  # API calls that reached fault injection
        self.errors = 0  # errors injected by count (odd: 500, even: 503)
        self.eligible = 0  # successful changes a lost response could hit
        self.lost = 0  # answers lost by count


class SandboxApp:
    """WSGI app wrapping moto's DomainDispatcherApplication."""

    def __init__(
        self, state: SandboxState, moto_app: Any, control: Callable[[AwsRequest], Response]
    ) -> None:
        self.state = state
        self.moto_app = moto_app
        self.control = control
        self.bucket: TokenBucket | None = None
        self.random = random.Random()
        self._counts = FaultCounts()

    def configure_faults(self) -> None:
        """Apply the settings in `state.faults`: counts start again from call 1."""
        faults = self.state.faults
        self.bucket = TokenBucket(faults.throttle_rps) if faults.throttle_rps > 0 else None
        self.random = random.Random(faults.seed)
        self._counts = FaultCounts()

    # -- WSGI ----------------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        req = parse_environ(environ)
        if req.path.startswith(CONTROL_PREFIX):
            return self._reply(start_response, self.control(req))
        injected = self._fault(req)
        if injected is not None:
            kind, fault = injected
            self._record(req, None, fault[0], _code_of(fault), fault=kind)
            return self._reply(start_response, fault)
        principal = self.identify(req.access_key_id)
        if principal is None and req.access_key_id is not None:
            response = _invalid_key(req)
            self._record(req, None, response[0], _code_of(response))
            return self._reply(start_response, response)
        answer = self._dispatch(req, principal, environ)
        if answer is None:
            answer = shape_response(req, self._to_moto(req, principal, environ))
        lost = self._lose_response(req, principal, answer[0])
        if lost is not None:
            return self._lost(req, principal, answer[0], lost, environ, start_response)
        self._record(req, principal, answer[0], _code_of(answer))
        return self._reply(start_response, answer)

    def _dispatch(
        self, req: AwsRequest, principal: Principal | None, environ: dict[str, Any]
    ) -> Response | None:
        """Answer the request ourselves, or return None to let moto answer it."""
        if principal is None:
            return None
        if principal.kind in ("root-session", "root-user"):
            expired = _expired(self.state, req, principal)
            if expired is not None:
                return expired  # authentication fails before any policy or CloudTrail record
            # GetCallerIdentity needs no permission and cannot be denied (STS API reference).
            is_identity = req.service == "sts" and req.action == "GetCallerIdentity"
            denied = None if is_identity else self._root_denial(req, principal)
            self._record_root_event(req, principal, denied)
            if denied is not None:
                return denied
            if is_identity:
                return handlers.get_caller_identity(self.state, req, principal)
            if (
                req.service == "iam"
                and req.action in handlers.ROOT_USER_HANDLERS
                and "UserName" not in req.params
            ):
                return handlers.ROOT_USER_HANDLERS[req.action](self.state, req, principal)
            if principal.kind == "root-user" and principal.access_key_id:
                self._mark_root_key_used(principal, req)
        handler = handlers.HANDLERS.get((req.service, req.action))
        if handler is not None:
            return handler(self.state, req, principal)
        guard = handlers.GUARDS.get((req.service, req.action))
        if guard is not None:
            refused = guard(self.state, req, principal)
            if refused is not None:
                return refused
        if req.service == "organizations" and req.action.startswith(("List", "Describe")):
            # Delegated administrators may call Organizations' read-only APIs (AWS allows it).
            org = org_context(principal.account_id)
            if org and principal.account_id in org.delegated_admins():
                environ["HTTP_X_MOTO_ACCOUNT_ID"] = org.management_account_id
        return None

    def _to_moto(
        self, req: AwsRequest, principal: Principal | None, environ: dict[str, Any]
    ) -> Response:
        """moto's answer, held back: a lost-response fault may still replace it."""
        if principal is not None and "HTTP_X_MOTO_ACCOUNT_ID" not in environ:
            environ["HTTP_X_MOTO_ACCOUNT_ID"] = principal.account_id
        started: list[tuple[str, list[tuple[str, str]]]] = []

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            started.append((status, headers))
            return lambda data: None

        with _DYNAMODB if req.service == "dynamodb" else contextlib.nullcontext():
            body = b"".join(self.moto_app(environ, capture))
        if not started:
            return error_response(req, "InternalFailure", "moto gave no response.", 500)
        status_line, header_list = started[-1]
        return int(status_line.split()[0]), dict(header_list), body

    @staticmethod
    def _reply(start_response: StartResponse, response: Response) -> Iterable[bytes]:
        status, headers, body = response
        reason = HTTPStatus(status).phrase if status in _KNOWN_STATUS else "Error"
        if not any(name.lower() == "content-length" for name in headers):
            # moto sets its own (a HEAD answer's length is the object's, not the body's).
            headers = {**headers, "Content-Length": str(len(body))}
        start_response(f"{status} {reason}", list(headers.items()))
        return [body]

    # -- identity --------------------------------------------------------------------------

    def identify(self, access_key_id: str | None) -> Principal | None:
        """The principal behind an access key id, or None for an unknown key."""
        if access_key_id is None:
            return None
        state = self.state
        with state.lock:
            session = state.sessions.get(access_key_id)
            if session is not None:
                return Principal(
                    kind="root-session",
                    account_id=session.account_id,
                    arn=f"arn:aws:iam::{session.account_id}:root",
                    access_key_id=access_key_id,
                    session=session,
                )
            known = state.identities.get(access_key_id)
        if known is not None:
            return known
        found = _moto_identity(access_key_id)
        if found is not None:
            with state.lock:
                state.identities[access_key_id] = found
        return found

    # -- enforcement -----------------------------------------------------------------------

    def _root_denial(self, req: AwsRequest, principal: Principal) -> Response | None:
        """Expired session, task policy, then SCPs: the checks AWS applies to root identities."""
        from rootctl.guardrails.evaluate import RequestContext, evaluate_policy_text, evaluate_scps

        session = principal.session
        context = self._request_context(req, principal)
        request = RequestContext(
            action=iam_action(req), resource=self._resource(req, principal), context=context
        )
        if session is not None:
            result = evaluate_policy_text(
                _task_policy_text(session.task), request, name=session.task.value
            )
            if result.explicit_deny is not None:
                return access_denied(
                    req,
                    principal.arn,
                    f"with an explicit deny in the task policy {session.task.value} (statement {result.explicit_deny.sid})",
                )
        org = org_context(principal.account_id)
        if org is not None and principal.account_id != org.management_account_id:
            decision = evaluate_scps(org.scp_level_texts(principal.account_id), request)
            if not decision.allowed:
                if decision.denied_by is not None:
                    why = f"with an explicit deny in a service control policy ({decision.denied_by.policy}, statement {decision.denied_by.sid})"
                else:
                    why = f"because no service control policy allows the action at {decision.missing_allow_level}"
                return access_denied(req, principal.arn, why)
        return None

    def _request_context(self, req: AwsRequest, principal: Principal) -> dict[str, Any]:
        context: dict[str, Any] = {
            "aws:PrincipalArn": principal.arn,
            "aws:PrincipalAccount": principal.account_id,
            "aws:PrincipalType": "Account",
            "aws:RequestedRegion": req.region,
            "aws:ResourceAccount": principal.account_id,
        }
        if principal.kind == "root-session":
            context["aws:AssumedRoot"] = True
        if req.service == "sqs" and req.params.get("QueueUrl"):
            context["aws:ResourceAccount"] = queue_url_parts(str(req.params["QueueUrl"]))[0]
        return context

    @staticmethod
    def _resource(req: AwsRequest, principal: Principal) -> str:
        account = principal.account_id
        if req.service == "iam":
            if req.action == "GetAccountSummary":
                return "*"
            if "UserName" in req.params:
                return f"arn:aws:iam::{account}:user/{req.params['UserName']}"
            # Root-user operations act on the root user; the root's own virtual MFA device is
            # evaluated as the root user too (docs/sandbox.md explains this modelling choice).
            return f"arn:aws:iam::{account}:root"
        if req.service == "s3":
            bucket, key = s3_bucket_and_key(req.path, req.headers.get("host", ""))
            if bucket is None:
                return "*"
            return f"arn:aws:s3:::{bucket}" + (f"/{key}" if key else "")
        if req.service == "sqs":
            url = req.params.get("QueueUrl")
            if url:
                owner, name = queue_url_parts(str(url))
                return f"arn:aws:sqs:{req.region}:{owner}:{name}"
            if req.params.get("QueueName"):
                return f"arn:aws:sqs:{req.region}:{account}:{req.params['QueueName']}"
            return "*"
        return "*"

    def _record_root_event(
        self, req: AwsRequest, principal: Principal, denied: Response | None
    ) -> None:
        """CloudTrail event in the member account for every call made as root."""
        session = principal.session
        identity: dict[str, Any] = {
            "type": "Root",
            "principalId": principal.account_id,
            "arn": principal.arn,
            "accountId": principal.account_id,
            "accessKeyId": principal.access_key_id,
        }
        if session is not None:
            attributes = {"mfaAuthenticated": "false"}
            if session.created is not None:
                attributes["creationDate"] = session.created.strftime("%Y-%m-%dT%H:%M:%SZ")
            # assumedRoot on member-account events: UNCONFIRMED in AWS's docs (docs/sandbox.md).
            identity["sessionContext"] = {"attributes": attributes, "assumedRoot": "true"}
        resource = self._resource(req, principal)
        event: dict[str, Any] = {
            "eventVersion": "1.10",
            "userIdentity": identity,
            "eventTime": self.state.now().strftime("%Y-%m-%dT%H:%M:%SZ"),
            "eventSource": f"{req.service}.amazonaws.com",
            "eventName": req.action,
            "awsRegion": event_region(req),
            "sourceIPAddress": "127.0.0.1",
            "userAgent": req.headers.get("user-agent", ""),
            "requestParameters": _safe_parameters(req),
            "responseElements": None,
            "readOnly": not is_mutating(req.action),
            "requestID": req.request_id,
            "eventID": str(uuid.uuid4()),
            "eventType": "AwsApiCall",
            "managementEvent": True,
            "recipientAccountId": principal.account_id,
            "eventCategory": "Management",
            "resources": []
            if resource == "*"
            else [
                {"accountId": principal.account_id, "ARN": resource, "type": _resource_type(req)}
            ],
        }
        if denied is not None:
            event["errorCode"] = _code_of(denied)
            event["errorMessage"] = _message_of(denied)
        self.state.record_event(principal.account_id, event)

    def _mark_root_key_used(self, principal: Principal, req: AwsRequest) -> None:
        with self.state.lock:
            user = self.state.root_user(principal.account_id)
            for key in user.access_keys:
                if key.access_key_id == principal.access_key_id:
                    key.last_used_date = self.state.now()
                    key.last_used_service = req.service
                    key.last_used_region = req.region

    # -- faults and call log -----------------------------------------------------------------

    def _fault(self, req: AwsRequest) -> tuple[FaultKind, Response] | None:
        """Latency, throttling and injected errors: all before the request is applied.

        Count-based faults are decided first and draw nothing from the seeded generator,
        so adding them leaves the sequence a rate-based setting draws unchanged.
        """
        faults = self.state.faults
        counts = self._counts
        with counts.lock:
            counts.calls += 1
            number = counts.calls
            throttle = picked(number, faults.throttle_every, faults.throttle_calls)
            error = not throttle and picked(number, faults.error_every, faults.error_calls)
            if error:
                counts.errors += 1
            internal = counts.errors % 2 == 1
        if faults.latency_ms > 0:
            time.sleep(faults.latency_ms / 1000.0)
        if throttle:
            return "throttle", _throttled(req)
        if error:
            return "error", _injected_error(req, internal)
        refused = faults.fail_actions.get(req.action)
        if refused:
            return "error", error_response(
                req, refused, f"Injected failure of {req.action}.", fault_status(req, refused)
            )
        if self.bucket is not None and not self.bucket.take():
            return "throttle", _throttled(req)
        if faults.error_rate > 0 and self.random.random() < faults.error_rate:
            return "error", _injected_error(req, self.random.random() < 0.5)
        return None

    def _lose_response(
        self, req: AwsRequest, principal: Principal | None, status: int
    ) -> tuple[str, bool | None] | None:
        """How a successful change the lost-response fault hits loses its answer, or None.

        (kind, internal): by count, the kinds in turn and 500/503 alternating; by rate,
        drawn (internal None: drawn later), in the order used before counts existed.
        """
        faults = self.state.faults
        if not (
            principal is not None
            and 200 <= status < 300
            and is_mutating(req.action)
            and faults.loses_response(req.action, principal.account_id)
        ):
            return None
        counts = self._counts
        with counts.lock:
            counts.eligible += 1
            if picked(counts.eligible, faults.lost_response_every, faults.lost_response_calls):
                counts.lost += 1
                kinds = faults.lost_response_kinds
                return kinds[(counts.lost - 1) % len(kinds)], counts.lost % 2 == 1
        if faults.lost_response_rate > 0 and self.random.random() < faults.lost_response_rate:
            return self.random.choice(faults.lost_response_kinds), None
        return None

    def _lost(
        self,
        req: AwsRequest,
        principal: Principal | None,
        applied: int,
        how: tuple[str, bool | None],
        environ: dict[str, Any],
        start_response: StartResponse,
    ) -> Iterable[bytes]:
        """The change is made; the client gets a 500/503, or the connection closes unanswered."""
        kind, internal = how
        sock = environ.get("werkzeug.socket")
        if kind == "drop" and sock is not None:
            self._record(req, principal, 0, None, fault="lost-response", applied_status=applied)
            _drop(sock)
            # werkzeug treats a ConnectionError from the app as a dropped connection: it
            # writes nothing and closes the socket.
            raise ConnectionResetError("rootctl sandbox: injected lost response")
        if internal is None:
            internal = self.random.random() < 0.5
        response = _injected_error(req, internal)
        self._record(
            req,
            principal,
            response[0],
            _code_of(response),
            fault="lost-response",
            applied_status=applied,
        )
        return self._reply(start_response, response)

    def _record(
        self,
        req: AwsRequest,
        principal: Principal | None,
        status: int,
        code: str | None,
        *,
        fault: FaultKind | None = None,
        applied_status: int | None = None,
    ) -> None:
        session = principal.session if principal else None
        self.state.record_call(
            CallRecord(
                time=time.time(),
                service=req.service,
                action=req.action,
                account_id=principal.account_id if principal else "",
                principal_kind=principal.kind if principal else "anonymous",
                principal_arn=principal.arn if principal else "",
                access_key_id=req.access_key_id,
                status=status,
                error_code=code,
                task=session.task.value if session else None,
                fault=fault,
                applied_status=applied_status,
            )
        )


@cache
def _task_policy_text(task: Task) -> str:
    """The task policy's document as JSON text: the key its evaluations are remembered by."""
    return json.dumps(task_policy_document(task), sort_keys=True)


def _expired(state: SandboxState, req: AwsRequest, principal: Principal) -> Response | None:
    """ExpiredToken once a root session is past its expiration, for every call.

    GetCallerIdentity needs no permission but still authenticates, so it fails too. Status
    and spelling per protocol: IAM and STS common errors (ExpiredToken, HTTP 403), the JSON
    services' common errors (ExpiredTokenException, HTTP 403), S3's error-code list
    (ExpiredToken, HTTP 400); SQS sends the query code ExpiredToken in x-amzn-query-error.
    """
    session = principal.session
    if session is None or state.now() < session.expiration:
        return None
    message = "The security token included in the request is expired"
    if req.protocol == "rest-xml":
        return error_response(req, "ExpiredToken", "The provided token has expired.", 400)
    if req.protocol == "query" or req.service == "sqs":
        return error_response(req, "ExpiredToken", message, 403)
    return error_response(req, "ExpiredTokenException", message, 403)


def shape_response(req: AwsRequest, response: Response) -> Response:
    """moto's answer with the headers AWS sends: the JSON Content-Type, S3's request ids.

    moto answers Organizations with `text/html` and S3 without `x-amz-request-id`; botocore
    does not care, other SDKs and proxies do (tests/sandbox/test_sandbox_wire_validator.py).
    """
    status, headers, body = response
    names = {name.lower(): name for name in headers}
    if req.protocol == "json" and not headers.get(names.get("content-type", ""), "").startswith(
        "application/x-amz-json-"
    ):
        headers = {k: v for k, v in headers.items() if k.lower() != "content-type"}
        headers["Content-Type"] = json_content_type(req.service)
    if req.protocol == "rest-xml" and "x-amz-request-id" not in names:
        headers = {**headers, **s3_request_headers(req.request_id)}
    if req.service == "s3" and req.action == "PutBucketPolicy" and status == 200:
        # moto answers 200 with the body "True"; S3 answers 204 No Content (S3 API
        # reference, PutBucketPolicy, "Example 1: Response").
        headers = {k: v for k, v in headers.items() if k.lower() != "content-length"}
        return 204, headers, b""
    return status, headers, body


# Global services: CloudTrail records their events in us-east-1, whatever region signed.
_GLOBAL_EVENT_SERVICES = frozenset({"iam", "organizations"})


def event_region(req: AwsRequest) -> str:
    """The region whose event history holds this call, as CloudTrail files it."""
    return "us-east-1" if req.service in _GLOBAL_EVENT_SERVICES else req.region


def _drop(sock: socket.socket) -> None:
    """Close the client's connection with no response (a reset where the OS allows it)."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # the client already went away: nothing left to drop


def _injected_error(req: AwsRequest, internal: bool) -> Response:
    if internal:
        code = "InternalFailure" if req.protocol != "rest-xml" else "InternalError"
        return error_response(req, code, "Injected internal error.", 500)
    return error_response(req, "ServiceUnavailable", "Injected service unavailable.", 503)


def _moto_identity(access_key_id: str) -> Principal | None:
    """Find a key moto issued (IAM user keys, AssumeRole credentials): one scan per new key."""
    from moto.iam.models import iam_backends

    for account_id, backends in list(iam_backends.items()):
        backend = backends["global"]
        key = backend.access_keys.get(access_key_id)
        if key is not None:
            if key.role_arn:
                arn = _assumed_role_arn(str(account_id), access_key_id, str(key.role_arn))
            else:
                arn = f"arn:aws:iam::{account_id}:user/{key.user_name}"
            return Principal(
                kind="iam", account_id=str(account_id), arn=arn, access_key_id=access_key_id
            )
    return None


def _assumed_role_arn(account_id: str, access_key_id: str, role_arn: str) -> str:
    """arn:aws:sts::<account>:assumed-role/<role>/<session>, as AWS names a role session."""
    from moto.sts.models import sts_backends

    assumed = sts_backends[account_id]["aws"].get_assumed_role_from_access_key(access_key_id)
    if assumed is not None:
        return str(assumed.arn)
    return role_arn.replace(":iam::", ":sts::").replace(":role/", ":assumed-role/")


def _invalid_key(req: AwsRequest) -> Response:
    message = "The security token included in the request is invalid."
    if req.protocol == "query":
        return error_response(req, "InvalidClientTokenId", message, 403)
    if req.protocol == "rest-xml":
        return error_response(
            req,
            "InvalidAccessKeyId",
            "The AWS Access Key Id you provided does not exist in our records.",
            403,
        )
    return error_response(req, "UnrecognizedClientException", message, 400)


def _throttled(req: AwsRequest) -> Response:
    if req.protocol == "rest-xml":
        return error_response(req, "SlowDown", "Please reduce your request rate.", 503)
    if req.service == "organizations":
        return error_response(
            req,
            "TooManyRequestsException",
            "AWS Organizations can't complete your request because another request is already in progress. Try again later.",
            400,
        )
    if req.protocol == "json":
        return error_response(req, "ThrottlingException", "Rate exceeded", 400)
    return error_response(req, "Throttling", "Rate exceeded", 400)


def _code_of(response: Response) -> str | None:
    status, _, body = response
    return _code_from_body(body) if status >= 400 else None


def _code_from_body(body: bytes) -> str | None:
    text = body.decode("utf-8", "replace")
    if "<Code>" in text:
        return text.split("<Code>", 1)[1].split("</Code>", 1)[0]
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if isinstance(data, dict):
        value = data.get("__type")
        return str(value).rsplit("#", 1)[-1] if value else None
    return None


def _message_of(response: Response) -> str:
    text = response[2].decode("utf-8", "replace")
    if "<Message>" in text:
        return text.split("<Message>", 1)[1].split("</Message>", 1)[0]
    try:
        return str(json.loads(text).get("message", ""))
    except (ValueError, AttributeError):
        return ""


def _safe_parameters(req: AwsRequest) -> dict[str, Any]:
    """Request parameters as sent, without anything that could carry a secret.

    S3 records the bucket, the Host header and the sub-resource (AWS's DeleteBucketPolicy
    example: bucketName, Host, policy "").
    """
    out: dict[str, Any] = {}
    if req.service == "s3":
        bucket, _ = s3_bucket_and_key(req.path, req.headers.get("host", ""))
        if bucket:
            out["bucketName"] = bucket
        out["Host"] = req.headers.get("host", "")
        out.update(
            {key: values[0] for key, values in req.query.items() if not key.startswith("X-Amz-")}
        )
        return out
    for key, value in req.params.items():
        if key in ("Action", "Version") or "Password" in key or "Secret" in key or "Token" in key:
            continue
        out[key[:1].lower() + key[1:]] = value
    return out


def _resource_type(req: AwsRequest) -> str:
    return {"s3": "AWS::S3::Bucket", "sqs": "AWS::SQS::Queue", "iam": "AWS::IAM::User"}.get(
        req.service, ""
    )
