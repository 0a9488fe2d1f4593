"""SessionFactory: region resolution, regional STS, configured endpoints, caching, errors.

Every test runs in an environment with no AWS settings at all (see `clean_env`), so what
the developer's machine has configured never leaks in. No test here opens a connection:
endpoints are read from `client.meta`, and calls are answered by botocore's Stubber.
"""

from __future__ import annotations

import os
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from botocore.stub import Stubber
from rich.pretty import pretty_repr

from rootctl.aws.errors import stops_the_run
from rootctl.aws.session import Credentials, SessionFactory, dns_suffix
from rootctl.errors import UsageError

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYSECRETKEY"
TOKEN = "IQoJb3JpZ2luX2VjEXAMPLETOKENdoNotPrint"


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No AWS_* variables, empty config and credentials files, no instance metadata."""
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    config = tmp_path / "config"
    config.write_text("")
    credentials = tmp_path / "credentials"
    credentials.write_text("")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    return config


def creds(key: str = "ASIAEXAMPLE000000001") -> Credentials:
    return Credentials(key, SECRET, TOKEN, datetime(2030, 1, 1, tzinfo=UTC))


def keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE000000001")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)


# -- the STS endpoint --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("region", "url"),
    [
        ("us-east-1", "https://sts.us-east-1.amazonaws.com"),
        ("eu-west-1", "https://sts.eu-west-1.amazonaws.com"),
        ("cn-north-1", "https://sts.cn-north-1.amazonaws.com.cn"),
        ("us-gov-west-1", "https://sts.us-gov-west-1.amazonaws.com"),
    ],
)
def test_sts_is_regional_when_no_endpoint_is_configured(
    clean_env: Path, region: str, url: str
) -> None:
    factory = SessionFactory(region=region)
    assert factory.client("sts").meta.endpoint_url == url
    assert factory.sts_endpoint_url() == url


@pytest.mark.parametrize("where", ["env", "profile"])
def test_legacy_sts_setting_cannot_select_the_global_endpoint(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    if where == "env":
        monkeypatch.setenv("AWS_STS_REGIONAL_ENDPOINTS", "legacy")
    else:
        clean_env.write_text("[default]\nsts_regional_endpoints = legacy\n")
    sts = SessionFactory(region="us-east-1").client("sts")
    assert sts.meta.endpoint_url == "https://sts.us-east-1.amazonaws.com"


def test_per_call_region_gets_its_own_regional_sts(clean_env: Path) -> None:
    factory = SessionFactory(region="us-east-1")
    sts = factory.client("sts", region="ap-southeast-2")
    assert sts.meta.endpoint_url == "https://sts.ap-southeast-2.amazonaws.com"
    assert sts.meta.region_name == "ap-southeast-2"


def test_fips_setting_pins_the_regional_fips_endpoint(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_USE_FIPS_ENDPOINT", "true")
    sts = SessionFactory(region="us-east-2").client("sts")
    assert sts.meta.endpoint_url == "https://sts-fips.us-east-2.amazonaws.com"


def test_aws_endpoint_url_is_respected_for_every_service(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4566")
    factory = SessionFactory(region="eu-central-1")
    assert factory.sts_endpoint_url() is None
    for service in ("sts", "iam", "organizations", "s3", "sqs"):
        assert factory.client(service).meta.endpoint_url == "http://127.0.0.1:4566"


def test_service_specific_endpoint_env_is_respected(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", "http://127.0.0.1:5000")
    factory = SessionFactory(region="us-west-2")
    assert factory.client("sts").meta.endpoint_url == "http://127.0.0.1:5000"
    assert factory.client("iam").meta.endpoint_url == "https://iam.amazonaws.com"


@pytest.mark.parametrize(
    "config",
    [
        "[default]\nendpoint_url = http://localhost:6000\n",
        "[default]\nservices = local\n[services local]\nsts =\n  endpoint_url = http://localhost:6000\n",
    ],
)
def test_endpoint_from_config_file_is_respected(clean_env: Path, config: str) -> None:
    clean_env.write_text(config)
    assert SessionFactory().client("sts").meta.endpoint_url == "http://localhost:6000"


def test_ignore_configured_endpoint_urls_pins_regional_again(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4566")
    monkeypatch.setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true")
    sts = SessionFactory(region="us-east-1").client("sts")
    assert sts.meta.endpoint_url == "https://sts.us-east-1.amazonaws.com"


def test_dns_suffix_per_partition() -> None:
    assert dns_suffix("us-east-1") == "amazonaws.com"
    assert dns_suffix("cn-northwest-1") == "amazonaws.com.cn"
    assert dns_suffix("us-iso-east-1") == "c2s.ic.gov"
    assert dns_suffix("xx-unknown-9") == "amazonaws.com"


# -- region --------------------------------------------------------------------------------------


@pytest.mark.parametrize("region", ["aws-global", " aws-global "])
def test_global_region_is_refused(clean_env: Path, region: str) -> None:
    with pytest.raises(UsageError, match="global STS endpoint"):
        SessionFactory(region=region)


def test_global_region_from_env_is_refused(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_REGION", "aws-global")
    with pytest.raises(UsageError, match="AssumeRoot"):
        SessionFactory()


def test_malformed_region_is_refused(clean_env: Path) -> None:
    with pytest.raises(UsageError, match="not an AWS region"):
        SessionFactory(region="useast1")
    with pytest.raises(UsageError, match="not an AWS region"):
        SessionFactory(region="us-east-1").client("iam", region="nowhere")


def test_region_resolution_order(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    clean_env.write_text("[default]\nregion = ap-south-1\n")
    assert SessionFactory().region == "ap-south-1"
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-2")
    assert SessionFactory().region == "eu-west-2"
    monkeypatch.setenv("AWS_REGION", "eu-west-3")
    assert SessionFactory().region == "eu-west-3"
    factory = SessionFactory(region="sa-east-1")
    assert factory.region == "sa-east-1"
    assert factory.notes == []


def test_named_profile_region(clean_env: Path) -> None:
    clean_env.write_text("[default]\nregion = ap-south-1\n[profile ops]\nregion = ca-central-1\n")
    assert SessionFactory(profile="ops").region == "ca-central-1"


def test_default_region_comes_with_a_note(clean_env: Path) -> None:
    factory = SessionFactory()
    assert factory.region == "us-east-1"
    assert len(factory.notes) == 1
    assert "us-east-1" in factory.notes[0] and "--region" in factory.notes[0]


# -- shared client configuration and the cache ----------------------------------------------------


def test_every_client_shares_the_adaptive_retry_config(clean_env: Path) -> None:
    factory = SessionFactory(region="us-east-1", concurrency=32)
    for service in ("sts", "iam"):
        config = factory.client(service).meta.config
        assert config.retries["mode"] == "adaptive"
        assert config.retries["total_max_attempts"] == 11  # max_attempts=10 retries + 1 call
        assert config.max_pool_connections > 32
        assert config.connect_timeout and config.read_timeout
    session_config = factory.client("iam", credentials=creds()).meta.config
    assert session_config.retries["mode"] == "adaptive"


def test_clients_are_cached_per_service_region_and_access_key(clean_env: Path) -> None:
    factory = SessionFactory(region="us-east-1")
    iam = factory.client("iam")
    assert factory.client("iam") is iam
    assert factory.client("iam", region="us-east-1") is iam
    assert factory.client("iam", region="eu-west-1") is not iam
    assert factory.client("sts") is not iam
    a = factory.client("iam", credentials=creds("ASIAAAAAAAAAAAAAAAA1"))
    assert a is not iam
    assert factory.client("iam", credentials=creds("ASIAAAAAAAAAAAAAAAA1")) is a
    assert factory.client("iam", credentials=creds("ASIAAAAAAAAAAAAAAAA2")) is not a


def test_session_clients_are_an_lru_so_memory_stays_bounded(clean_env: Path) -> None:
    factory = SessionFactory(region="us-east-1")
    factory.max_session_clients = 3
    first = factory.client("sts", credentials=creds("ASIAAAAAAAAAAAAAAAA0"))
    for n in range(1, 4):
        factory.client("sts", credentials=creds(f"ASIAAAAAAAAAAAAAAAA{n}"))
    assert factory.client("sts", credentials=creds("ASIAAAAAAAAAAAAAAAA0")) is not first
    # recently used entries survive
    recent = factory.client("sts", credentials=creds("ASIAAAAAAAAAAAAAAAA3"))
    factory.client("sts", credentials=creds("ASIAAAAAAAAAAAAAAAA9"))
    assert factory.client("sts", credentials=creds("ASIAAAAAAAAAAAAAAAA3")) is recent


def test_concurrent_requests_create_one_client(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    factory = SessionFactory(region="us-east-1")
    created: list[str] = []
    original = factory._create

    def counting(service: str, region: str, credentials: Credentials | None) -> Any:
        created.append(service)
        return original(service, region, credentials)

    monkeypatch.setattr(factory, "_create", counting)
    barrier = threading.Barrier(16)
    got: list[Any] = []

    def ask() -> None:
        barrier.wait()
        got.append(factory.client("iam"))
        got.append(factory.client("s3", credentials=creds()))

    threads = [threading.Thread(target=ask) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(created) == ["iam", "s3"]
    assert len({id(c) for c in got}) == 2


# -- credentials never print their secrets --------------------------------------------------------


def test_credentials_repr_and_str_hide_secret_and_token() -> None:
    c = creds()
    for text in (repr(c), str(c), f"{c}", f"{c!r}", repr([c]), repr({"c": c}), pretty_repr(c)):
        assert SECRET not in text
        assert TOKEN not in text
    assert "ASIAEXAMPLE000000001" in repr(c)
    assert "2030-01-01" in repr(c)


def test_credentials_from_sts_response_and_expiry() -> None:
    soon = datetime.now(UTC) + timedelta(seconds=100)
    c = Credentials.from_response(
        {
            "AccessKeyId": "ASIAX",
            "SecretAccessKey": SECRET,
            "SessionToken": TOKEN,
            "Expiration": soon,
        }
    )
    assert c.expires_within(120)
    assert not c.expires_within(60)
    naive = Credentials.from_response(
        {
            "AccessKeyId": "ASIAX",
            "SecretAccessKey": SECRET,
            "SessionToken": TOKEN,
            "Expiration": "2030-01-01T00:00:00Z",
        }
    )
    assert naive.expiration == datetime(2030, 1, 1, tzinfo=UTC)


# -- credential problems are one-line usage errors ------------------------------------------------


def one_line(exc: pytest.ExceptionInfo[UsageError]) -> str:
    message = str(exc.value)
    assert "\n" not in message
    assert message == message.strip()
    return message


def test_missing_credentials_is_a_one_line_usage_error(clean_env: Path) -> None:
    factory = SessionFactory(region="us-east-1")
    with pytest.raises(UsageError) as exc:
        factory.caller_identity()
    message = one_line(exc)
    assert message.startswith("no AWS credentials found")
    assert "AWS_PROFILE" in message and "AWS_ACCESS_KEY_ID" in message
    assert "rootctl sandbox serve" in message
    assert exc.value.exit_code == 2


def test_partial_credentials_is_a_one_line_usage_error(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE000000001")
    with pytest.raises(UsageError) as exc:
        SessionFactory(region="us-east-1").caller_identity()
    assert "AWS_SECRET_ACCESS_KEY" in one_line(exc)


@pytest.mark.parametrize("via", ["argument", "env"])
def test_unknown_profile_is_a_one_line_usage_error(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch, via: str
) -> None:
    with pytest.raises(UsageError) as exc:
        if via == "argument":
            SessionFactory(profile="nope")
        else:
            monkeypatch.setenv("AWS_PROFILE", "nope")
            SessionFactory()
    message = one_line(exc)
    assert "'nope'" in message and "AWS_PROFILE" in message


@pytest.mark.parametrize(
    ("code", "fragment"),
    [
        ("InvalidClientTokenId", "rejected"),
        ("UnrecognizedClientException", "rejected"),
        ("SignatureDoesNotMatch", "rejected"),
        ("ExpiredToken", "expired"),
    ],
)
def test_rejected_credentials_on_get_caller_identity(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch, code: str, fragment: str
) -> None:
    keys(monkeypatch)
    factory = SessionFactory(region="us-east-1")
    with Stubber(factory.client("sts")) as stub:
        stub.add_client_error("get_caller_identity", code, "nope", 403)
        with pytest.raises(UsageError) as exc:
            factory.caller_identity()
    assert fragment in one_line(exc)
    assert SECRET not in str(exc.value)


def test_other_errors_are_not_turned_into_usage_errors() -> None:
    from botocore.exceptions import ClientError

    error = ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "AssumeRoot")
    assert stops_the_run(error) is None
    assert stops_the_run(RuntimeError("x")) is None


def test_caller_identity_is_cached(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    keys(monkeypatch)
    factory = SessionFactory(region="us-east-1")
    with Stubber(factory.client("sts")) as stub:
        stub.add_response(
            "get_caller_identity",
            {
                "Account": "111111111111",
                "Arn": "arn:aws:iam::111111111111:user/ops",
                "UserId": "AIDAEXAMPLE",
            },
        )
        first = factory.caller_identity()
        assert factory.caller_identity() is first  # a second call would exhaust the stub
    assert first.account == "111111111111"
    assert first.arn.endswith(":user/ops")
    assert first.user_id == "AIDAEXAMPLE"


def _handlers(emitter: Any) -> list[tuple[str, str, str]]:
    """(event path, first/middle/last, handler) of every handler an emitter holds, in order."""
    found: list[tuple[str, str, str]] = []

    def walk(node: dict[str, Any], path: str) -> None:
        values = node.get("values")
        if values:
            for part in ("first", "middle", "last"):
                found.extend((path, part, repr(h)) for h in getattr(values, part, None) or [])
        for name, child in sorted(node.get("children", {}).items()):
            walk(child, f"{path}.{name}")

    walk(emitter._handlers._root, "")
    return found


def test_new_botocore_session_has_botocore_s_own_handlers_and_its_own_emitter() -> None:
    """new_botocore_session copies a template of the built-in handlers: the same handlers in
    the same order as botocore's registration, and a registration on one session is seen by
    no other session (nor the template)."""
    import botocore.session

    from rootctl.aws.session import new_botocore_session

    def own(*_: Any, **__: Any) -> None:
        return None

    plain = botocore.session.Session(profile="p")
    fast, other = new_botocore_session("p"), new_botocore_session(None)
    expected = _handlers(plain._original_handler)
    assert len(expected) > 100
    assert _handlers(fast._original_handler) == expected
    assert (
        dict(fast._original_handler._unique_id_handlers).keys()
        == dict(plain._original_handler._unique_id_handlers).keys()
    )
    assert fast.profile == "p" and other.profile is None
    fast.register("before-call.iam", own)
    assert len(_handlers(fast._original_handler)) == len(expected) + 1
    assert _handlers(other._original_handler) == expected
    assert _handlers(new_botocore_session()._original_handler) == expected
