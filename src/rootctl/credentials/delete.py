"""Apply a deletion plan: IAMDeleteRootUserCredentials sessions, then a fresh audit to verify.

Safe to interrupt and re-run: every plan is journaled before the first change, each call
treats NoSuchEntity as "already done", and a re-run re-audits and re-plans, so it only
does what is left (including virtual MFA devices the journal says were deactivated but
not yet deleted). Nothing outside the plan is touched.

A call can fail although AWS applied it (its answer lost, retries exhausted). The fresh
audit decides: a failed step whose target it no longer sees is `verified-gone`, done. A
deleted virtual MFA device is the exception: no audit read lists unassigned devices, so a
failed DeleteVirtualMFADevice stays failed (a re-run retries it: NoSuchEntity if done).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from botocore.exceptions import BotoCoreError, ClientError

from rootctl.credentials.audit import account_error
from rootctl.credentials.models import RootCredentials
from rootctl.credentials.plan import (
    PLAN_ACTION,
    AccountPlan,
    DeletionPlan,
    Kept,
    Step,
    present_targets,
    reconciled_note,
)
from rootctl.credentials.read import read_root_credentials
from rootctl.errors import code_is
from rootctl.fanout import DEFAULT_CONCURRENCY, run_over_accounts
from rootctl.results import ErrorInfo, Outcome
from rootctl.tasks import Task

if TYPE_CHECKING:
    from rootctl.aws.broker import RootSessionBroker
    from rootctl.journal import Recorder
    from rootctl.progress import ProgressLike

PERMISSIONS = (
    "sts:AssumeRoot",
    "iam:DeleteLoginProfile",
    "iam:DeleteAccessKey",
    "iam:DeleteSigningCertificate",
    "iam:DeactivateMFADevice",
    "iam:DeleteVirtualMFADevice",
)
# The task policies this module opens root sessions with (rootctl.permissions).
TASKS = (Task.DELETE, Task.AUDIT)  # audit: the verification session
# verified-gone: the call failed, but the fresh audit after the deletions no longer sees
# the target (AWS applied the call and its answer was lost); `error` keeps the call's error.
StepOutcome = Literal["deleted", "already-gone", "verified-gone", "failed", "not-attempted"]
DONE: tuple[StepOutcome, ...] = ("deleted", "already-gone", "verified-gone")
# Steps whose end state an audit can see (a deleted virtual MFA device is not listed by any
# read the audit task allows; its deactivation is: ListMFADevices lists assigned devices).
_VISIBLE = frozenset(
    {
        "delete-login-profile",
        "delete-access-key",
        "delete-signing-certificate",
        "deactivate-mfa-device",
    }
)


@dataclass(frozen=True)
class StepResult:
    step: Step
    outcome: StepOutcome
    error: ErrorInfo | None = None
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "action": self.step.action,
            "kind": self.step.kind,
            "target": self.step.target,
            "outcome": self.outcome,
            "error": _error_dict(self.error),
            "note": self.note,
        }


@dataclass(frozen=True)
class AccountDeletion:
    """What happened in one account: each step, what was kept, what the fresh audit saw."""

    plan: AccountPlan
    status: Outcome
    steps: tuple[StepResult, ...] = ()
    remaining: RootCredentials | None = None
    verified: bool | None = None
    error: ErrorInfo | None = None

    @property
    def kept(self) -> tuple[Kept, ...]:
        return self.plan.kept

    def to_dict(self) -> dict[str, Any]:
        return {
            **{k: v for k, v in self.plan.to_dict().items() if k != "steps"},
            "status": self.status,
            "steps": [result.to_dict() for result in self.steps],
            "verified": self.verified,
            "remaining": self.remaining.to_dict() if self.remaining is not None else None,
            "error": _error_dict(self.error),
        }


def record_plans(plan: DeletionPlan, recorder: Recorder) -> None:
    """Journal every account's plan before the first change (what a re-run resumes from),
    and the steps of earlier runs found done (made, but never journaled as done)."""
    for account in plan.accounts:
        for step in account.reconciled:
            recorder.append(
                action=step.action,
                outcome="ok",
                account_id=account.account_id,
                task=Task.DELETE,
                target=step.target,
                before=step.before,
                after={"state": "absent", "note": reconciled_note(step)},
            )
        if account.steps:
            recorder.append(
                action=PLAN_ACTION,
                outcome="planned",
                account_id=account.account_id,
                task=Task.DELETE,
                before=account.to_dict(),
            )


def delete_planned(
    broker: RootSessionBroker,
    plan: DeletionPlan,
    recorder: Recorder,
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
    progress: ProgressLike | None = None,
    on_result: Callable[[AccountPlan, AccountDeletion], None] | None = None,
) -> list[AccountDeletion]:
    """Record the plans, then delete and verify account by account, concurrently."""
    record_plans(plan, recorder)
    return run_over_accounts(
        plan.changes,
        lambda account: delete_account(broker, account, recorder),
        on_exception=lambda account, exc: AccountDeletion(
            plan=account, status="error", error=account_error(exc)
        ),
        concurrency=concurrency,
        on_result=on_result,
        progress=progress,
    )


def delete_account(
    broker: RootSessionBroker, plan: AccountPlan, recorder: Recorder
) -> AccountDeletion:
    """Open the delete session, run the account's steps in order, then verify with a fresh
    audit session.

    The session is opened before the first step so that a failure of the first deletion
    call (a dropped connection after AWS applied it, say) is that step's failure, followed
    by the other steps and the verification, not "no session, nothing done".
    """
    try:
        broker.credentials(plan.account_id, Task.DELETE)
    except (ClientError, BotoCoreError) as exc:
        # No session, nothing done: the account fails as a whole.
        return AccountDeletion(plan, "error", error=ErrorInfo.from_exception(exc))
    results: list[StepResult] = []
    failed_serials: set[str] = set()
    for step in plan.steps:
        if step.action == "delete-virtual-mfa-device" and step.target in failed_serials:
            # Would meet DeleteConflict if still active; made after the verification if
            # that shows the deactivation done after all (`_settle`).
            results.append(StepResult(step, "not-attempted"))
            continue
        result = _attempt(broker, plan.account_id, step)
        if result.outcome == "failed" and step.action == "deactivate-mfa-device":
            failed_serials.add(step.target)
        _journal_step(recorder, plan.account_id, result)
        results.append(result)
    return _verify(broker, plan, tuple(results), recorder)


def run_step(broker: RootSessionBroker, account_id: str, step: Step) -> StepResult:
    """One deletion call; NoSuchEntity means an earlier (or concurrent) run already did it."""
    calls: dict[str, Callable[[Any], Any]] = {
        "delete-login-profile": lambda iam: iam.delete_login_profile(),
        "delete-access-key": lambda iam: iam.delete_access_key(AccessKeyId=step.target),
        "delete-signing-certificate": lambda iam: iam.delete_signing_certificate(
            CertificateId=step.target
        ),
        "deactivate-mfa-device": lambda iam: iam.deactivate_mfa_device(SerialNumber=step.target),
        "delete-virtual-mfa-device": lambda iam: iam.delete_virtual_mfa_device(
            SerialNumber=step.target
        ),
    }
    try:
        broker.call(account_id, Task.DELETE, "iam", calls[step.action])
    except ClientError as exc:
        if code_is(exc, "NoSuchEntity"):
            return StepResult(step, "already-gone")
        raise
    return StepResult(step, "deleted")


def _verify(
    broker: RootSessionBroker,
    plan: AccountPlan,
    results: tuple[StepResult, ...],
    recorder: Recorder,
) -> AccountDeletion:
    """Re-read the account in a fresh IAMAuditRootUserCredentials session.

    A separate audit session, as AWS advises (GetAccountSummary is denied in a delete
    session); evicting the cached one makes it a new session, not one from before. Then
    settle the failed calls with what it saw (`_settle`).
    """
    broker.evict(plan.account_id, Task.AUDIT)
    try:
        remaining = broker.run(plan.account_id, Task.AUDIT, read_root_credentials)
    except (ClientError, BotoCoreError) as exc:
        problem = ErrorInfo.from_exception(exc)
        recorder.append(
            action="verify",
            outcome="error",
            account_id=plan.account_id,
            task=Task.AUDIT,
            error=f"{problem.code}: {problem.message}",
        )
        return AccountDeletion(plan, "error", results, error=problem)
    leftover = still_present(plan, remaining)
    verified = not leftover
    recorder.append(
        action="verify",
        outcome="ok" if verified else "error",
        account_id=plan.account_id,
        task=Task.AUDIT,
        after={"still_present": leftover},
        error=None if verified else f"still present after deletion: {', '.join(leftover)}",
    )
    results = _settle(broker, plan.account_id, results, present_targets(remaining), recorder)
    unfinished = [r for r in results if r.outcome not in DONE]
    status: Outcome = "ok" if verified and not unfinished else "error"
    error: ErrorInfo | None = None
    if not verified:
        error = ErrorInfo("VerificationFailed", f"still present: {', '.join(leftover)}")
    elif unfinished:
        error = next((r.error for r in unfinished if r.error is not None), None)
        error = error or ErrorInfo("NotAttempted", "a step was not attempted")
    return AccountDeletion(plan, status, results, remaining, verified, error)


def _settle(
    broker: RootSessionBroker,
    account_id: str,
    results: tuple[StepResult, ...],
    present: set[str],
    recorder: Recorder,
) -> tuple[StepResult, ...]:
    """Failed calls whose target the fresh audit no longer sees were applied (the answer
    was lost): `verified-gone`, journaled ok. A virtual MFA deletion left out because its
    deactivation "failed" is made now that the deactivation is seen done."""
    settled: list[StepResult] = []
    deactivated: set[str] = set()
    for result in results:
        step = result.step
        if result.outcome == "failed" and step.action in _VISIBLE and step.target not in present:
            result = _verified_gone(result)
            _journal_step(recorder, account_id, result)
            if step.action == "deactivate-mfa-device":
                deactivated.add(step.target)
        elif result.outcome == "not-attempted" and step.target in deactivated:
            result = _attempt(broker, account_id, step)
            _journal_step(recorder, account_id, result)
        settled.append(result)
    return tuple(settled)


def _verified_gone(result: StepResult) -> StepResult:
    code = result.error.code if result.error is not None else "error"
    note = (
        f"answer lost ({code}); verified gone: the fresh audit after the deletions "
        "no longer lists it"
    )
    return StepResult(result.step, "verified-gone", result.error, note)


def _attempt(broker: RootSessionBroker, account_id: str, step: Step) -> StepResult:
    try:
        return run_step(broker, account_id, step)
    except (ClientError, BotoCoreError) as exc:
        return StepResult(step, "failed", ErrorInfo.from_exception(exc))


def still_present(plan: AccountPlan, remaining: RootCredentials) -> list[str]:
    """Targets the plan deleted that the fresh audit still lists."""
    present = present_targets(remaining)
    targets = dict.fromkeys(step.target for step in plan.steps)
    return [target for target in targets if target in present]


def _journal_step(recorder: Recorder, account_id: str, result: StepResult) -> None:
    step = result.step
    after: dict[str, Any] = {"state": "absent"}
    if step.action == "deactivate-mfa-device":
        after = {"state": "deactivated" if step.before.get("type") == "virtual" else "absent"}
    if result.outcome == "already-gone":
        after = {**after, "note": "NoSuchEntity: already done"}
    elif result.note is not None:
        after = {**after, "note": result.note}
    done = result.outcome in DONE
    recorder.append(
        action=step.action,
        outcome="ok" if done else "error",
        account_id=account_id,
        task=Task.DELETE,
        target=step.target,
        before=step.before,
        after=after if done else None,
        error=f"{result.error.code}: {result.error.message}" if result.error and not done else None,
    )


def _error_dict(error: ErrorInfo | None) -> dict[str, str] | None:
    return None if error is None else {"code": error.code, "message": error.message}
