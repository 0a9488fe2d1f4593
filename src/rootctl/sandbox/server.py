"""`Sandbox`: start moto's server with rootctl's extension on 127.0.0.1 and load a fixture.

    with Sandbox.start(fixture="org.yaml") as sb:
        env = sb.env()          # AWS_ENDPOINT_URL, management account keys, region

moto keeps its state in module globals, so one sandbox runs per process at a time.
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from rootctl.errors import UsageError
from rootctl.sandbox import control
from rootctl.sandbox.fixture import (
    AccountSpec,
    Fixture,
    as_datetime,
    generated_accounts,
    load_fixture,
)
from rootctl.sandbox.middleware import SandboxApp, is_mutating
from rootctl.sandbox.model import (
    FaultConfig,
    LoginProfile,
    MfaDevice,
    Principal,
    RootAccessKey,
    SandboxState,
    SigningCertificate,
    random_id,
    random_secret,
)
from rootctl.sandbox.orgview import org_context, patch_moto
from rootctl.sandbox.wire import AwsRequest, Response

_ACTIVE = threading.Lock()
OPERATOR_USER = "rootctl-operator"
APPROVER_USER = "rootctl-approver"


@dataclass(frozen=True)
class SandboxCredentials:
    """Long-term keys of an IAM user in one sandbox account (fake, only valid in the sandbox)."""

    account_id: str
    access_key_id: str
    secret_access_key: str
    arn: str


class Sandbox:
    """A running sandbox organization. Use `Sandbox.start(...)` as a context manager."""

    def __init__(
        self, fixture: Fixture, *, host: str = "127.0.0.1", port: int = 0, region: str = "us-east-1"
    ) -> None:
        self.fixture = fixture
        self.host = host
        self.port = port
        self.region = region
        self.state = SandboxState()
        self.app: SandboxApp | None = None
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self.operator: SandboxCredentials | None = None
        # Two people of the management account for two-person rules (rootctl.approvals):
        # "requester" is `operator`, "approver" another IAM user with its own keys.
        self.operators: dict[str, SandboxCredentials] = {}
        self.organization_id = ""
        # The control API's per-run secret (docs/sandbox.md): `control()` sends it,
        # `sandbox serve` prints it as ROOTCTL_SANDBOX_TOKEN.
        self.token = secrets.token_urlsafe(32)

    # -- life cycle ------------------------------------------------------------------------

    @classmethod
    @contextmanager
    def start(
        cls,
        fixture: str | Path | dict[str, Any] | Fixture | None = None,
        *,
        accounts: int | None = None,
        seed: int | None = None,
        port: int = 0,
        host: str = "127.0.0.1",
        region: str = "us-east-1",
        faults: FaultConfig | None = None,
    ) -> Iterator[Sandbox]:
        """Start on a free port (port=0) in a background thread; stop on exit."""
        sandbox = cls.create(
            fixture,
            accounts=accounts,
            seed=seed,
            port=port,
            host=host,
            region=region,
            faults=faults,
        )
        sandbox.serve_in_thread()
        try:
            yield sandbox
        finally:
            sandbox.stop()

    @classmethod
    def create(
        cls,
        fixture: str | Path | dict[str, Any] | Fixture | None = None,
        *,
        accounts: int | None = None,
        seed: int | None = None,
        port: int = 0,
        host: str = "127.0.0.1",
        region: str = "us-east-1",
        faults: FaultConfig | None = None,
    ) -> Sandbox:
        spec = fixture if isinstance(fixture, Fixture) else load_fixture(fixture)
        if accounts is not None:
            spec = spec.model_copy(deep=True)
            spec.generate.accounts = accounts
        if seed is not None:
            spec = spec.model_copy(deep=True)
            spec.generate.seed = seed
        if not _ACTIVE.acquire(blocking=False):
            raise UsageError("a sandbox is already running in this process (moto state is global)")
        try:
            sandbox = cls(spec, host=host, port=port, region=region)
            if faults is not None:
                sandbox.state.faults = faults
            sandbox._build()
        except BaseException:
            _ACTIVE.release()
            raise
        return sandbox

    def _make_server(self) -> Any:
        """Bind the HTTP server (port 0 picks a free port); serving is the caller's choice."""
        from moto.moto_server.werkzeug_app import create_backend_app

        from rootctl.sandbox.httpd import CachedDispatcher, PooledThreadsServer, QuietRequestHandler
        from rootctl.sandbox.wire import speed_up_moto_serialisers

        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        speed_up_moto_serialisers()
        self.app = SandboxApp(self.state, CachedDispatcher(create_backend_app), self._control)
        self.app.configure_faults()
        if self.port:
            _check_free(self.host, self.port)
        # What werkzeug's make_server(threaded=True) builds, with reused connection threads.
        server = PooledThreadsServer(self.host, self.port, self.app, QuietRequestHandler)
        self.port = int(server.server_address[1])
        self._server = server
        return server

    def serve_in_thread(self) -> None:
        server = self._make_server()
        # serve_forever polls for shutdown every poll_interval (socketserver's default 0.5 s):
        # every stop() waited that long. 0.02 s makes stop() near-instant at ~50 idle wakeups/s.
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.02},
            name="rootctl-sandbox",
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            if self._thread is not None:
                self._server.shutdown()
                self._thread.join(timeout=10)
            self._server.server_close()
            self._server = None
        if _ACTIVE.locked():
            _ACTIVE.release()

    # -- what clients need -------------------------------------------------------------------

    @property
    def endpoint_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def management_account_id(self) -> str:
        return self.fixture.organization.management_account.id

    def env(self, credentials: SandboxCredentials | None = None) -> dict[str, str]:
        """Environment variables that point standard AWS clients at this sandbox."""
        creds = credentials or self.operator
        assert creds is not None
        return {
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_ACCESS_KEY_ID": creds.access_key_id,
            "AWS_SECRET_ACCESS_KEY": creds.secret_access_key,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_REGION": self.region,
        }

    def credentials_for(
        self, account_id: str, user_name: str = OPERATOR_USER
    ) -> SandboxCredentials:
        """Create (once) an IAM user with an access key in `account_id` and return its keys."""
        from moto.iam.models import iam_backends

        iam = iam_backends[account_id]["global"]
        with self.state.lock:
            existing = [
                p
                for p in self.state.identities.values()
                if p.kind == "iam"
                and p.arn.endswith(f":user/{user_name}")
                and p.account_id == account_id
            ]
            if existing and existing[0].access_key_id in self._secrets:
                principal = existing[0]
                assert principal.access_key_id
                return SandboxCredentials(
                    account_id,
                    principal.access_key_id,
                    self._secrets[principal.access_key_id],
                    principal.arn,
                )
            if user_name not in iam.users:
                iam.create_user(region_name=self.region, user_name=user_name)
            key = iam.create_access_key(user_name=user_name)
            arn = f"arn:aws:iam::{account_id}:user/{user_name}"
            principal = Principal(
                kind="iam", account_id=account_id, arn=arn, access_key_id=key.access_key_id
            )
            self.state.register_identity(principal, key.secret_access_key)
            self._secrets[key.access_key_id] = key.secret_access_key
            return SandboxCredentials(account_id, key.access_key_id, key.secret_access_key, arn)

    _secrets: dict[str, str]

    # -- building the organization -------------------------------------------------------------

    def _build(self) -> None:
        from moto.moto_api._internal.models import moto_api_backend
        from moto.organizations.models import organizations_backends

        patch_moto()
        moto_api_backend.reset()
        organizations_backends.master_accounts.clear()
        self._secrets = {}
        spec = self.fixture.organization
        management = spec.management_account
        backend: Any = organizations_backends[management.id]["aws"]
        backend.create_organization(region=self.region, FeatureSet=spec.feature_set)
        org = backend.org
        org.master_account_email = management.email
        backend.accounts[0].name = management.name
        backend.accounts[0].email = management.email
        self.organization_id = str(org.id)
        self.ou_ids: dict[str, str] = {"/root": str(org.root_id)}
        for path in spec.organizational_units:
            self._ensure_ou(backend, path)
        taken = {management.id, *(a.id for a in spec.accounts)}
        accounts = [*spec.accounts, *generated_accounts(self.fixture.generate, taken)]
        self._add_accounts(backend, accounts)
        for principal in spec.trusted_access:
            backend.enable_aws_service_access(ServicePrincipal=principal)
        for admin in spec.delegated_administrators:
            backend.register_delegated_administrator(
                AccountId=admin.account, ServicePrincipal=admin.service
            )
        self.state.features[self.organization_id] = set(spec.centralized_root_access)
        self._add_policies(backend)
        self.operator = self.credentials_for(management.id)
        self.operators = {
            "requester": self.operator,
            "approver": self.credentials_for(management.id, APPROVER_USER),
        }

    def _ensure_ou(self, backend: Any, path: str) -> str:
        if path in self.ou_ids:
            return self.ou_ids[path]
        parent_path, _, name = path.rpartition("/")
        parent_id = self._ensure_ou(backend, parent_path or "/root")
        created = backend.create_organizational_unit(ParentId=parent_id, Name=name)
        self.ou_ids[path] = str(created["OrganizationalUnit"]["Id"])
        return self.ou_ids[path]

    def _add_accounts(self, backend: Any, accounts: list[AccountSpec]) -> None:
        from moto.organizations import utils as org_utils

        original = org_utils.make_random_account_id
        try:
            for spec in accounts:
                org_utils.make_random_account_id = _fixed_id(spec.id)
                backend.create_account(
                    AccountName=spec.name, Email=spec.email or f"aws+{spec.id}@example.com"
                )
                account = backend.accounts[-1]
                account.parent_id = self._ensure_ou(backend, spec.ou)
                account.status = spec.status
                self._add_root_user(spec)
                self._add_resources(spec)
        finally:
            org_utils.make_random_account_id = original

    def _add_root_user(self, spec: AccountSpec) -> None:
        root = spec.root
        user = self.state.root_user(spec.id)
        if root.password:
            user.login_profile = LoginProfile(
                created=as_datetime(root.password.created),
                last_used=as_datetime(root.password.last_used) if root.password.last_used else None,
            )
        for key_spec in root.access_keys:
            key = RootAccessKey(
                access_key_id=key_spec.id or random_id("AKIA"),
                secret_access_key=random_secret(),
                status=key_spec.status,
                created=as_datetime(key_spec.created),
            )
            if key_spec.last_used:
                key.last_used_date = as_datetime(key_spec.last_used.date)
                key.last_used_service = key_spec.last_used.service
                key.last_used_region = key_spec.last_used.region
            self.state.register_root_access_key(spec.id, key)
        for cert in root.signing_certificates:
            user.signing_certificates.append(
                SigningCertificate(
                    certificate_id=cert.id or random_id("", 32),
                    body="-----BEGIN CERTIFICATE-----\nMIIBsandbox\n-----END CERTIFICATE-----",
                    status=cert.status,
                    uploaded=as_datetime(cert.uploaded),
                )
            )
        for index, device in enumerate(root.mfa_devices):
            serial = device.serial or (
                f"arn:aws:iam::{spec.id}:mfa/root-account-mfa-device"
                + (f"-{index}" if index else "")
                if device.type == "virtual"
                else random_id("GAHT", 12)
            )
            user.mfa_devices.append(
                MfaDevice(
                    serial_number=serial, kind=device.type, enabled=as_datetime(device.enabled)
                )
            )

    def _add_resources(self, spec: AccountSpec) -> None:
        from moto.s3.models import s3_backends
        from moto.sqs.models import sqs_backends

        for bucket in spec.s3_buckets:
            s3 = s3_backends[spec.id]["aws"]
            s3.create_bucket(bucket.name, bucket.region or self.region)
            if bucket.policy is not None:
                s3.put_bucket_policy(bucket.name, json.dumps(bucket.policy).encode("utf-8"))
        for queue in spec.sqs_queues:
            sqs = sqs_backends[spec.id][queue.region or self.region]
            sqs.create_queue(queue.name)
            if queue.policy is not None:
                sqs.set_queue_attributes(queue.name, {"Policy": json.dumps(queue.policy)})

    def _add_policies(self, backend: Any) -> None:
        for policy in self.fixture.organization.policies:
            if policy.content is not None:
                content = policy.content
            elif policy.template is not None:
                from rootctl.guardrails.templates import render

                names = [policy.template] if isinstance(policy.template, str) else policy.template
                content = render(names, policy.exclude_principal_arns)
            else:
                raise UsageError(f"fixture: policy {policy.name!r} needs 'content' or 'template'")
            created = backend.create_policy(
                Name=policy.name,
                Description=policy.description,
                Type="SERVICE_CONTROL_POLICY",
                Content=json.dumps(content),
            )
            policy_id = created["Policy"]["PolicySummary"]["Id"]
            for target in policy.targets:
                target_id = target if target.isdigit() else self._ensure_ou(backend, target)
                backend.attach_policy(PolicyId=policy_id, TargetId=target_id)

    # -- inspection and control (also served over HTTP under /_rootctl/) -------------------------

    def root_state(self) -> dict[str, Any]:
        """Every account's root credentials as the sandbox holds them (no secrets)."""
        with self.state.lock:
            return {
                account: user.to_dict() for account, user in sorted(self.state.root_users.items())
            }

    def features(self) -> list[str]:
        with self.state.lock:
            return sorted(self.state.features.get(self.organization_id, set()))

    def calls(self) -> list[dict[str, Any]]:
        with self.state.lock:
            return [{**asdict(c), "mutating": is_mutating(c.action)} for c in self.state.calls]

    def reset_calls(self) -> None:
        with self.state.lock:
            self.state.calls.clear()

    def set_faults(self, faults: FaultConfig) -> None:
        self.state.faults = faults
        if self.app is not None:
            self.app.configure_faults()

    def advance_clock(self, seconds: float) -> None:
        """Move the clock forward (ValueError for a NaN, infinite, negative or huge advance)."""
        with self.state.lock:
            self.state.clock_offset += control.checked_advance(seconds, self.state.clock_offset)

    def secrets_issued(self) -> list[str]:
        with self.state.lock:
            return list(self.state.secrets_issued)

    def ou_path_of(self, account_id: str) -> str:
        org = org_context(self.management_account_id)
        assert org is not None
        account = org.account(account_id)
        return org.ou_path(account.parent_id) if account is not None else ""

    def control_env(self) -> dict[str, str]:
        """The variable that lets a process outside this one use the control API."""
        return {control.TOKEN_ENV: self.token}

    def control(self, route: str, method: str = "GET", body: Any = None) -> tuple[int, Any]:
        """Call the control API over HTTP as an outside process would: (status, JSON answer)."""
        import urllib.error
        import urllib.request

        data = None if body is None else json.dumps(body).encode("utf-8")
        headers = {control.TOKEN_HEADER: self.token}
        if data is not None:
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(
            f"{self.endpoint_url}/_rootctl/{route}", data=data, method=method, headers=headers
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as answer:
                return int(answer.status), json.load(answer)
        except urllib.error.HTTPError as exc:
            return int(exc.code), json.load(exc)

    def _control(self, req: AwsRequest) -> Response:
        """One control request: access checks, then the route; every refusal is one line."""
        route = req.path[len("/_rootctl/") :].strip("/")
        try:
            control.check_access(
                req, route, control.allowed_hosts(self.host, self.port), self.token
            )
            methods = self._routes().get(route)
            if methods is None:
                raise control.ControlError(404, f"unknown control route {route[:60]!r}")
            handler = methods.get(req.method)
            if handler is None:
                raise control.ControlError(
                    405, f"{route}: use {' or '.join(sorted(methods))}, not {req.method[:10]}"
                )
            return handler(control.parse_body(req))
        except control.ControlError as exc:
            return _json(exc.status, {"error": exc.message})

    def _routes(self) -> dict[str, dict[str, Callable[[dict[str, Any]], Response]]]:
        return {
            "health": {"GET": lambda _: _json(200, self._health())},
            "state": {
                "GET": lambda _: _json(
                    200,
                    {
                        "organization_id": self.organization_id,
                        "features": self.features(),
                        "root_users": self.root_state(),
                    },
                )
            },
            "calls": {
                "GET": lambda _: _json(200, {"calls": self.calls()}),
                "DELETE": self._delete_calls,
            },
            "faults": {
                "GET": lambda _: _json(200, asdict(self.state.faults)),
                "POST": self._post_faults,
            },
            "clock": {
                "GET": lambda _: _json(200, {"offset_seconds": self.state.clock_offset}),
                "POST": self._post_clock,
            },
            "secrets": {"GET": lambda _: _json(200, {"secrets": self.secrets_issued()})},
            "credentials": {"POST": self._post_credentials},
            "root-sign-in": {"POST": self._post_root_sign_in},
        }

    def _health(self) -> dict[str, Any]:
        return {
            "ok": True,
            "management_account": self.management_account_id,
            "organization_id": self.organization_id,
            "region": self.region,
        }

    def _delete_calls(self, _: dict[str, Any]) -> Response:
        self.reset_calls()
        return _json(200, {"ok": True})

    def _post_faults(self, payload: dict[str, Any]) -> Response:
        try:
            faults = FaultConfig(**payload)
        except TypeError as exc:  # an unknown key: name it, not the dataclass's signature
            unknown = sorted(set(payload) - {f.name for f in fields(FaultConfig)})
            what = f"unknown key {unknown[0][:60]!r}" if unknown else str(exc)
            return _json(400, {"error": f"faults: {what}"})
        except ValueError as exc:
            return _json(400, {"error": f"faults: {exc}"})
        self.set_faults(faults)
        return _json(200, {"ok": True})

    def _post_clock(self, payload: dict[str, Any]) -> Response:
        with self.state.lock:
            seconds = control.clock_advance(payload, self.state.clock_offset)
            self.state.clock_offset += seconds
            return _json(200, {"ok": True, "offset_seconds": self.state.clock_offset})

    def _post_credentials(self, payload: dict[str, Any]) -> Response:
        org = org_context(self.management_account_id)
        known = {str(a.id) for a in org.backend.accounts} if org is not None else set()
        creds = self.credentials_for(control.account_id(payload, known))
        return _json(200, asdict(creds))

    def _post_root_sign_in(self, payload: dict[str, Any]) -> Response:
        """A real root console sign-in in a member account (rootctl.sandbox.joins)."""
        from rootctl.sandbox.joins import record_root_sign_in

        with self.state.lock:
            known = set(self.state.root_users)
        event = record_root_sign_in(self.state, control.account_id(payload, known))
        return _json(200, {"ok": True, "event_id": event["eventID"]})


def _json(status: int, body: Any) -> Response:
    return (
        status,
        {"Content-Type": "application/json"},
        json.dumps(body, default=str).encode("utf-8"),
    )


def _check_free(host: str, port: int) -> None:
    """OSError when the port is taken: werkzeug would print its own advice and sys.exit(1)."""
    import socket

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as werkzeug binds
        probe.bind((host, port))


def _fixed_id(account_id: str) -> Any:
    """A stand-in for moto's account id generator that returns the fixture's id."""
    return lambda: account_id
