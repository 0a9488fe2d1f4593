"""The SCPs on every selected account's path, as values: what fetch.py reads, check.py judges.

The snapshot is what crosses from reading (fetch.py: AWS calls, their cost, their AccessDenied)
to judging (check.py: the analysis and `guardrails check`). It is a module of its own so the
values stand apart from the machinery that reads them: `GuardrailCheck` holds a snapshot without
reaching into fetch.py, and `read_scp_paths` callers get the data without the check.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from rootctl.guardrails.analysis import Levels

__all__ = ["ScpAccount", "ScpPolicy", "ScpSnapshot"]


@dataclass(frozen=True)
class ScpPolicy:
    """One SCP as read: id, name and parsed document."""

    id: str
    name: str
    document: Mapping[str, Any]
    aws_managed: bool = False


@dataclass(frozen=True)
class ScpAccount:
    """An account and the SCP targets on its path: root id, OU ids (top down), account id."""

    id: str
    name: str
    status: str
    ou_path: str
    targets: tuple[str, ...]


@dataclass(frozen=True)
class ScpSnapshot:
    """The SCPs on the path of every selected account, as read at one moment."""

    organization_id: str
    management_account_id: str
    accounts: tuple[ScpAccount, ...]  # the selected accounts, in tree order
    level_names: Mapping[str, str]  # target id -> "root", "ou:/root/a", "account:<id>"
    attached: Mapping[str, tuple[str, ...]]  # target id -> policy ids attached to it
    policies: Mapping[str, ScpPolicy]  # policy id -> policy

    def account(self, account_id: str) -> ScpAccount:
        for account in self.accounts:
            if account.id == account_id:
                return account
        raise KeyError(account_id)

    def levels(self, account_id: str) -> Levels:
        """The account's SCP levels, root first, in the shape `analysis.analyze` takes."""
        levels: list[tuple[str, list[tuple[str, Mapping[str, Any]]]]] = []
        for target in self.account(account_id).targets:
            policies = [self.policies[pid] for pid in self.attached.get(target, ())]
            levels.append((self.level_names[target], [(p.name, p.document) for p in policies]))
        return levels

    def paths(self) -> dict[str, Levels]:
        """Every selected account's levels, for `analysis.analyze`."""
        return {account.id: self.levels(account.id) for account in self.accounts}
