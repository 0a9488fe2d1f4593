"""The enforcement report's findings as exported (OCSF, ASFF, Security Hub), one model for all.

What is exported: every finding the pass left (`report.findings`, FAILED); a password kept
by an open recovery window (type `recovery-window`: deliberate, but a root password exists,
so compliance tools see it until the window closes); and, for an account whose leftover
credentials this pass deleted and verified, the `root-credentials` finding again as PASSED,
so a SIEM fed by files closes it the way Security Hub is closed by `--security-hub`.

Ids are the report's stable ids (`<type>:<account>[:<event or key>]`) under `rootctl/enforce/`:
the same leftover credentials or the same CloudTrail event give the same id on every pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from rootctl.enforce.report import EnforcementReport, Finding
from rootctl.reports.compliance import Control, controls_for

PRODUCT = "rootctl"
ID_PREFIX = "rootctl/enforce/"
GENERATOR_PREFIX = "rootctl-enforce-"
# Findings about a state the next pass sees again: gone from a later pass that audited the
# account, they are resolved. Event findings (a sign-in, an AssumeRoot call) are read once
# (the watch's cursor): their absence later proves nothing, an analyst closes them.
STATE_TYPES = frozenset({"root-credentials", "recovery-window"})
RECOVERY_WINDOW = "recovery-window"
ROOT_CREDENTIALS = "root-credentials"

REMEDIATION = {
    "root-credentials": (
        "Delete the member account's root credentials: rootctl enforce under "
        "root_credentials.policy: delete, or rootctl delete-credentials --accounts <id>. "
        "Keep them only with a documented, time-bound exception in rootctl.yaml."
    ),
    "recovery-window": (
        "The password is kept on purpose until its recovery window ends; the first "
        "rootctl enforce pass after that deletes it. Close it sooner with "
        "rootctl delete-credentials --accounts <id> --only password."
    ),
    "root-sign-in": (
        "Confirm with the account owner who signed in as root and why; if no one can, treat "
        "it as a compromise: delete the root credentials and review the session's CloudTrail."
    ),
    "root-credentials-used": (
        "A call was signed with long-term root credentials: find and delete the root access "
        "key (rootctl delete-credentials --accounts <id> --only access-keys) and move its "
        "user to an IAM role."
    ),
    "assume-root-caller": (
        "A principal not in root_sessions.allowed_callers called sts:AssumeRoot: confirm it "
        "was legitimate, then add it to allowed_callers or remove its sts:AssumeRoot permission."
    ),
    "assume-root-task": (
        "sts:AssumeRoot was called for a task root_sessions.allowed_tasks does not allow: "
        "confirm it, then allow the task or narrow the caller's sts:TaskPolicyArn condition."
    ),
    "organization": (
        "The organization differs from rootctl.yaml (a feature, trusted access, the delegated "
        "administrator or a guardrail): run rootctl enforce under root_credentials.policy: "
        "delete, or rootctl apply, with the management account's credentials."
    ),
    "root-session-outside-rootctl": (
        "A root session rootctl did not open: confirm who opened it (rootctl events shows its "
        "calls) and route privileged tasks through rootctl so they are journaled."
    ),
}
REMEDIATION_URL = (
    "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_root-user.html"
    "#id_root-user-access-management"
)


@dataclass(frozen=True)
class ExportFinding:
    """One finding as every exported format needs it (see module docstring)."""

    id: str
    type: str
    account_id: str
    title: str
    description: str
    severity: str
    passed: bool
    observed_at: datetime
    controls: tuple[Control, ...]
    kinds: tuple[str, ...] = ()
    account_name: str = ""

    @property
    def generator_id(self) -> str:
        return f"{GENERATOR_PREFIX}{self.type}"

    @property
    def remediation(self) -> str:
        return REMEDIATION[self.type]


def export_findings(report: EnforcementReport) -> list[ExportFinding]:
    """Remaining findings, open recovery windows, then verified deletions (PASSED)."""
    found = [_failed(f, report.generated_at) for f in report.findings]
    names = {f.account_id: f.account_name for f in report.found}
    for refused in report.refused:
        if refused.recovery_window:
            found.append(_window(refused.account_id, refused.reason, names, report))
    open_ids = {f.id for f in found}
    for changed in report.changed:
        resolved = _resolved(changed.account_id, names, report)
        if changed.verified and resolved.id not in open_ids:
            found.append(resolved)
    return found


def _failed(finding: Finding, at: datetime) -> ExportFinding:
    kinds = tuple(finding.detail.get("kinds", ())) if finding.type == ROOT_CREDENTIALS else ()
    account_name = str(finding.detail.get("account_name", ""))
    return ExportFinding(
        id=ID_PREFIX + finding.id,
        type=finding.type,
        account_id=finding.account_id,
        title=finding.title,
        description=_describe(finding.title, finding.account_id, account_name),
        severity=_severity(finding, kinds),
        passed=False,
        observed_at=at,
        controls=controls_for(finding.type, kinds),
        kinds=kinds,
        account_name=account_name,
    )


def _severity(finding: Finding, kinds: tuple[str, ...]) -> str:
    """Leftover access keys are CRITICAL (Security Hub rates IAM.4 so); the rest as reported."""
    if finding.type == ROOT_CREDENTIALS and "access-keys" in kinds:
        return "CRITICAL"
    return finding.severity if finding.severity in _LABELS else "HIGH"


_LABELS = frozenset({"CRITICAL", "HIGH", "MEDIUM", "LOW", "INFORMATIONAL"})


def _window(
    account_id: str, reason: str, names: dict[str, str], report: EnforcementReport
) -> ExportFinding:
    title = f"root user of {account_id} keeps a password: {reason}"
    return ExportFinding(
        id=f"{ID_PREFIX}{RECOVERY_WINDOW}:{account_id}",
        type=RECOVERY_WINDOW,
        account_id=account_id,
        title=title,
        description=_describe(title, account_id, names.get(account_id, "")),
        severity="MEDIUM",
        passed=False,
        observed_at=report.generated_at,
        controls=controls_for(RECOVERY_WINDOW, ("password",)),
        kinds=("password",),
        account_name=names.get(account_id, ""),
    )


def _resolved(account_id: str, names: dict[str, str], report: EnforcementReport) -> ExportFinding:
    title = f"root user of {account_id} has no leftover root credentials"
    return ExportFinding(
        id=f"{ID_PREFIX}{ROOT_CREDENTIALS}:{account_id}",
        type=ROOT_CREDENTIALS,
        account_id=account_id,
        title=title,
        description=_describe(title, account_id, names.get(account_id, ""))
        + " rootctl enforce deleted them and a fresh audit confirmed it.",
        severity="INFORMATIONAL",
        passed=True,
        observed_at=report.generated_at,
        controls=controls_for(ROOT_CREDENTIALS),
        account_name=names.get(account_id, ""),
    )


def _describe(title: str, account_id: str, account_name: str) -> str:
    who = f"member account {account_id}" + (f" ({account_name})" if account_name else "")
    return f"{title[:1].upper()}{title[1:]}. Found by rootctl enforce in {who}."
