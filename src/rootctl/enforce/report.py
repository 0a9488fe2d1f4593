"""The enforcement report (`rootctl.enforce/v1`): one document per pass.

`found`: accounts whose root credentials the pass saw; `changed`: what it deleted (and
whether the fresh audit after the deletion confirmed it); `refused`: credentials it left in
place on purpose (an active exception, an open recovery window); `failed`: accounts it could
not audit or clean; `findings`: what remains against the policy after the pass, each with a
stable id (`<type>:<account id>`) so a scheduler or Security Hub can tell a new finding
from one already known. `organization`: the organization changes (features, guardrails) the
pass made, left pending (and why) or failed, as `rootctl apply` would converge them (None
when the config manages no organization section); `credentials_skipped`: why the root
credentials part did not run (the feature AssumeRoot needs is not enabled).

The JSON form is the `rootctl.enforce/v1` document model (rootctl.documents.enforce:
`enforce_document(report)`), which also reads it back and gives its shipped JSON Schema.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final, Literal

ENFORCE_SCHEMA: Final = "rootctl.enforce/v1"
EXIT_OK = 0
EXIT_FAILED = 1
EXIT_FINDINGS = 3
RECOVERY_WINDOW_REASON = "password recovery window open"

FindingType = Literal[
    "root-credentials",  # leftover root credentials the policy does not keep
    "root-sign-in",  # a real root console sign-in (no AssumeRoot session)
    "root-credentials-used",  # a call signed with root credentials outside AssumeRoot
    "assume-root-caller",  # AssumeRoot by a principal not in root_sessions.allowed_callers
    "assume-root-task",  # AssumeRoot for a task not in root_sessions.allowed_tasks
    "root-session-outside-rootctl",  # an AssumeRoot session rootctl did not open
    "organization",  # an organization change (feature, guardrail) the config states, not made
]


@dataclass(frozen=True)
class Finding:
    type: FindingType
    account_id: str
    title: str
    detail: dict[str, Any] = field(default_factory=dict)
    severity: str = "HIGH"
    # What tells two findings of one type and account apart: the CloudTrail event id of a
    # root sign-in, the access key id of a session; None for per-account findings.
    key: str | None = None

    @property
    def id(self) -> str:
        """Stable across passes: the same leftover credentials, the same event, the same id."""
        base = f"{self.type}:{self.account_id}"
        return base if self.key is None else f"{base}:{self.key}"


@dataclass(frozen=True)
class Found:
    account_id: str
    account_name: str
    kinds: tuple[str, ...]


@dataclass(frozen=True)
class Changed:
    account_id: str
    deleted: tuple[str, ...]  # step targets (login-profile, key ids, ...)
    why: str
    verified: bool | None


@dataclass(frozen=True)
class Refused:
    account_id: str
    kind: str
    reason: str

    @property
    def recovery_window(self) -> bool:
        """A password kept because its recovery window is open (reconcile.verdict's reason)."""
        return self.kind == "password" and self.reason.startswith(RECOVERY_WINDOW_REASON)


@dataclass(frozen=True)
class Failed:
    account_id: str
    error: str


@dataclass(frozen=True)
class OrgItem:
    """One organization change: made, pending (with why, and the account that can make it)
    or failed (with the AWS error)."""

    kind: str
    target: str
    detail: str = ""
    why: str | None = None
    needs: str | None = None
    error: str | None = None

    def describe(self) -> str:
        return f"{self.kind} {self.target}" + (f" ({self.detail})" if self.detail else "")


@dataclass
class OrganizationPart:
    """The organization part of a pass: what `rootctl apply` would converge."""

    management_account_id: str | None = None
    caller_role: str | None = None
    changed: list[OrgItem] = field(default_factory=list)
    pending: list[OrgItem] = field(default_factory=list)
    failed: list[OrgItem] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # the plan's errors, or a failed read
    # True: a fresh read after the changes found nothing left; None: nothing made (or unread).
    verified: bool | None = None
    enabled_features: list[str] | None = None  # after the pass; None: could not be read

    @property
    def broken(self) -> bool:
        return bool(self.failed or self.errors)


@dataclass
class EnforcementReport:
    """What one pass found, changed, refused and failed, and the findings that remain."""

    generated_at: datetime
    policy: str
    dry_run: bool
    run_id: str
    scope: dict[str, Any]
    found: list[Found] = field(default_factory=list)
    changed: list[Changed] = field(default_factory=list)
    refused: list[Refused] = field(default_factory=list)
    failed: list[Failed] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    accounts: int = 0
    # The run that deleted (its plan, deletion and verification entries); None: no deletion.
    deletion_run_id: str | None = None
    # Accounts whose audit completed in this pass: only for these can a state finding of an
    # earlier pass (leftover credentials, an open recovery window) be called resolved.
    audited: list[str] = field(default_factory=list)
    organization: OrganizationPart | None = None
    credentials_skipped: str | None = None

    @property
    def finding_ids(self) -> list[str]:
        """The ids of the findings that remain (journaled: the next pass tells new from known)."""
        return [finding.id for finding in self.findings]

    @property
    def exit_code(self) -> int:
        """1 when an account or an organization change failed, else 3 when findings remain,
        else 0 (compliant)."""
        if self.failed or (self.organization is not None and self.organization.broken):
            return EXIT_FAILED
        return EXIT_FINDINGS if self.findings else EXIT_OK

    @property
    def outcome(self) -> str:
        """The journal outcome of the pass's `enforce` entry."""
        return {EXIT_OK: "ok", EXIT_FAILED: "error", EXIT_FINDINGS: "findings"}[self.exit_code]

    def summary(self) -> dict[str, int]:
        org = self.organization
        return {
            "accounts": self.accounts,
            "found": len(self.found),
            "changed": len(self.changed),
            "refused": len(self.refused),
            "failed": len(self.failed),
            "findings": len(self.findings),
            "organization_changed": len(org.changed) if org else 0,
            "organization_pending": len(org.pending) if org else 0,
            "organization_failed": len(org.failed) + len(org.errors) if org else 0,
        }
