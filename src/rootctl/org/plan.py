"""Diff the desired state (rootctl.yaml) against the organization, in a safe order.

Order to enable: IAM trusted access, IAM delegated administrator, features, then guardrail
SCPs. `centralize_root_access.enabled: false` disables the features (RootSessions first).
rootctl only manages what the config states: it never disables IAM trusted access or
deregisters a delegated administrator the config does not mention.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from rootctl.org.features import FEATURES, IAM_PRINCIPAL, OrgState, Scp

if TYPE_CHECKING:
    from rootctl.config import RootctlConfig

ChangeKind = Literal[
    "enable-trusted-access",
    "register-delegated-administrator",
    "deregister-delegated-administrator",
    "enable-feature",
    "disable-feature",
    "create-scp",
    "update-scp",
    "attach-scp",
    "detach-scp",
]
# Changes only the management account may make (IAM API reference: Enable* raise
# CallerIsNotManagementAccount; Organizations changes are management-only).
MANAGEMENT_ONLY = {
    "enable-trusted-access",
    "register-delegated-administrator",
    "deregister-delegated-administrator",
    "enable-feature",
    "create-scp",
    "update-scp",
    "attach-scp",
    "detach-scp",
}


@dataclass(frozen=True)
class OrgChange:
    kind: ChangeKind
    target: str  # feature name, account id, policy name
    detail: str = ""
    before: Any = None
    after: Any = None
    policy_id: str | None = None
    target_id: str | None = None  # OU/root/account id for attach/detach

    def describe(self) -> str:
        return f"{self.kind} {self.target}" + (f" ({self.detail})" if self.detail else "")


@dataclass
class OrgPlan:
    changes: list[OrgChange] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.changes

    def needing_management(self, state: OrgState) -> list[OrgChange]:
        if state.caller_role == "management":
            return []
        return [c for c in self.changes if c.kind in MANAGEMENT_ONLY]


def diff_org(config: RootctlConfig, state: OrgState) -> OrgPlan:
    """The changes that converge the organization to `config`, in the order they must run."""
    plan = OrgPlan()
    desired = config.centralize_root_access
    if state.feature_set != "ALL":
        plan.errors.append(
            f"organization {state.organization_id} is in {state.feature_set} mode: centralized root access needs all features enabled (Organizations console: enable all features)"
        )
        return plan
    wanted = [str(f) for f in desired.features] if desired and desired.enabled else []
    if desired is not None and desired.enabled and state.trusted_access is not True:
        plan.changes.append(
            OrgChange(
                "enable-trusted-access", IAM_PRINCIPAL, "needed before any feature", False, True
            )
        )
    _plan_delegation(config, state, plan)
    if desired is not None:
        current = set(state.enabled_features or [])
        for feature in FEATURES:
            if feature in wanted and feature not in current:
                plan.changes.append(OrgChange("enable-feature", feature, before=False, after=True))
        for feature in reversed(FEATURES):
            if feature in current and feature not in wanted:
                plan.changes.append(OrgChange("disable-feature", feature, before=True, after=False))
    _plan_guardrails(config, state, plan)
    from rootctl.org.conflicts import root_session_conflicts

    if wanted or (desired is None and state.enabled_features):
        plan.errors.extend(root_session_conflicts(state, planned=plan))
    return plan


def _plan_delegation(config: RootctlConfig, state: OrgState, plan: OrgPlan) -> None:
    wanted = config.delegated_administrator
    if wanted is None:
        return
    if wanted == state.management_account_id:
        plan.errors.append(
            f"delegated_administrator {wanted} is the management account: choose a member account (AWS recommends a dedicated security account)"
        )
        return
    status = state.account_status.get(wanted, "ACTIVE")
    if wanted not in state.delegated_administrators and status != "ACTIVE":
        if status == "NOT_A_MEMBER":
            why = f"is not a member of organization {state.organization_id}"
        elif status.startswith("unknown"):
            why = f"could not be checked ({status.split(': ', 1)[-1]})"
        else:
            why = f"is {status}, not ACTIVE"
        plan.errors.append(
            f"delegated_administrator {wanted} {why}: register an ACTIVE member account "
            "(AWS recommends a dedicated security account)"
        )
        return
    for other in state.delegated_administrators:
        if other != wanted:
            plan.changes.append(
                OrgChange(
                    "deregister-delegated-administrator",
                    other,
                    "replaced by the configured one",
                    other,
                    None,
                )
            )
    if wanted not in state.delegated_administrators:
        plan.changes.append(
            OrgChange(
                "register-delegated-administrator", wanted, f"for {IAM_PRINCIPAL}", None, wanted
            )
        )


def _plan_guardrails(config: RootctlConfig, state: OrgState, plan: OrgPlan) -> None:
    from rootctl.guardrails.templates import render

    by_path = {path: target_id for target_id, path in state.ou_paths.items()}
    existing = {scp.name: scp for scp in state.scps}
    for guardrail in config.guardrails:
        document = render(list(guardrail.template_names), list(guardrail.exclude_principal_arns))
        current: Scp | None = existing.get(guardrail.policy_name)
        if current is None:
            plan.changes.append(
                OrgChange(
                    "create-scp",
                    guardrail.policy_name,
                    ", ".join(guardrail.template_names),
                    None,
                    document,
                )
            )
        elif _canonical(current.document) != _canonical(document):
            plan.changes.append(
                OrgChange(
                    "update-scp",
                    guardrail.policy_name,
                    "content differs",
                    current.document,
                    document,
                    policy_id=current.id,
                )
            )
        attached = set(current.targets) if current else set()
        wanted_ids: set[str] = set()
        for path in guardrail.target_ou_paths:
            target_id = by_path.get(path)
            if target_id is None:
                plan.errors.append(
                    f"guardrails: {guardrail.policy_name}: OU path {path} does not exist in the organization"
                )
                continue
            wanted_ids.add(target_id)
            if target_id not in attached:
                plan.changes.append(
                    OrgChange(
                        "attach-scp",
                        guardrail.policy_name,
                        path,
                        policy_id=current.id if current else None,
                        target_id=target_id,
                    )
                )
        for target_id in sorted(attached - wanted_ids):
            plan.changes.append(
                OrgChange(
                    "detach-scp",
                    guardrail.policy_name,
                    state.path_of(target_id),
                    policy_id=current.id if current else None,
                    target_id=target_id,
                )
            )


def _canonical(document: dict[str, Any]) -> str:
    return json.dumps(document, sort_keys=True, separators=(",", ":"))
