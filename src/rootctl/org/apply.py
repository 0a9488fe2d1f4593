"""Make an organization plan's changes one by one, journaling each, stopping at the first failure.

Organization changes depend on each other (features need trusted access), so unlike
per-account work a failure stops the run: later changes would fail or be unsafe. Any
failure of a change stops it, not only an AWS error answer: a connection dropped in the
middle of a change (the change may or may not have been made) is journaled as an error with
its classified code (`rootctl.aws.errors.classify`: `EndpointError`, ...) and the later
changes are `skipped` (not attempted), so the journal and the results say exactly what was
tried. An exception that is no AWS or botocore error (a bug) is journaled too, then raised.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rootctl.org.features import IAM_PRINCIPAL
from rootctl.org.plan import OrgChange
from rootctl.results import ErrorInfo, Outcome

if TYPE_CHECKING:
    from rootctl.aws.session import SessionFactory
    from rootctl.journal import Recorder

PERMISSIONS = {
    "enable-trusted-access": ["organizations:EnableAWSServiceAccess"],
    "register-delegated-administrator": ["organizations:RegisterDelegatedAdministrator"],
    "deregister-delegated-administrator": ["organizations:DeregisterDelegatedAdministrator"],
    "enable-feature": [
        "iam:EnableOrganizationsRootCredentialsManagement",
        "iam:EnableOrganizationsRootSessions",
    ],
    "disable-feature": [
        "iam:DisableOrganizationsRootCredentialsManagement",
        "iam:DisableOrganizationsRootSessions",
    ],
    "create-scp": ["organizations:CreatePolicy"],
    "update-scp": ["organizations:UpdatePolicy"],
    "attach-scp": ["organizations:AttachPolicy"],
    "detach-scp": ["organizations:DetachPolicy"],
}


@dataclass(frozen=True)
class OrgChangeResult:
    """One organization change tried: `ok`, `error` (with the AWS error), or `skipped`."""

    change: OrgChange
    outcome: Outcome
    error: ErrorInfo | None = None


def apply_changes(
    changes: list[OrgChange], factory: SessionFactory, recorder: Recorder
) -> list[OrgChangeResult]:
    """Make every change in order, journaling each; after a failure the rest are skipped.

    Callers go through `rootctl.org.service.apply_org`, which checks the plan first.
    """
    org = factory.client("organizations")
    iam = factory.client("iam")
    created: dict[str, str] = {}  # policy name -> id of policies created in this run
    results: list[OrgChangeResult] = []
    failed = False
    for change in changes:
        if failed:
            results.append(OrgChangeResult(change, "skipped"))
            continue
        bug: Exception | None = None
        try:
            _execute(change, org, iam, created)
            outcome: Outcome = "ok"
            error = None
        except Exception as exc:  # noqa: BLE001 -- every failure is journaled (module docstring)
            outcome, error = "error", error_info(exc)
            failed = True
            bug = exc if _unclassified(exc) else None
        recorder.append(
            change.kind,
            outcome,
            target=change.target
            if change.kind not in ("attach-scp", "detach-scp")
            else f"{change.target} -> {change.detail}",
            before=change.before,
            after=change.after,
            error=f"{error.code}: {error.message}" if error else None,
        )
        if bug is not None:
            raise bug
        results.append(OrgChangeResult(change, outcome, error))
    return results


def error_info(exc: BaseException) -> ErrorInfo:
    """An AWS error answer keeps its own code (AccessDenied, ...); any other failure the
    kind `classify` gives it (EndpointError, UsageError), else its class name."""
    from botocore.exceptions import ClientError

    from rootctl.aws.errors import classify
    from rootctl.text import clean

    if isinstance(exc, ClientError):
        return ErrorInfo.from_exception(exc)
    classified = classify(exc)
    if classified is None:
        return ErrorInfo(type(exc).__name__, clean(" ".join(str(exc).split()))[:500])
    return ErrorInfo(type(classified).__name__, clean(" ".join(str(classified).split())))


def _unclassified(exc: BaseException) -> bool:
    from rootctl.aws.errors import classify

    return classify(exc) is None


def _execute(change: OrgChange, org: Any, iam: Any, created: dict[str, str]) -> None:
    kind = change.kind
    if kind == "enable-trusted-access":
        org.enable_aws_service_access(ServicePrincipal=IAM_PRINCIPAL)
    elif kind == "register-delegated-administrator":
        org.register_delegated_administrator(
            AccountId=change.target, ServicePrincipal=IAM_PRINCIPAL
        )
    elif kind == "deregister-delegated-administrator":
        org.deregister_delegated_administrator(
            AccountId=change.target, ServicePrincipal=IAM_PRINCIPAL
        )
    elif kind in ("enable-feature", "disable-feature"):
        verb = "enable" if kind == "enable-feature" else "disable"
        noun = (
            "root_credentials_management"
            if change.target == "RootCredentialsManagement"
            else "root_sessions"
        )
        getattr(iam, f"{verb}_organizations_{noun}")()
    elif kind == "create-scp":
        out = org.create_policy(
            Name=change.target,
            Description=f"rootctl guardrail: {change.detail}",
            Type="SERVICE_CONTROL_POLICY",
            Content=json.dumps(change.after, separators=(",", ":")),
        )
        created[change.target] = out["Policy"]["PolicySummary"]["Id"]
    elif kind == "update-scp":
        org.update_policy(
            PolicyId=change.policy_id, Content=json.dumps(change.after, separators=(",", ":"))
        )
    elif kind == "attach-scp":
        org.attach_policy(
            PolicyId=change.policy_id or created[change.target], TargetId=change.target_id
        )
    elif kind == "detach-scp":
        org.detach_policy(PolicyId=change.policy_id, TargetId=change.target_id)
    else:  # pragma: no cover - the ChangeKind literal lists every kind
        raise ValueError(f"unknown change {kind}")
