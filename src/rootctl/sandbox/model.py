"""The sandbox's own state: what moto does not model.

A root user per account with its credentials, the organization's centralized-root-access
features, root sessions handed out by AssumeRoot, an index from access key to identity,
CloudTrail events and a log of every call (tests use it to prove what reached the sandbox).
"""

from __future__ import annotations

import base64
import math
import secrets
import string
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from rootctl.tasks import Task

PrincipalKind = Literal["root-session", "root-user", "iam", "anonymous"]


def utcnow(offset_seconds: float = 0.0) -> datetime:
    return datetime.now(UTC) + timedelta(seconds=offset_seconds)


def random_id(
    prefix: str, length: int = 20, alphabet: str = string.ascii_uppercase + string.digits
) -> str:
    """`prefix` and `length - len(prefix)` characters drawn uniformly from `alphabet`.

    One uniform draw below base**count, written in that base: each digit is uniform and
    independent, as with a secrets.choice per character, for one urandom read instead of one
    per character (every AssumeRoot makes an id).
    """
    count = length - len(prefix)
    if count <= 0:
        return prefix
    base = len(alphabet)
    number = secrets.randbelow(base**count)
    chars = []
    for _ in range(count):
        number, digit = divmod(number, base)
        chars.append(alphabet[digit])
    return prefix + "".join(chars)


def random_secret(length: int = 40) -> str:
    """`length` characters drawn uniformly from A-Z, a-z, 0-9, + and /.

    Those 64 characters are base64's alphabet, so each is 6 random bits of base64 output:
    one urandom read instead of a secrets.choice per character (a 356-character session
    token was 356 of them, on every AssumeRoot).
    """
    raw = secrets.token_bytes((length + 3) // 4 * 3)
    return base64.b64encode(raw).decode("ascii")[:length]


@dataclass
class LoginProfile:
    created: datetime
    last_used: datetime | None = None
    password_reset_required: bool = False


@dataclass
class RootAccessKey:
    access_key_id: str
    secret_access_key: str
    status: str = "Active"
    created: datetime = field(default_factory=utcnow)
    last_used_date: datetime | None = None
    last_used_service: str | None = None
    last_used_region: str | None = None


@dataclass
class SigningCertificate:
    certificate_id: str
    body: str
    status: str = "Active"
    uploaded: datetime = field(default_factory=utcnow)


@dataclass
class MfaDevice:
    serial_number: str
    kind: Literal["virtual", "hardware"]
    enabled: datetime = field(default_factory=utcnow)
    assigned: bool = True


@dataclass
class RootUser:
    """The root user of one account: its long-term credentials."""

    account_id: str
    created: datetime = field(default_factory=utcnow)
    login_profile: LoginProfile | None = None
    access_keys: list[RootAccessKey] = field(default_factory=list)
    signing_certificates: list[SigningCertificate] = field(default_factory=list)
    mfa_devices: list[MfaDevice] = field(default_factory=list)

    @property
    def arn(self) -> str:
        return f"arn:aws:iam::{self.account_id}:root"

    def has_credentials(self) -> bool:
        return bool(
            self.login_profile
            or self.access_keys
            or self.signing_certificates
            or any(d.assigned for d in self.mfa_devices)
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly view for tests and the control API (no secret keys)."""

        def iso(value: datetime | None) -> str | None:
            return value.isoformat() if value else None

        return {
            "account_id": self.account_id,
            "password": None
            if self.login_profile is None
            else {
                "created": iso(self.login_profile.created),
                "last_used": iso(self.login_profile.last_used),
            },
            "access_keys": [
                {
                    "access_key_id": k.access_key_id,
                    "status": k.status,
                    "created": iso(k.created),
                    "last_used_date": iso(k.last_used_date),
                    "last_used_service": k.last_used_service,
                    "last_used_region": k.last_used_region,
                }
                for k in self.access_keys
            ],
            "signing_certificates": [
                {
                    "certificate_id": c.certificate_id,
                    "status": c.status,
                    "uploaded": iso(c.uploaded),
                }
                for c in self.signing_certificates
            ],
            "mfa_devices": [
                {
                    "serial_number": d.serial_number,
                    "kind": d.kind,
                    "enabled": iso(d.enabled),
                    "assigned": d.assigned,
                }
                for d in self.mfa_devices
            ],
        }


@dataclass
class RootSession:
    """Credentials handed out by AssumeRoot: they act as the target account's root user."""

    access_key_id: str
    secret_access_key: str
    session_token: str
    account_id: str
    task: Task
    expiration: datetime
    caller_arn: str
    caller_account: str
    source_identity: str | None = None
    created: datetime | None = None  # CloudTrail's sessionContext.attributes.creationDate


@dataclass
class Principal:
    """Who signed a request."""

    kind: PrincipalKind
    account_id: str
    arn: str
    access_key_id: str | None = None
    session: RootSession | None = None


FaultKind = Literal["error", "throttle", "lost-response"]


@dataclass
class CallRecord:
    """One request the sandbox answered (the call log used by tests and the permissions check).

    `status` and `error_code` are what the client received (status 0: the connection was
    dropped without a response). `fault` names the injected fault that shaped the answer;
    for "lost-response" the change was applied and `applied_status` is what the service
    really answered.
    """

    time: float
    service: str
    action: str
    account_id: str
    principal_kind: str
    principal_arn: str
    access_key_id: str | None
    status: int
    error_code: str | None = None
    task: str | None = None
    fault: FaultKind | None = None
    applied_status: int | None = None


LOST_RESPONSE_KINDS = ("error", "drop")
# Bounds that keep a setting usable: a minute of latency per call at most, and call indexes
# a test could reach (a typo of 10**12 would otherwise silently never fire).
MAX_LATENCY_MS = 60_000.0
MAX_CALL_INDEX = 10_000_000
MAX_CALL_LIST = 10_000


@dataclass
class FaultConfig:
    """Injected latency and failures (per call), for benchmarks and reliability tests.

    Errors and throttling answer *before* the request is applied. A lost response is the
    other half of real failures: the change is applied, then the answer never arrives
    intact ("error": 500 InternalFailure / 503 ServiceUnavailable; "drop": the connection
    is closed with no response). It hits only mutating calls the service answered with
    success, so a retry sees the change already made (NoSuchEntity, or the same success).

    Two ways to choose the calls a fault hits. By count (`*_every`, `*_calls`): the Nth
    call, numbered from 1 since the settings were made; a test that asserts a fault
    happened uses these, because the count does not depend on machine speed. By rate
    (`error_rate`, `lost_response_rate`, drawn from `seed`) and by time (`throttle_rps`):
    realistic load for benchmarks, never something a test may expect to fire.
    """

    latency_ms: float = 0.0
    error_rate: float = 0.0
    throttle_rps: float = 0.0
    # account id -> error code AssumeRoot answers for that account (e.g. "AccessDenied").
    fail_assume_root: dict[str, str] = field(default_factory=dict)
    # action -> error code every call of that action answers, before it is applied (e.g.
    # {"EnableOrganizationsRootCredentialsManagement": "AccessDenied"}): deterministic.
    fail_actions: dict[str, str] = field(default_factory=dict)
    seed: int | None = None
    # Every Nth API call (0: never) / these call numbers: an injected 500/503 (500 first,
    # then alternating), or a throttling error. Throttling wins when both pick a call.
    error_every: int = 0
    error_calls: list[int] = field(default_factory=list)
    throttle_every: int = 0
    throttle_calls: list[int] = field(default_factory=list)
    # Share of matching successful mutating calls whose response is lost after the change.
    lost_response_rate: float = 0.0
    # Every Nth / these numbers among the calls a lost response may hit (the matching
    # successful changes below, numbered from 1); the kinds are used in turn.
    lost_response_every: int = 0
    lost_response_calls: list[int] = field(default_factory=list)
    # Only these actions ("DeleteAccessKey", "DeleteBucketPolicy"); empty: every mutating one.
    lost_response_actions: list[str] = field(default_factory=list)
    # Only calls acting in these accounts (the signer's account; for a root session, the
    # member account); empty: every account.
    lost_response_accounts: list[str] = field(default_factory=list)
    # How a response is lost: "error", "drop" (by rate: drawn per call; by count: in turn).
    lost_response_kinds: list[str] = field(default_factory=lambda: list(LOST_RESPONSE_KINDS))

    def __post_init__(self) -> None:
        """Reject a configuration that could only be a mistake (the control API's 400)."""
        for name in ("error_rate", "lost_response_rate"):
            _check_number(name, getattr(self, name), 0.0, 1.0)
        _check_number("latency_ms", self.latency_ms, 0.0, MAX_LATENCY_MS)
        _check_number("throttle_rps", self.throttle_rps, 0.0, 1e9)
        for name in ("error_every", "throttle_every", "lost_response_every"):
            value = getattr(self, name)
            if not _is_int(value) or not 0 <= value <= MAX_CALL_INDEX:
                raise ValueError(
                    f"{name}: must be an integer from 0 to {MAX_CALL_INDEX}, got {value!r}"
                )
        for name in ("error_calls", "throttle_calls", "lost_response_calls"):
            value = getattr(self, name)
            if (
                not isinstance(value, list | tuple)
                or len(value) > MAX_CALL_LIST
                or not all(_is_int(v) and 1 <= v <= MAX_CALL_INDEX for v in value)
            ):
                raise ValueError(
                    f"{name}: must be a list of at most {MAX_CALL_LIST} call numbers "
                    f"from 1 to {MAX_CALL_INDEX}, got {_short(value)}"
                )
        if self.seed is not None and not _is_int(self.seed):
            raise ValueError(f"seed: must be an integer or null, got {self.seed!r}")
        if not isinstance(self.fail_assume_root, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in self.fail_assume_root.items()
        ):
            raise ValueError(
                f"fail_assume_root: must map account ids to error codes, got {_short(self.fail_assume_root)}"
            )
        if not isinstance(self.fail_actions, dict) or not all(
            isinstance(k, str) and isinstance(v, str) and v for k, v in self.fail_actions.items()
        ):
            raise ValueError(
                f"fail_actions: must map action names to error codes, got {_short(self.fail_actions)}"
            )
        for name in ("lost_response_actions", "lost_response_accounts", "lost_response_kinds"):
            value = getattr(self, name)
            if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
                raise ValueError(f"{name}: must be a list of strings, got {_short(value)}")
        unknown = [k for k in self.lost_response_kinds if k not in LOST_RESPONSE_KINDS]
        if unknown or not self.lost_response_kinds:
            raise ValueError(
                f"lost_response_kinds: use any of {', '.join(LOST_RESPONSE_KINDS)}, "
                f"got {self.lost_response_kinds!r}"
            )

    def loses_response(self, action: str, account_id: str) -> bool:
        """True when a lost response may hit this call (rate drawn, count kept by the caller)."""
        return (
            (
                self.lost_response_rate > 0
                or self.lost_response_every > 0
                or bool(self.lost_response_calls)
            )
            and (not self.lost_response_actions or action in self.lost_response_actions)
            and (not self.lost_response_accounts or account_id in self.lost_response_accounts)
        )


def picked(number: int, every: int, calls: list[int]) -> bool:
    """True when call `number` (from 1) is one a count-based fault hits."""
    return (every > 0 and number % every == 0) or number in calls


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_number(name: str, value: object, low: float, high: float) -> None:
    """A finite number in [low, high]; bool, NaN and infinity are mistakes, not numbers."""
    ok = (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and low <= value <= high
    )
    if not ok:
        raise ValueError(f"{name}: must be a number from {low:g} to {high:g}, got {_short(value)}")


def _short(value: object) -> str:
    """A value for an error message, cut so that a huge input cannot flood the answer."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


class SandboxState:
    """All sandbox-owned state; every access goes through the lock."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.root_users: dict[str, RootUser] = {}
        self.features: dict[str, set[str]] = {}  # organization id -> enabled features
        self.sessions: dict[str, RootSession] = {}  # access key id -> session
        self.identities: dict[str, Principal] = {}  # access key id -> long-term identity
        self.secrets_issued: list[str] = []  # every secret key and token handed out
        self.events: dict[str, list[dict[str, Any]]] = {}  # account id -> CloudTrail events
        # Organizations invitations (rootctl.sandbox.joins): handshake id -> Handshake.
        self.handshakes: dict[str, Any] = {}
        self.calls: list[CallRecord] = []
        self.record_calls = True
        self.clock_offset = 0.0
        self.faults = FaultConfig()

    def now(self) -> datetime:
        return utcnow(self.clock_offset)

    def root_user(self, account_id: str) -> RootUser:
        with self.lock:
            user = self.root_users.get(account_id)
            if user is None:
                user = self.root_users[account_id] = RootUser(account_id=account_id)
            return user

    def register_root_access_key(self, account_id: str, key: RootAccessKey) -> None:
        with self.lock:
            self.root_user(account_id).access_keys.append(key)
            self.identities[key.access_key_id] = Principal(
                kind="root-user",
                account_id=account_id,
                arn=f"arn:aws:iam::{account_id}:root",
                access_key_id=key.access_key_id,
            )
            self.secrets_issued.append(key.secret_access_key)

    def register_identity(self, principal: Principal, secret: str) -> None:
        with self.lock:
            assert principal.access_key_id
            self.identities[principal.access_key_id] = principal
            self.secrets_issued.append(secret)

    def new_session(
        self,
        *,
        account_id: str,
        task: Task,
        duration: int,
        caller: Principal,
        source_identity: str | None,
    ) -> RootSession:
        session = RootSession(
            access_key_id=random_id("ASIA"),
            secret_access_key=random_secret(),
            session_token=random_secret(356),
            account_id=account_id,
            task=task,
            expiration=self.now() + timedelta(seconds=duration),
            caller_arn=caller.arn,
            caller_account=caller.account_id,
            source_identity=source_identity,
            created=self.now(),
        )
        with self.lock:
            self.sessions[session.access_key_id] = session
            self.secrets_issued.extend([session.secret_access_key, session.session_token])
        return session

    def record_event(self, account_id: str, event: dict[str, Any]) -> None:
        with self.lock:
            self.events.setdefault(account_id, []).append(event)

    def record_call(self, record: CallRecord) -> None:
        if self.record_calls:
            with self.lock:
                self.calls.append(record)

    def monotonic(self) -> float:
        return time.monotonic()
