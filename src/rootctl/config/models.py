"""Pydantic models of rootctl.yaml, shaped like the NTC organizations module's inputs.

Models are frozen and forbid unknown keys: a typo is an error, never a silently ignored setting.
Cross-field rules live in model validators and raise `FieldProblem` with the location of the
offending item, so the user is pointed at the exact list entry to fix.
"""

from __future__ import annotations

import re
from datetime import date
from enum import StrEnum
from fnmatch import fnmatchcase
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    field_validator,
    model_validator,
)

from rootctl.config.fields import (
    FieldProblem,
    check_account_id,
    check_account_or_any,
    check_bucket_pattern,
    check_iso_date,
    check_ou_path,
    check_principal_arn_pattern,
    check_queue_pattern,
    check_regex,
    check_text,
    check_unique,
    show,
)
from rootctl.config.regex_safety import MAX_REASON_CHARS
from rootctl.errors import UsageError
from rootctl.tasks import MAX_ROOT_SESSION_SECONDS, Task

KNOWN_TEMPLATES = frozenset(
    {"deny_actions_as_root", "deny_actions_as_root_except_centralized_root"}
)
"""SCP template names a guardrail may use (the names NTC's guardrail templates use)."""


class Feature(StrEnum):
    """An IAM organization feature of centralized root access."""

    ROOT_CREDENTIALS_MANAGEMENT = "RootCredentialsManagement"
    ROOT_SESSIONS = "RootSessions"


class CredentialPolicy(StrEnum):
    """What `rootctl enforce` does with leftover root credentials (`root_credentials.policy`)."""

    DELETE = "delete"
    REPORT = "report"


class CredentialKind(StrEnum):
    """A kind of root user credential an exception may keep."""

    PASSWORD = "password"
    ACCESS_KEYS = "access-keys"
    SIGNING_CERTIFICATES = "signing-certificates"
    MFA_DEVICES = "mfa-devices"


def _choice(enum: type[StrEnum], what: str) -> Any:
    """A before-validator naming the allowed values when the input is not one of them."""
    allowed = ", ".join(member.value for member in enum)

    def validate(value: object) -> object:
        if isinstance(value, str):
            for member in enum:
                if value == member.value:
                    return member
        raise FieldProblem(f"{show(value)} is not {what}; allowed: {allowed}")

    return BeforeValidator(validate)


def _parse_task(value: object) -> Task:
    if isinstance(value, str):
        try:
            return Task.parse(value)
        except ValueError:
            pass  # unknown name: fall through to the FieldProblem listing the allowed tasks
    allowed = ", ".join(task.short_name for task in Task)
    raise FieldProblem(f"{show(value)} is not a task; allowed: {allowed} (or the policy name)")


def _template(value: object) -> str:
    if isinstance(value, str) and value in KNOWN_TEMPLATES:
        return value
    allowed = ", ".join(sorted(KNOWN_TEMPLATES))
    raise FieldProblem(f"{show(value)} is not a known template; allowed: {allowed}")


def _session_seconds(value: object) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 900:
        return value
    raise FieldProblem(
        f"expected a whole number of seconds from 1 to {MAX_ROOT_SESSION_SECONDS} (AssumeRoot's limit), got {show(value)}"
    )


def _version(value: object) -> int:
    if value == 1 and not isinstance(value, bool):
        return 1
    raise FieldProblem(f"{show(value)} is not a supported version; allowed: 1")


AccountId = Annotated[str, BeforeValidator(check_account_id)]
AccountOrAny = Annotated[str, BeforeValidator(check_account_or_any)]
OuPath = Annotated[str, BeforeValidator(check_ou_path)]
PrincipalArnPattern = Annotated[str, BeforeValidator(check_principal_arn_pattern)]
Text = Annotated[str, BeforeValidator(check_text)]
IsoDate = Annotated[date, BeforeValidator(check_iso_date)]
Regex = Annotated[re.Pattern[str], BeforeValidator(check_regex)]
BucketPattern = Annotated[str, BeforeValidator(check_bucket_pattern)]
QueuePattern = Annotated[str, BeforeValidator(check_queue_pattern)]
FeatureName = Annotated[Feature, _choice(Feature, "a feature")]
KindName = Annotated[CredentialKind, _choice(CredentialKind, "a credential kind")]
PolicyName = Annotated[CredentialPolicy, _choice(CredentialPolicy, "a policy")]
TaskName = Annotated[Task, BeforeValidator(_parse_task)]
TemplateName = Annotated[str, BeforeValidator(_template)]

ALL_FEATURES = tuple(Feature)
ALL_KINDS = tuple(CredentialKind)
ALL_TASKS = tuple(Task)


class _Model(BaseModel):
    """Frozen, unknown keys rejected; an empty YAML value (`key:`) means "use the default"."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _empty_means_default(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        # Only for keys whose default is "nothing": a list that defaults to *all* items must
        # not become "all" because a value was forgotten.
        drop = {
            name
            for name, field in cls.model_fields.items()
            if not field.is_required()
            and (field.default in (None, (), "") or isinstance(field.default, BaseModel))
        }
        return {k: v for k, v in data.items() if not (v is None and k in drop)}


class CentralizeRootAccess(_Model):
    """Same shape as NTC's `centralize_root_access` input."""

    enabled: bool = Field(strict=True)
    features: tuple[FeatureName, ...] = ALL_FEATURES

    @field_validator("features")
    @classmethod
    def _unique_features(cls, value: tuple[Feature, ...]) -> tuple[Feature, ...]:
        check_unique(value, "feature")
        return value

    @model_validator(mode="after")
    def _enabled_needs_features(self) -> CentralizeRootAccess:
        if self.enabled and not self.features:
            raise FieldProblem(
                "enabled: true needs at least one feature (RootCredentialsManagement, RootSessions); to turn centralized root access off use enabled: false",
                ("features",),
            )
        return self

    def desired_features(self) -> frozenset[Feature]:
        """The features that should be enabled: none when `enabled` is false."""
        return frozenset(self.features) if self.enabled else frozenset()


class CredentialException(_Model):
    """An account allowed to keep (or recover) root credentials until `expires` (inclusive)."""

    account_id: AccountId
    reason: Text
    expires: IsoDate
    keep: tuple[KindName, ...] = ALL_KINDS

    @field_validator("keep")
    @classmethod
    def _keep_something(cls, value: tuple[CredentialKind, ...]) -> tuple[CredentialKind, ...]:
        if not value:
            raise FieldProblem("list at least one credential kind, or remove the exception")
        check_unique(value, "credential kind")
        return value

    def is_active(self, today: date) -> bool:
        """Active through its `expires` day; from the next day on the account is treated as any other."""
        return today <= self.expires


class RootCredentialsPolicy(_Model):
    """Policy for root user credentials of member accounts.

    `policy` is what `rootctl enforce` does with credentials no active exception keeps:
    `report` (the default, so an existing config changes nothing) or `delete`.
    """

    policy: PolicyName = CredentialPolicy.REPORT
    exceptions: tuple[CredentialException, ...] = ()

    @field_validator("exceptions")
    @classmethod
    def _one_per_account(
        cls, value: tuple[CredentialException, ...]
    ) -> tuple[CredentialException, ...]:
        first: dict[str, int] = {}
        for index, exception in enumerate(value):
            if exception.account_id in first:
                raise FieldProblem(
                    f"account {exception.account_id} already has an exception at root_credentials.exceptions[{first[exception.account_id]}]; merge them into one",
                    (index, "account_id"),
                )
            first[exception.account_id] = index
        return value

    def active_exceptions(self, today: date) -> dict[str, CredentialException]:
        """Exceptions in force on `today`, by account id; expired ones are left out."""
        return {e.account_id: e for e in self.exceptions if e.is_active(today)}

    def expired_exceptions(self, today: date) -> dict[str, CredentialException]:
        """Exceptions past their `expires` date, by account id (worth a warning: renew or remove)."""
        return {e.account_id: e for e in self.exceptions if not e.is_active(today)}


class Guardrail(_Model):
    """An SCP built from templates; mirrors an entry of NTC's `service_control_policy_templates`."""

    policy_name: Text = Field(max_length=128)
    description: str = Field(default="", max_length=512, strict=True)
    target_ou_paths: tuple[OuPath, ...] = Field(min_length=1)
    template_names: tuple[TemplateName, ...] = Field(min_length=1)
    exclude_principal_arns: tuple[PrincipalArnPattern, ...] = ()

    @model_validator(mode="before")
    @classmethod
    def _ntc_description(cls, data: Any) -> Any:
        """Accept NTC's spelling `policy_description` for `description`."""
        if isinstance(data, dict) and "policy_description" in data:
            if "description" in data:
                raise FieldProblem(
                    "give either description or policy_description, not both",
                    ("policy_description",),
                )
            data = {("description" if k == "policy_description" else k): v for k, v in data.items()}
        return data

    @field_validator("target_ou_paths")
    @classmethod
    def _unique_paths(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        check_unique(value, "OU path")
        return value

    @field_validator("template_names")
    @classmethod
    def _unique_templates(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        check_unique(value, "template")
        return value

    @field_validator("exclude_principal_arns")
    @classmethod
    def _unique_arns(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        check_unique(value, "ARN pattern")
        return value


class ProtectedResource(_Model):
    """Buckets and queues whose policies rootctl must never unlock (patterns use fnmatch)."""

    account_id: AccountOrAny
    s3_buckets: tuple[BucketPattern, ...] = ()
    sqs_queues: tuple[QueuePattern, ...] = ()
    reason: Text

    @model_validator(mode="after")
    def _protects_something(self) -> ProtectedResource:
        if not self.s3_buckets and not self.sqs_queues:
            raise FieldProblem("list at least one of s3_buckets or sqs_queues")
        return self

    def matches(self, account_id: str, kind: Literal["s3", "sqs"], name: str) -> bool:
        if self.account_id not in ("*", account_id):
            return False
        patterns = {"s3": self.s3_buckets, "sqs": self.sqs_queues}.get(kind)
        if patterns is None:
            raise ValueError(f"unknown resource kind {kind!r}; expected 's3' or 'sqs'")
        return any(fnmatchcase(name, pattern) for pattern in patterns)


# Break-glass approval windows: at least a minute, at most a day (a longer need is a
# standing exception, not an emergency).
MIN_APPROVAL_SECONDS = 60
MAX_APPROVAL_SECONDS = 24 * 3600
DEFAULT_APPROVAL_SECONDS = 3600
MAX_REQUIRED_APPROVALS = 10
_APPROVER_ARN = re.compile(r"^arn:(aws|aws-cn|aws-us-gov):(iam|sts)::([0-9]{12}|\*):\S+$")
_WINDOW = re.compile(r"^([0-9]{1,6})\s*([smh])$")
_WINDOW_UNITS = {"s": 1, "m": 60, "h": 3600}


def _approver_pattern(value: object) -> str:
    if isinstance(value, str) and _APPROVER_ARN.fullmatch(value.strip()):
        return value.strip()
    raise FieldProblem(
        f"{show(value)} is not a principal ARN pattern: expected arn:aws:iam::<account id or *>:"
        "<user/... or role/...> (or arn:aws:sts::...:assumed-role/...), `*` and `?` allowed"
    )


def _approval_window(value: object) -> int:
    """Seconds, from an integer or a number with a unit (90s, 30m, 1h)."""
    seconds: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        seconds = value
    elif isinstance(value, str) and (match := _WINDOW.fullmatch(value.strip().lower())):
        seconds = int(match.group(1)) * _WINDOW_UNITS[match.group(2)]
    if seconds is None or not MIN_APPROVAL_SECONDS <= seconds <= MAX_APPROVAL_SECONDS:
        raise FieldProblem(
            f"expected a duration from 1m to 24h (seconds, or 30m, 1h), got {show(value)}"
        )
    return seconds


def _approval_count(value: object) -> int:
    if (
        isinstance(value, int)
        and not isinstance(value, bool)
        and 1 <= value <= MAX_REQUIRED_APPROVALS
    ):
        return value
    raise FieldProblem(
        f"expected a whole number from 1 to {MAX_REQUIRED_APPROVALS}, got {show(value)}"
    )


class Approval(_Model):
    """Two-person rule for break-glass root sessions (`root_sessions.approval`).

    A session for one of `tasks` runs only under a request that `required_approvals`
    principals matching `approvers` (never the requester) approved, within `valid_for`.
    """

    tasks: tuple[TaskName, ...] = ()
    approvers: tuple[Annotated[str, BeforeValidator(_approver_pattern)], ...] = ()
    valid_for: Annotated[int, BeforeValidator(_approval_window)] = DEFAULT_APPROVAL_SECONDS
    required_approvals: Annotated[int, BeforeValidator(_approval_count)] = 1

    @field_validator("tasks")
    @classmethod
    def _unique_tasks(cls, value: tuple[Task, ...]) -> tuple[Task, ...]:
        check_unique(value, "task")
        return value

    @field_validator("approvers")
    @classmethod
    def _unique_approvers(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        check_unique(value, "approver ARN pattern")
        return value

    @model_validator(mode="after")
    def _someone_approves(self) -> Approval:
        if self.tasks and not self.approvers:
            raise FieldProblem(
                "tasks need approval but no one may approve: list principal ARN patterns "
                "under approvers",
                ("approvers",),
            )
        return self

    def needs(self, task: Task) -> bool:
        """True when a root session for `task` needs an approved request."""
        return task in self.tasks

    def may_approve(self, arn: str) -> bool:
        """True when `arn` (or, for an assumed-role session, its role) matches `approvers`."""
        return any(
            _arn_pattern(p).fullmatch(candidate)
            for p in self.approvers
            for candidate in principal_arns(arn)
        )


def principal_arns(arn: str) -> tuple[str, ...]:
    """The ARNs a caller answers to: itself and, for an assumed-role session
    (arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION), its role (arn:aws:iam::ACCOUNT:role/ROLE;
    the role's path is not in the session ARN, so patterns should not rely on it)."""
    parts = arn.split(":", 5)
    if len(parts) == 6 and parts[2] == "sts" and parts[5].startswith("assumed-role/"):
        role = parts[5].split("/")[1] if parts[5].count("/") >= 2 else ""
        if role:
            return (arn, f"arn:{parts[1]}:iam::{parts[4]}:role/{role}")
    return (arn,)


class RootSessions(_Model):
    """Rules for privileged (AssumeRoot) sessions."""

    reason_pattern: Regex | None = None
    max_session_seconds: Annotated[int, BeforeValidator(_session_seconds)] = (
        MAX_ROOT_SESSION_SECONDS
    )
    allowed_tasks: tuple[TaskName, ...] = ALL_TASKS
    protected_resources: tuple[ProtectedResource, ...] = ()
    # Principal ARN patterns (`*`, `?`) allowed to call AssumeRoot; empty: the watch
    # reports no caller finding (nothing to compare against).
    allowed_callers: tuple[PrincipalArnPattern, ...] = ()
    # Tasks whose sessions need a second person's approval (rootctl.approvals).
    approval: Approval = Approval()

    @field_validator("allowed_callers")
    @classmethod
    def _unique_callers(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        check_unique(value, "caller ARN pattern")
        return value

    def caller_allowed(self, arn: str) -> bool:
        """True when `arn` matches an `allowed_callers` pattern (`*` and `?` only: an ARN
        never contains `[`, so fnmatch's classes are escaped rather than honoured)."""
        return any(_arn_pattern(p).fullmatch(arn) for p in self.allowed_callers)

    @field_validator("allowed_tasks")
    @classmethod
    def _tasks(cls, value: tuple[Task, ...]) -> tuple[Task, ...]:
        if not value:
            raise FieldProblem(
                "list at least one task; to forbid root sessions, leave RootSessions out of centralize_root_access.features"
            )
        check_unique(value, "task")
        return value

    def allows(self, task: Task) -> bool:
        return task in self.allowed_tasks

    def is_protected(
        self, account_id: str, kind: Literal["s3", "sqs"], name: str
    ) -> ProtectedResource | None:
        """The first protected_resources entry covering this bucket/queue, or None."""
        for resource in self.protected_resources:
            if resource.matches(account_id, kind, name):
                return resource
        return None

    def check_reason(self, reason: str | None) -> None:
        """Raise UsageError unless `reason` fully matches `reason_pattern` (when one is set)."""
        if self.reason_pattern is None:
            return
        pattern = self.reason_pattern.pattern
        if not reason or not reason.strip():
            raise UsageError(
                f"a reason is required for root sessions: give one matching root_sessions.reason_pattern {pattern!r}"
            )
        if len(reason.strip()) > MAX_REASON_CHARS:
            raise UsageError(
                f"reason is {len(reason.strip())} characters long: at most {MAX_REASON_CHARS} "
                "(a ticket reference and a short sentence)"
            )
        if not self.reason_pattern.fullmatch(reason.strip()):
            raise UsageError(
                f"reason {show(reason.strip())} does not match root_sessions.reason_pattern {pattern!r}"
            )


def _arn_pattern(pattern: str) -> re.Pattern[str]:
    """`*` any run of characters, `?` one character, everything else literal."""
    parts = (".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile("".join(parts))


class RootctlConfig(_Model):
    """The whole of rootctl.yaml. `RootctlConfig()` is the configuration of an absent file."""

    version: Annotated[int, BeforeValidator(_version)] = 1
    centralize_root_access: CentralizeRootAccess | None = None
    delegated_administrator: AccountId | None = None
    root_credentials: RootCredentialsPolicy = RootCredentialsPolicy()
    guardrails: tuple[Guardrail, ...] = ()
    root_sessions: RootSessions = RootSessions()

    _source: str | None = PrivateAttr(default=None)

    @property
    def source(self) -> str | None:
        """The file this configuration was read from; None for the built-in defaults."""
        return self._source

    @field_validator("guardrails")
    @classmethod
    def _unique_policy_names(cls, value: tuple[Guardrail, ...]) -> tuple[Guardrail, ...]:
        first: dict[str, int] = {}
        for index, guardrail in enumerate(value):
            if guardrail.policy_name in first:
                raise FieldProblem(
                    f"policy name {guardrail.policy_name!r} is already used by guardrails[{first[guardrail.policy_name]}]; SCP names are unique",
                    (index, "policy_name"),
                )
            first[guardrail.policy_name] = index
        return value

    @model_validator(mode="after")
    def _templates_fit_features(self) -> RootctlConfig:
        access = self.centralize_root_access
        if access is None or Feature.ROOT_SESSIONS not in access.desired_features():
            return self
        for g_index, guardrail in enumerate(self.guardrails):
            for t_index, name in enumerate(guardrail.template_names):
                if name == "deny_actions_as_root":
                    raise FieldProblem(
                        "'deny_actions_as_root' blocks the root sessions that the RootSessions feature exists for; use deny_actions_as_root_except_centralized_root",
                        ("guardrails", g_index, "template_names", t_index),
                    )
        return self

    def active_exceptions(self, today: date) -> dict[str, CredentialException]:
        """Shortcut for `root_credentials.active_exceptions(today)`."""
        return self.root_credentials.active_exceptions(today)

    def is_protected(
        self, account_id: str, kind: Literal["s3", "sqs"], name: str
    ) -> ProtectedResource | None:
        """Shortcut for `root_sessions.is_protected(...)`."""
        return self.root_sessions.is_protected(account_id, kind, name)

    def check_reason(self, reason: str | None) -> None:
        """Shortcut for `root_sessions.check_reason(reason)`."""
        self.root_sessions.check_reason(reason)
