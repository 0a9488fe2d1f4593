"""`rootctl.connect()`: one object that does every job of the CLI, with the same rules.

    from rootctl import connect

    with connect(config="rootctl.yaml") as rc:
        report = rc.audit()
        plan = rc.plan_deletion(reason="SEC-123 leftover root credentials")
        result = rc.delete(plan)

The facade owns the session factory, the journal and one `RunContext` per operation (its
recorder and root-session broker). Every rule -- allowed tasks, reason pattern, maximum
session length, protected resources, credential exceptions and their expiry, the checks of
the caller and the target account -- is applied here, and every refusal is journaled the
same way, whoever calls: the CLI and the Lambda handler are skins over these methods.

Operations that change something come in two steps, as in the CLI: `plan_*` reads and
returns a plan (print it, save it, confirm it), then the matching method applies exactly
that plan.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rootctl.errors import RootctlError, UsageError
from rootctl.fanout import DEFAULT_CONCURRENCY, check_concurrency
from rootctl.org.selection import SelectionSpec
from rootctl.run import RunContext
from rootctl.tasks import Task

if TYPE_CHECKING:
    from rootctl.approvals import BreakGlassRequest, ProcessCredentials
    from rootctl.approvals.model import RequestView
    from rootctl.aws import SessionFactory
    from rootctl.aws.root_session import RootSession
    from rootctl.config import RootctlConfig
    from rootctl.credentials.delete import AccountDeletion
    from rootctl.credentials.models import AccountAudit, AuditReport
    from rootctl.credentials.plan import DeletionPlan
    from rootctl.credentials.recovery import RecoveryResult
    from rootctl.documents.deletion_plan import DeletionPlanDocument
    from rootctl.documents.org import ConfigSourcePart, PlanDocument, StatusDocument
    from rootctl.enforce import EnforcementReport, EventScope
    from rootctl.guardrails.check import GuardrailCheck
    from rootctl.journal import Journal
    from rootctl.org.selection import Selection
    from rootctl.org.service import ApplyResult, OrgPlanRun
    from rootctl.progress import ProgressLike
    from rootctl.results import Account
    from rootctl.sessions.events import Timeline
    from rootctl.sessions.execute import ExecResult
    from rootctl.sessions.operations import LockRow
    from rootctl.sessions.policy import Kind
    from rootctl.sessions.resources import PolicyResource
    from rootctl.sessions.sqs import QueueRef
    from rootctl.sessions.unlock import PolicyChange, PolicyPlan

# (total, label) -> a context manager giving the progress display of one phase of a run.
ProgressFactory = Callable[[int, str], AbstractContextManager["ProgressLike"]]

__all__ = [
    "DeletionRun",
    "PlannedDeletion",
    "PlannedPolicyChange",
    "PlannedRecovery",
    "ProgressFactory",
    "Rootctl",
    "connect",
]


def connect(
    profile: str | None = None,
    region: str | None = None,
    config: str | Path | RootctlConfig | None = None,
    journal: str | Path | Journal | None = None,
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
) -> Rootctl:
    """The facade over standard AWS configuration (profile, env vars, AWS_ENDPOINT_URL).

    `config` is a rootctl.yaml path or a loaded `RootctlConfig` (None: ./rootctl.yaml if
    present, else the defaults); it is validated now, before any AWS call. `journal` is a
    path, `dynamodb://TABLE` or a `Journal` (None: $ROOTCTL_JOURNAL or the user's state
    directory). No AWS call is made until an operation needs one.
    """
    rc = Rootctl(
        profile=profile, region=region, config=config, journal_ref=journal, concurrency=concurrency
    )
    rc.config  # noqa: B018 -- validate the config now, before any AWS call
    return rc


@dataclass
class PlannedDeletion:
    """A deletion plan bound to the run that audited for it (and will delete and verify)."""

    plan: DeletionPlan
    reason: str | None
    notes: tuple[str, ...] = ()
    run: RunContext | None = field(default=None, repr=False)

    @property
    def changes(self) -> int:
        return len(self.plan.changes)

    @property
    def steps(self) -> int:
        return self.plan.step_count()


@dataclass(frozen=True)
class DeletionRun:
    """What `Rootctl.delete` did: per-account results (empty when nothing was to delete)."""

    plan: PlannedDeletion
    results: tuple[AccountDeletion, ...]
    run_id: str

    @property
    def failed(self) -> bool:
        """True when an account failed (its deletion, or its audit before the plan)."""
        return any(r.outcome == "error" for r in self.results) or bool(
            self.plan.plan.audit.summary.errors
        )


@dataclass
class PlannedRecovery:
    """Password recovery for one account, checked and ready to apply."""

    account: Account
    reason: str
    warnings: tuple[str, ...]
    run: RunContext = field(repr=False)


@dataclass
class PlannedPolicyChange:
    """An unlock or restore plan, bound to its resource (and root session) and run."""

    plan: PolicyPlan
    resource: PolicyResource = field(repr=False)
    run: RunContext = field(repr=False)
    warnings: tuple[str, ...] = ()


class Rootctl:
    """Every capability of rootctl; build it with `connect()`."""

    def __init__(
        self,
        *,
        profile: str | None,
        region: str | None,
        config: str | Path | RootctlConfig | None,
        journal_ref: str | Path | Journal | None,
        concurrency: int = DEFAULT_CONCURRENCY,
    ) -> None:
        self.profile = profile
        self.region_name = region
        self._config_ref = config
        self._config: RootctlConfig | None = None
        self.concurrency = check_concurrency(concurrency)
        self._journal_ref = journal_ref
        self._journal: Journal | None = None
        self._factory: SessionFactory | None = None
        self._factories: dict[int, SessionFactory] = {}

    # -- plumbing --------------------------------------------------------------------------------

    @property
    def config(self) -> RootctlConfig:
        """The validated rootctl.yaml (loaded on first use; `connect()` loads it at once)."""
        if self._config is None:
            from rootctl.config import RootctlConfig, load_config

            ref = self._config_ref
            self._config = ref if isinstance(ref, RootctlConfig) else load_config(ref)
        return self._config

    @config.setter
    def config(self, value: RootctlConfig) -> None:
        self._config = value

    @property
    def factory(self) -> SessionFactory:
        """The operator's sessions (built on first use: no AWS call before an operation)."""
        if self._factory is None:
            self._factory = self._factory_for(self.concurrency)
        return self._factory

    def _factory_for(self, concurrency: int) -> SessionFactory:
        from rootctl.aws.session import SessionFactory

        if concurrency == self.concurrency and self._factory is not None:
            return self._factory
        found = self._factories.get(concurrency)
        if found is None:
            found = self._factories[concurrency] = SessionFactory(
                profile=self.profile, region=self.region_name, concurrency=concurrency
            )
        return found

    @property
    def journal(self) -> Journal:
        """The journal commands append to: a file (created on the first append if it does not
        exist) or `dynamodb://TABLE` (rootctl.journal.backend; the table must exist)."""
        if self._journal is None:
            self._journal = self._open_journal(create=True)
        return self._journal

    def existing_journal(self) -> Journal:
        """The journal for reading entries back: a missing file or table is bad input."""
        if self._journal is None:
            self._journal = self._open_journal(create=False)
        return self._journal

    def _open_journal(self, *, create: bool) -> Journal:
        from rootctl.journal import Journal
        from rootctl.journal.backend import is_table, open_journal

        ref = self._journal_ref
        if isinstance(ref, Journal):
            return ref
        # A table journal uses the operator's session (profile, region, AWS_ENDPOINT_URL).
        factory = self.factory if is_table(ref) else None
        return open_journal(ref, factory=factory, create=create)

    def run(
        self, command: str, reason: str | None = None, concurrency: int | None = None
    ) -> RunContext:
        """A new run: its own recorder (run id) and broker, sharing the factory and journal."""
        workers = check_concurrency(concurrency) if concurrency is not None else self.concurrency
        return RunContext(
            self._factory_for(workers), self.config, self.journal, command, reason, workers
        )

    def close(self) -> None:
        if self._journal is not None:
            self._journal.close()

    def __enter__(self) -> Rootctl:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- organization ------------------------------------------------------------------------------

    def operator(self) -> str:
        """The caller's ARN (UsageError when the credentials are missing or rejected)."""
        return self.factory.caller_identity().arn

    def status(self) -> StatusDocument:
        """rootctl.status/v1: features, trusted access, delegated admin, guardrails, conflicts."""
        from rootctl.org import service

        return service.status(self.factory)

    def plan_org(
        self, config: RootctlConfig | None = None, *, source: ConfigSourcePart | None = None
    ) -> OrgPlanRun:
        """Diff the organization against the config's organization sections (read-only)."""
        from rootctl.org import service

        return service.plan_org(self.factory, config or self.config, source=source)

    def saved_org_plan(
        self,
        saved: str | Path | PlanDocument,
        config: RootctlConfig | None = None,
        *,
        max_age: timedelta | None = None,
        source: str = "plan",
    ) -> OrgPlanRun:
        """A plan saved by `plan --out` (a path or the loaded document), if it still holds;
        StalePlanError (exit 2) if it was edited, is older than `max_age`, or the organization
        or the config changed since it was made."""
        from rootctl.documents.saved import DEFAULT_MAX_AGE
        from rootctl.org import service

        if isinstance(saved, (str, Path)):
            source = str(saved)
            saved = service.load_org_plan(Path(saved))
        return service.replan_saved(
            self.factory,
            saved,
            config or self.config,
            max_age=DEFAULT_MAX_AGE if max_age is None else max_age,
            source=source,
        )

    def apply_org(
        self, planned: OrgPlanRun, *, reason: str = "converge organization to rootctl.yaml"
    ) -> ApplyResult:
        """Make the plan's changes in a safe order (journaled), then plan again to verify.
        Refuses (UsageError) a plan with errors or changes the caller may not make."""
        from rootctl.org import service

        service.check_applicable(planned)
        run = self.run("apply", reason)
        return service.apply_org(self.factory, run.recorder, planned)

    def guardrails_check(self, accounts: Sequence[str] | None = None) -> GuardrailCheck:
        """Which root sessions the attached SCPs block, per account (read-only)."""
        from rootctl.guardrails.check import check_guardrails

        return check_guardrails(self.factory, list(accounts) if accounts else None)

    def events(
        self,
        since: datetime,
        *,
        account_id: str | None = None,
        member_role: str | None = None,
        regions: Sequence[str] | None = None,
    ) -> Timeline:
        """AssumeRoot sessions and their actions from CloudTrail, flagged against the journal."""
        from rootctl.sessions.events import DEFAULT_MEMBER_ROLE, build_timeline, journaled_key_ids

        known = journaled_key_ids(self.journal)
        return build_timeline(
            self.factory,
            known,
            since,
            account_id,
            member_role or DEFAULT_MEMBER_ROLE,
            list(regions) if regions else None,
        )

    # -- root credentials ----------------------------------------------------------------------------

    def audit(
        self,
        selection: SelectionSpec | None = None,
        *,
        concurrency: int | None = None,
        progress: ProgressFactory | None = None,
        on_result: Callable[[Account, AccountAudit], None] | None = None,
        processes: int | str | None = None,
    ) -> AuditReport:
        """Root credentials of every selected ACTIVE member account (default: all of them).
        `processes`: worker processes, `concurrency` threads each (rootctl.processes)."""
        from rootctl.processes import check_processes

        check_processes(processes)
        run = self.run("audit", concurrency=concurrency)
        run.check_tasks(Task.AUDIT)
        selected = run.select(selection or SelectionSpec())
        return _audit(run, selected, progress, on_result, processes)

    def plan_deletion(
        self,
        selection: SelectionSpec | None = None,
        *,
        only: Sequence[str] | None = None,
        reason: str | None = None,
        dry_run: bool = False,
        concurrency: int | None = None,
        progress: ProgressFactory | None = None,
        today: date | None = None,
        processes: int | str | None = None,
    ) -> PlannedDeletion:
        """Audit, then plan what `delete` removes: every credential of `only` (default: every
        kind), minus what active config exceptions keep, plus steps interrupted runs left.

        The reason must match `root_sessions.reason_pattern` unless `dry_run`.
        """
        from rootctl.credentials.plan import COMMAND, KINDS, parse_kinds, plan_deletion
        from rootctl.credentials.resume import unfinished_steps
        from rootctl.processes import check_processes

        check_processes(processes)
        kinds = parse_kinds(only) if only is not None else KINDS
        why = _reason(reason, dry_run)
        run = self.run(COMMAND, why, concurrency)
        run.check_tasks(Task.AUDIT, Task.DELETE, reason=None if dry_run else why)
        when = today or datetime.now(UTC).date()
        rules = self.config.root_credentials
        notes = tuple(
            f"the exception for {e.account_id} expired on {e.expires}: its credentials are "
            "planned like any other account's (renew or remove it in the config)"
            for e in rules.expired_exceptions(when).values()
        )
        selection_ = run.select(selection or SelectionSpec())
        # Read back (and verify) the journal before any session: nothing acts on a forged entry.
        unfinished = unfinished_steps(self.journal, [a.id for a in selection_.targets])
        report = _audit(run, selection_, progress, None, processes)
        plan = plan_deletion(
            report, only=kinds, exceptions=rules.active_exceptions(when), unfinished=unfinished
        )
        return PlannedDeletion(plan, why, notes, run)

    def delete(
        self,
        planned: PlannedDeletion,
        *,
        progress: ProgressFactory | None = None,
        processes: int | str | None = None,
    ) -> DeletionRun:
        """Delete exactly the planned credentials, verify each account with a fresh audit,
        journal every step. Accounts with nothing left to delete only journal what earlier
        runs were found to have done."""
        from rootctl import processes as workers
        from rootctl.credentials.delete import record_plans
        from rootctl.credentials.plan import COMMAND

        workers.check_processes(processes)
        run = planned.run or self.run(COMMAND, planned.reason)
        run.check_tasks(Task.AUDIT, Task.DELETE, reason=_reason(planned.reason, False))
        if not planned.plan.changes:
            record_plans(planned.plan, run.recorder)  # reconciled steps; no AWS call
            return DeletionRun(planned, (), run.recorder.run_id)
        with _phase(progress, len(planned.plan.changes), "Deleting root credentials") as bar:
            results = workers.delete(run, planned.plan, processes, bar)
        return DeletionRun(planned, tuple(results), run.recorder.run_id)

    def deletion_plan_document(self, planned: PlannedDeletion) -> DeletionPlanDocument:
        """The saved form of a plan (rootctl.deletion-plan/v1), to review and apply later."""
        from rootctl.documents.deletion_plan import deletion_plan_document

        if not planned.plan.changes:
            raise UsageError("the plan deletes nothing: there is no plan to save")
        return deletion_plan_document(
            planned.plan, operator=planned.plan.audit.operator, config=self.config
        )

    def saved_deletion_plan(
        self,
        saved: str | Path | DeletionPlanDocument,
        *,
        reason: str | None,
        max_age: timedelta | None = None,
        concurrency: int | None = None,
        progress: ProgressFactory | None = None,
        processes: int | str | None = None,
    ) -> PlannedDeletion:
        """A saved plan, re-audited: applied exactly or not at all. StalePlanError (exit 2)
        when it was edited, is older than `max_age`, or an account's credentials, the
        organization or the config's root_credentials changed since it was made."""
        from rootctl.credentials.plan import COMMAND
        from rootctl.credentials.resume import unfinished_steps
        from rootctl.documents.base import parse
        from rootctl.documents.deletion_plan import (
            DeletionPlanDocument,
            check_deletion_plan,
            to_delete_plan,
        )
        from rootctl.documents.saved import DEFAULT_MAX_AGE
        from rootctl.processes import check_processes

        check_processes(processes)
        source = "plan"
        if isinstance(saved, (str, Path)):
            source = str(saved)
            try:
                text = Path(saved).read_bytes()
            except OSError as exc:
                raise UsageError(f"{saved}: cannot read the plan ({exc.strerror})") from None
            saved = parse(DeletionPlanDocument, text, source=source)
        if not saved.accounts:
            raise UsageError(f"{source}: the plan names no account")
        why = _reason(reason, False)
        run = self.run(COMMAND, why, concurrency)
        run.check_tasks(Task.AUDIT, Task.DELETE, reason=why)
        spec = SelectionSpec(accounts=tuple(a.account_id for a in saved.accounts))
        selection = run.select(spec)
        unfinished_steps(self.journal, spec.accounts)  # the journal verifies before any session
        audit = _audit(run, selection, progress, None, processes)
        check_deletion_plan(
            saved,
            audit,
            config=self.config,
            max_age=DEFAULT_MAX_AGE if max_age is None else max_age,
            source=source,
        )
        return PlannedDeletion(to_delete_plan(saved, audit), why, (), run)

    def plan_password_recovery(
        self,
        account_id: str,
        *,
        reason: str | None,
        dry_run: bool = False,
        request_id: str | None = None,
    ) -> PlannedRecovery:
        """Check the rules and the account; refused (journaled) if it already has a password.
        `request_id`: an approved break-glass request (its reason stands in for `reason`)."""
        from rootctl.credentials import recovery
        from rootctl.results import iso

        why = _reason(reason, dry_run) if request_id is None else (reason or "").strip()
        run = self.run(recovery.COMMAND, why or None, 1)
        if request_id is not None:
            from rootctl.approvals.gates import for_recovery

            for_recovery(run, request_id, account_id, dry_run)
            why = run.reason or why
        run.check_tasks(Task.CREATE_PASSWORD, reason=None if dry_run else why)
        account = run.target(account_id)
        created = run.opened(
            account_id,
            Task.CREATE_PASSWORD,
            lambda: recovery.existing_password(run.broker, account_id),
        )
        if created is not None:
            refused = recovery.refusal(account_id, created)
            message = refused.error.message if refused.error else "refused"
            run.recorder.append(
                action=recovery.ACTION,
                outcome="refused",
                account_id=account_id,
                task=Task.CREATE_PASSWORD,
                target="login-profile",
                before={"login_profile": {"created": iso(created)}},
                error=message,
            )
            raise RootctlError(message)  # the account's state, not bad input: exit 1
        return PlannedRecovery(account, why, self._recovery_warnings(account_id), run)

    def _recovery_warnings(self, account_id: str) -> tuple[str, ...]:
        today = datetime.now(UTC).date()
        exception = self.config.root_credentials.active_exceptions(today).get(account_id)
        if exception is not None and "password" in {str(k.value) for k in exception.keep}:
            return ()
        return (
            f"{account_id} has no active root_credentials exception keeping its password: the "
            "next delete-credentials run will delete the password again. Add an exception "
            f"(root_credentials.exceptions: account_id: '{account_id}', keep: [password], "
            "reason, expires).",
        )

    def allow_password_recovery(self, planned: PlannedRecovery) -> RecoveryResult:
        """Create the root login profile without a password; RootctlError if AWS refused."""
        from rootctl.credentials import recovery

        run = planned.run
        run.check_tasks(Task.CREATE_PASSWORD, reason=planned.reason)
        result = recovery.allow_password_recovery(run.broker, planned.account.id, run.recorder)
        if result.outcome != "ok":
            raise RootctlError(result.error.message if result.error else result.outcome)
        return result

    # -- privileged sessions ---------------------------------------------------------------------------

    def list_locked(
        self, kind: Kind, account_id: str, *, region: str | None = None, reason: str | None = None
    ) -> list[LockRow]:
        """Every bucket or queue of the account, with the lock analysis of its policy."""
        from rootctl.sessions import operations
        from rootctl.sessions.rules import reason_or_default

        why = reason_or_default(self.config, reason, f"list-locked {kind} (read-only)")
        return operations.list_locked(
            self.run(f"list-locked {kind}", why), kind, account_id, region
        )

    def plan_unlock(
        self,
        kind: Kind,
        account_id: str,
        name: str | QueueRef,
        *,
        replacement: str | None = None,
        region: str | None = None,
        reason: str | None = None,
        dry_run: bool = False,
        request_id: str | None = None,
    ) -> PlannedPolicyChange:
        """Check the rules (journaling a refusal), open the task's session, read, plan.
        `request_id`: an approved break-glass request for exactly this bucket or queue."""
        from rootctl.sessions.operations import prepare_unlock
        from rootctl.sessions.rules import reason_or_default
        from rootctl.sessions.unlock import check_replacement

        if not isinstance(name, str):
            from rootctl.sessions.sqs import check_queue_host

            check_queue_host(name, self.factory.configured_endpoint_url("sqs"))
        if replacement is not None:
            check_replacement(replacement, kind, account_id, name, region or self.factory.region)
        if dry_run:
            reason = reason_or_default(self.config, reason, "dry run")
        run = self.run(f"unlock {kind}", reason)
        if request_id is not None:
            from rootctl.approvals.gates import for_unlock

            for_unlock(run, request_id, kind, account_id, name, region)
        resource, plan = prepare_unlock(run, kind, account_id, name, replacement, region)
        return PlannedPolicyChange(plan, resource, run)

    def plan_restore(
        self,
        entry_id: int,
        *,
        region: str | None = None,
        reason: str | None = None,
        allow_lockout: bool = False,
    ) -> PlannedPolicyChange:
        """The backup in journal entry `entry_id` (verified first), planned back into place."""
        from rootctl.sessions.operations import (
            backup_of,
            check_restore_lockout,
            prepare_restore,
        )
        from rootctl.sessions.rules import reason_or_default

        backup = backup_of(self.existing_journal().verified_entry(entry_id))
        lock = check_restore_lockout(backup, region or self.factory.region, allow_lockout)
        warnings = (
            (f"restoring journal entry {entry_id} puts back a policy that denies every principal",)
            if lock.locked
            else ()
        )
        why = reason_or_default(self.config, reason, f"restore of journal entry {entry_id}")
        run = self.run("restore", why)
        resource, plan = prepare_restore(run, backup, region)
        return PlannedPolicyChange(plan, resource, run, warnings)

    def apply_policy_change(self, planned: PlannedPolicyChange) -> PolicyChange:
        """Back up, change, read back; every step journaled."""
        from rootctl.sessions.unlock import apply_policy_plan

        return apply_policy_plan(planned.plan, planned.resource, planned.run.recorder)

    def skip_policy_change(self, planned: PlannedPolicyChange, why: str) -> None:
        """Journal a plan that was shown and not applied (dry run, or not confirmed)."""
        from rootctl.sessions.unlock import record_not_applied

        record_not_applied(planned.plan, planned.run.recorder, why)

    @contextmanager
    def session(
        self,
        account_id: str,
        task: Task,
        *,
        reason: str | None,
        region: str | None = None,
        request_id: str | None = None,
    ) -> Iterator[RootSession]:
        """`with rc.session(account, task, reason=...) as s:` -- a checked, journaled root
        session; `s.iam`, `s.s3`, `s.sqs` sign as the member's root user inside the block."""
        from rootctl.sessions.rules import SessionRequest

        run = self.run("session", reason, 1)
        if request_id is not None:
            from rootctl.approvals.gates import for_root

            for_root(run, request_id, account_id, task)
        run.check(SessionRequest(account_id, task, run.reason))
        with run.session(account_id, task, region) as session:
            yield session

    def exec(
        self,
        account_id: str,
        task: Task,
        argv: Sequence[str],
        *,
        reason: str | None,
        region: str | None = None,
        env: Mapping[str, str] | None = None,
        announce: Callable[[str], None] | None = None,
        request_id: str | None = None,
    ) -> ExecResult:
        """Run `argv` with the session's credentials in its environment only; journaled.
        `request_id`: an approved break-glass request for this account and task."""
        import os

        from rootctl.sessions.execute import run_with_session

        run = self.run("exec", reason, 1)
        if request_id is not None and argv:
            from rootctl.approvals.gates import for_root

            for_root(run, request_id, account_id, task)
        base = os.environ if env is None else env
        return run_with_session(run, account_id, task, argv, base, region, announce)

    # -- break-glass approvals (rootctl.approvals) ---------------------------------------------------

    def request_session(
        self,
        task: Task,
        account_id: str,
        *,
        reason: str | None,
        bucket: str | None = None,
        queue: str | None = None,
        region: str | None = None,
        duration: int | None = None,
    ) -> BreakGlassRequest:
        """Journal a pending request for one root session (checked against every other
        rule now); the requester is the caller's ARN from STS."""
        from rootctl.approvals import flow
        from rootctl.approvals.targets import target_for
        from rootctl.sessions.rules import SessionRequest

        where = target_for(
            task,
            account_id,
            bucket=bucket,
            queue=queue,
            region=region,
            default_region=self.factory.region,
        )
        run = self.run("request", reason, 1)
        return flow.create(
            run,
            task,
            account_id,
            where.arn,
            lambda: run.check(
                SessionRequest(account_id, task, run.reason, where.resource), target=where.arn
            ),
            duration,
        )

    def requests(self, *, pending: bool = False, now: datetime | None = None) -> list[RequestView]:
        """Every request in the (verified) journal with its state now, oldest first."""
        from rootctl.approvals import flow
        from rootctl.approvals.model import RequestView

        when = now or flow.utcnow()
        rules = self.config.root_sessions.approval
        views = [
            RequestView.of(r, rules, when) for r in flow.load(self.existing_journal()).values()
        ]
        return [v for v in views if v.state == "pending"] if pending else views

    def approve(
        self, request_id: str, *, reason: str | None = None, now: datetime | None = None
    ) -> BreakGlassRequest:
        """Approve as the caller (STS): allowed by `approvers`, never the requester, once."""
        from rootctl.approvals import flow

        return flow.approve(self.run("approve", reason, 1), request_id, now)

    def deny(
        self, request_id: str, *, reason: str | None, now: datetime | None = None
    ) -> BreakGlassRequest:
        """Deny a pending or approved request (same principals as `approve`)."""
        from rootctl.approvals import flow

        why = _reason(reason, False)
        return flow.deny(self.run("deny", why, 1), request_id, now)

    def credential_process(
        self,
        account_id: str,
        task: Task,
        *,
        request_id: str | None = None,
        duration: int | None = None,
        reason: str | None = None,
        now: datetime | None = None,
    ) -> ProcessCredentials:
        """A checked, journaled root session for an SDK's `credential_process`
        (`.to_json()`); the journal entry never holds the secret or the token."""
        from rootctl.approvals import gates, process

        run = self.run(process.COMMAND, reason, 1)
        return gates.credential_process(
            run, account_id, task, request_id=request_id, duration=duration, now=now
        )

    # -- continuous enforcement --------------------------------------------------------------------

    def enforce(
        self,
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
        """One idempotent reconcile pass of `root_credentials.policy` (rootctl.enforce).

        First the organization sections of the config (features, delegated administrator,
        guardrails), planned and made as `apply_org` does (journaled, then verified) under
        `delete`, reported as findings otherwise; changes only the management account may
        make are left pending with that account's id. If RootCredentialsManagement is still
        off, the credentials part is skipped with the reason (`credentials_skipped`).
        Then audit; under `delete`, delete what no active exception or open recovery window
        keeps (plan_deletion/delete: same journal and verification); under `report`, only
        findings. Recovery windows that have ended lose their password under either policy.
        `event` (rootctl.enforce.parse_event) narrows the pass to the account it names. The
        pass is journaled as one `enforce` entry (not on a dry run). `watch_since` adds the
        root-usage watch (`watch`) to a full pass, sharing its cursor. `organization=False`
        reads the organization but changes nothing in it (shards other than the first).
        """
        from rootctl.enforce.reconcile import run_pass

        return run_pass(
            self,
            selection,
            event=event,
            reason=reason,
            dry_run=dry_run,
            now=now,
            progress=progress,
            watch_since=watch_since,
            organization=organization,
        )

    def watch(
        self,
        selection: SelectionSpec | None = None,
        *,
        since: datetime,
        now: datetime | None = None,
        regions: Sequence[str] | None = None,
        member_role: str | None = None,
        dry_run: bool = False,
    ) -> EnforcementReport:
        """Root-usage findings from CloudTrail since the journal's cursor (or `since` on the
        first run), each reported once: real root sign-ins and root-key calls in member
        accounts, AssumeRoot by callers or for tasks `root_sessions` does not allow, sessions
        rootctl did not open. Journals the new cursor (not on a dry run)."""
        from rootctl.enforce.watch import run_watch

        return run_watch(
            self,
            selection,
            since=since,
            now=now or datetime.now(UTC),
            regions=regions,
            member_role=member_role,
            dry_run=dry_run,
        )


def _phase(progress: ProgressFactory | None, total: int, label: str) -> Any:
    return nullcontext(None) if progress is None else progress(total, label)


def _audit(
    run: RunContext,
    selection: Selection,
    progress: ProgressFactory | None,
    on_result: Callable[[Account, AccountAudit], None] | None,
    processes: int | str | None = None,
) -> AuditReport:
    run.inventory  # noqa: B018 -- read the organization before the bar appears
    with _phase(progress, len(selection.targets), "Auditing root credentials") as bar:
        if processes is None:
            return run.audit(selection, bar, on_result)
        from rootctl import processes as workers

        return workers.audit(run, selection, processes, bar, on_result)


def _reason(reason: str | None, dry_run: bool) -> str:
    """A change needs a reason (it is journaled); a dry run stands in '(dry run)'."""
    text = (reason or "").strip()
    if dry_run:
        return text or "(dry run)"
    if not text:
        raise UsageError("a reason is required for a change: say why (it is journaled)")
    return text
