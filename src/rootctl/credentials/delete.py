"""Apply a deletion plan: IAMDeleteRootUserCredentials sessions, then a fresh audit to verify.

Safe to interrupt and re-run: every plan is journaled before the first change, each call
treats NoSuchEntity as "already done", and a re-run re-audits and re-plans, so it only
does what is left (including virtual MFA devices the journal says were deactivated but
not yet deleted). Nothing outside the plan is touched.

A call can fail although AWS applied it (its answer lost, retries exhausted). The fresh
audit decides: a failed step whose target it no longer sees is `verified-gone`, done. A
deleted virtual MFA device is the exception: no audit read lists unassigned devices, so a
failed DeleteVirtualMFADevice stays failed (a re-run retries it: NoSuchEntity if done).

When the world fails mid-run the result stays honest (docs/reliability.md, "Mid-run
failures"). A `RunGate` stops starting accounts after `2 x concurrency` accounts in a row
failed on the endpoint, when the journal cannot be written, or when the operator's
credentials stop working; the accounts not started are "not attempted: REASON". A change
whose journal entry fails is kept in the result with a "not journaled" note (and in
`Recorder.unjournaled`), and its account makes no further change; a session that cannot be
journaled is never used.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from botocore.exceptions import BotoCoreError, ClientError

from rootctl.credentials.audit import NOT_ATTEMPTED, endpoint_failed, not_attempted
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
from rootctl.errors import RootctlError, code_is
from rootctl.fanout import DEFAULT_CONCURRENCY, RunGate, run_over_accounts
from rootctl.journal import JournalError
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
# The note of a step whose journal entry could not be written.
UNJOURNALED_NOTE = "not journaled"
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


@dataclass(frozen=True)
class AccountDeletion:
    """What happened in one account: each step, what was kept, what the fresh audit saw."""

    plan: AccountPlan
    outcome: Outcome
    steps: tuple[StepResult, ...] = ()
    remaining: RootCredentials | None = None
    verified: bool | None = None
    error: ErrorInfo | None = None

    @property
    def kept(self) -> tuple[Kept, ...]:
        return self.plan.kept


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
    """Record the plans, then delete and verify account by account, concurrently.

    Every planned account gets a result, also when the run stops early (see the module's
    docstring): `run_problem` then says why, in one line.
    """
    record_plans(plan, recorder)
    return delete_accounts(
        broker,
        plan.changes,
        recorder,
        concurrency=concurrency,
        progress=progress,
        on_result=on_result,
    )


def deletion_gate(
    concurrency: int, recorder: Recorder, on_close: Callable[[str], None] | None = None
) -> RunGate[AccountDeletion]:
    """The deletion's gate: endpoint failures in a row, or a journal that broke."""
    return RunGate.for_concurrency(
        concurrency,
        lambda result: endpoint_failed(result.error),
        check=recorder.problem,
        on_close=on_close,
    )


def delete_accounts(
    broker: RootSessionBroker,
    changes: Sequence[AccountPlan],
    recorder: Recorder,
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
    progress: ProgressLike | None = None,
    on_result: Callable[[AccountPlan, AccountDeletion], None] | None = None,
    gate: RunGate[AccountDeletion] | None = None,
) -> list[AccountDeletion]:
    """Delete and verify the accounts of plans already journaled (`record_plans`): in this
    process, or one worker's share (rootctl.processes)."""
    stop = gate or deletion_gate(concurrency, recorder)

    def on_exception(account: AccountPlan, exc: BaseException) -> AccountDeletion:
        if isinstance(exc, RootctlError):
            # The operator's setup (credentials expired mid-run, say), raised before the
            # account's first change: every account would fail the same way, so stop.
            stop.close(str(exc))
            error = ErrorInfo(type(exc).__name__, str(exc))
            return AccountDeletion(account, "error", _skipped(account), error=error)
        return AccountDeletion(account, "error", error=ErrorInfo.from_exception(exc))

    return run_over_accounts(
        changes,
        lambda account: delete_account(broker, account, recorder),
        on_exception=on_exception,
        concurrency=concurrency,
        on_result=on_result,
        progress=progress,
        gate=stop,
        on_not_started=lambda account, why: AccountDeletion(
            account, "error", _skipped(account), error=not_attempted(why)
        ),
    )


def run_problem(results: list[AccountDeletion], recorder: Recorder) -> str | None:
    """One line for a run that stopped early or could not journal everything, else None."""
    parts: list[str] = []
    skipped = [r for r in results if r.error is not None and r.error.code == NOT_ATTEMPTED]
    if recorder.failure is not None:
        parts.append(str(recorder.failure))
    elif skipped and skipped[0].error is not None:
        parts.append(f"the run stopped: {skipped[0].error.message.removeprefix('not attempted: ')}")
    if skipped:
        parts.append(f"{len(skipped)} accounts not attempted (run the command again to finish)")
    unjournaled = recorder.unjournaled
    if unjournaled:
        parts.append(f"{len(unjournaled)} not journaled: {'; '.join(unjournaled)}")
    return "; ".join(parts) or None


def _skipped(plan: AccountPlan) -> tuple[StepResult, ...]:
    return tuple(StepResult(step, "not-attempted") for step in plan.steps)


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
    except JournalError as exc:
        # The session could not be journaled: the broker dropped it, nothing was done.
        return AccountDeletion(plan, "error", _skipped(plan), error=_journal_error(exc))
    results: list[StepResult] = []
    failed_serials: set[str] = set()
    for step in plan.steps:
        if recorder.failure is not None:
            # The journal broke (here or in another account): no change it cannot record.
            results.append(StepResult(step, "not-attempted"))
            continue
        if step.action == "delete-virtual-mfa-device" and step.target in failed_serials:
            # Would meet DeleteConflict if still active; made after the verification if
            # that shows the deactivation done after all (`_settle`).
            results.append(StepResult(step, "not-attempted"))
            continue
        result = _attempt(broker, plan.account_id, step)
        if result.outcome == "failed" and step.action == "deactivate-mfa-device":
            failed_serials.add(step.target)
        results.append(_journal_or_note(recorder, plan.account_id, result))
    if recorder.failure is not None:
        # No verification: its session could not be journaled either.
        return AccountDeletion(
            plan, "error", tuple(results), error=_journal_error(recorder.failure)
        )
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
    except JournalError as exc:
        return AccountDeletion(plan, "error", results, error=_journal_error(exc))
    except RootctlError as exc:
        # The operator's setup failed mid-run: the deletions made stay in the result.
        return AccountDeletion(
            plan, "error", results, error=ErrorInfo(type(exc).__name__, str(exc))
        )
    except (ClientError, BotoCoreError) as exc:
        problem = ErrorInfo.from_exception(exc)
        _append_quietly(
            recorder,
            action="verify",
            outcome="error",
            account_id=plan.account_id,
            task=Task.AUDIT,
            error=f"{problem.code}: {problem.message}",
        )
        return AccountDeletion(plan, "error", results, error=problem)
    leftover = still_present(plan, remaining)
    verified = not leftover
    _append_quietly(
        recorder,
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
            result = _journal_or_note(recorder, account_id, _verified_gone(result))
            if step.action == "deactivate-mfa-device":
                deactivated.add(step.target)
        elif (
            result.outcome == "not-attempted"
            and step.target in deactivated
            and recorder.failure is None
        ):
            result = _journal_or_note(recorder, account_id, _attempt(broker, account_id, step))
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


def _journal_or_note(recorder: Recorder, account_id: str, result: StepResult) -> StepResult:
    """Journal a step; if the journal fails, the result says so (and the run reports it)."""
    try:
        _journal_step(recorder, account_id, result)
    except JournalError:
        if result.outcome in ("deleted", "verified-gone", "failed"):  # AWS may have changed
            recorder.note_unjournaled(
                f"{result.step.action} {result.step.target} in {account_id} ({result.outcome})"
            )
        note = f"{result.note}; {UNJOURNALED_NOTE}" if result.note else UNJOURNALED_NOTE
        return StepResult(result.step, result.outcome, result.error, note)
    return result


def _append_quietly(recorder: Recorder, **entry: Any) -> None:
    """An entry that records no change (a verification): if the journal fails, the run
    stops through `recorder.failure`; the account's result already says what happened."""
    with suppress(JournalError):
        recorder.append(**entry)


def _journal_error(exc: JournalError) -> ErrorInfo:
    return ErrorInfo("JournalError", str(exc))


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
