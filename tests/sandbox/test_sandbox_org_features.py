"""Organizations trusted access / delegated admin for IAM, and the IAM organization features."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from rootctl.sandbox import Sandbox

from support import MANAGEMENT, SECURITY, client, enabled_fixture, error_code, sample_fixture

IAM = "iam.amazonaws.com"


def test_trusted_access_for_iam_is_accepted_and_listed(sandbox: Sandbox) -> None:
    org = client(sandbox, "organizations")
    org.enable_aws_service_access(ServicePrincipal=IAM)
    listed = org.list_aws_service_access_for_organization()["EnabledServicePrincipals"]
    assert [p["ServicePrincipal"] for p in listed] == [IAM]
    org.disable_aws_service_access(ServicePrincipal=IAM)
    assert org.list_aws_service_access_for_organization()["EnabledServicePrincipals"] == []


def test_delegated_administrator_for_iam_and_no_ghost_after_rejection(sandbox: Sandbox) -> None:
    org = client(sandbox, "organizations")
    with pytest.raises(ClientError) as exc:
        org.register_delegated_administrator(
            AccountId=SECURITY, ServicePrincipal="nope.amazonaws.com"
        )
    assert error_code(exc) == "InvalidInputException"
    assert org.list_delegated_administrators()["DelegatedAdministrators"] == []
    org.register_delegated_administrator(AccountId=SECURITY, ServicePrincipal=IAM)
    admins = org.list_delegated_administrators(ServicePrincipal=IAM)["DelegatedAdministrators"]
    assert [a["Id"] for a in admins] == [SECURITY]


def test_features_need_trusted_access_first(sandbox: Sandbox) -> None:
    iam = client(sandbox, "iam")
    for call in (
        iam.enable_organizations_root_credentials_management,
        iam.enable_organizations_root_sessions,
        iam.list_organizations_features,
    ):
        with pytest.raises(ClientError) as exc:
            call()
        assert error_code(exc) == "ServiceAccessNotEnabledException"
        # botocore maps the code to the modelled exception class
        assert isinstance(exc.value, iam.exceptions.ServiceAccessNotEnabledException)


def test_enable_list_disable_features(sandbox: Sandbox) -> None:
    client(sandbox, "organizations").enable_aws_service_access(ServicePrincipal=IAM)
    iam = client(sandbox, "iam")
    assert iam.list_organizations_features().get("EnabledFeatures", []) == []
    out = iam.enable_organizations_root_credentials_management()
    assert out["EnabledFeatures"] == ["RootCredentialsManagement"]
    assert out["OrganizationId"] == sandbox.organization_id
    assert iam.enable_organizations_root_sessions()["EnabledFeatures"] == [
        "RootCredentialsManagement",
        "RootSessions",
    ]
    # enabling again is idempotent
    assert iam.enable_organizations_root_sessions()["EnabledFeatures"] == [
        "RootCredentialsManagement",
        "RootSessions",
    ]
    assert iam.disable_organizations_root_sessions()["EnabledFeatures"] == [
        "RootCredentialsManagement"
    ]
    assert iam.disable_organizations_root_credentials_management().get("EnabledFeatures", []) == []
    assert sandbox.features() == []


def test_member_account_cannot_enable_or_list() -> None:
    with Sandbox.start(enabled_fixture()) as sb:
        member = sb.credentials_for(SECURITY)
        iam = client(sb, "iam", member)
        with pytest.raises(ClientError) as exc:
            iam.enable_organizations_root_sessions()
        assert error_code(exc) == "CallerIsNotManagementAccountException"
        assert MANAGEMENT in str(exc.value)
        with pytest.raises(ClientError) as exc:
            iam.list_organizations_features()
        assert error_code(exc) == "AccountNotManagementOrDelegatedAdministratorException"


def test_delegated_admin_can_list_and_disable_but_not_enable() -> None:
    fixture = enabled_fixture(delegated_administrators=[{"account": SECURITY}])
    with Sandbox.start(fixture) as sb:
        iam = client(sb, "iam", sb.credentials_for(SECURITY))
        assert iam.list_organizations_features()["EnabledFeatures"] == [
            "RootCredentialsManagement",
            "RootSessions",
        ]
        with pytest.raises(ClientError) as exc:
            iam.enable_organizations_root_sessions()
        assert error_code(exc) == "CallerIsNotManagementAccountException"
        assert iam.disable_organizations_root_sessions()["EnabledFeatures"] == [
            "RootCredentialsManagement"
        ]
        # and may read the organization (AWS lets delegated administrators call read-only APIs)
        accounts = client(sb, "organizations", sb.credentials_for(SECURITY)).list_accounts()[
            "Accounts"
        ]
        assert len(accounts) > 5


def test_not_all_features_mode() -> None:
    with Sandbox.start(sample_fixture(feature_set="CONSOLIDATED_BILLING")) as sb:
        with pytest.raises(ClientError) as exc:
            client(sb, "iam").list_organizations_features()
        assert error_code(exc) == "OrganizationNotInAllFeaturesModeException"


def test_account_outside_any_organization() -> None:
    with Sandbox.start(sample_fixture()) as sb:
        outsider = sb.credentials_for("999999999999")
        with pytest.raises(ClientError) as exc:
            client(sb, "iam", outsider).enable_organizations_root_sessions()
        assert error_code(exc) == "OrganizationNotFoundException"


def test_unknown_access_key_is_rejected_like_aws(sandbox: Sandbox) -> None:
    import boto3
    from botocore.config import Config

    bogus = boto3.Session(
        aws_access_key_id="AKIAIOSFODNN7EXAMPLE",
        aws_secret_access_key="x" * 40,
        region_name="us-east-1",
    )
    sts = bogus.client(
        "sts", endpoint_url=sandbox.endpoint_url, config=Config(retries={"max_attempts": 1})
    )
    with pytest.raises(ClientError) as exc:
        sts.get_caller_identity()
    assert error_code(exc) == "InvalidClientTokenId"
