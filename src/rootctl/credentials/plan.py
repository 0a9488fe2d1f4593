"""The deletion plan: per account, exactly what will be deleted and what is kept, and why.

Built from an audit (what exists now), the `--only` filter, the config's active
exceptions, and the journal (virtual MFA devices an earlier, interrupted run deactivated
but did not delete: ListMFADevices no longer shows them, so only the journal knows).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any, Literal

from rootctl.credentials.models import AccountAudit, AuditReport, RootCredentials, iso
from rootctl.errors import UsageError

if TYPE_CHECKING:
    from rootctl.config import CredentialException
    from rootctl.journal import Journal

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
    """One deletion call. `before` is the credential's metadata, as journaled."""

    action: StepAction
    kind: str
    target: str
    before: dict[str, Any]

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

    def to_dict(self) -> dict[str, Any]:
        return {
            "account_id": self.account_id,
            "account_name": self.account_name,
            "ou_path": self.ou_path,
            "steps": [step.to_dict() for step in self.steps],
            "kept": [kept.to_dict() for kept in self.kept],
        }


@dataclass(frozen=True)
class DeletePlan:
    """The plan of a run: accounts with something to delete or keep, plus the audit behind it."""

    audit: AuditReport
    accounts: tuple[AccountPlan, ...]
    only: tuple[str, ...]

    @property
    def changes(self) -> tuple[AccountPlan, ...]:
        return tuple(plan for plan in self.accounts if plan.steps)

    def step_count(self) -> int:
        return sum(len(plan.steps) for plan in self.accounts)


def parse_only(value: str | None) -> tuple[str, ...]:
    """`--only password,mfa-devices` -> the kinds, validated; None -> every kind."""
    if value is None:
        return KINDS
    items = [item.strip() for item in value.split(",") if item.strip()]
    unknown = [item for item in items if item not in KINDS]
    if unknown or not items:
        shown = ", ".join(unknown) if unknown else "nothing"
        raise UsageError(
            f"--only: {shown} is not a credential kind; use any of: {', '.join(KINDS)}"
        )
    return tuple(kind for kind in KINDS if kind in items)


def build_plan(
    audit: AuditReport,
    *,
    only: tuple[str, ...] = KINDS,
    exceptions: dict[str, CredentialException] | None = None,
    leftovers: dict[str, tuple[str, ...]] | None = None,
) -> DeletePlan:
    """One AccountPlan per audited account that has credentials or journaled leftovers."""
    plans: list[AccountPlan] = []
    for account in audit.accounts:
        if account.status != "ok" or account.root is None:
            continue
        keep = _keep_reasons(account.account_id, only, (exceptions or {}).get(account.account_id))
        extra = (leftovers or {}).get(account.account_id, ())
        plan = plan_account(account, account.root, keep, extra)
        if plan.steps or plan.kept:
            plans.append(plan)
    return DeletePlan(audit=audit, accounts=tuple(plans), only=only)


def plan_account(
    account: AccountAudit,
    root: RootCredentials,
    keep: dict[str, str],
    leftover_serials: Iterable[str] = (),
) -> AccountPlan:
    """Steps in AWS's order: password, access keys, signing certificates, then MFA."""
    steps: list[Step] = []
    kept: list[Kept] = []
    for kind, kind_steps in _candidates(root, leftover_serials):
        if kind in keep:
            kept.append(Kept(kind, kind_steps[0].target, keep[kind]))
        else:
            steps.extend(kind_steps)
    return AccountPlan(
        account.account_id, account.account_name, account.ou_path, tuple(steps), tuple(kept)
    )


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


def journaled_leftovers(journal: Journal, account_ids: Iterable[str]) -> dict[str, tuple[str, ...]]:
    """Virtual MFA serials planned for deletion by earlier runs and not deleted since.

    A run killed between DeactivateMFADevice and DeleteVirtualMFADevice leaves a device that
    no audit call can see any more. Every run journals its plan before it changes anything,
    so the serials are recovered from there: a serial is pending when its latest plan entry
    is newer than its latest successful deletion (NoSuchEntity counts as deleted). Comparing
    entry ids matters because a root user's virtual MFA serial is often reused.
    """
    wanted = set(account_ids)
    planned: dict[tuple[str, str], int] = {}
    for entry in journal.list(command=COMMAND, action=PLAN_ACTION):
        if entry.account_id not in wanted or not isinstance(entry.before, dict):
            continue
        for step in entry.before.get("steps", []):
            if step.get("action") == "delete-virtual-mfa-device":
                planned[(entry.account_id, str(step["target"]))] = entry.id
    if not planned:
        return {}
    deleted: dict[tuple[str, str], int] = {}
    for entry in journal.list(command=COMMAND, action="delete-virtual-mfa-device", outcome="ok"):
        if entry.account_id is not None and entry.target is not None:
            deleted[(entry.account_id, entry.target)] = entry.id
    pending: dict[str, list[str]] = {}
    for (account, serial), plan_id in planned.items():
        if plan_id > deleted.get((account, serial), 0):
            pending.setdefault(account, []).append(serial)
    return {account: tuple(serials) for account, serials in pending.items()}
