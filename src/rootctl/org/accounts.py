"""The organization's accounts with their OU paths, read by walking the OU tree.

ListAccounts does not say where an account sits, so we walk from the root: per parent one
ListOrganizationalUnitsForParent and one ListAccountsForParent (both paginated). The number
of calls grows with the number of OUs (and pages of 20 accounts), not with accounts; the
parents of one level of the tree are read concurrently.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rootctl.results import Account

if TYPE_CHECKING:
    from rootctl.aws.session import SessionFactory

# Read-only Organizations calls this module makes (for the least-privilege policy).
PERMISSIONS = (
    "organizations:DescribeOrganization",
    "organizations:ListRoots",
    "organizations:ListOrganizationalUnitsForParent",
    "organizations:ListAccountsForParent",
)
_WALK_WORKERS = 8


@dataclass(frozen=True)
class OrgInventory:
    """Every account of the organization and every OU path (including /root)."""

    organization_id: str
    management_account_id: str
    accounts: tuple[Account, ...]
    ou_paths: frozenset[str]

    def by_id(self) -> dict[str, Account]:
        return {account.id: account for account in self.accounts}


@dataclass(frozen=True)
class _Parent:
    id: str
    path: str


def list_accounts(factory: SessionFactory) -> OrgInventory:
    """Read the organization: id, management account, accounts with OU paths, all OU paths."""
    org = factory.client("organizations")
    described = org.describe_organization()["Organization"]
    roots = _pages(org, "list_roots", "Roots")
    level = [_Parent(str(root["Id"]), "/root") for root in roots]
    accounts: list[Account] = []
    paths: set[str] = {"/root"}
    with ThreadPoolExecutor(max_workers=_WALK_WORKERS, thread_name_prefix="org-walk") as pool:
        while level:
            children = list(pool.map(lambda parent: _read_parent(org, parent), level))
            level = []
            for ous, found in children:
                accounts.extend(found)
                level.extend(ous)
                paths.update(ou.path for ou in ous)
    accounts.sort(key=lambda account: (account.ou_path, account.name, account.id))
    return OrgInventory(
        organization_id=str(described["Id"]),
        management_account_id=str(described["MasterAccountId"]),
        accounts=tuple(accounts),
        ou_paths=frozenset(paths),
    )


def _read_parent(org: Any, parent: _Parent) -> tuple[list[_Parent], list[Account]]:
    ous = [
        _Parent(str(ou["Id"]), f"{parent.path}/{ou['Name']}")
        for ou in _pages(
            org, "list_organizational_units_for_parent", "OrganizationalUnits", ParentId=parent.id
        )
    ]
    accounts = [
        _account(raw, parent.path)
        for raw in _pages(org, "list_accounts_for_parent", "Accounts", ParentId=parent.id)
    ]
    return ous, accounts


def _account(raw: dict[str, Any], ou_path: str) -> Account:
    # `State` (ACTIVE, SUSPENDED, PENDING_CLOSURE, CLOSED) replaces the deprecated `Status`;
    # while both are sent, trust whichever says the account is not active.
    states = [str(raw[key]) for key in ("State", "Status") if raw.get(key)]
    status = next((state for state in states if state != "ACTIVE"), "ACTIVE")
    return Account(
        id=str(raw["Id"]),
        name=str(raw.get("Name", "")),
        email=str(raw.get("Email", "")),
        status=str(status),
        ou_path=ou_path,
        joined_method=str(raw.get("JoinedMethod", "")),
    )


def _pages(client: Any, operation: str, key: str, **kwargs: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for page in client.get_paginator(operation).paginate(**kwargs):
        items.extend(page.get(key, []))
    return items
