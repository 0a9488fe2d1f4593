"""`SessionFactory`: the only place rootctl builds AWS (botocore) clients.

Why one place: every client shares one retry/timeout/pool config, STS is always pinned to a
regional endpoint (AssumeRoot rejects the global one), credential problems become one-line
`UsageError`s, and tests or the sandbox reach every code path by pointing the factory
elsewhere (AWS_ENDPOINT_URL) instead of patching boto3.

botocore sessions are not thread-safe but clients are: clients are created under a lock and
then shared by every thread. Creation is CPU-bound Python (2-6 ms), so the lock costs
nothing the GIL was not already charging.

Root sessions: a fan-out over 10,000 accounts opens 10,000 sessions. Building a botocore
client per session cost more CPU than the calls it made (client build, its class, its
event hooks, a new connection pool and TLS handshake, then garbage-collector time over all
of it), so `acting_client` hands out one client per (thread, service, region) whose signer
reads the credentials of the session the calling context acts as (`acting_as`, a
ContextVar).
Outside an `acting_as` block that client refuses to sign: it can never fall back to the
operator's own credentials.
"""

from __future__ import annotations

import copy
import gc
import hashlib
import logging
import os
import re
import threading
import weakref
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import TYPE_CHECKING, Any, Literal, overload

import botocore
import botocore.session
from botocore.client import BaseClient
from botocore.credentials import Credentials as BotocoreCredentials
from botocore.credentials import ReadOnlyCredentials
from botocore.exceptions import ConfigParseError, InvalidConfigError, ProfileNotFound
from botocore.loaders import Loader, create_loader

from rootctl.aws.endpoints import check_endpoint_url
from rootctl.aws.errors import operator_error, stops_the_run
from rootctl.aws.retry import client_config, connection_budget, timeouts
from rootctl.aws.timestamps import response_parser_factory
from rootctl.errors import RootctlError, UsageError
from rootctl.fanout import DEFAULT_CONCURRENCY
from rootctl.text import clean

if TYPE_CHECKING:
    from mypy_boto3_cloudtrail import CloudTrailClient
    from mypy_boto3_iam import IAMClient
    from mypy_boto3_organizations import OrganizationsClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sts import STSClient

log = logging.getLogger(__name__)

DEFAULT_REGION = "us-east-1"
# API calls this module makes with the operator's credentials (rootctl permissions).
PERMISSIONS = ("sts:GetCallerIdentity",)
# Region names as AWS spells them (us-east-1, us-gov-west-1, cn-north-1, eusc-de-east-1).
_REGION_RE = re.compile(r"^[a-z]{2,5}(-[a-z]+)+-\d{1,2}$")
# Connections per client: one per worker, plus the calling thread and a little headroom.
_POOL_HEADROOM = 4
# Clients bound to root-session credentials are kept in a small LRU: at 10,000 accounts
# every account has its own credentials, and a client costs 100-400 KiB.
_MIN_SESSION_CLIENTS = 64


@dataclass(frozen=True, repr=False)
class Credentials:
    """Temporary credentials of one session. `repr`/`str` never show the secret or token."""

    access_key_id: str
    secret_access_key: str
    session_token: str
    expiration: datetime

    @classmethod
    def from_response(cls, data: Mapping[str, Any]) -> Credentials:
        """From the `Credentials` member of an STS response."""
        expiration = data["Expiration"]
        if not isinstance(expiration, datetime):
            expiration = datetime.fromisoformat(str(expiration).replace("Z", "+00:00"))
        if expiration.tzinfo is None:
            expiration = expiration.replace(tzinfo=UTC)
        return cls(
            access_key_id=str(data["AccessKeyId"]),
            secret_access_key=str(data["SecretAccessKey"]),
            session_token=str(data["SessionToken"]),
            expiration=expiration,
        )

    def expires_within(self, seconds: float, now: datetime | None = None) -> bool:
        """True when fewer than `seconds` remain before expiry."""
        moment = now or datetime.now(UTC)
        return self.expiration - timedelta(seconds=seconds) <= moment

    def __repr__(self) -> str:
        return (
            f"Credentials(access_key_id={self.access_key_id!r}, secret_access_key='***', "
            f"session_token='***', expiration={self.expiration.isoformat()!r})"
        )

    __str__ = __repr__


class NoRootSessionError(RuntimeError):
    """An acting client was used outside `acting_as`: a bug, never a fallback."""


_ACTING_AS: ContextVar[Credentials | None] = ContextVar("rootctl_acting_as", default=None)


@contextmanager
def acting_as(credentials: Credentials) -> Iterator[Credentials]:
    """Inside this block, acting clients sign with `credentials` (this context only).

    Work handed to another thread does not inherit the block: submit it with
    `contextvars.copy_context().run` (see rootctl.credentials.read).
    """
    token = _ACTING_AS.set(credentials)
    try:
        yield credentials
    finally:
        _ACTING_AS.reset(token)


class _ActingCredentials(BotocoreCredentials):
    """botocore credentials that are whichever root session the calling context acts as.

    botocore's signer asks for `get_frozen_credentials()` once per request (retries
    included), on the thread making the call, so each request is signed with the session
    of the `acting_as` block around it. It holds no keys of its own: `access_key` and
    friends are left unset, so any other use fails loudly instead of signing wrongly.
    """

    def __init__(self) -> None:  # no keys: deliberately not calling super().__init__
        self.method = "rootctl-root-session"
        self.account_id = None

    def get_frozen_credentials(self) -> ReadOnlyCredentials:
        current = _ACTING_AS.get()
        if current is None:
            raise NoRootSessionError(
                "a root-session client was used outside `acting_as`: no credentials to sign with"
            )
        return ReadOnlyCredentials(
            current.access_key_id, current.secret_access_key, current.session_token, None
        )

    def __repr__(self) -> str:
        return "_ActingCredentials()"


class _ActingResolver:
    """botocore's `credential_provider` component for the acting session: nothing else."""

    def __init__(self) -> None:
        self.credentials = _ActingCredentials()

    def load_credentials(self) -> _ActingCredentials:
        return self.credentials


@dataclass(frozen=True)
class CallerIdentity:
    """Who the factory's own credentials belong to (sts:GetCallerIdentity)."""

    account: str
    arn: str
    user_id: str


def shared_loader(data_path: str | None = None) -> Loader:
    """One botocore data loader per `data_path` for every session of the process.

    The loader caches what it reads (service models, endpoint rules, partitions); a session
    of its own would read and parse them again: 40-60 ms of CPU for IAM's model alone, paid
    at start-up by the operator's session, the acting session and the region check.
    """
    return _loader_for(data_path)


@cache
def _loader_for(data_path: str | None) -> Loader:
    return create_loader(data_path)


def new_botocore_session(profile: str | None = None) -> botocore.session.Session:
    """A botocore session, as `botocore.session.Session(profile=profile)` builds it, for less.

    Building one registers botocore's ~200 built-in event handlers, each checked with
    `inspect` that it takes keyword arguments: 8-9 ms of CPU, twice per SessionFactory (the
    operator's and the acting session). The built-in handlers are a module constant, so they
    are registered once per process, on a template, and each session gets a copy of its
    emitter (what botocore itself does for every client). Everything else about the session
    (profile, config, credentials, components) is its own.
    """
    hooks = copy.copy(_builtin_hooks())
    return botocore.session.Session(
        profile=profile, event_hooks=hooks, include_builtin_handlers=False
    )


@cache
def _builtin_hooks() -> Any:
    """botocore's event emitter with its built-in handlers registered, never used directly."""
    from botocore.hooks import HierarchicalEmitter

    emitter = HierarchicalEmitter()
    botocore.session.Session(event_hooks=emitter)  # registers the built-in handlers on it
    return emitter


@cache
def _dns_suffixes() -> tuple[tuple[str, re.Pattern[str], frozenset[str]], ...]:
    """(dnsSuffix, regionRegex, known regions) per partition, from botocore's own data."""
    data = shared_loader().load_data("partitions")
    return tuple(
        (p["outputs"]["dnsSuffix"], re.compile(p["regionRegex"]), frozenset(p["regions"]))
        for p in data["partitions"]
    )


def dns_suffix(region: str) -> str:
    """amazonaws.com for aws and aws-us-gov, amazonaws.com.cn for China, and so on."""
    partitions = _dns_suffixes()
    for suffix, _, regions in partitions:
        if region in regions:
            return suffix
    for suffix, pattern, _ in partitions:
        if pattern.match(region):
            return suffix
    return "amazonaws.com"


def check_region(region: str) -> str:
    """A region name usable for a regional endpoint, or a UsageError saying why not."""
    value = region.strip()
    if value == "aws-global" or value.endswith("-global"):
        raise UsageError(
            f"region {value!r} selects the global STS endpoint, which AssumeRoot does not "
            "support: use a real region such as us-east-1 (--region or AWS_REGION)"
        )
    if not _REGION_RE.fullmatch(value):
        raise UsageError(
            f"region {clean(repr(value))} is not an AWS region name: use one like us-east-1 "
            "(--region or AWS_REGION)"
        )
    if not any(value in regions for _, _, regions in _dns_suffixes()):
        raise UsageError(
            f"region {value!r} is not a region this botocore ({botocore.__version__}) knows: "
            "check the spelling (--region or AWS_REGION), or upgrade boto3 if AWS opened it "
            "recently"
        )
    return value


class SessionFactory:
    """Builds and caches every boto3 client rootctl uses (see module docstring)."""

    def __init__(
        self,
        profile: str | None = None,
        region: str | None = None,
        *,
        concurrency: int = DEFAULT_CONCURRENCY,
    ) -> None:
        self.profile = profile
        self.notes: list[str] = []
        self._lock = threading.Lock()
        self._session_clients: OrderedDict[tuple[str, str, str | None], Any] = OrderedDict()
        self._acting = threading.local()
        self.max_session_clients = max(_MIN_SESSION_CLIENTS, 4 * concurrency)
        self._config = client_config(max_pool_connections=concurrency + _POOL_HEADROOM)
        self._acting_pool = _acting_pool_key(profile, self._config)
        # The operator's clients are shared with every factory that would build the same ones.
        self._clients: dict[tuple[str, str, str | None], Any] = _operator_clients(self._acting_pool)
        self._identity: CallerIdentity | None = None
        try:
            # botocore sessions, not boto3's: rootctl uses no resource or S3 transfer API,
            # and importing boto3 costs 30-40 ms of every start-up (docs/performance.md).
            self._core = new_botocore_session(profile)
            self._core.get_scoped_config()  # a malformed AWS config file fails here, once
            loader = shared_loader(self._core.get_config_variable("data_path"))
            self._core.register_component("data_loader", loader)
            # Same profile (region, endpoints, proxies, CA bundle) and model cache, but its
            # only credentials are the acting root session's.
            self._acting_core = new_botocore_session(profile)
            self._acting_core.register_component("data_loader", loader)
            self._acting_core.register_component("credential_provider", _ActingResolver())
            parsers = response_parser_factory()  # botocore's, with a faster timestamp parser
            for core in (self._core, self._acting_core):
                core.register_component("response_parser_factory", parsers)
            self.region = check_region(self._resolve_region(region))
        except (ProfileNotFound, InvalidConfigError, ConfigParseError) as exc:
            raise _usage(exc) from exc
        budget = connection_budget(timeouts().connection_attempts)
        for core in (self._core, self._acting_core):
            core.register("needs-retry", budget)

    def _resolve_region(self, explicit: str | None) -> str:
        """Explicit > AWS_REGION > AWS_DEFAULT_REGION > profile > us-east-1 (with a note)."""
        if explicit:
            return explicit
        for name in ("AWS_REGION", "AWS_DEFAULT_REGION"):
            value = os.environ.get(name, "").strip()
            if value:
                return value
        configured = self._core.get_config_variable("region")
        if configured:
            return str(configured)
        self.notes.append(
            f"no AWS region configured: using {DEFAULT_REGION} for STS "
            "(set --region or AWS_REGION to choose another)"
        )
        log.info(self.notes[-1])
        return DEFAULT_REGION

    # -- clients -------------------------------------------------------------------------------

    @overload
    def client(
        self,
        service: Literal["sts"],
        *,
        credentials: Credentials | None = None,
        region: str | None = None,
    ) -> STSClient: ...
    @overload
    def client(
        self,
        service: Literal["iam"],
        *,
        credentials: Credentials | None = None,
        region: str | None = None,
    ) -> IAMClient: ...
    @overload
    def client(
        self,
        service: Literal["organizations"],
        *,
        credentials: Credentials | None = None,
        region: str | None = None,
    ) -> OrganizationsClient: ...
    @overload
    def client(
        self,
        service: Literal["s3"],
        *,
        credentials: Credentials | None = None,
        region: str | None = None,
    ) -> S3Client: ...
    @overload
    def client(
        self,
        service: Literal["sqs"],
        *,
        credentials: Credentials | None = None,
        region: str | None = None,
    ) -> SQSClient: ...
    @overload
    def client(
        self,
        service: Literal["cloudtrail"],
        *,
        credentials: Credentials | None = None,
        region: str | None = None,
    ) -> CloudTrailClient: ...
    @overload
    def client(
        self, service: str, *, credentials: Credentials | None = None, region: str | None = None
    ) -> Any: ...

    def client(
        self, service: str, *, credentials: Credentials | None = None, region: str | None = None
    ) -> Any:
        """A cached client for `service` in `region` (default: the factory's region).

        Without `credentials` the client uses the operator's own credentials (profile or
        environment); with them, it acts as that session (e.g. an AssumeRoot session).
        """
        where = check_region(region) if region else self.region
        key = (service, where, credentials.access_key_id if credentials else None)
        with self._lock:
            if credentials is None:
                found = self._clients.get(key)
                if found is None:
                    found = self._clients[key] = self._create(service, where, None)
                return found
            found = self._session_clients.get(key)
            if found is None:
                found = self._session_clients[key] = self._create(service, where, credentials)
                while len(self._session_clients) > self.max_session_clients:
                    self._session_clients.popitem(last=False)
            else:
                self._session_clients.move_to_end(key)
            return found

    def acting_client(self, service: str, region: str | None = None) -> Any:
        """This thread's client of `service` that signs as the `acting_as` session (cached).

        One per (thread, service, region), whatever the number of accounts. Per thread, not
        per process, so that botocore's adaptive rate limiter backs off the thread that was
        throttled instead of every worker at once, as clients per session used to.
        """
        where = check_region(region) if region else self.region
        key = (service, where)
        local = self._acting.__dict__
        clients: dict[tuple[str, str], Any] | None = local.get("clients")
        if clients is None:
            clients = local["clients"] = {}
            # When this thread ends (or the factory goes), its clients go back to the pool.
            local["owner"] = owner = _ThreadClients()
            weakref.finalize(owner, _return_idle, self._acting_pool, clients)
        found = clients.get(key)
        if found is None:
            found = _take_idle(self._acting_pool, key)
        if found is None:
            with self._lock:
                found = self._build(self._acting_core, service, where, {"config": self._config})
            _freeze_startup_heap()
        clients[key] = found
        return found

    def _create(self, service: str, region: str, credentials: Credentials | None) -> Any:
        kwargs: dict[str, Any] = {"config": self._config}
        if credentials is not None:
            kwargs["aws_access_key_id"] = credentials.access_key_id
            kwargs["aws_secret_access_key"] = credentials.secret_access_key
            kwargs["aws_session_token"] = credentials.session_token
        return self._build(self._core, service, region, kwargs)

    def _build(
        self,
        session: botocore.session.Session,
        service: str,
        region: str,
        kwargs: dict[str, Any],
    ) -> BaseClient:
        kwargs["region_name"] = region
        configured = self.configured_endpoint_url(service)
        if configured is not None:
            check_endpoint_url(configured, _endpoint_setting(service))
        try:
            if service == "sts":
                endpoint = self.sts_endpoint_url(region)
                if endpoint is not None:
                    kwargs["endpoint_url"] = endpoint
            return session.create_client(service, **kwargs)
        except Exception as exc:
            error = stops_the_run(exc)
            if error is None:
                raise
            raise error from exc

    # -- STS endpoint ------------------------------------------------------------------------------

    def sts_endpoint_url(self, region: str | None = None) -> str | None:
        """The regional STS URL to pin, or None when the user configured an endpoint.

        AssumeRoot rejects the global endpoint (sts.amazonaws.com). botocore >= 1.40 picks
        the regional one by default, but `sts_regional_endpoints = legacy` in a profile or
        AWS_STS_REGIONAL_ENDPOINTS=legacy still selects the global one, so we pin it.
        """
        if self.configured_endpoint_url("sts") is not None:
            return None
        where = check_region(region) if region else self.region
        host = "sts-fips" if self._core.get_config_variable("use_fips_endpoint") else "sts"
        return f"https://{host}.{where}.{dns_suffix(where)}"

    def configured_endpoint_url(self, service: str) -> str | None:
        """The endpoint the user set for `service` (env or config file), as botocore reads it.

        Order as in botocore: AWS_ENDPOINT_URL_<SERVICE>, AWS_ENDPOINT_URL, the profile's
        `services` section, the profile's `endpoint_url`; none if
        `ignore_configured_endpoint_urls` is set.
        """
        if self._core.get_config_variable("ignore_configured_endpoint_urls"):
            return None
        env_name = "AWS_ENDPOINT_URL_" + service.upper().replace("-", "_")
        for name in (env_name, "AWS_ENDPOINT_URL"):
            value = os.environ.get(name)
            if value:
                return value
        scoped = self._core.get_scoped_config()
        section = scoped.get("services")
        if section:
            services = self._core.full_config.get("services", {}).get(section, {})
            value = services.get(service.replace("-", "_").lower(), {}).get("endpoint_url")
            if value:
                return str(value)
        value = scoped.get("endpoint_url")
        return str(value) if value else None

    # -- identity ------------------------------------------------------------------------------

    def caller_identity(self) -> CallerIdentity:
        """Who the operator is (cached). Credential problems raise a one-line UsageError."""
        with self._lock:
            if self._identity is not None:
                return self._identity
        try:
            response = self.client("sts").get_caller_identity()
        except Exception as exc:
            error = operator_error(exc)
            if error is None:
                raise
            raise error from exc
        identity = CallerIdentity(
            account=response["Account"], arn=response["Arn"], user_id=response["UserId"]
        )
        with self._lock:
            self._identity = identity
        return identity


_heap_frozen = False


class _ThreadClients:
    """Lives as long as one thread's acting clients are that thread's (see acting_client)."""


# Acting clients no thread holds, per pool key, then per (service, region). A fan-out's
# threads end with the run, and every command (or Lambda invocation) builds a new factory:
# without this, each fan-out built min(concurrency, accounts) clients again (2-10 ms of CPU
# each; 15-28% of a small organization's audit). A client is either one thread's or idle
# here, never two threads' at once. The pool key is everything a client's behaviour
# depends on besides the session it signs as (which it reads per request): the process's
# environment, the AWS config file as it is on disk, the profile and the client config
# (retries, timeouts, pool size); so a
# client is only handed to a factory that would have built the same client. Bounded: the
# idle clients of the last _IDLE_POOLS keys.
_IDLE: OrderedDict[str, dict[tuple[str, str], list[Any]]] = OrderedDict()
_IDLE_LOCK = threading.Lock()
_IDLE_POOLS = 2


def _on_disk(variable: str, default: str) -> tuple[str, tuple[int, ...] | None]:
    """The file an AWS_* variable names (or its default) and its identity on disk, if any."""
    path = os.path.expanduser(os.environ.get(variable, default))
    try:
        info = os.stat(path)
    except OSError:
        return path, None
    return path, (info.st_ino, info.st_size, info.st_mtime_ns)


def _acting_pool_key(profile: str | None, config: Any) -> str:
    path, on_disk = _on_disk("AWS_CONFIG_FILE", "~/.aws/config")
    options = sorted(config._user_provided_options.items())  # retries, timeouts, pool size
    material = repr((profile, options, path, on_disk, sorted(os.environ.items())))
    return hashlib.sha256(material.encode("utf-8", "surrogateescape")).hexdigest()


# The operator's clients (no session credentials), shared by the factories of one process
# whose clients would be the same: the acting pool's key (environment, AWS config file on disk,
# profile, client config) and the shared credentials file as it is on disk, where a profile's
# keys may come from. A script or test that makes several factories, or a warm Lambda
# container's next invocation, builds each operator client once (2-6 ms each). Botocore
# clients are thread-safe; the last _OPERATOR_POOLS keys are kept.
_OPERATOR: OrderedDict[str, dict[tuple[str, str, str | None], Any]] = OrderedDict()
_OPERATOR_LOCK = threading.Lock()
_OPERATOR_POOLS = 2


def _operator_clients(acting_pool: str) -> dict[tuple[str, str, str | None], Any]:
    material = repr((acting_pool, *_on_disk("AWS_SHARED_CREDENTIALS_FILE", "~/.aws/credentials")))
    key = hashlib.sha256(material.encode("utf-8", "surrogateescape")).hexdigest()
    with _OPERATOR_LOCK:
        clients = _OPERATOR.get(key)
        if clients is None:
            clients = _OPERATOR[key] = {}
        _OPERATOR.move_to_end(key)
        while len(_OPERATOR) > _OPERATOR_POOLS:
            _OPERATOR.popitem(last=False)
        return clients


def _take_idle(pool: str, key: tuple[str, str]) -> Any:
    with _IDLE_LOCK:
        idle = _IDLE.get(pool, {}).get(key)
        return idle.pop() if idle else None


def _return_idle(pool: str, clients: dict[tuple[str, str], Any]) -> None:
    with _IDLE_LOCK:
        by_key = _IDLE.setdefault(pool, {})
        _IDLE.move_to_end(pool)
        for key, client in clients.items():
            by_key.setdefault(key, []).append(client)
        clients.clear()
        while len(_IDLE) > _IDLE_POOLS:
            _IDLE.popitem(last=False)


def _freeze_startup_heap() -> None:
    """Once per process, when the first root session's client exists: `gc.freeze()`.

    By then the process has imported everything a fan-out runs and loaded the models of its
    clients: objects that live until exit. Python's full (oldest-generation) collections
    traverse every tracked object, so at 1,000 accounts they re-scanned that heap five times
    (0.3-0.5 s of CPU); frozen, they scan only what the run itself allocates. Frozen objects
    are still freed by reference counting; only a reference cycle that was already garbage
    at this moment is never collected, once per process (a warm Lambda container does not
    freeze again).
    """
    global _heap_frozen
    if not _heap_frozen:
        _heap_frozen = True
        gc.freeze()


def _usage(exc: BaseException) -> RootctlError:
    error = stops_the_run(exc)
    return error if error is not None else UsageError(" ".join(str(exc).split()))


def _endpoint_setting(service: str) -> str:
    """Where the endpoint URL for `service` came from, named as the user would set it."""
    env_name = "AWS_ENDPOINT_URL_" + service.upper().replace("-", "_")
    for name in (env_name, "AWS_ENDPOINT_URL"):
        if os.environ.get(name):
            return name
    return "endpoint_url in the AWS config file"
