"""The organization commands as library calls: status, plan, apply (also from a saved plan).

The CLI (`rootctl.cli.org`) and the facade call these; every rule lives here: the caller
must be central, a plan with errors or changes the caller may not make is refused, a saved
plan is applied only while it is fresh (`rootctl.documents.saved`), every change goes to the
journal through a `Recorder`, and apply ends with a verification (the plan made again must
be empty).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rootctl.documents.saved import DEFAULT_MAX_AGE, StalePlanError, check_saved_plan
from rootctl.errors import RootctlError, UsageError
from rootctl.org.features import OrgState, read_account_status, read_state, require_central_caller
from rootctl.org.plan import OrgChange, OrgPlan, diff_org

if TYPE_CHECKING:
    from rootctl.aws.session import SessionFactory
    from rootctl.config import RootctlConfig
    from rootctl.documents.org import ConfigSourcePart, PlanDocument, StatusDocument
    from rootctl.journal import Recorder
    from rootctl.org.apply import OrgChangeResult

# The config sections an organization plan depends on (its config hash covers these only).
ORG_CONFIG_SECTIONS = ("centralize_root_access", "delegated_administrator", "guardrails")
# How rootctl.org.features names an unreadable SCP listing in `OrgState.unknown` (the IAM
# delegated administrator may lack organizations:ListPolicies).
SCPS = "service control policies"


class PartialReadError(RootctlError):
    """The organization was not read in full: a plan made from it is not applied (exit 1).

    Not bad input: the caller lacks a read permission (or the read failed), and a change
    planned from what is missing (an SCP not seen) could duplicate or undo what exists.
    """


@dataclass(frozen=True)
class OrgPlanRun:
    """A plan with what it was made from: the state read, the config, and its document."""

    state: OrgState
    config: RootctlConfig
    plan: OrgPlan
    document: PlanDocument


@dataclass(frozen=True)
class ApplyResult:
    """Each change's result, and what a fresh plan still finds to change (empty: verified)."""

    results: list[OrgChangeResult] = field(default_factory=list)
    pending: list[OrgChange] = field(default_factory=list)
    # Why the verification read could not run after a failed change (None: it ran).
    unverified: str | None = None

    @property
    def failure(self) -> str | None:
        """One line for a failed run: the failed change, its error, what was not attempted."""
        failed = next((r for r in self.results if r.outcome == "error"), None)
        if failed is None:
            return None
        from rootctl.text import clean

        skipped = sum(1 for r in self.results if r.outcome == "skipped")
        error = f"{failed.error.code}: {failed.error.message}" if failed.error else "failed"
        rest = f"; {skipped} later change(s) not attempted" if skipped else ""
        return clean(f"{failed.change.describe()} failed: {error}{rest}")

    @property
    def ok(self) -> bool:
        return all(r.outcome == "ok" for r in self.results) and not self.pending


def status(factory: SessionFactory) -> StatusDocument:
    """rootctl.status/v1: features, trusted access, delegated admin, guardrails, conflicts."""
    from rootctl.documents.org import CallerPart, GuardrailPart, StatusDocument
    from rootctl.org.conflicts import root_session_conflicts

    state = read_state(factory)
    return StatusDocument(
        organization_id=state.organization_id,
        feature_set=state.feature_set,
        management_account_id=state.management_account_id,
        caller=CallerPart(
            arn=state.caller_arn,
            account_id=state.caller_account,
            role=state.caller_role,
            allows=state.allows,
        ),
        iam_trusted_access=state.trusted_access,
        iam_delegated_administrators=state.delegated_administrators,
        enabled_features=state.enabled_features,
        root_guardrails=[
            GuardrailPart(name=s.name, id=s.id, targets=[state.path_of(t) for t in s.targets])
            for s in state.scps
            if _is_root_guardrail(s.document)
        ],
        conflicts=root_session_conflicts(state) if state.enabled_features else [],
        unknown=state.unknown,
    )


def plan_org(
    factory: SessionFactory, config: RootctlConfig, *, source: ConfigSourcePart | None = None
) -> OrgPlanRun:
    """Read the organization and diff it against `config` (validated before any AWS call).

    `source` (where the config came from) is recorded in the document so `apply PLAN` can
    read it again and check its hash.
    """
    _require_managed(config)
    state = _read(factory, config)
    plan = diff_org(config, state)
    return OrgPlanRun(state, config, plan, _document(state, config, plan, source))


def org_config_sha256(config: RootctlConfig) -> str:
    from rootctl.documents.saved import config_sha256

    return config_sha256(config, ORG_CONFIG_SECTIONS)


def state_sha256(state: OrgState) -> str:
    """Fingerprint of everything a plan is computed from (not who reads it)."""
    from rootctl.documents.base import sha256_of

    return sha256_of(
        {
            "organization_id": state.organization_id,
            "feature_set": state.feature_set,
            "management_account_id": state.management_account_id,
            "trusted_access": state.trusted_access,
            "delegated_administrators": sorted(state.delegated_administrators),
            "enabled_features": state.enabled_features,
            "scps": sorted(
                [s.id, s.name, s.document, sorted(s.targets), s.aws_managed] for s in state.scps
            ),
            "ou_paths": state.ou_paths,
            "account_status": state.account_status,
            "unknown": sorted(state.unknown),
        }
    )


def load_org_plan(path: Path) -> PlanDocument:
    """Read a saved plan (`plan --out`); DocumentError (one line) when it is not one."""
    from rootctl.documents.base import parse
    from rootctl.documents.org import PlanDocument

    try:
        text = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"{path}: cannot read the plan: {exc.strerror or exc}") from None
    if len(text) > 16 * 1024 * 1024:
        raise UsageError(f"{path}: larger than 16 MiB, not a rootctl plan")
    return parse(PlanDocument, text, source=str(path))


def replan_saved(
    factory: SessionFactory,
    saved: PlanDocument,
    config: RootctlConfig,
    *,
    max_age: timedelta = DEFAULT_MAX_AGE,
    now: datetime | None = None,
    source: str = "plan",
) -> OrgPlanRun:
    """The saved plan, if it still holds: refuse (StalePlanError) a plan that was edited, made
    for another organization or config, is older than `max_age`, or whose state changed."""
    if saved.errors:
        raise StalePlanError(
            f"{source}: the plan has errors and cannot be applied: {saved.errors[0]}"
        )
    _require_managed(config)
    state = _read(factory, config)
    check_saved_plan(
        saved,
        organization_id=state.organization_id,
        config_sha256=org_config_sha256(config),
        now=now,
        max_age=max_age,
        source=source,
    )
    if state_sha256(state) != saved.state_sha256:
        raise StalePlanError(
            f"{source}: the organization changed since the plan was made: nothing applied; make a new plan"
        )
    plan = diff_org(config, state)
    fresh = _document(state, config, plan, saved.config_source)
    if [c.model_dump() for c in fresh.changes] != [c.model_dump() for c in saved.changes]:
        raise StalePlanError(
            f"{source}: its changes are not what this config and organization give (edited?): nothing applied"
        )
    return OrgPlanRun(state, config, plan, saved)


def unread_parts(state: OrgState, config: RootctlConfig) -> tuple[list[str], list[str]]:
    """What the read missed, as (parts the plan depends on, parts it does not need): SCPs
    matter only when the config has guardrails; every other part always matters."""
    needed: list[str] = []
    unneeded: list[str] = []
    for what in state.unknown:
        (unneeded if what.startswith(SCPS) and not config.guardrails else needed).append(what)
    return needed, unneeded


def check_applicable(run: OrgPlanRun) -> None:
    """Refuse a plan apply must not start: errors or changes the caller may not make
    (UsageError), a plan made from a partial read (PartialReadError, as enforce refuses it)."""
    plan, state = run.plan, run.state
    if plan.errors:
        raise UsageError(
            f"the plan has {len(plan.errors)} error(s); fix them before applying: {plan.errors[0]}"
        )
    unread, _ = unread_parts(state, run.config)
    if unread and not plan.empty:
        raise PartialReadError(
            f"the organization could not be read in full ({'; '.join(unread)}): a plan made "
            "from a partial read is not applied, nothing changed (grant the read, or run with "
            "management-account credentials)"
        )
    needing = plan.needing_management(state)
    if needing:
        raise UsageError(
            f"{needing[0].describe()} needs the management account {state.management_account_id}; "
            f"the caller {state.caller_arn} is the {state.caller_role}: run apply with management-account credentials"
        )


def apply_org(factory: SessionFactory, recorder: Recorder, run: OrgPlanRun) -> ApplyResult:
    """Make the plan's changes in order (journaled), then plan again to verify."""
    from rootctl.org.apply import apply_changes

    check_applicable(run)
    if run.plan.empty:
        return ApplyResult()
    results = apply_changes(run.plan.changes, factory, recorder)
    return _verified(factory, run, results)


def apply_allowed(factory: SessionFactory, recorder: Recorder, run: OrgPlanRun) -> ApplyResult:
    """`apply_org` for a caller that may not make every change (the IAM delegated
    administrator in an enforcement pass): the changes it may make, in the plan's order, then
    the same verification; the others stay in `pending` for the management account."""
    from rootctl.org.apply import apply_changes

    if run.plan.errors:
        check_applicable(run)  # raises: a plan with errors is never applied
    needing = run.plan.needing_management(run.state)
    changes = [c for c in run.plan.changes if c not in needing]
    if not changes:
        return ApplyResult(pending=list(run.plan.changes))
    results = apply_changes(changes, factory, recorder)
    return _verified(factory, run, results)


def _verified(
    factory: SessionFactory, run: OrgPlanRun, results: list[OrgChangeResult]
) -> ApplyResult:
    """Plan again to verify. After a failed change the read is best effort: when it fails
    too (the endpoint that failed the change is still down), the changes not made are
    `pending` and `unverified` says why, instead of an exception that hides the results."""
    from rootctl.aws.errors import classify

    try:
        after = diff_org(run.config, _read(factory, run.config))
    except Exception as exc:
        error = classify(exc)
        if error is None or all(r.outcome == "ok" for r in results):
            raise
        not_made = [r.change for r in results if r.outcome != "ok"]
        return ApplyResult(results, not_made, unverified=" ".join(str(error).split()))
    return ApplyResult(results, after.changes)


def manages_organization(config: RootctlConfig) -> bool:
    """True when the config states any organization section (plan/apply need one)."""
    return not (
        config.centralize_root_access is None
        and config.delegated_administrator is None
        and not config.guardrails
    )


def _require_managed(config: RootctlConfig) -> None:
    if not manages_organization(config):
        raise UsageError(
            "the config manages nothing: set centralize_root_access, delegated_administrator or guardrails (docs/config.md)"
        )


def _read(factory: SessionFactory, config: RootctlConfig) -> OrgState:
    state = read_state(factory)
    require_central_caller(state, "plan and apply")
    wanted = config.delegated_administrator
    if wanted is not None and wanted not in state.delegated_administrators:
        read_account_status(factory, state, [wanted])
    return state


def _document(
    state: OrgState, config: RootctlConfig, plan: OrgPlan, source: ConfigSourcePart | None
) -> PlanDocument:
    from rootctl import __version__
    from rootctl.documents.org import OrgChangePart, PlanDocument
    from rootctl.documents.saved import sealed

    document = PlanDocument(
        organization_id=state.organization_id,
        changes=[
            OrgChangePart(
                kind=c.kind,
                target=c.target,
                detail=c.detail,
                before=c.before,
                after=c.after,
                policy_id=c.policy_id,
                target_id=c.target_id,
            )
            for c in plan.changes
        ],
        errors=plan.errors,
        warnings=plan.warnings,
        created_at=datetime.now(UTC),
        rootctl_version=__version__,
        config_source=source,
        config_sha256=org_config_sha256(config),
        state_sha256=state_sha256(state),
    )
    sealed_document: PlanDocument = sealed(document)
    return sealed_document


def _is_root_guardrail(document: dict[str, Any]) -> bool:
    text = json.dumps(document)
    return ":root" in text and "aws:PrincipalArn" in text
