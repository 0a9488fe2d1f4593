"""The control API (`/_rootctl/...`) refuses what a web page could send, and every bad value.

Each case is a raw HTTP request (http.client, so the Host header and the body are exactly
what a browser or an attacker would send) against one running sandbox; after all the
refusals nothing has changed and AssumeRoot still works (a NaN clock used to break it).
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from typing import Any

import pytest

from rootctl.sandbox import FaultConfig, Sandbox
from rootctl.sandbox.control import MAX_ADVANCE_SECONDS, TOKEN_HEADER
from rootctl.tasks import Task

from support import PAYMENTS_PROD, client, enabled_fixture

GOOD = object()  # placeholder: the sandbox's real host or token
JSON = "application/json"


@pytest.fixture(scope="module")
def sb() -> Iterator[Sandbox]:
    with Sandbox.start(enabled_fixture()) as sandbox:
        yield sandbox


def raw(
    sb: Sandbox,
    method: str,
    route: str,
    body: bytes | str | None = None,
    *,
    host: Any = GOOD,
    token: Any = GOOD,
    content_type: str | None = JSON,
) -> tuple[int, dict[str, Any]]:
    """One request with exactly these headers; (status, JSON answer)."""
    headers: dict[str, str] = {"Host": f"127.0.0.1:{sb.port}" if host is GOOD else host}
    if token is not None:
        headers[TOKEN_HEADER] = sb.token if token is GOOD else token
    if content_type is not None and body is not None:
        headers["Content-Type"] = content_type
    data = body.encode("utf-8") if isinstance(body, str) else body
    conn = http.client.HTTPConnection("127.0.0.1", sb.port, timeout=30)
    try:
        conn.request(method, f"/_rootctl/{route}", body=data, headers=headers)
        answer = conn.getresponse()
        return answer.status, json.loads(answer.read())
    finally:
        conn.close()


def assume_root_works(sb: Sandbox) -> None:
    creds = client(sb, "sts").assume_root(
        TargetPrincipal=PAYMENTS_PROD, TaskPolicyArn={"arn": Task.AUDIT.arn}
    )["Credentials"]
    assert creds["Expiration"].year < 9999


HOSTS = [
    pytest.param("evil.example", 403, id="rebinding-name-no-port"),
    pytest.param("evil.example:{port}", 403, id="rebinding-name-with-port"),
    pytest.param("localhost.evil.example:{port}", 403, id="loopback-prefix"),
    pytest.param("127.0.0.1.evil.example:{port}", 403, id="ip-prefix"),
    pytest.param("127.0.0.1:1", 403, id="wrong-port"),
    pytest.param("127.0.0.1", 403, id="no-port"),
    pytest.param("", 403, id="empty"),
    pytest.param("[::2]:{port}", 403, id="other-ipv6"),
    pytest.param("0.0.0.0:{port}", 403, id="any-address"),
    pytest.param("127.0.0.1:{port}", 200, id="ipv4-loopback"),
    pytest.param("localhost:{port}", 200, id="localhost"),
    pytest.param("LOCALHOST:{port}", 200, id="localhost-upper-case"),
    pytest.param("[::1]:{port}", 200, id="ipv6-loopback"),
]


@pytest.mark.parametrize(("host", "status"), HOSTS)
@pytest.mark.parametrize("route", ["secrets", "health"])
def test_only_loopback_hosts_with_the_port_reach_the_control_api(
    sb: Sandbox, host: str, status: int, route: str
) -> None:
    got, answer = raw(sb, "GET", route, host=host.format(port=sb.port))
    assert got == status, answer
    if status == 403:
        assert "not allowed" in answer["error"] and "secrets" not in answer


PROTECTED = [
    ("GET", "state", None),
    ("GET", "calls", None),
    ("DELETE", "calls", None),
    ("GET", "faults", None),
    ("POST", "faults", "{}"),
    ("GET", "clock", None),
    ("POST", "clock", '{"advance_seconds": 1}'),
    ("GET", "secrets", None),
    ("POST", "credentials", f'{{"account_id": "{PAYMENTS_PROD}"}}'),
]
TOKENS = [
    pytest.param(None, "missing", id="missing"),
    pytest.param("", "missing", id="empty"),
    pytest.param("x" * 43, "wrong", id="wrong"),
    pytest.param("Bearer {token}", "wrong", id="bearer-prefix"),
    pytest.param("{token}x", "wrong", id="longer"),
    pytest.param("{short}", "wrong", id="prefix-of-token"),
    pytest.param("é{token}", "wrong", id="non-ascii"),
]


@pytest.mark.parametrize(("method", "route", "body"), PROTECTED)
@pytest.mark.parametrize(("token", "word"), TOKENS)
def test_every_route_but_health_needs_the_token(
    sb: Sandbox, method: str, route: str, body: str | None, token: str | None, word: str
) -> None:
    given = None if token is None else token.format(token=sb.token, short=sb.token[:-1])
    clock = sb.state.clock_offset
    got, answer = raw(sb, method, route, body, token=given)
    assert got == 401 and word in answer["error"], answer
    assert sb.state.clock_offset == clock


FORMS = [
    pytest.param("text/plain", '{"latency_ms": 5}', 415, id="text-plain-json"),
    pytest.param("application/x-www-form-urlencoded", "latency_ms=5", 415, id="urlencoded-form"),
    pytest.param(
        "multipart/form-data; boundary=b",
        '--b\r\nContent-Disposition: form-data; name="latency_ms"\r\n\r\n5\r\n--b--\r\n',
        415,
        id="multipart-form",
    ),
    pytest.param(None, '{"latency_ms": 5}', 415, id="no-content-type"),
    pytest.param("application/jsonp", '{"latency_ms": 5}', 415, id="jsonp"),
    pytest.param("text/json", '{"latency_ms": 5}', 415, id="text-json"),
    pytest.param(JSON, "latency_ms=5", 400, id="json-type-form-body"),
    pytest.param(JSON, "", 400, id="empty-body"),
    pytest.param(JSON, "[]", 400, id="array"),
    pytest.param(JSON, "5", 400, id="number"),
    pytest.param(JSON, '"faults"', 400, id="string"),
    pytest.param(JSON, "null", 400, id="null"),
    pytest.param(JSON, '{"latency_ms": NaN}', 400, id="nan-literal"),
    pytest.param(JSON, '{"latency_ms": Infinity}', 400, id="infinity-literal"),
    pytest.param(JSON, '{"latency_ms": -Infinity}', 400, id="minus-infinity-literal"),
    pytest.param(JSON, '{"latency_ms": 5', 400, id="truncated"),
    pytest.param(JSON, b'{"latency_ms": "\xff"}', 400, id="not-utf8"),
    pytest.param(JSON, '{"x": "' + "a" * 70_000 + '"}', 413, id="too-large"),
]


@pytest.mark.parametrize(("content_type", "body", "status"), FORMS)
def test_a_body_must_be_a_json_object_sent_as_json(
    sb: Sandbox, content_type: str | None, body: str | bytes, status: int
) -> None:
    before = sb.state.faults
    got, answer = raw(sb, "POST", "faults", body, content_type=content_type)
    assert got == status, answer
    assert answer["error"].count("\n") == 0
    assert sb.state.faults is before, "a refused request changes nothing"


def test_json_with_a_charset_is_json(sb: Sandbox) -> None:
    got, answer = raw(sb, "POST", "faults", "{}", content_type="application/json; charset=utf-8")
    assert got == 200, answer


METHODS = [
    ("PUT", "faults", "{}", 405),
    ("DELETE", "faults", None, 405),
    ("GET", "credentials", None, 405),
    ("POST", "secrets", "{}", 405),
    ("POST", "state", "{}", 405),
    ("PATCH", "clock", "{}", 405),
    ("GET", "nothing-here", None, 404),
    ("GET", "../secrets", None, 404),
    ("GET", "faults", "{}", 400),  # a GET carries no body
]


@pytest.mark.parametrize(("method", "route", "body", "status"), METHODS)
def test_routes_answer_only_their_methods(
    sb: Sandbox, method: str, route: str, body: str | None, status: int
) -> None:
    got, answer = raw(sb, method, route, body)
    assert got == status, answer


CLOCK = [
    pytest.param('{"advance_seconds": 1e309}', "from 0", id="overflow-to-infinity"),
    pytest.param('{"advance_seconds": -1}', "from 0", id="negative"),
    pytest.param('{"advance_seconds": -1e-9}', "from 0", id="tiny-negative"),
    pytest.param(
        f'{{"advance_seconds": {MAX_ADVANCE_SECONDS + 1}}}', "from 0", id="over-ten-years"
    ),
    pytest.param('{"advance_seconds": 1e300}', "from 0", id="huge"),
    pytest.param('{"advance_seconds": 10000000000000000000000}', "from 0", id="huge-int"),
    pytest.param('{"advance_seconds": "60"}', "from 0", id="string"),
    pytest.param('{"advance_seconds": "NaN"}', "from 0", id="nan-string"),
    pytest.param('{"advance_seconds": true}', "from 0", id="bool"),
    pytest.param('{"advance_seconds": null}', "from 0", id="null"),
    pytest.param('{"advance_seconds": [60]}', "from 0", id="list"),
    pytest.param('{"advance_seconds": {"s": 60}}', "from 0", id="object"),
    pytest.param("{}", "required", id="missing"),
    pytest.param('{"advance_seconds": 1, "offset": 5}', "unknown key 'offset'", id="unknown-key"),
    pytest.param('{"seconds": 60}', "unknown key 'seconds'", id="misspelt"),
]


@pytest.mark.parametrize(("body", "message"), CLOCK)
def test_bad_clock_advances_are_refused_and_assume_root_keeps_working(
    sb: Sandbox, body: str, message: str
) -> None:
    before = sb.state.clock_offset
    got, answer = raw(sb, "POST", "clock", body)
    assert got == 400 and message in answer["error"], answer
    assert answer["error"].startswith("clock: ")
    assert sb.state.clock_offset == before
    assume_root_works(sb)


def test_the_clock_moves_forward_within_a_century(sb: Sandbox) -> None:
    start = sb.state.clock_offset
    assert raw(sb, "POST", "clock", '{"advance_seconds": 0}')[0] == 200
    assert raw(sb, "POST", "clock", '{"advance_seconds": 1.5}')[1]["offset_seconds"] == start + 1.5
    refused = 0
    for _ in range(11):  # ten years each: the eleventh would pass a century
        status, answer = raw(sb, "POST", "clock", f'{{"advance_seconds": {MAX_ADVANCE_SECONDS}}}')
        refused += status == 400
    assert refused >= 1 and "ahead" in answer["error"], answer
    assert raw(sb, "GET", "clock")[1]["offset_seconds"] == sb.state.clock_offset
    assume_root_works(sb)
    sb.state.clock_offset = start  # the module's other tests expect a current clock


@pytest.mark.parametrize("seconds", [float("nan"), float("inf"), -float("inf"), -5, 1e12, True])
def test_the_python_clock_refuses_what_the_http_one_refuses(sb: Sandbox, seconds: float) -> None:
    before = sb.state.clock_offset
    with pytest.raises(ValueError, match="advance_seconds"):
        sb.advance_clock(seconds)
    assert sb.state.clock_offset == before


FAULTS = [
    ({"latency_ms": 1e309}, "latency_ms"),
    ({"latency_ms": -1}, "latency_ms"),
    ({"latency_ms": 600_000}, "latency_ms"),
    ({"latency_ms": True}, "latency_ms"),
    ({"latency_ms": "5"}, "latency_ms"),
    ({"error_rate": 1.5}, "error_rate"),
    ({"error_rate": 1e309}, "error_rate"),
    ({"error_rate": False}, "error_rate"),
    ({"throttle_rps": 1e309}, "throttle_rps"),
    ({"throttle_rps": -3}, "throttle_rps"),
    ({"lost_response_rate": None}, "lost_response_rate"),
    ({"error_every": -1}, "error_every"),
    ({"error_every": 1.5}, "error_every"),
    ({"error_every": True}, "error_every"),
    ({"error_every": 10**13}, "error_every"),
    ({"throttle_every": "3"}, "throttle_every"),
    ({"lost_response_every": [2]}, "lost_response_every"),
    ({"error_calls": [0]}, "error_calls"),
    ({"error_calls": ["3"]}, "error_calls"),
    ({"error_calls": 3}, "error_calls"),
    ({"throttle_calls": [1.5]}, "throttle_calls"),
    ({"throttle_calls": [True]}, "throttle_calls"),
    ({"lost_response_calls": [-2]}, "lost_response_calls"),
    ({"lost_response_calls": list(range(1, 10_003))}, "lost_response_calls"),
    ({"seed": "x"}, "seed"),
    ({"seed": 1.5}, "seed"),
    ({"fail_assume_root": ["333333333333"]}, "fail_assume_root"),
    ({"fail_assume_root": {"333333333333": 5}}, "fail_assume_root"),
    ({"lost_response_kinds": ["reset"]}, "lost_response_kinds"),
    ({"lost_response_kinds": []}, "lost_response_kinds"),
    ({"lost_response_actions": "DeleteAccessKey"}, "lost_response_actions"),
    ({"lost_response_accounts": [333333333333]}, "lost_response_accounts"),
    ({"error_rate_": 0.1}, "unknown key 'error_rate_'"),
    ({"errors_every": 3}, "unknown key 'errors_every'"),
]


@pytest.mark.parametrize(("payload", "message"), FAULTS)
def test_bad_fault_settings_are_refused_with_the_field_named(
    sb: Sandbox, payload: dict[str, Any], message: str
) -> None:
    sb.set_faults(FaultConfig(error_every=7))
    # 1e309 is valid JSON that Python reads as infinity (json.dumps would write Infinity).
    body = json.dumps(payload).replace("Infinity", "1e309")
    status, answer = raw(sb, "POST", "faults", body)
    assert status == 400 and message in answer["error"], answer
    assert answer["error"].startswith("faults: ") and len(answer["error"]) < 400
    assert sb.control("faults")[1]["error_every"] == 7, "a refused setting changes nothing"
    sb.set_faults(FaultConfig())


CREDENTIALS = [
    ({"account_id": 333333333333}, 400, "12 digits"),
    ({"account_id": "33333333333"}, 400, "12 digits"),
    ({"account_id": "3333333333333"}, 400, "12 digits"),
    ({"account_id": "abcdefghijkl"}, 400, "12 digits"),
    ({"account_id": "33333333333\n"}, 400, "12 digits"),
    ({"account_id": None}, 400, "12 digits"),
    ({}, 400, "12 digits"),
    ({"account_id": PAYMENTS_PROD, "user": "x"}, 400, "unknown key 'user'"),
    ({"account_id": "999999999999"}, 404, "no account"),
]


@pytest.mark.parametrize(("payload", "status", "message"), CREDENTIALS)
def test_credentials_need_an_account_of_the_organization(
    sb: Sandbox, payload: dict[str, Any], status: int, message: str
) -> None:
    issued = len(sb.secrets_issued())
    got, answer = sb.control("credentials", "POST", payload)
    assert got == status and message in answer["error"], answer
    assert len(sb.secrets_issued()) == issued


def test_the_python_helper_uses_the_token_and_every_route_answers(sb: Sandbox) -> None:
    assert sb.control("health")[0] == 200
    assert sb.control("state")[1]["organization_id"] == sb.organization_id
    assert sb.control("faults", "POST", {"error_calls": [4], "seed": 2}) == (200, {"ok": True})
    assert sb.control("faults")[1]["error_calls"] == [4]
    assert sb.control("calls", "DELETE") == (200, {"ok": True})
    status, creds = sb.control("credentials", "POST", {"account_id": PAYMENTS_PROD})
    assert status == 200 and creds["secret_access_key"] in sb.control("secrets")[1]["secrets"]
    assert sb.control_env() == {"ROOTCTL_SANDBOX_TOKEN": sb.token} and len(sb.token) >= 40
    sb.set_faults(FaultConfig())
