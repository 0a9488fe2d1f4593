"""The deletion plan: per account, exactly what will be deleted and what is kept, and why.

Built from an audit (what exists now), the `--only` filter, the config's active
exceptions, and the steps earlier runs left unfinished (`resume.py`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any, Literal

from rootctl.credentials.models import AccountAudit, AuditReport, RootCredentials
from rootctl.errors import UsageError
from rootctl.results import iso

if TYPE_CHECKING:
    from rootctl.config import CredentialException

COMMAND = "delete-credentials"
KINDS = ("password", "access-keys", "signing-certificates", "mfa-devices")
StepAction = Literal[
    "delete-login-profile",
    "delete-access-key",
    "delete-signing-certificate",
    "deactivate-mfa-device",
    "delete-virtual-mfa-device",
]
# The action a plan entry in the journal is recorded under.
PLAN_ACTION = "plan"


@dataclass(frozen=True)
class Step:
    """One deletion call. `before` is the credential's metadata, as journaled.

    `failed_call` is set by `resume` on a step of an earlier run whose last call was
    journaled as failed ("journal entry 42: InternalFailure: ..."): if the re-audit finds
    its target gone, the call did apply, and the note says so instead of blaming a kill.
    """

    action: StepAction
    kind: str
    target: str
    before: dict[str, Any]
    failed_call: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "kind": self.kind,
            "target": self.target,
            "before": self.before,
        }


@dataclass(frozen=True)
class Kept:
    kind: str
    target: str
    reason: str

    def to_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "target": self.target, "reason": self.reason}


@dataclass(frozen=True)
class AccountPlan:
    account_id: str
    account_name: str
    ou_path: str
    steps: tuple[Step, ...]
    kept: tuple[Kept, ...]
    # Steps of earlier runs whose target is gone, never journaled as done: the run was
    # killed before journaling the call, or the call failed after AWS applied it.
    reconciled: tuple[Step, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "account_id": self.account_id,
            "account_name": self.account_name,
            "ou_path": self.ou_path,
            "steps": [step.to_dict() for step in self.steps],
            "kept": [kept.to_dict() for kept in self.kept],
            "reconciled": [
                {**step.to_dict(), "note": reconciled_note(step)} for step in self.reconciled
            ],
        }


def reconciled_note(step: Step) -> str:
    """Why a step of an earlier run is journaled as done now (the journal's `after.note`)."""
    if step.failed_call is not None:
        return (
            f"found absent when re-audited: the earlier call failed ({step.failed_call}), "
            "but AWS had applied it and the answer was lost"
        )
    return (
        "found absent when re-audited: an interrupted run made this call but was stopped "
        "before journaling it"
    )


@dataclass(frozen=True)
class DeletionPlan:
    """The plan of a run: accounts with something to delete or keep, plus the audit behind it."""

    audit: AuditReport
    accounts: tuple[AccountPlan, ...]
    only: tuple[str, ...]

    @property
    def changes(self) -> tuple[AccountPlan, ...]:
        return tuple(plan for plan in self.accounts if plan.steps)

    def step_count(self) -> int:
        return sum(len(plan.steps) for plan in self.accounts)


def parse_kinds(items: Iterable[str]) -> tuple[str, ...]:
    """Credential kinds to delete, validated, in the order they are deleted."""
    wanted = [item.strip() for item in items if item.strip()]
    unknown = [item for item in wanted if item not in KINDS]
    if unknown or not wanted:
        shown = ", ".join(unknown) if unknown else "nothing"
        raise UsageError(f"{shown} is not a credential kind; use any of: {', '.join(KINDS)}")
    return tuple(kind for kind in KINDS if kind in wanted)


def plan_deletion(
    audit: AuditReport,
    *,
    only: tuple[str, ...] = KINDS,
    exceptions: dict[str, CredentialException] | None = None,
    unfinished: dict[str, tuple[Step, ...]] | None = None,
) -> DeletionPlan:
    """One AccountPlan per audited account with credentials or unfinished earlier steps.

    `unfinished` comes from `rootctl.credentials.resume.unfinished_steps`: steps earlier
    runs planned that the journal does not show as done.
    """
    plans: list[AccountPlan] = []
    for account in audit.accounts:
        if account.outcome != "ok" or account.root is None:
            continue
        keep = _keep_reasons(account.account_id, only, (exceptions or {}).get(account.account_id))
        earlier = (unfinished or {}).get(account.account_id, ())
        plan = plan_account(account, account.root, keep, earlier)
        if plan.steps or plan.kept or plan.reconciled:
            plans.append(plan)
    return DeletionPlan(audit=audit, accounts=tuple(plans), only=only)


def plan_account(
    account: AccountAudit,
    root: RootCredentials,
    keep: dict[str, str],
    unfinished: Iterable[Step] = (),
) -> AccountPlan:
    """Steps in AWS's order: password, access keys, signing certificates, then MFA.

    Unfinished steps of earlier runs whose target the audit no longer sees: a virtual MFA
    deletion is planned again (the device was deactivated, so ListMFADevices hides it, but
    it still exists); any other is `reconciled`: an earlier run made the call, and either
    died before journaling it or saw it fail although AWS applied it (a lost answer).
    """
    present = present_targets(root)
    gone = [step for step in unfinished if step.target not in present]
    leftovers = dict.fromkeys(s.target for s in gone if s.action == "delete-virtual-mfa-device")
    steps: list[Step] = []
    kept: list[Kept] = []
    for kind, kind_steps in _candidates(root, leftovers):
        if kind in keep:
            kept.append(Kept(kind, kind_steps[0].target, keep[kind]))
        else:
            steps.extend(kind_steps)
    return AccountPlan(
        account_id=account.account_id,
        account_name=account.account_name,
        ou_path=account.ou_path,
        steps=tuple(steps),
        kept=tuple(kept),
        reconciled=tuple(s for s in gone if s.action != "delete-virtual-mfa-device"),
    )


def present_targets(root: RootCredentials) -> set[str]:
    """The step targets an audit sees: `login-profile`, key and certificate ids, MFA serials
    (assigned devices only: ListMFADevices does not list a deactivated virtual device)."""
    present = {"login-profile"} if root.password.present else set()
    present.update(key.access_key_id for key in root.access_keys)
    present.update(cert.certificate_id for cert in root.signing_certificates)
    present.update(device.serial_number for device in root.mfa_devices)
    return present


def _candidates(
    root: RootCredentials, leftover_serials: Iterable[str]
) -> list[tuple[str, list[Step]]]:
    """(kind, steps) per credential: an MFA device takes two steps when it is virtual."""
    found: list[tuple[str, list[Step]]] = []
    if root.password.present:
        before: dict[str, Any] = {"login_profile": {"created": iso(root.password.created)}}
        found.append(
            ("password", [Step("delete-login-profile", "password", "login-profile", before)])
        )
    for key in root.access_keys:
        found.append(
            (
                "access-keys",
                [Step("delete-access-key", "access-keys", key.access_key_id, key.to_dict())],
            )
        )
    for cert in root.signing_certificates:
        kind = "signing-certificates"
        step = Step("delete-signing-certificate", kind, cert.certificate_id, cert.to_dict())
        found.append((kind, [step]))
    for device in root.mfa_devices:
        serial, before = device.serial_number, device.to_dict()
        steps = [Step("deactivate-mfa-device", "mfa-devices", serial, before)]
        if device.type == "virtual":
            steps.append(Step("delete-virtual-mfa-device", "mfa-devices", serial, before))
        found.append(("mfa-devices", steps))
    listed = {device.serial_number for device in root.mfa_devices}
    for serial in leftover_serials:
        if serial not in listed:
            before = {"serial_number": serial, "type": "virtual", "state": "deactivated"}
            found.append(
                ("mfa-devices", [Step("delete-virtual-mfa-device", "mfa-devices", serial, before)])
            )
    return found


def _keep_reasons(
    account_id: str, only: tuple[str, ...], exception: CredentialException | None
) -> dict[str, str]:
    """Kind -> why it is kept (an active config exception wins over --only)."""
    reasons = {kind: "not selected by --only" for kind in KINDS if kind not in only}
    if exception is not None:
        why = f"config exception until {exception.expires.isoformat()}: {exception.reason}"
        for kind in exception.keep:
            reasons[str(kind.value if hasattr(kind, "value") else kind)] = why
    return reasons


def active_exceptions(config: Any, today: date) -> dict[str, CredentialException]:
    found: dict[str, CredentialException] = config.root_credentials.active_exceptions(today)
    return found
