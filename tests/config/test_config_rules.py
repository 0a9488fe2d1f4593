"""Behaviour of a loaded config: exceptions by date, protected resources, reasons, tasks."""

from __future__ import annotations

from datetime import date

import pytest

from rootctl.config import (
    CentralizeRootAccess,
    CredentialKind,
    Feature,
    RootctlConfig,
    config_from_text,
)
from rootctl.errors import UsageError
from rootctl.tasks import Task

EXCEPTIONS = """
root_credentials:
  exceptions:
    - {account_id: "333333333333", reason: PAY-1, expires: 2026-01-31}
    - {account_id: "444444444444", reason: PAY-2, expires: "2025-06-30", keep: [password]}
"""


def test_active_exceptions_leave_out_expired() -> None:
    config = config_from_text(EXCEPTIONS)
    assert set(config.active_exceptions(date(2025, 6, 30))) == {"333333333333", "444444444444"}
    active = config.active_exceptions(date(2025, 7, 1))
    assert set(active) == {"333333333333"}
    assert config.root_credentials.expired_exceptions(date(2025, 7, 1)).keys() == {"444444444444"}
    assert config.active_exceptions(date(2026, 2, 1)) == {}


def test_expired_exception_still_loads() -> None:
    """An expired exception is not an error (the file must not break overnight): it is inactive."""
    config = config_from_text(EXCEPTIONS)
    expired = config.root_credentials.exceptions[1]
    assert not expired.is_active(date(2030, 1, 1))
    assert expired.keep == (CredentialKind.PASSWORD,)


def test_exception_keeps_all_kinds_by_default() -> None:
    config = config_from_text(EXCEPTIONS)
    assert config.root_credentials.exceptions[0].keep == tuple(CredentialKind)
    assert config.root_credentials.exceptions[0].expires == date(2026, 1, 31)


def test_enabled_false_means_no_features() -> None:
    access = CentralizeRootAccess(enabled=False, features=(Feature.ROOT_SESSIONS,))
    assert access.desired_features() == frozenset()
    assert CentralizeRootAccess(enabled=False, features=()).desired_features() == frozenset()


def test_features_default_to_both() -> None:
    config = config_from_text("centralize_root_access: {enabled: true}")
    assert config.centralize_root_access is not None
    assert config.centralize_root_access.desired_features() == set(Feature)


def test_root_template_allowed_when_disabled() -> None:
    config = config_from_text(
        "centralize_root_access: {enabled: false, features: [RootSessions]}\n"
        "guardrails: [{policy_name: p, target_ou_paths: [/root], template_names: [deny_actions_as_root]}]\n"
    )
    assert config.guardrails[0].template_names == ("deny_actions_as_root",)


def test_ntc_policy_description_is_accepted() -> None:
    config = config_from_text(
        "guardrails:\n"
        "  - policy_name: scp_root_ou\n"
        "    policy_description: Deny root\n"
        "    target_ou_paths: [/root/, /root/workloads/prod/]\n"
        "    template_names: [deny_actions_as_root_except_centralized_root]\n"
    )
    guardrail = config.guardrails[0]
    assert guardrail.description == "Deny root"
    assert guardrail.target_ou_paths == ("/root", "/root/workloads/prod")
    assert guardrail.exclude_principal_arns == ()


PROTECTED = """
root_sessions:
  protected_resources:
    - {account_id: "333333333333", s3_buckets: [payments-prod-terraform-state], reason: state}
    - {account_id: "*", s3_buckets: ["*-cloudtrail-logs"], sqs_queues: ["security-*", "audit.fifo"], reason: audit}
"""


@pytest.mark.parametrize(
    ("account", "kind", "name", "reason"),
    [
        ("333333333333", "s3", "payments-prod-terraform-state", "state"),
        ("444444444444", "s3", "payments-prod-terraform-state", None),
        ("444444444444", "s3", "org-cloudtrail-logs", "audit"),
        ("444444444444", "sqs", "org-cloudtrail-logs", None),
        ("555555555555", "sqs", "security-events", "audit"),
        ("555555555555", "sqs", "Security-events", None),
        ("555555555555", "sqs", "audit.fifo", "audit"),
        ("555555555555", "s3", "payments-events", None),
    ],
)
def test_is_protected(account: str, kind: str, name: str, reason: str | None) -> None:
    config = config_from_text(PROTECTED)
    found = config.is_protected(account, kind, name)  # type: ignore[arg-type]
    assert (found.reason if found else None) == reason


def test_is_protected_rejects_unknown_kind() -> None:
    config = config_from_text(PROTECTED)
    with pytest.raises(ValueError, match="unknown resource kind"):
        config.is_protected("333333333333", "sns", "x")  # type: ignore[arg-type]


def test_nothing_protected_by_default() -> None:
    assert RootctlConfig().is_protected("333333333333", "s3", "anything") is None


def test_check_reason_with_pattern() -> None:
    config = config_from_text("root_sessions: {reason_pattern: '[A-Z]+-[0-9]+'}")
    config.check_reason("OPS-123")
    config.check_reason("  OPS-123 ")
    with pytest.raises(
        UsageError, match=r"reason 'fix bucket OPS-1' does not match root_sessions\.reason_pattern"
    ):
        config.check_reason("fix bucket OPS-1")
    with pytest.raises(UsageError, match="a reason is required"):
        config.check_reason(None)
    with pytest.raises(UsageError, match="a reason is required"):
        config.root_sessions.check_reason("  ")


def test_check_reason_without_pattern_accepts_anything() -> None:
    RootctlConfig().check_reason(None)
    RootctlConfig().check_reason("whatever")


def test_allowed_tasks_accept_short_and_policy_names() -> None:
    config = config_from_text(
        "root_sessions: {allowed_tasks: [audit, IAMDeleteRootUserCredentials, "
        "'arn:aws:iam::aws:policy/root-task/S3UnlockBucketPolicy']}"
    )
    sessions = config.root_sessions
    assert sessions.allowed_tasks == (Task.AUDIT, Task.DELETE, Task.S3_UNLOCK)
    assert sessions.allows(Task.AUDIT)
    assert not sessions.allows(Task.SQS_UNLOCK)


def test_max_session_seconds_bounds() -> None:
    assert (
        config_from_text(
            "root_sessions: {max_session_seconds: 1}"
        ).root_sessions.max_session_seconds
        == 1
    )
    assert (
        config_from_text(
            "root_sessions: {max_session_seconds: 900}"
        ).root_sessions.max_session_seconds
        == 900
    )
