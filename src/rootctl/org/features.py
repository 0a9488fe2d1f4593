"""Read where the organization stands on centralized root access.

One `OrgState` value: organization, caller role, IAM trusted access, IAM delegated
administrator, enabled features and the SCPs that concern the root user. Reading never
raises for a call the caller may not make: the gap is recorded in `unknown` instead.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from botocore.exceptions import ClientError

from rootctl.errors import UsageError, code_is

if TYPE_CHECKING:
    from rootctl.aws.session import SessionFactory

IAM_PRINCIPAL = "iam.amazonaws.com"
PERMISSIONS = (
    "organizations:DescribeOrganization",
    "organizations:ListDelegatedAdministrators",
    "organizations:ListAWSServiceAccessForOrganization",
    "organizations:ListRoots",
    "organizations:ListOrganizationalUnitsForParent",
    "organizations:ListPolicies",
    "organizations:DescribePolicy",
    "organizations:ListTargetsForPolicy",
    "iam:ListOrganizationsFeatures",
    # read_account_status (plan, apply: the delegated administrator must be an ACTIVE member)
    "organizations:DescribeAccount",
)
FEATURES = ("RootCredentialsManagement", "RootSessions")
CallerRole = Literal["management", "delegated-administrator", "member"]

# What each caller role may do with the organization features (from the IAM API reference).
ROLE_ALLOWS: dict[str, str] = {
    "management": "everything: trusted access, delegated administrator, enable/disable features, SCPs, root sessions",
    "delegated-administrator": "list/disable features and open root sessions; enabling features, trusted access, the delegated administrator and SCPs need the management account",
    "member": "nothing centralized: root sessions and feature changes need the management account or the IAM delegated administrator",
}


@dataclass(frozen=True)
class Scp:
    """A service control policy with its targets (ids) and document."""

    id: str
    name: str
    document: dict[str, Any]
    targets: tuple[str, ...]
    aws_managed: bool = False


@dataclass
class OrgState:
    organization_id: str
    feature_set: str
    management_account_id: str
    caller_arn: str
    caller_account: str
    caller_role: CallerRole
    trusted_access: bool | None = None
    delegated_administrators: list[str] = field(default_factory=list)
    enabled_features: list[str] | None = None
    scps: list[Scp] = field(default_factory=list)
    ou_paths: dict[str, str] = field(default_factory=dict)  # OU/root id -> /root/... path
    # Status of accounts a plan names (delegated administrator): ACTIVE, SUSPENDED, ...,
    # "NOT_A_MEMBER", or "unknown: <code>" when it could not be read (`read_account_status`).
    account_status: dict[str, str] = field(default_factory=dict)
    unknown: list[str] = field(default_factory=list)  # what could not be read, and why

    @property
    def allows(self) -> str:
        return ROLE_ALLOWS[self.caller_role]

    def path_of(self, target_id: str) -> str:
        return self.ou_paths.get(target_id, target_id)


def read_state(factory: SessionFactory, *, with_scps: bool = True) -> OrgState:
    """Read the organization's centralized-root-access state as the current caller sees it."""
    identity = factory.caller_identity()
    org = factory.client("organizations")
    try:
        described = org.describe_organization()["Organization"]
    except ClientError as exc:
        if code_is(exc, "AWSOrganizationsNotInUseException"):
            raise UsageError(
                f"account {identity.account} is not in an AWS organization: run rootctl from the management account or the IAM delegated administrator"
            ) from None
        raise
    management = str(described["MasterAccountId"])
    state = OrgState(
        organization_id=str(described["Id"]),
        feature_set=str(described.get("FeatureSet", "ALL")),
        management_account_id=management,
        caller_arn=identity.arn,
        caller_account=identity.account,
        caller_role="management" if identity.account == management else "member",
    )
    _read_delegation(org, state)
    _read_features(factory, state)
    if with_scps and state.caller_role != "member":
        _read_scps(org, state)
    return state


def require_central_caller(state: OrgState, what: str) -> None:
    """UsageError for a member account that is neither management nor IAM delegated admin."""
    if state.caller_role == "member":
        raise UsageError(
            f"account {state.caller_account} is neither the management account "
            f"({state.management_account_id}) nor the IAM delegated administrator: {what} needs "
            "their credentials"
        )


def read_account_status(factory: SessionFactory, state: OrgState, account_ids: list[str]) -> None:
    """Fill `state.account_status` for accounts the config names, before planning with them.

    Registering an account that is not an ACTIVE member fails at apply time, after the
    changes before it were made: the plan refuses it instead (issue 12, validate first).
    """
    org = factory.client("organizations")
    for account_id in account_ids:
        try:
            account = org.describe_account(AccountId=account_id)["Account"]
            state.account_status[account_id] = str(account.get("Status", "ACTIVE"))
        except ClientError as exc:
            if code_is(exc, "AccountNotFoundException", "AccountNotFound"):
                state.account_status[account_id] = "NOT_A_MEMBER"
            else:
                state.account_status[account_id] = f"unknown: {exc.response['Error']['Code']}"


def _read_delegation(org: Any, state: OrgState) -> None:
    try:
        pages = org.get_paginator("list_delegated_administrators").paginate(
            ServicePrincipal=IAM_PRINCIPAL
        )
        state.delegated_administrators = [
            a["Id"] for page in pages for a in page["DelegatedAdministrators"]
        ]
        if state.caller_account in state.delegated_administrators:
            state.caller_role = "delegated-administrator"
    except ClientError as exc:
        state.unknown.append(f"delegated administrators: {exc.response['Error']['Code']}")
    try:
        pages = org.get_paginator("list_aws_service_access_for_organization").paginate()
        principals = {
            p["ServicePrincipal"] for page in pages for p in page["EnabledServicePrincipals"]
        }
        state.trusted_access = IAM_PRINCIPAL in principals
    except ClientError as exc:
        state.unknown.append(f"trusted access: {exc.response['Error']['Code']}")


def _read_features(factory: SessionFactory, state: OrgState) -> None:
    try:
        out = factory.client("iam").list_organizations_features()
        state.enabled_features = [f for f in FEATURES if f in out.get("EnabledFeatures", [])]
    except ClientError as exc:
        if code_is(exc, "ServiceAccessNotEnabled"):
            state.enabled_features = []  # nothing can be enabled without trusted access
            state.trusted_access = False
        else:
            state.unknown.append(f"features: {exc.response['Error']['Code']}")


def _read_scps(org: Any, state: OrgState) -> None:
    try:
        state.ou_paths = ou_paths(org)
        pages = org.get_paginator("list_policies").paginate(Filter="SERVICE_CONTROL_POLICY")
        for summary in (p for page in pages for p in page["Policies"]):
            content = org.describe_policy(PolicyId=summary["Id"])["Policy"]["Content"]
            target_pages = org.get_paginator("list_targets_for_policy").paginate(
                PolicyId=summary["Id"]
            )
            targets = tuple(t["TargetId"] for page in target_pages for t in page["Targets"])
            state.scps.append(
                Scp(
                    id=summary["Id"],
                    name=summary["Name"],
                    document=json.loads(content),
                    targets=targets,
                    aws_managed=bool(summary.get("AwsManaged")),
                )
            )
    except ClientError as exc:
        state.unknown.append(f"service control policies: {exc.response['Error']['Code']}")


def ou_paths(org: Any) -> dict[str, str]:
    """Every root and OU id mapped to its path (/root, /root/workloads/prod, ...)."""
    roots = org.list_roots()["Roots"]
    paths: dict[str, str] = {}
    pending = [(r["Id"], "/root") for r in roots]
    while pending:
        parent, path = pending.pop()
        paths[parent] = path
        for page in org.get_paginator("list_organizational_units_for_parent").paginate(
            ParentId=parent
        ):
            pending.extend((ou["Id"], f"{path}/{ou['Name']}") for ou in page["OrganizationalUnits"])
    return paths
