"""`rootctl.aws.errors.classify`: every AWS/botocore error a command can meet, one table.

Each row: the exception, the rootctl error type it becomes (exit code), a fragment of the
one line. Built from botocore's own exception classes (the sandbox cannot produce most of
them: a missing SSO token, a proxy failure, a TLS error).
"""

from __future__ import annotations

import pytest
from botocore import exceptions as bex

from rootctl.aws.endpoints import check_endpoint_url
from rootctl.aws.errors import (
    EXPIRED_CODES,
    REJECTED_CODES,
    AwsError,
    EndpointError,
    classify,
    stops_the_run,
)
from rootctl.errors import RootctlError, UsageError

URL = "http://127.0.0.1:5050/"


def client_error(code: str, message: str = "nope", op: str = "AssumeRoot") -> bex.ClientError:
    return bex.ClientError({"Error": {"Code": code, "Message": message}}, op)


CASES: dict[str, tuple[BaseException, type[RootctlError], str]] = {
    "no credentials": (bex.NoCredentialsError(), UsageError, "no AWS credentials"),
    "partial credentials": (
        bex.PartialCredentialsError(provider="env", cred_var="AWS_SECRET_ACCESS_KEY"),
        UsageError,
        "AWS_SECRET_ACCESS_KEY is missing in env",
    ),
    "unknown profile": (bex.ProfileNotFound(profile="ops"), UsageError, "'ops' not found"),
    "sso token missing": (bex.SSOTokenLoadError(error_msg="x"), UsageError, "aws sso login"),
    "sso unauthorized": (bex.UnauthorizedSSOTokenError(), UsageError, "aws sso login"),
    "sso refresh": (bex.TokenRetrievalError(provider="sso", error_msg="x"), UsageError, "sso"),
    "credential process": (
        bex.CredentialRetrievalError(provider="process", error_msg="boom"),
        UsageError,
        "could not get AWS credentials",
    ),
    "config parse": (
        bex.ConfigParseError(path="/etc/aws/config"),
        UsageError,
        "cannot parse AWS config file /etc/aws/config",
    ),
    "invalid config": (bex.InvalidConfigError(error_msg="bad"), UsageError, "invalid AWS config"),
    "no region": (bex.NoRegionError(), UsageError, "--region"),
    "invalid endpoint": (ValueError("Invalid endpoint: x y"), UsageError, "AWS_ENDPOINT_URL"),
    "read timeout": (
        bex.ReadTimeoutError(endpoint_url=URL),
        EndpointError,
        f"no answer from {URL} within",
    ),
    "connect timeout": (
        bex.ConnectTimeoutError(endpoint_url=URL),
        EndpointError,
        f"no connection to {URL} within",
    ),
    "no connection": (
        bex.EndpointConnectionError(endpoint_url=URL),
        EndpointError,
        f"cannot reach {URL}",
    ),
    "closed": (bex.ConnectionClosedError(endpoint_url=URL), EndpointError, "closed"),
    "proxy": (bex.ProxyConnectionError(proxy_url="http://p:3128"), EndpointError, "proxy"),
    "tls": (bex.SSLError(endpoint_url=URL, error="bad cert"), EndpointError, "AWS_CA_BUNDLE"),
    "http client": (bex.HTTPClientError(error="odd"), EndpointError, "could not talk to"),
    "access denied": (client_error("AccessDenied"), AwsError, "AssumeRoot: AccessDenied: nope"),
    "throttled": (client_error("Throttling"), AwsError, "Throttling"),
    "empty code": (client_error(""), AwsError, "AssumeRoot: Unknown"),
    "rootctl error": (UsageError("already one"), UsageError, "already one"),
}
for _code in REJECTED_CODES:
    CASES[f"rejected {_code}"] = (client_error(_code), UsageError, "rejected the credentials")
    CASES[f"rejected {_code}Exception"] = (
        client_error(_code + "Exception"),
        UsageError,
        "rejected the credentials",
    )
for _code in EXPIRED_CODES:
    CASES[f"expired {_code}"] = (client_error(_code), UsageError, "expired")


@pytest.mark.parametrize("name", sorted(CASES))
def test_classify(name: str) -> None:
    exc, kind, fragment = CASES[name]
    error = classify(exc)
    assert type(error) is kind
    assert error is not None
    message = str(error)
    assert fragment in message
    assert "\n" not in message


@pytest.mark.parametrize("name", sorted(CASES))
def test_only_setup_errors_stop_the_run(name: str) -> None:
    """An endpoint failure of one account's call is that account's error (the run goes on);
    setup errors (credentials, config, region) would fail every account the same way."""
    exc, kind, _ = CASES[name]
    stops = stops_the_run(exc)
    assert (stops is not None) == (kind is UsageError)


def test_exit_codes() -> None:
    assert UsageError.exit_code == 2
    assert EndpointError.exit_code == 1
    assert AwsError.exit_code == 1


@pytest.mark.parametrize("exc", [RuntimeError("bug"), KeyError("x"), ValueError("other")])
def test_bugs_are_not_classified(exc: Exception) -> None:
    assert classify(exc) is None


HOSTILE = "\x1b]52;c;ZXZpbA==\x07\x1b[2J\r\nforged\u202e"


def test_untrusted_text_in_aws_messages_is_escaped() -> None:
    error = classify(client_error("AccessDenied", HOSTILE))
    assert error is not None
    assert "\x1b" not in str(error) and "\u202e" not in str(error) and "\r" not in str(error)
    assert "\\x1b]52" in str(error)


BAD_URLS = {
    "ftp scheme": ("ftp://127.0.0.1:21", "scheme"),
    "file scheme": ("file:///etc/passwd", "scheme"),
    "no scheme": ("127.0.0.1:5050", "scheme"),
    "mailto": ("mailto:a@b", "scheme"),
    "port too high": ("http://127.0.0.1:99999", "Port out of range"),
    "port negative": ("http://127.0.0.1:-1", "Port"),
    "port letters": ("http://127.0.0.1:http", "Port"),
    "port 0": ("http://127.0.0.1:0", "port 0"),
    "broken IPv6": ("http://[::1", "IPv6"),
    "IPv6 garbage": ("http://[nothex]:80", "IPv6"),
    "empty host": ("http://", "no host"),
    "only a port": ("http://:5050", "no host"),
    "blank": ("   ", "blank"),
    "leading space": (" http://127.0.0.1:5050", "spaces"),
    "inner space": ("http://127.0.0.1 :5050", "spaces"),
    "newline": ("http://127.0.0.1:5050\nX-Forged: 1", "control"),
    "escape": ("http://127.0.0.1:5050/\x1b[2J", "control"),
}


@pytest.mark.parametrize("name", sorted(BAD_URLS))
def test_bad_endpoint_urls_are_usage_errors(name: str) -> None:
    url, fragment = BAD_URLS[name]
    with pytest.raises(UsageError) as info:
        check_endpoint_url(url, "AWS_ENDPOINT_URL_STS")
    message = str(info.value)
    assert fragment in message and "AWS_ENDPOINT_URL_STS" in message
    assert "\n" not in message and "\x1b" not in message


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:5050",
        "https://sts.us-east-1.amazonaws.com",
        "http://[::1]:5050",
        "HTTP://LOCALHOST:80/",
        "https://proxy.example.com/aws/",
    ],
)
def test_good_endpoint_urls_pass(url: str) -> None:
    assert check_endpoint_url(url) == url
