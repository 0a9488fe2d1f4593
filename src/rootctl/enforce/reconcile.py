"""One enforcement pass: audit, delete per policy, close ended recovery windows, report.

Everything that changes goes through the facade's `plan_deletion` / `delete` (the same
plan, journal entries, resume and verification as `delete-credentials`); this module only
decides what to keep and why, and builds the report. Idempotent: a second pass finds
nothing left to delete, so it journals only its own `enforce` entry.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from rootctl.config.models import CredentialPolicy
from rootctl.enforce.organization import converge, credentials_blocker
from rootctl.enforce.report import (
    Changed,
    EnforcementReport,
    Failed,
    Finding,
    Found,
    OrganizationPart,
    Refused,
)
from rootctl.enforce.windows import RecoveryWindow, WindowState, window_state
from rootctl.org.selection import SelectionSpec
from rootctl.results import iso

if TYPE_CHECKING:
    from rootctl.api import DeletionRun, PlannedDeletion, ProgressFactory, Rootctl
    from rootctl.config import CredentialException
    from rootctl.credentials.delete import AccountDeletion
    from rootctl.credentials.models import AccountAudit, AuditReport, RootCredentials
    from rootctl.credentials.plan import DeletionPlan
    from rootctl.enforce.events import EventScope
    from rootctl.run import RunContext

COMMAND = "enforce"
ACTION = "enforce"  # the journal action of the pass's summary entry
PASSWORD = "password"


@dataclass(frozen=True)
class Verdict:
    """One account's credentials against the rules: kept (kind -> why) and the rest."""

    kept: dict[str, str]
    unkept: tuple[str, ...]


def run_pass(
    rc: Rootctl,
    selection: SelectionSpec | None = None,
    *,
    event: EventScope | None = None,
    reason: str | None = None,
    dry_run: bool = False,
    now: datetime | None = None,
    progress: ProgressFactory | None = None,
    watch_since: datetime | None = None,
    organization: bool = True,
) -> EnforcementReport:
    """The pass behind `Rootctl.enforce` (see its docstring): the organization first (the
    credential tasks need its RootCredentialsManagement feature), then root credentials,
    then the watch."""
    now = now or datetime.now(UTC)
    rules = rc.config.root_credentials
    policy = rules.policy
    why = (reason or "").strip() or f"rootctl enforce (root_credentials.policy: {policy})"
    run = rc.run(COMMAND, why)
    scope = {"event": event.to_dict() if event is not None else None}
    report = EnforcementReport(now, str(policy), dry_run, run.recorder.run_id, scope)
    report.notes.extend(
        f"the exception for {e.account_id} expired on {e.expires}: renew or remove it"
        for e in rules.expired_exceptions(now.date()).values()
    )
    spec = _narrow(selection or SelectionSpec(), event, report)
    state: WindowState | None = None
    if spec is not None:
        org = _organization(rc, run, report, organization=organization)
        report.credentials_skipped = credentials_blocker(org, dry_run=dry_run)
        if report.credentials_skipped is None:
            state = _reconcile(rc, spec, report, why=why, now=now, progress=progress)
    if watch_since is not None:
        _watch(rc, run, spec, event, report, watch_since, now)
    if not dry_run:
        run.recorder.append(
            ACTION,
            report.outcome,
            after={
                "summary": report.summary(),
                "scope": scope,
                "deletion_run_id": report.deletion_run_id,
                "finding_ids": report.finding_ids,
                # The windows as of the entry this pass read up to: the next pass reads
                # only the entries after it (rootctl.enforce.checkpoint).
                "checkpoint": state.checkpoint() if state is not None else None,
            },
        )
    return report


def _organization(
    rc: Rootctl, run: RunContext, report: EnforcementReport, *, organization: bool
) -> OrganizationPart | None:
    """Converge the organization sections of the config (features, guardrails) as `apply`
    does, under policy `delete` only; otherwise report what differs."""
    if report.dry_run:
        hold = "dry run: not changed"
    elif report.policy != str(CredentialPolicy.DELETE):
        hold = f"root_credentials.policy: {report.policy}: not changed"
    elif not organization:
        hold = "this pass leaves organization changes to another (shard 1/N makes them)"
    else:
        hold = ""
    return converge(rc, run.recorder, report, change=not hold, hold=hold)


def _watch(
    rc: Rootctl,
    run: RunContext,
    spec: SelectionSpec | None,
    event: EventScope | None,
    report: EnforcementReport,
    since: datetime,
    now: datetime,
) -> None:
    """The root-usage watch, on full passes only: an event-narrowed pass would move the
    shared cursor past events of the accounts it did not read."""
    from rootctl.enforce.watch import merge, record_cursor, watch

    if spec is None or (event is not None and event.kind != "scheduled"):
        report.notes.append("the root-usage watch runs on full passes only: skipped")
        return
    result, _ = watch(rc, spec, since=since, now=now)
    merge(report, result)
    if not report.dry_run:
        record_cursor(run.recorder, result)


def _narrow(
    spec: SelectionSpec, event: EventScope | None, report: EnforcementReport
) -> SelectionSpec | None:
    """The selection an event leaves: its one account (None: nothing to do)."""
    if event is None or event.kind == "scheduled":
        return spec
    if event.account_id is None:
        report.notes.append(event.note or "the event names no account: nothing to do")
        return None
    if event.account_id in spec.exclude:
        report.notes.append(f"{event.account_id} is excluded (--exclude): nothing to do")
        return None
    return replace(spec, accounts=(event.account_id,), ous=())


def _reconcile(
    rc: Rootctl,
    spec: SelectionSpec,
    report: EnforcementReport,
    *,
    why: str,
    now: datetime,
    progress: ProgressFactory | None,
) -> WindowState:
    rules = rc.config.root_credentials
    state = window_state(rc.journal)
    windows = state.windows
    exceptions = rules.active_exceptions(now.date())
    dry_run = report.dry_run
    planned: PlannedDeletion | None
    if rules.policy is CredentialPolicy.DELETE:
        planned = rc.plan_deletion(
            spec, reason=why, dry_run=dry_run, today=now.date(), progress=progress
        )
        planned.plan = keep_open_windows(planned.plan, windows, now)
        audit = planned.plan.audit
    else:
        audit = rc.audit(spec, progress=progress)
        ended = _ended_windows(audit, windows, exceptions, now)
        planned = (
            rc.plan_deletion(
                SelectionSpec(accounts=ended),
                only=(PASSWORD,),
                reason=why,
                dry_run=dry_run,
                today=now.date(),
            )
            if ended
            else None
        )
    done = None
    if planned is not None and not dry_run and _has_work(planned.plan):
        done = rc.delete(planned, progress=progress)
        report.deletion_run_id = done.run_id
    _fill(report, audit, planned, done, exceptions, windows, now)
    return state


def keep_open_windows(
    plan: DeletionPlan, windows: dict[str, RecoveryWindow], now: datetime
) -> DeletionPlan:
    """The plan without the password steps of accounts whose recovery window is open."""
    from rootctl.credentials.plan import Kept

    accounts = []
    for account in plan.accounts:
        window = windows.get(account.account_id)
        if window is None or not window.is_open(now):
            accounts.append(account)
            continue
        held = [s for s in account.steps if s.kind == PASSWORD]
        note = f"password recovery window open until {iso(window.until)}"
        accounts.append(
            replace(
                account,
                steps=tuple(s for s in account.steps if s.kind != PASSWORD),
                kept=account.kept + tuple(Kept(PASSWORD, s.target, note) for s in held),
            )
        )
    return replace(plan, accounts=tuple(accounts))


def _has_work(plan: DeletionPlan) -> bool:
    return bool(plan.changes) or any(a.reconciled for a in plan.accounts)


def _ended_windows(
    audit: AuditReport,
    windows: dict[str, RecoveryWindow],
    exceptions: dict[str, CredentialException],
    now: datetime,
) -> tuple[str, ...]:
    """Accounts whose window has passed and whose password no exception keeps."""
    ended = []
    for account in audit.accounts:
        window = windows.get(account.account_id)
        if window is None or window.is_open(now) or account.root is None:
            continue
        if PASSWORD in verdict(account.root, exceptions.get(account.account_id), None, now).unkept:
            ended.append(account.account_id)
    return tuple(ended)


def verdict(
    root: RootCredentials,
    exception: CredentialException | None,
    window: RecoveryWindow | None,
    now: datetime,
) -> Verdict:
    """What the rules keep of one account's credentials, and why; the rest is unkept."""
    kept: dict[str, str] = {}
    for kind in present_kinds(root):
        if exception is not None and kind in {str(k.value) for k in exception.keep}:
            kept[kind] = f"exception until {exception.expires}: {exception.reason}"
        elif kind == PASSWORD and window is not None and window.is_open(now):
            kept[kind] = f"password recovery window open until {iso(window.until)}"
    return Verdict(kept, tuple(k for k in present_kinds(root) if k not in kept))


def present_kinds(root: RootCredentials) -> tuple[str, ...]:
    present = {
        PASSWORD: root.password.present,
        "access-keys": bool(root.access_keys),
        "signing-certificates": bool(root.signing_certificates),
        "mfa-devices": bool(root.mfa_devices),
    }
    return tuple(kind for kind, has in present.items() if has)


def _fill(
    report: EnforcementReport,
    audit: AuditReport,
    planned: PlannedDeletion | None,
    done: DeletionRun | None,
    exceptions: dict[str, CredentialException],
    windows: dict[str, RecoveryWindow],
    now: datetime,
) -> None:
    results = {r.plan.account_id: r for r in (done.results if done is not None else ())}
    planned_kinds = {
        a.account_id: {s.kind for s in a.steps} for a in (planned.plan.accounts if planned else ())
    }
    report.accounts = len(audit.accounts)
    report.audited = [a.account_id for a in audit.accounts if a.outcome == "ok" and a.root]
    for account in audit.accounts:
        if account.outcome == "error" or account.root is None:
            if account.outcome == "error":
                message = account.error.message if account.error else "audit failed"
                report.failed.append(Failed(account.account_id, message))
            continue
        _account(report, account, account.root, results, planned_kinds, exceptions, windows, now)


def _account(
    report: EnforcementReport,
    account: AccountAudit,
    root: RootCredentials,
    results: dict[str, AccountDeletion],
    planned_kinds: dict[str, set[str]],
    exceptions: dict[str, CredentialException],
    windows: dict[str, RecoveryWindow],
    now: datetime,
) -> None:
    account_id = account.account_id
    kinds = present_kinds(root)
    if not kinds:
        return
    report.found.append(Found(account_id, account.account_name, kinds))
    window = windows.get(account_id)
    judged = verdict(root, exceptions.get(account_id), window, now)
    report.refused.extend(Refused(account_id, k, r) for k, r in judged.kept.items())
    remaining = set(judged.unkept)
    result = results.get(account_id)
    if result is not None:
        if result.outcome == "error":
            message = result.error.message if result.error else "deletion failed"
            report.failed.append(Failed(account_id, message))
            return
        deleted = planned_kinds.get(account_id, set())
        remaining -= deleted
        report.changed.append(
            Changed(
                account_id,
                tuple(r.step.target for r in result.steps),
                _why(report.policy, deleted, window, now),
                result.verified,
            )
        )
    if remaining:
        shown = sorted(remaining)
        report.findings.append(
            Finding(
                "root-credentials",
                account_id,
                f"root user of {account_id} has {', '.join(shown)}",
                {"kinds": shown, "account_name": account.account_name},
            )
        )


def _why(policy: str, deleted: set[str], window: RecoveryWindow | None, now: datetime) -> str:
    if PASSWORD in deleted and window is not None and not window.is_open(now):
        return f"password recovery window ended {iso(window.until)}"
    return f"root_credentials.policy: {policy}"
