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
entries are verified before anything is planned: a journal that does not verify stops the
run with one line (exit 2) before anything is planned, and a forged plan entry can never
name a step.

Not the whole journal, though (issue 15): the state above is a fold over the
delete-credentials entries in id order (`StepState`), and every enforcement pass journals
it as of the entry it read up to, as part of its checkpoint (rootctl.enforce.checkpoint):
the steps planned and not done at that entry, with their plan entry's id, their position in
it and the latest failed call after it. Every reader (an enforcement pass under policy
`delete`, `delete-credentials` and `--plan` outside enforce alike) reads from the head down
to the newest checkpoint and applies the entries after it. That is exact: a step not
pending at N can only become pending through a plan entry after N (then everything about it
is after N too: a later success, a failed call), and a step pending at N stays pending
until a success after N. The checkpoint is a verified entry written by a pass that read a
verified journal, so `delete-credentials` trusts it as the pass does; with no checkpoint
(a journal no pass has written to since the upgrade) the whole journal is read and
verified, as before. Unfinished steps come out in the order of their plan entry, then
their place in it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, TypeGuard, cast, get_args

from rootctl.credentials.plan import COMMAND, PLAN_ACTION, Step, StepAction
from rootctl.journal import JournalError

if TYPE_CHECKING:
    from rootctl.journal import Journal, StoredEntry

_Key = tuple[str, str, str]  # account id, action, target


def unfinished_steps(journal: Journal, account_ids: Iterable[str]) -> dict[str, tuple[Step, ...]]:
    """Per account, the planned steps not journaled as done since they were last planned
    (from the newest checkpoint on, verified; rootctl.enforce.checkpoint)."""
    return step_state(journal).unfinished(account_ids)


def step_state(journal: Journal) -> StepState:
    """The state as of the head: the newest checkpoint's, then the entries after it."""
    from rootctl.enforce.checkpoint import read_since_checkpoint

    since = read_since_checkpoint(journal)
    return StepState.after(since.checkpoint.steps if since.checkpoint else None, since.entries)


@dataclass
class StepState:
    """Per step key: its latest plan (entry id, place in it, step), latest success and
    latest failed call; and the accounts with a plan entry rootctl cannot read (the first
    one's id and why: resuming such an account is refused, as before)."""

    planned: dict[_Key, tuple[int, int, Step]] = field(default_factory=dict)
    done: dict[_Key, int] = field(default_factory=dict)
    failed: dict[_Key, tuple[int, str | None]] = field(default_factory=dict)
    unreadable: dict[str, tuple[int, str]] = field(default_factory=dict)

    @classmethod
    def after(cls, checkpoint: dict[str, Any] | None, entries: Iterable[StoredEntry]) -> StepState:
        state = cls.from_checkpoint(checkpoint) if checkpoint is not None else cls()
        state.apply(entries)
        return state

    def apply(self, entries: Iterable[StoredEntry]) -> None:
        """Fold entries (id order, after what the state already holds) into the state."""
        for entry in entries:
            if entry.command != COMMAND or entry.account_id is None:
                continue
            account = str(entry.account_id)
            if entry.action == PLAN_ACTION and isinstance(entry.before, dict):
                try:
                    steps = _steps(entry)
                except JournalError as exc:
                    self.unreadable.setdefault(account, (entry.id, str(exc)))
                    steps = []
                for index, step in enumerate(steps):
                    self.planned[(account, step.action, step.target)] = (entry.id, index, step)
            if entry.target is None:
                continue
            key = (account, entry.action, entry.target)
            if entry.outcome == "ok":
                self.done[key] = entry.id
            elif entry.outcome == "error":
                self.failed[key] = (entry.id, entry.error)

    def _pending(self) -> list[tuple[_Key, int, int, Step, tuple[int, str | None] | None]]:
        """Planned after their latest success, in plan order; with the failed call after it."""
        found = []
        for key, (plan_id, index, step) in self.planned.items():
            if plan_id > self.done.get(key, 0):
                error = self.failed.get(key)
                found.append(
                    (key, plan_id, index, step, error if error and error[0] > plan_id else None)
                )
        return sorted(found, key=lambda item: (item[1], item[2]))

    def unfinished(self, account_ids: Iterable[str]) -> dict[str, tuple[Step, ...]]:
        """Per wanted account, its unfinished steps (JournalError: an unreadable plan)."""
        wanted = set(account_ids)
        unreadable = sorted(v for a, v in self.unreadable.items() if a in wanted)
        if unreadable:
            raise JournalError(unreadable[0][1])
        pending: dict[str, list[Step]] = {}
        for key, _, _, step, error in self._pending():
            if key[0] not in wanted:
                continue
            if error is not None:
                step = replace(step, failed_call=f"journal entry {error[0]}: {error[1]}")
            pending.setdefault(key[0], []).append(step)
        return {account: tuple(steps) for account, steps in sorted(pending.items())}

    def checkpoint(self) -> dict[str, Any]:
        """The `steps` part of a checkpoint: only what can still matter after it."""
        pending: dict[str, list[dict[str, Any]]] = {}
        for key, plan_id, index, step, error in self._pending():
            raw: dict[str, Any] = {"plan_id": plan_id, "index": index, **step.to_dict()}
            if error is not None:
                raw["error_id"], raw["error"] = error
            pending.setdefault(key[0], []).append(raw)
        return {
            "pending": dict(sorted(pending.items())),
            "unreadable": {
                a: {"entry_id": i, "error": m} for a, (i, m) in sorted(self.unreadable.items())
            },
        }

    @classmethod
    def from_checkpoint(cls, raw: object) -> StepState:
        """The state a checkpoint's `steps` holds (ValueError: not a shape rootctl writes)."""
        if not isinstance(raw, dict):
            raise ValueError("steps")
        pending, unreadable = raw.get("pending"), raw.get("unreadable")
        if not isinstance(pending, dict) or not isinstance(unreadable, dict):
            raise ValueError("steps")
        state = cls()
        for account, steps in pending.items():
            if not isinstance(account, str) or not isinstance(steps, list):
                raise ValueError("steps")
            for item in steps:
                plan_id, index, step = _checkpoint_step(item)
                key = (account, step.action, step.target)
                state.planned[key] = (plan_id, index, step)
                error_id = item.get("error_id")
                if error_id is not None:
                    error = item.get("error")
                    if not _is_id(error_id) or not (error is None or isinstance(error, str)):
                        raise ValueError("steps")
                    state.failed[key] = (error_id, error)
        for account, raw_bad in unreadable.items():
            if (
                not isinstance(raw_bad, dict)
                or not _is_id(raw_bad.get("entry_id"))
                or not isinstance(raw_bad.get("error"), str)
            ):
                raise ValueError("steps")
            state.unreadable[str(account)] = (raw_bad["entry_id"], raw_bad["error"])
        return state


def _checkpoint_step(item: object) -> tuple[int, int, Step]:
    if not isinstance(item, dict):
        raise ValueError("steps")
    plan_id, index, action = item.get("plan_id"), item.get("index"), item.get("action")
    kind, target, before = item.get("kind"), item.get("target"), item.get("before")
    if (
        not _is_id(plan_id)
        or not isinstance(index, int)
        or isinstance(index, bool)
        or index < 0
        or action not in get_args(StepAction)
        or not isinstance(kind, str)
        or not isinstance(target, str)
        or not isinstance(before, dict)
    ):
        raise ValueError("steps")
    step = Step(cast(StepAction, action), kind, target, dict(before))
    return plan_id, index, step


def _is_id(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


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
