"""What earlier delete-credentials runs planned and the journal does not show as done.

Every run journals its plan (one `plan` entry per account, with every step) before its
first change, and every step's outcome after it. A run killed in between (or a failed call
left unverified) leaves steps that are planned but not journaled as done. Three cases need
the journal to be resumed:

- a virtual MFA device deactivated but not deleted: ListMFADevices no longer shows it,
  so no audit can find it; the journal's plan names its serial;
- a call that succeeded just before the kill: the target is gone, but its deletion was
  never journaled; the re-run journals it as found done ("reconciled");
- a call journaled as failed that AWS had applied (its answer was lost, retries ran out),
  in a run whose verification did not confirm it (killed, or the verify session failed):
  reconciled too, and the step carries the failed entry (`Step.failed_call`) so that the
  note names the failed call rather than a kill.

A step is unfinished when its latest plan entry is newer than its latest successful
entry. Comparing entry ids (not just "ever done") matters because a root user's virtual
MFA serial is usually the same ARN each time a device is set up.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import TYPE_CHECKING

from rootctl.credentials.plan import COMMAND, PLAN_ACTION, Step

if TYPE_CHECKING:
    from rootctl.journal import Journal

_Key = tuple[str, str, str]  # account id, action, target


def unfinished_steps(journal: Journal, account_ids: Iterable[str]) -> dict[str, tuple[Step, ...]]:
    """Per account, the planned steps not journaled as done since they were last planned."""
    wanted = set(account_ids)
    planned: dict[_Key, tuple[int, Step]] = {}
    for entry in journal.list(command=COMMAND, action=PLAN_ACTION):
        if entry.account_id not in wanted or not isinstance(entry.before, dict):
            continue
        for raw in entry.before.get("steps", []):
            step = Step(
                action=raw["action"],
                kind=str(raw["kind"]),
                target=str(raw["target"]),
                before=dict(raw.get("before") or {}),
            )
            planned[(entry.account_id, step.action, step.target)] = (entry.id, step)
    if not planned:
        return {}
    done = _latest(journal, wanted, "ok")
    failed = _latest(journal, wanted, "error")
    pending: dict[str, list[Step]] = {}
    for key, (plan_id, step) in planned.items():
        if plan_id > done.get(key, (0, None))[0]:
            error_id, error = failed.get(key, (0, None))
            if error_id > plan_id:
                step = replace(step, failed_call=f"journal entry {error_id}: {error}")
            pending.setdefault(key[0], []).append(step)
    return {account: tuple(steps) for account, steps in pending.items()}


def _latest(journal: Journal, wanted: set[str], outcome: str) -> dict[_Key, tuple[int, str | None]]:
    """Per step key, the id and error of its latest entry with `outcome`."""
    latest: dict[_Key, tuple[int, str | None]] = {}
    for entry in journal.list(command=COMMAND, outcome=outcome):
        if entry.account_id in wanted and entry.target is not None:
            latest[(entry.account_id, entry.action, entry.target)] = (entry.id, entry.error)
    return latest
