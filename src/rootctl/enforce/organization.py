"""The organization part of an enforcement pass: converge what `rootctl apply` converges.

Same plan (`rootctl.org.plan.diff_org`: trusted access, delegated administrator, features,
then guardrail SCPs), same changes (`rootctl.org.apply.apply_changes`, each journaled by the
pass's recorder), same verification (a fresh read and plan after the changes). What differs
is what a scheduled pass must not do: raise. A plan with errors, a change that fails, a
change only the management account may make while the pass runs as the IAM delegated
administrator: each becomes part of the report (`OrganizationPart`), and the pass goes on.

It runs before the root-credentials part because AssumeRoot's credential tasks need the
RootCredentialsManagement feature: when the feature is still off after this part (it failed,
it needs the management account, or the pass is a dry run), `credentials_blocker` says why
once, instead of every account failing with the same refusal.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from rootctl.enforce.report import EnforcementReport, Finding, OrganizationPart, OrgItem

if TYPE_CHECKING:
    from rootctl.api import Rootctl
    from rootctl.journal import Recorder
    from rootctl.org.apply import OrgChangeResult
    from rootctl.org.features import OrgState
    from rootctl.org.plan import OrgChange
    from rootctl.org.service import OrgPlanRun

# The feature AssumeRoot needs for audit, delete and create-password sessions.
CREDENTIALS_FEATURE = "RootCredentialsManagement"


def converge(
    rc: Rootctl,
    recorder: Recorder,
    report: EnforcementReport,
    *,
    change: bool,
    hold: str,
) -> OrganizationPart | None:
    """Plan the organization against the config and, when `change`, make what the caller
    may make. `hold`: why nothing is changed when `change` is False (dry run, policy
    report, another shard). None when the config manages no organization section."""
    from rootctl.org.service import manages_organization, unread_parts

    if not manages_organization(rc.config):
        return None
    part = OrganizationPart()
    report.organization = part
    try:
        planned = rc.plan_org()
    except (ClientError, BotoCoreError) as exc:
        part.errors.append(f"cannot read the organization: {_error(exc)}")
        return part
    state, plan = planned.state, planned.plan
    part.management_account_id = state.management_account_id
    part.caller_role = state.caller_role
    part.enabled_features = _features(state)
    part.errors.extend(plan.errors)
    unread, unneeded = unread_parts(state, rc.config)  # the same rule as `apply`
    report.notes.extend(
        f"could not read {what} (no guardrails configured: not needed)" for what in unneeded
    )
    part.errors.extend(f"could not read {what}" for what in unread)
    needs = _needs(planned)
    if plan.errors:
        _hold(part, plan.changes, "not made: the organization plan has errors", needs)
    elif part.errors:  # a plan made from a partial read (e.g. SCPs unseen) is not applied
        _hold(part, plan.changes, "not made: the organization could not be read in full", needs)
    elif not change:
        _hold(part, plan.changes, hold, needs)
    elif plan.changes:
        _apply(rc, recorder, planned, part)
    report.findings.extend(_findings(part))
    return part


def credentials_blocker(part: OrganizationPart | None, *, dry_run: bool) -> str | None:
    """Why the root-credentials part cannot run, or None (it can, or it is not known)."""
    if part is None or part.enabled_features is None:
        return None
    if CREDENTIALS_FEATURE in part.enabled_features:
        return None
    why = "the config does not enable it (centralize_root_access)"
    for item in part.failed:
        why = f"{item.describe()} failed: {item.error}"
        break
    else:
        wanted = [i for i in part.pending if i.kind == "enable-feature"]
        wanted = [i for i in wanted if i.target == CREDENTIALS_FEATURE] or wanted
        if wanted:
            item = wanted[0]
            if dry_run:
                why = "this pass would enable it first (dry run)"
            elif item.needs is not None:
                why = f"enabling it needs the management account {item.needs}"
            else:
                why = f"enabling it was not done: {item.why}"
    return (
        f"root credentials not checked: the organization's {CREDENTIALS_FEATURE} feature is "
        f"not enabled ({why}); AssumeRoot refuses the credential tasks without it in every "
        "account"
    )


def _apply(
    rc: Rootctl,
    recorder: Recorder,
    planned: OrgPlanRun,
    part: OrganizationPart,
) -> None:
    from rootctl.org.service import apply_allowed

    try:
        done = apply_allowed(rc.factory, recorder, planned)
    except (ClientError, BotoCoreError) as exc:  # the verification read (apply_changes
        # turns each change's ClientError into a result); what was made is journaled
        part.errors.append(f"cannot finish the organization changes: {_error(exc)}")
        return
    results = {id(r.change): r for r in done.results}
    tried = [results.get(id(c)) for c in planned.plan.changes]
    failed = next((r for r in tried if r is not None and r.outcome == "error"), None)
    for index, change in enumerate(planned.plan.changes):
        result = tried[index]
        if result is not None and result.outcome == "ok":
            part.changed.append(_item(change))
            _track(part, change)
        elif result is not None and result.outcome == "error":
            part.failed.append(_item(change, error=_result_error(result)))
    made = {_key(c) for c in planned.plan.changes}
    for change in done.pending:
        if any(f.kind == change.kind and f.target == change.target for f in part.failed):
            continue
        needed = _needed_by(planned, change)
        if needed is not None:
            role = planned.state.caller_role
            why = f"needs the management account {needed}; the caller is the {role}"
        elif failed is not None:
            why = f"not made: {failed.change.describe()} failed first"
        elif _key(change) in made:
            why = "made, but a fresh read still finds it to change"
        else:
            why = "found by the verification read after the changes"
        part.pending.append(_item(change, why=why, needs=needed))
    part.verified = not done.pending and not part.failed


def _hold(
    part: OrganizationPart, changes: list[OrgChange], why: str, needs: dict[int, str]
) -> None:
    for change in changes:
        needed = needs.get(id(change))
        reason = why if needed is None else f"{why}; needs the management account {needed}"
        part.pending.append(_item(change, why=reason, needs=needed))


def _needs(planned: OrgPlanRun) -> dict[int, str]:
    """id(change) -> the management account, for changes this caller may not make."""
    state = planned.state
    return {id(c): state.management_account_id for c in planned.plan.needing_management(state)}


def _needed_by(planned: OrgPlanRun, change: OrgChange) -> str | None:
    from rootctl.org.plan import MANAGEMENT_ONLY

    state = planned.state
    if state.caller_role != "management" and change.kind in MANAGEMENT_ONLY:
        return state.management_account_id
    return None


def _track(part: OrganizationPart, change: OrgChange) -> None:
    """Keep `enabled_features` true to the changes made (the verification read agrees)."""
    if part.enabled_features is None or change.kind not in ("enable-feature", "disable-feature"):
        return
    features = [f for f in part.enabled_features if f != change.target]
    if change.kind == "enable-feature":
        features.append(change.target)
    from rootctl.org.features import FEATURES

    part.enabled_features = [f for f in FEATURES if f in features]


def _features(state: OrgState) -> list[str] | None:
    return None if state.enabled_features is None else list(state.enabled_features)


def _item(
    change: OrgChange, *, why: str | None = None, needs: str | None = None, error: str | None = None
) -> OrgItem:
    return OrgItem(change.kind, change.target, change.detail, why, needs, error)


def _key(change: OrgChange) -> tuple[str, str, str | None]:
    return (change.kind, change.target, change.target_id)


def _result_error(result: OrgChangeResult) -> str:
    error = result.error
    return f"{error.code}: {error.message}" if error is not None else result.outcome


def _findings(part: OrganizationPart) -> list[Finding]:
    """Pending changes are findings (what remains against the config after the pass); a
    failed change is in `failed` instead, as a failed account is."""
    account = part.management_account_id or "organization"
    found = []
    for item in part.pending:
        where = f":{item.detail}" if item.kind in ("attach-scp", "detach-scp") else ""
        found.append(
            Finding(
                "organization",
                account,
                f"{item.describe()} pending ({item.why})",
                {
                    "kind": item.kind,
                    "target": item.target,
                    "detail": item.detail,
                    "needs": item.needs,
                },
                key=f"{item.kind}:{item.target}{where}",
            )
        )
    return found


def _error(exc: BaseException) -> str:
    from rootctl.errors import error_code
    from rootctl.results import ErrorInfo

    info = ErrorInfo.from_exception(exc)
    return f"{error_code(exc)}: {info.message}"
