"""Read the SCPs on every account's path from AWS Organizations, for `guardrails check`.

The analysis (`rootctl.guardrails.analysis`) needs, per account, the SCPs attached to the
root, to each OU down to the account, and to the account itself. Reading that naively (every
policy, then its targets; or every account with ListParents) costs calls per account *and*
policy. Here the cost is:

- one walk of the tree: per root and OU one ListOrganizationalUnitsForParent and one
  ListAccountsForParent (paginated), the parents of one level read concurrently;
- one ListPoliciesForTarget per root, OU and account on the path of a selected account;
- one DescribePolicy per distinct policy id (FullAWSAccess is attached everywhere but read once).

So calls grow with #OUs + #accounts + #policies, never #accounts x #policies.

The values read (`ScpSnapshot` and its parts) are in snapshot.py; `guardrails check`, which
judges them, is in check.py.

Who may read SCPs: AWS Organizations' policy APIs (ListPoliciesForTarget, DescribePolicy) answer
only the management account and accounts that AWS Organizations delegates policy management to
(its resource-based delegation policy). The IAM delegated administrator of centralized root
access is not such an account by itself: an AccessDenied there becomes `ScpReadDenied`, a
one-line usage error naming the management account.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from botocore.exceptions import ClientError

from rootctl.errors import UsageError, code_is
from rootctl.guardrails.snapshot import ScpAccount, ScpPolicy, ScpSnapshot

if TYPE_CHECKING:
    from rootctl.aws.session import SessionFactory

__all__ = [
    "PERMISSIONS",
    "ScpReadDenied",
    "read_scp_paths",
]

# Read-only Organizations calls this module makes (for the least-privilege policy).
PERMISSIONS = (
    "organizations:DescribeOrganization",
    "organizations:ListRoots",
    "organizations:ListOrganizationalUnitsForParent",
    "organizations:ListAccountsForParent",
    "organizations:ListPoliciesForTarget",
    "organizations:DescribePolicy",
)
SCP_FILTER = "SERVICE_CONTROL_POLICY"
_POLICY_OPERATIONS = frozenset({"ListPoliciesForTarget", "DescribePolicy"})
_DENIED_CODES = ("AccessDenied", "AccessDeniedException")
_WORKERS = 8

T = TypeVar("T")
R = TypeVar("R")


class ScpReadDenied(UsageError):
    """The caller may not read the organization's structure or its SCPs (exit 2)."""


@dataclass(frozen=True)
class _Node:
    id: str
    path: str
    chain: tuple[str, ...]  # target ids from the root down to this node


def read_scp_paths(
    factory: SessionFactory,
    account_ids: Collection[str] | None = None,
    *,
    members_only: bool = False,
) -> ScpSnapshot:
    """Read the SCP levels of `account_ids` (default: every account of the organization).

    `members_only` leaves the management account out of the default selection (SCPs do not
    apply to it, so its own policies need not be read).

    Raises `UsageError` for an id that is not in the organization, and `ScpReadDenied` when
    AWS refuses the caller the organization's structure or its policies.
    """
    org = factory.client("organizations")
    described = _call(org, "DescribeOrganization", None, org.describe_organization)
    management = str(described["Organization"]["MasterAccountId"])
    organization_id = str(described["Organization"]["Id"])
    who = _Who(management, factory)
    level_names, every = _walk(org, who)
    if account_ids is None and members_only:
        every = [account for account in every if account.id != management]
    selected = _select(every, account_ids, organization_id)
    targets = list(dict.fromkeys(t for account in selected for t in account.targets))
    attached = dict(
        zip(targets, _parallel(lambda t: _policies_for(org, who, t), targets), strict=True)
    )
    summaries = {str(s["Id"]): s for listed in attached.values() for s in listed}
    documents = _parallel(lambda pid: _document(org, who, pid), list(summaries))
    policies = {
        pid: ScpPolicy(
            id=pid,
            name=str(summary.get("Name", pid)),
            document=document,
            aws_managed=bool(summary.get("AwsManaged")),
        )
        for (pid, summary), document in zip(summaries.items(), documents, strict=True)
    }
    return ScpSnapshot(
        organization_id=organization_id,
        management_account_id=management,
        accounts=tuple(selected),
        level_names=level_names,
        attached={t: tuple(str(s["Id"]) for s in found) for t, found in attached.items()},
        policies=policies,
    )


class _Who:
    """What an AccessDenied message needs: the management account and the caller."""

    def __init__(self, management: str, factory: SessionFactory) -> None:
        self.management = management
        self._factory = factory

    def caller(self) -> str:
        try:
            return self._factory.caller_identity().arn
        except ClientError:
            return "the caller"


def _denied(operation: str, who: _Who | None, exc: ClientError) -> ScpReadDenied:
    caller = who.caller() if who else "the caller"
    management = f" {who.management}" if who else ""
    if operation in _POLICY_OPERATIONS:
        return ScpReadDenied(
            f"SCPs can only be read from the management account{management} (or an account AWS Organizations delegates policy management to): {operation} was denied to {caller}"
        )
    return ScpReadDenied(
        f"{operation} was denied to {caller}: reading the organization's accounts and OUs needs the management account{management} or a delegated administrator"
    )


def _call(org: Any, operation: str, who: _Who | None, fn: Callable[[], T]) -> T:
    try:
        return fn()
    except ClientError as exc:
        if code_is(exc, *_DENIED_CODES):
            raise _denied(operation, who, exc) from None
        raise


def _pages(
    org: Any, who: _Who, method: str, operation: str, key: str, **kwargs: Any
) -> list[dict[str, Any]]:
    def read() -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        for page in org.get_paginator(method).paginate(**kwargs):
            items.extend(page.get(key, []))
        return items

    return _call(org, operation, who, read)


def _parallel(fn: Callable[[T], R], items: Sequence[T]) -> list[R]:
    if len(items) <= 1:
        return [fn(item) for item in items]
    with ThreadPoolExecutor(
        max_workers=min(_WORKERS, len(items)), thread_name_prefix="scp-read"
    ) as pool:
        return list(pool.map(fn, items))


def _walk(org: Any, who: _Who) -> tuple[dict[str, str], list[ScpAccount]]:
    """Every root, OU and account: level names by target id, accounts with their chains."""
    roots = _pages(org, who, "list_roots", "ListRoots", "Roots")
    level_names: dict[str, str] = {}
    accounts: list[ScpAccount] = []
    level = [_Node(str(r["Id"]), "/root", (str(r["Id"]),)) for r in roots]
    for node in level:
        level_names[node.id] = "root"
    while level:
        children = _parallel(lambda node: _children(org, who, node), level)
        level = []
        for ous, found in children:
            for ou in ous:
                level_names[ou.id] = f"ou:{ou.path}"
            for account in found:
                level_names[account.id] = f"account:{account.id}"
            level.extend(ous)
            accounts.extend(found)
    return level_names, accounts


def _children(org: Any, who: _Who, node: _Node) -> tuple[list[_Node], list[ScpAccount]]:
    ous = [
        _Node(str(ou["Id"]), f"{node.path}/{ou['Name']}", (*node.chain, str(ou["Id"])))
        for ou in _pages(
            org,
            who,
            "list_organizational_units_for_parent",
            "ListOrganizationalUnitsForParent",
            "OrganizationalUnits",
            ParentId=node.id,
        )
    ]
    accounts = [
        ScpAccount(
            id=str(raw["Id"]),
            name=str(raw.get("Name", "")),
            status=_status(raw),
            ou_path=node.path,
            targets=(*node.chain, str(raw["Id"])),
        )
        for raw in _pages(
            org,
            who,
            "list_accounts_for_parent",
            "ListAccountsForParent",
            "Accounts",
            ParentId=node.id,
        )
    ]
    return ous, accounts


def _status(raw: Mapping[str, Any]) -> str:
    # `State` replaces the deprecated `Status`; while both are sent, trust a non-ACTIVE one.
    states = [str(raw[key]) for key in ("State", "Status") if raw.get(key)]
    return next((state for state in states if state != "ACTIVE"), "ACTIVE")


def _select(
    found: list[ScpAccount], account_ids: Collection[str] | None, organization_id: str
) -> list[ScpAccount]:
    if account_ids is None:
        return found
    by_id = {account.id: account for account in found}
    unknown = [account_id for account_id in account_ids if account_id not in by_id]
    if unknown:
        raise UsageError(
            f"{'account' if len(unknown) == 1 else 'accounts'} {', '.join(unknown)} not in organization {organization_id}: check the ids"
        )
    wanted = set(account_ids)
    return [account for account in found if account.id in wanted]


def _policies_for(org: Any, who: _Who, target: str) -> list[dict[str, Any]]:
    return _pages(
        org,
        who,
        "list_policies_for_target",
        "ListPoliciesForTarget",
        "Policies",
        TargetId=target,
        Filter=SCP_FILTER,
    )


def _document(org: Any, who: _Who, policy_id: str) -> dict[str, Any]:
    described = _call(org, "DescribePolicy", who, lambda: org.describe_policy(PolicyId=policy_id))
    document: dict[str, Any] = json.loads(described["Policy"]["Content"])
    return document
