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

Resuming acts on what the journal says (it deletes what a plan entry names), so the
entries are read through `Journal.verified_entries`: a journal that does not verify stops
the run with one line (exit 2) before anything is planned, and a forged plan entry can
never name a step.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import TYPE_CHECKING, get_args

from rootctl.credentials.plan import COMMAND, PLAN_ACTION, Step, StepAction
from rootctl.journal import JournalError

if TYPE_CHECKING:
    from rootctl.journal import Journal, StoredEntry

_Key = tuple[str, str, str]  # account id, action, target


def unfinished_steps(journal: Journal, account_ids: Iterable[str]) -> dict[str, tuple[Step, ...]]:
    """Per account, the planned steps not journaled as done since they were last planned."""
    wanted = set(account_ids)
    entries = [e for e in journal.verified_entries(command=COMMAND) if e.account_id in wanted]
    planned: dict[_Key, tuple[int, Step]] = {}
    for entry in entries:
        if entry.action != PLAN_ACTION or not isinstance(entry.before, dict):
            continue
        for step in _steps(entry):
            planned[(str(entry.account_id), step.action, step.target)] = (entry.id, step)
    if not planned:
        return {}
    done = _latest(entries, "ok")
    failed = _latest(entries, "error")
    pending: dict[str, list[Step]] = {}
    for key, (plan_id, step) in planned.items():
        if plan_id > done.get(key, (0, None))[0]:
            error_id, error = failed.get(key, (0, None))
            if error_id > plan_id:
                step = replace(step, failed_call=f"journal entry {error_id}: {error}")
            pending.setdefault(key[0], []).append(step)
    return {account: tuple(steps) for account, steps in pending.items()}


def _steps(entry: StoredEntry) -> list[Step]:
    """The steps a plan entry names; a shape rootctl never writes is an error, not a guess."""
    raws = entry.before.get("steps", []) if isinstance(entry.before, dict) else []
    steps: list[Step] = []
    for raw in raws if isinstance(raws, list) else [None]:
        if not isinstance(raw, dict) or not {"action", "kind", "target"} <= raw.keys():
            raise JournalError(f"journal entry {entry.id} holds a plan rootctl cannot read")
        action = raw["action"]
        if action not in get_args(StepAction):
            raise JournalError(f"journal entry {entry.id} plans an unknown step {action!r}")
        before = raw.get("before") or {}
        steps.append(
            Step(
                action=action,
                kind=str(raw["kind"]),
                target=str(raw["target"]),
                before=dict(before) if isinstance(before, dict) else {},
            )
        )
    return steps


def _latest(entries: list[StoredEntry], outcome: str) -> dict[_Key, tuple[int, str | None]]:
    """Per step key, the id and error of its latest entry with `outcome`."""
    latest: dict[_Key, tuple[int, str | None]] = {}
    for entry in entries:
        if entry.outcome == outcome and entry.target is not None:
            key = (str(entry.account_id), entry.action, entry.target)
            latest[key] = (entry.id, entry.error)
    return latest
