"""Which accounts a command acts on: --accounts, --ou (recursive), --exclude, --exclude-ou.

Without --accounts or --ou every account of the organization is considered. The management
account and accounts that are not ACTIVE cannot be AssumeRoot targets: they are reported as
skipped, with the reason. Unknown ids or OU paths, and a selection with no target left, are
usage errors raised before any AssumeRoot call.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from rootctl.errors import UsageError
from rootctl.org.accounts import OrgInventory
from rootctl.results import Account

MANAGEMENT_SKIP_REASON = "management account: AssumeRoot only targets member accounts"


@dataclass(frozen=True)
class SelectionSpec:
    """The selection flags, already parsed (ids are 12 digits, paths start with /root)."""

    accounts: tuple[str, ...] = ()
    ous: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    exclude_ous: tuple[str, ...] = ()

    @property
    def is_default(self) -> bool:
        return not self.accounts and not self.ous


@dataclass(frozen=True)
class Skipped:
    account: Account
    reason: str


@dataclass(frozen=True)
class Selection:
    """Accounts to act on, and selected accounts that cannot be acted on (with the reason)."""

    targets: tuple[Account, ...]
    skipped: tuple[Skipped, ...]


def under(path: str, ou: str) -> bool:
    """True when `path` is the OU `ou` or one of its descendants."""
    return path == ou or path.startswith(ou.rstrip("/") + "/")


def select_accounts(inventory: OrgInventory, spec: SelectionSpec) -> Selection:
    """Resolve the flags against the organization; raise UsageError for what cannot be right."""
    by_id = inventory.by_id()
    _check_known_ids(by_id, spec.accounts, "selected")
    _check_known_ids(by_id, spec.exclude, "excluded")
    _check_known_ous(inventory, spec.ous, "selected")
    _check_known_ous(inventory, spec.exclude_ous, "excluded")
    chosen = _chosen(inventory, spec)
    targets: list[Account] = []
    skipped: list[Skipped] = []
    for account in chosen:
        reason = skip_reason(account, inventory.management_account_id)
        if reason is None:
            targets.append(account)
        else:
            skipped.append(Skipped(account, reason))
    if not targets:
        raise UsageError(_empty_message(spec, skipped))
    return Selection(targets=tuple(targets), skipped=tuple(skipped))


def skip_reason(account: Account, management_account_id: str) -> str | None:
    """Why AssumeRoot cannot target this account, or None when it can."""
    if account.id == management_account_id:
        return MANAGEMENT_SKIP_REASON
    if account.status != "ACTIVE":
        return f"account is {account.status}: AssumeRoot only targets ACTIVE accounts"
    return None


def _chosen(inventory: OrgInventory, spec: SelectionSpec) -> list[Account]:
    wanted = set(spec.accounts)
    excluded = set(spec.exclude)
    chosen: list[Account] = []
    for account in inventory.accounts:
        included = spec.is_default or account.id in wanted
        included = included or any(under(account.ou_path, ou) for ou in spec.ous)
        if not included or account.id in excluded:
            continue
        if any(under(account.ou_path, ou) for ou in spec.exclude_ous):
            continue
        chosen.append(account)
    return chosen


def _check_known_ids(by_id: dict[str, Account], ids: Iterable[str], which: str) -> None:
    unknown = [account_id for account_id in ids if account_id not in by_id]
    if unknown:
        raise UsageError(
            f"{which} {_plural(unknown, 'account')} {', '.join(unknown)} not in this organization; "
            "check the ids (rootctl audit lists every account)"
        )


def _check_known_ous(inventory: OrgInventory, paths: Iterable[str], which: str) -> None:
    unknown = [path for path in paths if path not in inventory.ou_paths]
    if unknown:
        known = ", ".join(sorted(inventory.ou_paths)[:8])
        more = ", ..." if len(inventory.ou_paths) > 8 else ""
        raise UsageError(
            f"{which} OU {', '.join(unknown)} is not in this organization (OU paths are "
            f"case-sensitive, e.g. {known}{more})"
        )


def _empty_message(spec: SelectionSpec, skipped: list[Skipped]) -> str:
    if skipped:
        reasons = "; ".join(sorted({f"{s.account.id}: {s.reason}" for s in skipped})[:3])
        return f"the selection has no account AssumeRoot can target ({reasons})"
    if spec.is_default:
        return "the organization has no member accounts to act on"
    return "the selection is empty: the exclusions removed every selected account"


def _plural(items: list[str], word: str) -> str:
    return word if len(items) == 1 else word + "s"
