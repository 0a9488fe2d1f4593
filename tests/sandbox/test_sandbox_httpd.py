"""The sandbox's HTTP layer (rootctl.sandbox.httpd): connection threads reused but never a
limit on concurrency, all of them ended by stop(); moto's backend look-up remembered per
host name (same answers, bounded); no access log."""

from __future__ import annotations

import json
import logging
import threading
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from rootctl.sandbox import Sandbox
from rootctl.sandbox.httpd import MAX_CACHED_HOSTS, CachedDispatcher
from rootctl.sandbox.wire import AwsRequest, Response

from support import PAYMENTS_PROD, client, enabled_fixture

CONN_THREAD = "rootctl-sandbox-conn"


@pytest.fixture
def sb() -> Iterator[Sandbox]:
    with Sandbox.start(enabled_fixture()) as sandbox:
        yield sandbox


def _get(sb: Sandbox, route: str = "health") -> tuple[int, Any]:
    return sb.control(route)


def _answer_with(sb: Sandbox, handler: Any) -> None:
    """Route every control request to `handler` (the app's hook for /_rootctl/)."""
    assert sb.app is not None
    sb.app.control = handler


def _ok(_: AwsRequest) -> Response:
    return 200, {"Content-Type": "application/json"}, json.dumps({"ok": True}).encode()


def _wait_idle(sb: Sandbox) -> None:
    """Until a connection thread waits for work (a condition, not a duration)."""
    deadline = time.monotonic() + 30
    while sb._server._idle == 0:
        assert time.monotonic() < deadline, "no connection thread became idle"
        time.sleep(0.005)


def test_connections_are_served_at_once_however_many_there_are(sb: Sandbox) -> None:
    """Each of 12 connections must be in the app at the same time to pass the barrier: a
    pool that capped its threads below 12 would break it (a 500 to every waiter)."""
    barrier = threading.Barrier(12, timeout=30)

    def meet(req: AwsRequest) -> Response:
        barrier.wait()
        return _ok(req)

    # Threads left idle by earlier requests must be used too: make some first.
    for _ in range(3):
        assert _get(sb)[0] == 200
    _answer_with(sb, meet)
    results: list[int] = []

    def call() -> None:
        results.append(_get(sb)[0])

    threads = [threading.Thread(target=call) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert results == [200] * 12


def test_a_finished_connection_thread_serves_the_next_connection(sb: Sandbox) -> None:
    served: list[int] = []

    def record(req: AwsRequest) -> Response:
        served.append(threading.get_ident())
        return _ok(req)

    _answer_with(sb, record)
    assert _get(sb)[0] == 200  # the first connection starts a thread
    for _ in range(10):
        _wait_idle(sb)
        assert _get(sb)[0] == 200
    assert len(served) == 11
    assert len(set(served)) == 1, "every request started a thread of its own"


def test_aws_calls_work_across_reused_threads(sb: Sandbox) -> None:
    """Sequential clients (one connection each, closed after the answer) and concurrent ones."""
    for _ in range(5):
        assert client(sb, "sts").get_caller_identity()["Account"] == sb.management_account_id
    errors: list[BaseException] = []

    def call() -> None:
        try:
            client(sb, "organizations").list_accounts()
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=call) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert [c["action"] for c in sb.calls()].count("ListAccounts") == 8


def test_stop_ends_every_connection_thread() -> None:
    with Sandbox.start(enabled_fixture()) as sandbox:
        for _ in range(4):
            assert _get(sandbox)[0] == 200
        _wait_idle(sandbox)
        ours = [t for t in threading.enumerate() if t.name == CONN_THREAD]
        assert ours, "connection threads wait for work while the sandbox runs"
    for thread in ours:
        thread.join(10)
    assert [t for t in ours if t.is_alive()] == []


def test_the_remembered_backend_is_moto_s_own_for_every_host() -> None:
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    plain = DomainDispatcherApplication(create_backend_app)
    cached = CachedDispatcher(create_backend_app)
    hosts = [
        None,
        "moto_api",
        "instance_metadata",
        "s3",
        "iam.amazonaws.com",
        "sts.us-east-1.amazonaws.com",
        "organizations.us-east-1.amazonaws.com",
        "sqs.eu-west-1.amazonaws.com",
        "s3.us-east-1.amazonaws.com",
        "dynamodb",
        "cloudtrail.us-east-1.amazonaws.com",
        "sns.us-east-1.amazonaws.com",
        "no-such-service.example.org",
    ]
    for _ in range(2):  # the first pass fills the cache, the second reads it
        assert [cached.get_backend_for_host(h) for h in hosts] == [
            plain.get_backend_for_host(h) for h in hosts
        ]


def test_made_up_host_names_do_not_grow_the_cache_without_bound() -> None:
    from moto.moto_server.werkzeug_app import create_backend_app

    cached = CachedDispatcher(create_backend_app)
    for index in range(MAX_CACHED_HOSTS + 50):
        cached.get_backend_for_host(f"made-up-{index}.example.org")
    assert len(cached._backends) == MAX_CACHED_HOSTS
    assert cached.get_backend_for_host("s3") == "s3"  # still answers, uncached


def test_no_access_log_line_per_request(sb: Sandbox, caplog: pytest.LogCaptureFixture) -> None:
    """werkzeug logs every request at INFO; the sandbox's handler writes none."""
    with caplog.at_level(logging.INFO, logger="werkzeug"):
        assert _get(sb)[0] == 200
        with urllib.request.urlopen(f"{sb.endpoint_url}/_rootctl/health", timeout=30) as r:
            assert r.status in (200, 401, 403)
    assert [r for r in caplog.records if r.name == "werkzeug"] == []


def test_s3_metadata_names_keep_their_underscores(sb: Sandbox) -> None:
    """moto keeps the spelling `my_key` (WSGI folds it into `my-key`), and lets a dashed name
    win over an underscored one; the handler's shortcut for requests without an underscore
    header must not change either (answers as before the shortcut)."""
    s3 = client(sb, "s3", sb.credentials_for(PAYMENTS_PROD))
    s3.create_bucket(Bucket="metadata-names")
    cases = [
        ({"my_key": "u"}, {"my_key": "u"}),
        ({"my-key": "d"}, {"my-key": "d"}),
        ({"my_key": "u", "my-key": "d"}, {"my-key": "d"}),
    ]
    for sent, kept in cases:
        s3.put_object(Bucket="metadata-names", Key="k", Body=b"x", Metadata=sent)
        assert s3.head_object(Bucket="metadata-names", Key="k")["Metadata"] == kept


def test_moto_s_name_conversion_is_remembered_and_unchanged(sb: Sandbox) -> None:
    from moto.core import responses, utils
    from moto.sqs import models

    for module in (responses, models):
        remembered = module.camelcase_to_underscores
        assert remembered is not utils.camelcase_to_underscores
        for name in ("ApproximateNumberOfMessages", "Policy", "RedrivePolicy", "", "ABCTest", "x"):
            assert remembered(name) == utils.camelcase_to_underscores(name)
    sqs = client(sb, "sqs", sb.credentials_for(PAYMENTS_PROD))
    url = sqs.get_queue_url(QueueName="payments-events")["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert "Policy" in attributes and attributes["DelaySeconds"] == "0"
