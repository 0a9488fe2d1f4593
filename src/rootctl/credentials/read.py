"""Read the root user's credentials inside a root session (audit or delete task).

Every call omits `UserName`, so it acts on the root user (AWS: "omit the user name ... to
default to the member account"). The five reads are independent: with an executor they
run at the same time, so an account costs three round trips (AssumeRoot, the reads,
GetAccessKeyLastUsed) instead of seven. That halves a latency-bound audit, and IAM's
per-account rate limits are far above five concurrent reads.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Executor, Future
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from rootctl.credentials.models import (
    AccessKey,
    MfaDevice,
    Password,
    RootCredentials,
    SigningCertificate,
    mfa_type,
)
from rootctl.errors import code_is

if TYPE_CHECKING:
    from rootctl.aws.root_session import RootSession

# GetAccessKeyLastUsed answers "N/A" for a key that was never used.
_NOT_USED = "N/A"


def read_root_credentials(session: RootSession, pool: Executor | None = None) -> RootCredentials:
    """Every kind of root credential, read in `session` (reads run on `pool` when given)."""
    iam = session.iam
    reads: list[Callable[[Any], Any]] = [
        _login_profile,
        _user,
        _access_keys,
        _signing_certificates,
        _mfa_devices,
    ]
    if pool is None:
        profile, user, keys, certs, devices = (read(iam) for read in reads)
    else:
        futures: list[Future[Any]] = [session.submit(pool, read, iam) for read in reads[1:]]
        first = reads[0](iam)  # the calling thread does one read itself
        user, keys, certs, devices = (future.result() for future in futures)
        profile = first
    return RootCredentials(
        password=Password(
            present=profile is not None,
            created=profile.get("CreateDate") if profile is not None else None,
            last_used=user.get("PasswordLastUsed"),
        ),
        access_keys=keys,
        signing_certificates=certs,
        mfa_devices=devices,
    )


def _login_profile(iam: Any) -> dict[str, Any] | None:
    try:
        profile: dict[str, Any] = iam.get_login_profile()["LoginProfile"]
    except ClientError as exc:
        if code_is(exc, "NoSuchEntity"):  # no password
            return None
        raise
    return profile


def _user(iam: Any) -> dict[str, Any]:
    user: dict[str, Any] = iam.get_user()["User"]
    return user


def _access_keys(iam: Any) -> tuple[AccessKey, ...]:
    return tuple(_access_key(iam, raw) for raw in _pages(iam, "list_access_keys"))


def _access_key(iam: Any, raw: dict[str, Any]) -> AccessKey:
    key_id = str(raw["AccessKeyId"])
    try:
        used = iam.get_access_key_last_used(AccessKeyId=key_id).get("AccessKeyLastUsed", {})
    except ClientError as exc:
        if not code_is(exc, "NoSuchEntity"):  # deleted between the list and this call
            raise
        used = {}
    return AccessKey(
        access_key_id=key_id,
        status=str(raw.get("Status", "")),
        created=raw.get("CreateDate"),
        last_used_date=used.get("LastUsedDate"),
        last_used_service=_used(used.get("ServiceName")),
        last_used_region=_used(used.get("Region")),
    )


def _signing_certificates(iam: Any) -> tuple[SigningCertificate, ...]:
    return tuple(
        SigningCertificate(
            certificate_id=str(raw["CertificateId"]),
            status=str(raw.get("Status", "")),
            uploaded=raw.get("UploadDate"),
        )
        for raw in _pages(iam, "list_signing_certificates")
    )


def _mfa_devices(iam: Any) -> tuple[MfaDevice, ...]:
    return tuple(
        MfaDevice(
            serial_number=str(raw["SerialNumber"]),
            type=mfa_type(str(raw["SerialNumber"])),
            enabled=raw.get("EnableDate"),
        )
        for raw in _pages(iam, "list_mfa_devices")
    )


def _used(value: Any) -> str | None:
    return None if value in (None, "", _NOT_USED) else str(value)


def _pages(iam: Any, operation: str) -> list[dict[str, Any]]:
    key = {
        "list_access_keys": "AccessKeyMetadata",
        "list_signing_certificates": "Certificates",
        "list_mfa_devices": "MFADevices",
    }[operation]
    items: list[dict[str, Any]] = []
    for page in iam.get_paginator(operation).paginate():
        items.extend(page.get(key, []))
    return items
