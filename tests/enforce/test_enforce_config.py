"""rootctl.yaml keys of `rootctl enforce`: policy and allowed_callers, validated at load."""

from __future__ import annotations

import pytest

from rootctl.config import config_from_text
from rootctl.config.models import CredentialPolicy
from rootctl.errors import UsageError


def test_policy_defaults_to_report_so_existing_configs_change_nothing() -> None:
    assert config_from_text("").root_credentials.policy is CredentialPolicy.REPORT
    text = "root_credentials:\n  policy: delete\n"
    assert config_from_text(text).root_credentials.policy is CredentialPolicy.DELETE


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "root_credentials:\n  policy: purge\n",
            "root_credentials.policy: 'purge' is not a policy",
        ),
        ("root_credentials:\n  policy: 1\n", "root_credentials.policy: 1 is not a policy"),
        ("root_credentials:\n  policy:\n", "root_credentials.policy: an empty value"),
        (
            "root_sessions:\n  allowed_callers: ['arn:aws:iam::12:role/x']\n",
            "root_sessions.allowed_callers[0]:",
        ),
        ("root_sessions:\n  allowed_callers: [role/x]\n", "root_sessions.allowed_callers[0]:"),
        (
            "root_sessions:\n  allowed_callers: ['arn:aws:iam::*:role/a', 'arn:aws:iam::*:role/a']\n",
            "root_sessions.allowed_callers[1]: 'arn:aws:iam::*:role/a' is listed twice",
        ),
    ],
)
def test_malformed_keys_are_one_line_naming_the_field(text: str, message: str) -> None:
    with pytest.raises(UsageError) as raised:
        config_from_text(text)
    assert message in str(raised.value)
    assert "\n" not in str(raised.value)


def test_allowed_callers_match_star_and_question_mark_only() -> None:
    text = "root_sessions:\n  allowed_callers: ['arn:aws:iam::*:role/Break?Glass-*']\n"
    sessions = config_from_text(text).root_sessions
    assert sessions.caller_allowed("arn:aws:iam::123456789012:role/Break1Glass-ops")
    assert not sessions.caller_allowed("arn:aws:iam::123456789012:role/BreakGlass-ops")
    assert not sessions.caller_allowed("arn:aws:iam::123456789012:user/Break1Glass-ops")
    assert not config_from_text("").root_sessions.caller_allowed("arn:aws:iam::1:role/x")
