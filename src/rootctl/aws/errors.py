"""The one place AWS and botocore errors become rootctl errors (one line, an exit code).

`classify(exc)` answers for every caller: the CLI's top level, the session factory and the
AssumeRoot broker. Three kinds:

- the operator's setup (no, partial, rejected or expired credentials; an unknown profile; an
  unreadable AWS config file; a malformed endpoint URL; no region): `UsageError`, exit 2.
  Every call would fail the same way, so these stop the command before anything changes.
- the endpoint (no connection, no answer within the read timeout, connection dropped):
  `EndpointError`, exit 1. Not bad input: the network or the service failed, and work may
  already have been done.
- any other AWS error answer (`ClientError`): `AwsError`, exit 1, "Operation: Code: message".
  This concerns one call, so library code keeps it as a per-account result; only the CLI's
  top level shows it as the command's error.

`stops_the_run(exc)` is the subset library code re-raises instead of recording per account.
Messages pass through `rootctl.text.clean`: an endpoint URL or an AWS message is untrusted.
"""

from __future__ import annotations

from botocore import exceptions as bex

from rootctl.errors import RootctlError, UsageError, code_is
from rootctl.text import clean

# Error codes meaning "these credentials are not accepted" (either spelling is matched by
# code_is): STS/IAM query APIs, JSON APIs, EC2-style services, S3.
REJECTED_CODES = (
    "InvalidClientTokenId",
    "UnrecognizedClient",
    "SignatureDoesNotMatch",
    "AuthFailure",
    "InvalidAccessKeyId",
    "InvalidToken",
)
EXPIRED_CODES = ("ExpiredToken", "RequestExpired", "TokenRefreshRequired")

MISSING_CREDENTIALS = (
    "no AWS credentials found: set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, "
    "or run `rootctl sandbox serve`"
)
ENDPOINT_HINT = "check AWS_ENDPOINT_URL / the network"


class EndpointError(RootctlError):
    """The AWS endpoint could not be reached or did not answer in time (exit 1)."""

    exit_code = 1


class AwsError(RootctlError):
    """An AWS error answer that reached the command's top level (exit 1)."""

    exit_code = 1


def classify(exc: BaseException) -> RootctlError | None:
    """The one-line rootctl error for `exc`, or None when it is not an AWS/botocore error."""
    if isinstance(exc, RootctlError):
        return exc
    message = _setup_message(exc)
    if message is not None:
        return UsageError(_one_line(message))
    message = _endpoint_message(exc)
    if message is not None:
        return EndpointError(_one_line(message))
    if isinstance(exc, bex.ClientError):
        error = exc.response.get("Error", {})
        code = error.get("Code", "") or "Unknown"
        return AwsError(_one_line(f"{exc.operation_name}: {code}: {error.get('Message', '')}"))
    return None


def stops_the_run(exc: BaseException) -> RootctlError | None:
    """`classify(exc)` when it is about the operator's setup (every account would fail the
    same way), else None.

    An endpoint failure is not one of them: a connection dropped once for one account (after
    botocore's retries) is that account's error, and the run goes on (results are values).
    An endpoint that is down from the start fails the organization read before any account.
    """
    error = classify(exc)
    return error if isinstance(error, UsageError) else None


def operator_error(exc: BaseException) -> RootctlError | None:
    """For the operator's own calls (who am I, the organization read): setup and endpoint
    failures are one line for the whole run, since no account has been reached yet."""
    error = classify(exc)
    return error if isinstance(error, UsageError | EndpointError) else None


def _setup_message(exc: BaseException) -> str | None:
    """Problems the operator fixes in their environment; None for anything else."""
    if isinstance(exc, bex.NoCredentialsError):
        return MISSING_CREDENTIALS
    if isinstance(exc, bex.PartialCredentialsError):
        missing = exc.kwargs.get("cred_var", "a value")
        provider = exc.kwargs.get("provider", "the environment")
        return (
            f"incomplete AWS credentials: {missing} is missing in {provider}; set both "
            "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or use a profile (AWS_PROFILE)"
        )
    if isinstance(exc, bex.ProfileNotFound):
        return (
            f"AWS profile {exc.kwargs.get('profile', '')!r} not found: check --profile or "
            "AWS_PROFILE against `aws configure list-profiles`"
        )
    if isinstance(exc, bex.SSOTokenLoadError | bex.UnauthorizedSSOTokenError):
        return "AWS SSO session is missing or expired: run `aws sso login` and retry"
    if isinstance(exc, bex.TokenRetrievalError):
        return "AWS SSO session is missing or expired: run `aws sso login` and retry"
    if isinstance(exc, bex.CredentialRetrievalError):
        return f"could not get AWS credentials: {exc}"
    if isinstance(exc, bex.ConfigParseError):
        path = exc.kwargs.get("path", "the AWS config file")
        return (
            f"cannot parse AWS config file {path}: fix its INI syntax, or point "
            "AWS_CONFIG_FILE / AWS_SHARED_CREDENTIALS_FILE at a valid file"
        )
    if isinstance(exc, bex.InvalidConfigError):
        return f"invalid AWS configuration: {exc}"
    if isinstance(exc, bex.NoRegionError):
        return "no AWS region: pass --region or set AWS_REGION"
    if isinstance(exc, ValueError) and str(exc).startswith("Invalid endpoint"):
        # botocore's answer to a malformed AWS_ENDPOINT_URL / endpoint_url setting
        return f"{exc}: AWS_ENDPOINT_URL must be a URL such as http://127.0.0.1:5050"
    if isinstance(exc, bex.ClientError) and code_is(exc, *REJECTED_CODES):
        return (
            f"AWS rejected the credentials ({exc.response['Error'].get('Code')}): the access "
            "key is unknown, deactivated or mistyped; check AWS_PROFILE or AWS_ACCESS_KEY_ID"
        )
    if isinstance(exc, bex.ClientError) and code_is(exc, *EXPIRED_CODES):
        return "AWS credentials have expired: refresh them (e.g. `aws sso login`) and retry"
    return None


def _endpoint_message(exc: BaseException) -> str | None:
    """The endpoint failed: no connection, no answer, a dropped connection."""
    if not isinstance(exc, bex.ConnectionError | bex.HTTPClientError):
        return None
    from rootctl.aws.retry import timeouts

    url = exc.kwargs.get("endpoint_url") or "the AWS endpoint"
    limits = timeouts()
    if isinstance(exc, bex.ReadTimeoutError):
        return f"no answer from {url} within {limits.read:g} s ({ENDPOINT_HINT})"
    if isinstance(exc, bex.ConnectTimeoutError):
        return f"no connection to {url} within {limits.connect:g} s ({ENDPOINT_HINT})"
    if isinstance(exc, bex.ProxyConnectionError):
        proxy = exc.kwargs.get("proxy_url", "the proxy")
        return f"cannot connect to proxy {proxy}: check HTTPS_PROXY / HTTP_PROXY"
    if isinstance(exc, bex.SSLError):
        return f"TLS failed with {url}: {exc.kwargs.get('error', '')} (check AWS_CA_BUNDLE)"
    if isinstance(exc, bex.EndpointConnectionError):
        return (
            f"cannot reach {url}: {ENDPOINT_HINT} "
            "(for the sandbox, is `rootctl sandbox serve` running?)"
        )
    if isinstance(exc, bex.ConnectionClosedError):
        return f"{url} closed the connection without an answer ({ENDPOINT_HINT})"
    return f"could not talk to {url}: {exc} ({ENDPOINT_HINT})"


def _one_line(message: str) -> str:
    return clean(" ".join(message.split()))
