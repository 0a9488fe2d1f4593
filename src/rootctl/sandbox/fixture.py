"""The fixture file: a YAML description of a sandbox organization (docs/sandbox.md).

`organization` lists what exists; `generate` adds N accounts with random leftover root
credentials from a seed. Both are validated with pydantic before the sandbox starts.
"""

from __future__ import annotations

import random
import re
from datetime import UTC, date, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
)

from rootctl.errors import UsageError

AccountId = Annotated[str, StringConstraints(pattern=r"^\d{12}$")]
OuPath = Annotated[str, StringConstraints(pattern=r"^/root(/[^/]+)*$")]
Feature = Literal["RootCredentialsManagement", "RootSessions"]
SAMPLE_FIXTURE = "sample-organization.yaml"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PasswordSpec(_Model):
    created: datetime | date = datetime(2021, 3, 1, tzinfo=UTC)
    last_used: datetime | date | None = None


class LastUsedSpec(_Model):
    date: datetime | date
    service: str = "s3"
    region: str = "us-east-1"


class AccessKeySpec(_Model):
    id: Annotated[str, StringConstraints(pattern=r"^AKIA[A-Z0-9]{16}$")] | None = None
    status: Literal["Active", "Inactive"] = "Active"
    created: datetime | date = datetime(2020, 6, 1, tzinfo=UTC)
    last_used: LastUsedSpec | None = None


class SigningCertificateSpec(_Model):
    id: str | None = None
    status: Literal["Active", "Inactive"] = "Active"
    uploaded: datetime | date = datetime(2019, 1, 15, tzinfo=UTC)


class MfaDeviceSpec(_Model):
    type: Literal["virtual", "hardware"] = "virtual"
    serial: str | None = None
    enabled: datetime | date = datetime(2022, 2, 2, tzinfo=UTC)


class RootSpec(_Model):
    password: PasswordSpec | None = None
    access_keys: list[AccessKeySpec] = Field(default_factory=list)
    signing_certificates: list[SigningCertificateSpec] = Field(default_factory=list)
    mfa_devices: list[MfaDeviceSpec] = Field(default_factory=list)


class BucketSpec(_Model):
    name: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")]
    region: str | None = None
    policy: dict[str, Any] | None = None


class QueueSpec(_Model):
    name: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,80}(\.fifo)?$")]
    region: str | None = None
    policy: dict[str, Any] | None = None


class AccountSpec(_Model):
    id: AccountId
    name: str
    email: str | None = None
    ou: OuPath = "/root"
    status: Literal["ACTIVE", "SUSPENDED"] = "ACTIVE"
    root: RootSpec = Field(default_factory=RootSpec)
    s3_buckets: list[BucketSpec] = Field(default_factory=list)
    sqs_queues: list[QueueSpec] = Field(default_factory=list)


class ManagementSpec(_Model):
    id: AccountId = "111111111111"
    name: str = "management"
    email: str = "aws-management@example.com"


class DelegatedAdminSpec(_Model):
    account: AccountId
    service: str = "iam.amazonaws.com"


class PolicySpec(_Model):
    name: str
    description: str = ""
    template: list[str] | str | None = None
    content: dict[str, Any] | None = None
    exclude_principal_arns: list[str] = Field(default_factory=list)
    targets: list[str] = Field(min_length=1)

    @field_validator("targets")
    @classmethod
    def _targets(cls, value: list[str]) -> list[str]:
        for target in value:
            if not (re.fullmatch(r"\d{12}", target) or re.fullmatch(r"/root(/[^/]+)*", target)):
                raise ValueError(
                    f"target {target!r} must be an OU path (/root/...) or a 12-digit account id"
                )
        return value


class OrganizationSpec(_Model):
    management_account: ManagementSpec = Field(default_factory=ManagementSpec)
    feature_set: Literal["ALL", "CONSOLIDATED_BILLING"] = "ALL"
    trusted_access: list[str] = Field(default_factory=list)
    delegated_administrators: list[DelegatedAdminSpec] = Field(default_factory=list)
    centralized_root_access: list[Feature] = Field(default_factory=list)
    organizational_units: list[OuPath] = Field(default_factory=list)
    accounts: list[AccountSpec] = Field(default_factory=list)
    policies: list[PolicySpec] = Field(default_factory=list)


class ShareSpec(_Model):
    password: float = Field(0.3, ge=0, le=1)
    access_keys: float = Field(0.2, ge=0, le=1)
    signing_certificates: float = Field(0.1, ge=0, le=1)
    mfa_devices: float = Field(0.25, ge=0, le=1)


class GenerateSpec(_Model):
    accounts: int = Field(0, ge=0, le=20000)
    seed: int = 0
    ou_paths: list[OuPath] = Field(
        default_factory=lambda: ["/root/workloads/prod", "/root/workloads/dev", "/root/sandbox"]
    )
    share: ShareSpec = Field(default_factory=ShareSpec)


class Fixture(_Model):
    organization: OrganizationSpec = Field(default_factory=OrganizationSpec)
    generate: GenerateSpec = Field(default_factory=GenerateSpec)


def _first_error(source: str, exc: ValidationError) -> UsageError:
    error = exc.errors()[0]
    # repr() for odd keys: a key holding a line break must not split the one-line error
    where = (
        ".".join(str(p) if str(p).isprintable() else repr(p) for p in error["loc"]) or "(top level)"
    )
    more = f" (+{len(exc.errors()) - 1} more)" if len(exc.errors()) > 1 else ""
    message = " ".join(str(error["msg"]).split())
    return UsageError(f"{source}: {where}: {message}{more}")


def load_fixture(source: str | Path | dict[str, Any] | None) -> Fixture:
    """Validate a fixture file (path), an already-parsed dict, or None (an empty organization)."""
    if source is None:
        return Fixture()
    if isinstance(source, dict):
        try:
            return Fixture.model_validate(source)
        except ValidationError as exc:
            raise _first_error("fixture", exc) from None
    path = Path(source)
    try:
        text = path.read_text("utf-8")
    except OSError as exc:
        raise UsageError(f"cannot read fixture {path}: {exc.strerror}") from None
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise UsageError(f"{path}: not valid YAML{at}") from None
    if not isinstance(data, dict):
        raise UsageError(f"{path}: a fixture is a mapping with 'organization' and/or 'generate'")
    try:
        return Fixture.model_validate(data)
    except ValidationError as exc:
        raise _first_error(str(path), exc) from None


def sample_fixture_path() -> Path:
    """The sample organization shipped with the package (it backs the demo)."""
    return Path(str(resources.files("rootctl").joinpath(f"data/{SAMPLE_FIXTURE}")))


def generated_accounts(spec: GenerateSpec, taken: set[str]) -> list[AccountSpec]:
    """N accounts with random leftover root credentials, reproducible from the seed."""
    rng = random.Random(spec.seed)
    base = datetime(2018, 1, 1, tzinfo=UTC)
    accounts: list[AccountSpec] = []
    for index in range(spec.accounts):
        account_id = f"{rng.randrange(10**11, 10**12):012d}"
        while account_id in taken:
            account_id = f"{rng.randrange(10**11, 10**12):012d}"
        taken.add(account_id)
        root = RootSpec()
        if rng.random() < spec.share.password:
            created = base + timedelta(days=rng.randrange(0, 2000))
            used = created + timedelta(days=rng.randrange(1, 600)) if rng.random() < 0.6 else None
            root.password = PasswordSpec(created=created, last_used=used)
        if rng.random() < spec.share.access_keys:
            for _ in range(rng.choice((1, 1, 2))):
                created = base + timedelta(days=rng.randrange(0, 2000))
                last = (
                    LastUsedSpec(
                        date=created + timedelta(days=rng.randrange(1, 500)),
                        service=rng.choice(["s3", "ec2", "iam"]),
                        region=rng.choice(["us-east-1", "eu-west-1"]),
                    )
                    if rng.random() < 0.5
                    else None
                )
                root.access_keys.append(
                    AccessKeySpec(
                        status=rng.choice(["Active", "Active", "Inactive"]),
                        created=created,
                        last_used=last,
                    )
                )
        if rng.random() < spec.share.signing_certificates:
            root.signing_certificates.append(
                SigningCertificateSpec(uploaded=base + timedelta(days=rng.randrange(0, 2000)))
            )
        if rng.random() < spec.share.mfa_devices:
            root.mfa_devices.append(
                MfaDeviceSpec(
                    type=rng.choice(["virtual", "hardware"]),
                    enabled=base + timedelta(days=rng.randrange(0, 2000)),
                )
            )
        accounts.append(
            AccountSpec(
                id=account_id,
                name=f"account-{index + 1:05d}",
                email=f"aws+{index + 1:05d}@example.com",
                ou=spec.ou_paths[index % len(spec.ou_paths)] if spec.ou_paths else "/root",
                root=root,
            )
        )
    return accounts


def as_datetime(value: datetime | date) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime(value.year, value.month, value.day, tzinfo=UTC)
