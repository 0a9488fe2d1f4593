"""The root user model: every root-user IAM call from the right task session."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from rootctl.sandbox import Sandbox
from rootctl.tasks import Task

from support import DATA_PROD, EXPERIMENTS, PAYMENTS_DEV, PAYMENTS_PROD, error_code, root_client


def test_audit_reads_every_credential_kind(enabled_sandbox: Sandbox) -> None:
    iam = root_client(enabled_sandbox, PAYMENTS_PROD, Task.AUDIT, "iam")
    user = iam.get_user()["User"]
    assert user["Arn"] == f"arn:aws:iam::{PAYMENTS_PROD}:root"
    assert user["PasswordLastUsed"].date().isoformat() == "2024-08-30"
    assert iam.get_login_profile()["LoginProfile"]["CreateDate"].date().isoformat() == "2019-04-02"
    keys = iam.list_access_keys()["AccessKeyMetadata"]
    assert [(k["AccessKeyId"], k["Status"]) for k in keys] == [("AKIAROOTPAYMENTS0001", "Active")]
    last = iam.get_access_key_last_used(AccessKeyId="AKIAROOTPAYMENTS0001")["AccessKeyLastUsed"]
    assert (last["ServiceName"], last["Region"], last["LastUsedDate"].date().isoformat()) == (
        "s3",
        "eu-west-1",
        "2025-01-12",
    )
    assert iam.list_signing_certificates()["Certificates"] == []
    devices = iam.list_mfa_devices()["MFADevices"]
    assert [d["SerialNumber"] for d in devices] == [
        f"arn:aws:iam::{PAYMENTS_PROD}:mfa/root-account-mfa-device"
    ]
    summary = iam.get_account_summary()["SummaryMap"]
    assert summary["AccountPasswordPresent"] == 1
    assert summary["AccountAccessKeysPresent"] == 1
    assert summary["AccountSigningCertificatesPresent"] == 0
    assert summary["AccountMFAEnabled"] == 1
    assert summary["MFADevices"] == 1


def test_audit_of_a_clean_account(enabled_sandbox: Sandbox) -> None:
    iam = root_client(enabled_sandbox, EXPERIMENTS, Task.AUDIT, "iam")
    with pytest.raises(ClientError) as exc:
        iam.get_login_profile()
    assert error_code(exc) == "NoSuchEntity"
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    summary = iam.get_account_summary()["SummaryMap"]
    assert {
        k: summary[k]
        for k in ("AccountPasswordPresent", "AccountAccessKeysPresent", "AccountMFAEnabled")
    } == {
        "AccountPasswordPresent": 0,
        "AccountAccessKeysPresent": 0,
        "AccountMFAEnabled": 0,
    }
    assert "PasswordLastUsed" not in iam.get_user()["User"]


def test_delete_every_credential_kind(enabled_sandbox: Sandbox) -> None:
    iam = root_client(enabled_sandbox, PAYMENTS_PROD, Task.DELETE, "iam")
    iam.delete_login_profile()
    iam.delete_access_key(AccessKeyId="AKIAROOTPAYMENTS0001")
    serial = f"arn:aws:iam::{PAYMENTS_PROD}:mfa/root-account-mfa-device"
    with pytest.raises(ClientError) as exc:
        iam.delete_virtual_mfa_device(SerialNumber=serial)
    assert error_code(exc) == "DeleteConflict"  # must deactivate first
    iam.deactivate_mfa_device(SerialNumber=serial)
    iam.delete_virtual_mfa_device(SerialNumber=serial)
    # deleting again: NoSuchEntity, which callers treat as already done
    for call, kwargs in (
        (iam.delete_login_profile, {}),
        (iam.delete_access_key, {"AccessKeyId": "AKIAROOTPAYMENTS0001"}),
        (iam.deactivate_mfa_device, {"SerialNumber": serial}),
    ):
        with pytest.raises(ClientError) as exc:
            call(**kwargs)
        assert error_code(exc) == "NoSuchEntity"
    state = enabled_sandbox.root_state()[PAYMENTS_PROD]
    assert state["password"] is None and state["access_keys"] == [] and state["mfa_devices"] == []


def test_delete_signing_certificate_and_hardware_mfa(enabled_sandbox: Sandbox) -> None:
    iam = root_client(enabled_sandbox, PAYMENTS_DEV, Task.DELETE, "iam")
    cert = iam.list_signing_certificates()["Certificates"][0]
    iam.delete_signing_certificate(CertificateId=cert["CertificateId"])
    assert iam.list_signing_certificates()["Certificates"] == []
    iam = root_client(enabled_sandbox, DATA_PROD, Task.DELETE, "iam")
    device = iam.list_mfa_devices()["MFADevices"][0]
    assert not device["SerialNumber"].startswith("arn:")  # hardware token serial
    iam.deactivate_mfa_device(SerialNumber=device["SerialNumber"])
    assert iam.list_mfa_devices()["MFADevices"] == []


def test_create_password_only_without_one(enabled_sandbox: Sandbox) -> None:
    iam = root_client(enabled_sandbox, EXPERIMENTS, Task.CREATE_PASSWORD, "iam")
    profile = iam.create_login_profile()["LoginProfile"]
    assert profile["PasswordResetRequired"] is False
    assert iam.get_login_profile()["LoginProfile"]["CreateDate"] == profile["CreateDate"]
    with pytest.raises(ClientError) as exc:
        iam.create_login_profile()
    assert error_code(exc) == "EntityAlreadyExists"
    with pytest.raises(ClientError) as exc:
        iam.create_login_profile(Password="Sup3r-secret!")
    assert error_code(exc) == "ValidationError"
    assert enabled_sandbox.root_state()[EXPERIMENTS]["password"] is not None
