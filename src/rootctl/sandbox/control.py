"""Who may use the sandbox's control API (`/_rootctl/...`) and what a request may carry.

The control API hands out every secret the sandbox issued and moves its clock and faults,
so a web page must not reach it. Three checks close the browser's ways in:

- the Host header must name the loopback address (or the bound host) with the server's
  port: a DNS-rebinding page sends its own host name and is refused;
- every route but `health` needs the per-run token in the `X-Rootctl-Token` header: a page
  cannot know it, and a custom header cannot be sent cross-site without a CORS preflight,
  which the sandbox never grants;
- a body must be a JSON object sent as `Content-Type: application/json`: an HTML form can
  only send urlencoded, multipart or text/plain bodies.

Then every value is checked before anything changes (a NaN clock offset used to break
every AssumeRoot until restart); a refusal is a 4xx with one line saying what to fix.
"""

from __future__ import annotations

import hmac
import json
import math
import re
from typing import Any

from rootctl.sandbox.wire import AwsRequest

TOKEN_HEADER = "X-Rootctl-Token"
TOKEN_ENV = "ROOTCTL_SANDBOX_TOKEN"
OPEN_ROUTES = frozenset({"health"})  # a liveness probe: no secret, no change
MAX_BODY_BYTES = 64 * 1024
# One advance moves at most ten years; the offset stays under a century, so that every
# date the sandbox computes (session expiry, CloudTrail times) stays a valid datetime.
MAX_ADVANCE_SECONDS = 10 * 365 * 86_400
MAX_CLOCK_OFFSET = 100 * 365 * 86_400
_ACCOUNT_ID = re.compile(r"\d{12}")
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")


class ControlError(Exception):
    """A refused control request: the HTTP status and the one-line reason."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def allowed_hosts(bound_host: str, port: int) -> frozenset[str]:
    """Host header values that name this server: loopback names or the bound host, with the port."""
    bound = f"[{bound_host}]" if ":" in bound_host else bound_host
    names = {*LOOPBACK_NAMES, bound.lower()} - {"0.0.0.0", "[::]"}
    hosts = {f"{name}:{port}" for name in names}
    if port == 80:  # clients omit the default port
        hosts |= names
    return frozenset(hosts)


def check_access(req: AwsRequest, route: str, hosts: frozenset[str], token: str) -> None:
    """Host first (a rebinding page learns nothing, not even the token rule), then the token."""
    host = req.headers.get("host", "").strip().lower()
    if host not in hosts:
        raise ControlError(
            403, f"control API: host {host[:100]!r} is not allowed; use http://127.0.0.1:PORT"
        )
    if route in OPEN_ROUTES:
        return
    given = req.headers.get(TOKEN_HEADER.lower(), "")
    if not given:
        raise ControlError(
            401, f"control API: missing {TOKEN_HEADER} header (the {TOKEN_ENV} printed by serve)"
        )
    if not hmac.compare_digest(given.encode("utf-8", "replace"), token.encode("utf-8")):
        raise ControlError(401, f"control API: wrong {TOKEN_HEADER}")


def parse_body(req: AwsRequest) -> dict[str, Any]:
    """The JSON object a POST carries; GET and DELETE carry nothing."""
    if req.method != "POST":
        if req.body:
            raise ControlError(400, f"control API: a {req.method} request has no body")
        return {}
    media_type = req.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type != "application/json":
        raise ControlError(
            415, f"control API: send Content-Type: application/json, not {media_type[:60]!r}"
        )
    if len(req.body) > MAX_BODY_BYTES:
        raise ControlError(413, f"control API: body over {MAX_BODY_BYTES} bytes")
    try:
        payload = json.loads(req.body.decode("utf-8"), parse_constant=_no_constant)
    except (UnicodeDecodeError, ValueError) as exc:
        raise ControlError(400, f"control API: body is not JSON ({exc})") from None
    if not isinstance(payload, dict):
        raise ControlError(400, "control API: body must be a JSON object")
    return payload


def _no_constant(name: str) -> Any:
    """JSON's NaN/Infinity extensions: Python accepts them, the control API does not."""
    raise ValueError(f"{name} is not a JSON number")


def only_keys(payload: dict[str, Any], route: str, allowed: set[str]) -> None:
    unknown = sorted(set(payload) - allowed)
    if unknown:
        raise ControlError(
            400, f"{route}: unknown key {unknown[0][:60]!r} (allowed: {', '.join(sorted(allowed))})"
        )


def clock_advance(payload: dict[str, Any], offset: float) -> float:
    """`advance_seconds`: a finite number from 0 that keeps the offset within a century."""
    only_keys(payload, "clock", {"advance_seconds"})
    if "advance_seconds" not in payload:
        raise ControlError(400, "clock: advance_seconds is required")
    try:
        return checked_advance(payload["advance_seconds"], offset)
    except ValueError as exc:
        raise ControlError(400, f"clock: {exc}") from None


def checked_advance(seconds: object, offset: float) -> float:
    """The advance as a float, or ValueError saying why it would break the clock."""
    if (
        not isinstance(seconds, int | float)
        or isinstance(seconds, bool)
        or not math.isfinite(seconds)
        or not 0 <= seconds <= MAX_ADVANCE_SECONDS
    ):
        raise ValueError(
            f"advance_seconds must be a number from 0 to {MAX_ADVANCE_SECONDS} "
            f"(the clock only moves forward), got {repr(seconds)[:60]}"
        )
    if offset + seconds > MAX_CLOCK_OFFSET:
        raise ValueError(f"the clock would be more than {MAX_CLOCK_OFFSET} seconds ahead")
    return float(seconds)


def account_id(payload: dict[str, Any], known: set[str]) -> str:
    """`account_id`: twelve digits naming an account of the organization."""
    only_keys(payload, "credentials", {"account_id"})
    value = payload.get("account_id")
    if not isinstance(value, str) or not _ACCOUNT_ID.fullmatch(value):
        raise ControlError(
            400, f"credentials: account_id must be 12 digits as a string, got {repr(value)[:60]}"
        )
    if value not in known:
        raise ControlError(404, f"credentials: no account {value} in the organization")
    return value
