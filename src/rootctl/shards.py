"""`--shard K/N`: a stable partition of the organization's accounts for parallel passes.

Account `A` is in shard `int(sha256(A), 16) % N + 1`. The hash depends on the account id
alone, so the partition never changes with the order AWS lists accounts in, with accounts
joining or leaving (only they move), or with the invocation that computes it: N
invocations with shards 1/N .. N/N cover every selected account exactly once, in any
order and at the same time. sha256 rather than Python's `hash()`, which is salted per
process.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from rootctl.errors import UsageError

if TYPE_CHECKING:
    from rootctl.api import Rootctl
    from rootctl.enforce import EventScope
    from rootctl.org.selection import SelectionSpec

# Far above any useful fan-out (a shard of 50,000 accounts per 1,000 is 50), and it keeps a
# typo like 1/10000000 from starting a million invocations.
MAX_SHARDS = 1000
_SPEC = re.compile(r"\s*([0-9]{1,7})\s*/\s*([0-9]{1,7})\s*")


@dataclass(frozen=True)
class Shard:
    """Shard `index` (1-based) of `count`."""

    index: int
    count: int

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    def holds(self, account_id: str) -> bool:
        return shard_of(account_id, self.count) == self.index


def parse_shard(text: object) -> Shard:
    """`K/N` with 1 <= K <= N <= 1000; anything else is one line (exit 2)."""
    match = _SPEC.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise UsageError(f"shard {_show(text)} is not K/N (e.g. 3/8)")
    index, count = int(match[1]), int(match[2])
    if not 1 <= count <= MAX_SHARDS:
        raise UsageError(f"shard {_show(text)}: N must be 1 to {MAX_SHARDS}")
    if not 1 <= index <= count:
        raise UsageError(f"shard {_show(text)}: K must be 1 to N ({count})")
    return Shard(index, count)


def shard_of(account_id: str, count: int) -> int:
    """The 1-based shard of `account_id` among `count` shards."""
    digest = hashlib.sha256(account_id.encode("ascii")).hexdigest()
    return int(digest, 16) % count + 1


def partition(account_ids: list[str], count: int) -> dict[int, list[str]]:
    """Every shard 1..count with its accounts (in the order given)."""
    shards: dict[int, list[str]] = {k: [] for k in range(1, count + 1)}
    for account_id in account_ids:
        shards[shard_of(account_id, count)].append(account_id)
    return shards


def shard_spec(
    rc: Rootctl, spec: SelectionSpec, shard: Shard, *, event: EventScope | None = None
) -> SelectionSpec | None:
    """The selection narrowed to the shard's accounts; None when the shard holds none.

    Reads the organization (the same read and refusals as every selection), keeps the
    targets in the shard and names them: the pass then audits exactly those. An event that
    names one account is not split: asking for a shard with it is bad input.
    """
    from rootctl.org.accounts import list_accounts
    from rootctl.org.selection import select_accounts

    if event is not None and event.kind != "scheduled":
        raise UsageError("--shard splits a full pass; an event that names an account is not split")
    selection = select_accounts(list_accounts(rc.factory), spec)
    mine = tuple(a.id for a in selection.targets if shard.holds(a.id))
    if not mine:
        return None
    return replace(spec, accounts=mine, ous=())


def _show(value: object) -> str:
    text = repr(value) if isinstance(value, str) else type(value).__name__
    return text if len(text) <= 40 else text[:37] + "..."
