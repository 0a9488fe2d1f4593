"""Plan and apply a resource-policy change: unlock (delete or replace) and restore.

The plan is a value built from what the root session read: the current policy text, the
statements that lock everyone out, and the change. `apply_policy_plan` journals the backup first
(`before` = the policy text exactly as read, outcome "planned"), then changes the policy,
reads it back to verify, and journals the result. A crash between the two entries still
leaves the backup in the journal, so `rootctl restore` always has something to put back.

A change call that fails is followed by the same read-back: when AWS applied the change
and only its answer was lost (retries exhausted), the policy already reads as intended and
the result is ok, with a note saying so; anything else is the call's error.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Final, Literal

from botocore.exceptions import BotoCoreError, ClientError

from rootctl.errors import UsageError, error_code
from rootctl.journal import Recorder, StoredEntry
from rootctl.sessions.policy import Kind, LockAnalysis, analyze, describe_locks, same_policy
from rootctl.sessions.resources import NOUN, TASK_FOR, PolicyResource, ResourceMissing

if TYPE_CHECKING:
    from rootctl.sessions.sqs import QueueRef

# Journal actions of a policy change; `unlock` and `restore` name a plan that changed nothing.
UNLOCK: Final = "unlock"
DELETE_POLICY: Final = "delete-policy"
REPLACE_POLICY: Final = "replace-policy"
RESTORE_POLICY: Final = "restore-policy"
POLICY_ACTIONS = (DELETE_POLICY, REPLACE_POLICY, RESTORE_POLICY)
"""Actions whose `before` is a policy backup that `rootctl restore` can put back."""

Change = Literal["delete-policy", "replace-policy", "restore-policy", "none"]
_NOOP_ACTION = {"unlock": UNLOCK, "restore": RESTORE_POLICY}


@dataclass(frozen=True)
class PolicyPlan:
    """What will happen to one bucket's or queue's policy, and why."""

    kind: Kind
    account_id: str
    name: str
    region: str
    arn: str
    current: str | None
    analysis: LockAnalysis | None
    change: Change
    new_policy: str | None = None
    note: str = ""
    operation: Literal["unlock", "restore"] = "unlock"

    @property
    def noun(self) -> str:
        return NOUN[self.kind]

    def summary(self) -> str:
        where = f"{self.noun} {self.name} in account {self.account_id}"
        if self.change == DELETE_POLICY:
            return f"delete the policy of {where}"
        if self.change == REPLACE_POLICY:
            return f"replace the policy of {where} with the given policy"
        if self.change == RESTORE_POLICY:
            return f"put the backed-up policy back on {where}"
        return f"nothing to change on {where}: {self.note}"

    def lock_lines(self) -> list[str]:
        if self.analysis is None:
            return []
        if not self.analysis.locked:
            return [
                "  no statement denies every principal (the policy does not look like a lockout)",
                *describe_locks(self.analysis),
            ]
        return describe_locks(self.analysis)


@dataclass(frozen=True)
class PolicyChange:
    """The applied plan: the journal entries written, and whether the read-back matched."""

    plan: PolicyPlan
    outcome: Literal["ok", "error", "skipped"]
    backup_entry_id: int | None
    entry_id: int
    verified: bool
    error: str | None = None
    # Set when the change call failed but the read-back shows the change in place.
    note: str | None = None


def plan_unlock(resource: PolicyResource, replacement: str | None) -> PolicyPlan:
    """Read the policy and plan its removal (or its replacement)."""
    current = resource.read()
    analysis = analyze_text(resource, current)
    if current is None:
        change: Change = "none"
        note = "it has no policy"
    elif replacement is not None and same_policy(current, replacement):
        change, note = "none", "the policy already equals the replacement"
    else:
        change, note = (DELETE_POLICY if replacement is None else REPLACE_POLICY), ""
    return _plan(resource, current, analysis, change, replacement, note)


def plan_restore(resource: PolicyResource, backup: str) -> PolicyPlan:
    """Read the policy now in place and plan putting `backup` back."""
    current = resource.read()
    if current is not None and same_policy(current, backup):
        plan = _plan(resource, current, None, "none", backup, "the backed-up policy is in place")
    else:
        plan = _plan(resource, current, analyze_text(resource, current), RESTORE_POLICY, backup, "")
    return replace(plan, operation="restore")


def analyze_text(resource: PolicyResource, current: str | None) -> LockAnalysis | None:
    import json

    if current is None:
        return None
    try:
        document = json.loads(current)
    except ValueError:
        return LockAnalysis(False, (), ("the policy is not JSON",))
    if not isinstance(document, dict):
        return LockAnalysis(False, (), ("the policy is not a JSON object",))
    return analyze(document, resource.kind, resource.account_id, resource.arn)


def _plan(
    resource: PolicyResource,
    current: str | None,
    analysis: LockAnalysis | None,
    change: Change,
    new_policy: str | None,
    note: str,
) -> PolicyPlan:
    return PolicyPlan(
        kind=resource.kind,
        account_id=resource.account_id,
        name=resource.name,
        region=resource.region,
        arn=resource.arn,
        current=current,
        analysis=analysis,
        change=change,
        new_policy=new_policy if change in (REPLACE_POLICY, RESTORE_POLICY) else None,
        note=note,
    )


def apply_policy_plan(
    plan: PolicyPlan, resource: PolicyResource, recorder: Recorder
) -> PolicyChange:
    """Back up, change, verify; each step journaled. AWS errors become the result."""
    if plan.change == "none":
        entry = _journal(recorder, plan, "skipped", after=plan.current, error=plan.note)
        return PolicyChange(plan, "skipped", None, entry.id, verified=True)
    backup = _journal(recorder, plan, "planned", after=plan.new_policy)
    try:
        if plan.new_policy is None:
            resource.remove()
        else:
            resource.put(plan.new_policy)
    except (ClientError, BotoCoreError) as exc:
        return _after_failed_change(plan, resource, recorder, backup.id, exc)
    try:
        now = resource.read()
    except (ClientError, BotoCoreError) as exc:
        message = f"{error_code(exc)}: {exc}"
        entry = _journal(recorder, plan, "error", after=plan.new_policy, error=message)
        return PolicyChange(plan, "error", backup.id, entry.id, verified=False, error=message)
    verified = _intended(plan, now)
    error = None if verified else f"verification failed: the {plan.noun} policy now reads {now!r}"
    entry = _journal(recorder, plan, "ok" if verified else "error", after=now, error=error)
    outcome: Literal["ok", "error"] = "ok" if verified else "error"
    return PolicyChange(plan, outcome, backup.id, entry.id, verified, error)


def _after_failed_change(
    plan: PolicyPlan,
    resource: PolicyResource,
    recorder: Recorder,
    backup_id: int,
    exc: ClientError | BotoCoreError,
) -> PolicyChange:
    """Read the policy back with the same session: a change AWS applied whose answer was
    lost (retries exhausted) is done, and reported as done with a note; else the error."""
    message = f"{error_code(exc)}: {exc}"
    now: str | None = None
    try:
        now = resource.read()
        done = _intended(plan, now)
    except (ClientError, BotoCoreError, ResourceMissing):
        done = False  # unreadable: the change's own error is the one to report
    if not done:
        entry = _journal(recorder, plan, "error", after=plan.new_policy, error=message)
        return PolicyChange(plan, "error", backup_id, entry.id, verified=False, error=message)
    note = (
        f"the {_call_name(plan)} call failed ({message}), but reading the policy back shows "
        "the change in place: AWS applied it and the answer was lost"
    )
    entry = _journal(recorder, plan, "ok", after={"policy": now, "note": note})
    return PolicyChange(plan, "ok", backup_id, entry.id, verified=True, note=note)


def _call_name(plan: PolicyPlan) -> str:
    if plan.kind == "sqs":
        return "SetQueueAttributes"
    return "DeleteBucketPolicy" if plan.new_policy is None else "PutBucketPolicy"


def _intended(plan: PolicyPlan, now: str | None) -> bool:
    """The policy read back is what the plan wanted: none (delete) or the new one, as JSON."""
    if plan.new_policy is None:
        return now is None
    return now is not None and same_policy(now, plan.new_policy)


def _journal(
    recorder: Recorder,
    plan: PolicyPlan,
    outcome: str,
    *,
    after: str | dict[str, str | None] | None,
    error: str | None = None,
) -> StoredEntry:
    """One entry about this plan; `before` is always the policy as it was read (the backup).

    `after` is the policy read back (or the one to be put); after a failed call whose change
    the read-back found in place, `{"policy": ..., "note": ...}`.
    """
    return recorder.append(
        plan.change if plan.change != "none" else _NOOP_ACTION[plan.operation],
        outcome,
        account_id=plan.account_id,
        task=TASK_FOR[plan.kind],
        target=plan.arn,
        before=plan.current,
        after=after,
        error=error,
    )


def check_replacement(
    text: str, kind: Kind, account_id: str, name: str | QueueRef, region: str
) -> dict[str, Any]:
    """A replacement policy: valid JSON, a valid policy, and not another lockout (UsageError)."""
    from rootctl.sessions.policy import analyze, parse_policy_text, resource_arn

    document = parse_policy_text(text, "the replacement policy")
    plain = name if isinstance(name, str) else name.name
    analysis = analyze(document, kind, account_id, resource_arn(kind, account_id, plain, region))
    if analysis.locked:
        labels = ", ".join(s.label for s in analysis.statements)
        raise UsageError(
            f"the replacement policy: this policy denies every principal too ({labels}); "
            "it would lock the resource again"
        )
    return document


def record_not_applied(plan: PolicyPlan, recorder: Recorder, why: str) -> StoredEntry:
    """Journal a plan that was shown but not applied (dry run, or not confirmed)."""
    return _journal(recorder, plan, "skipped", after=plan.new_policy, error=why)
