"""Fuzz: whatever the file holds, loading either succeeds or raises one-line UsageError."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rootctl.config import RootctlConfig, config_from_text, load_config
from rootctl.errors import UsageError

# Known keys make the fuzzer reach deep validators instead of stopping at "unknown key".
KEYS = [
    "version",
    "centralize_root_access",
    "enabled",
    "features",
    "delegated_administrator",
    "root_credentials",
    "exceptions",
    "account_id",
    "reason",
    "expires",
    "keep",
    "guardrails",
    "policy_name",
    "description",
    "policy_description",
    "target_ou_paths",
    "template_names",
    "exclude_principal_arns",
    "root_sessions",
    "reason_pattern",
    "max_session_seconds",
    "allowed_tasks",
    "protected_resources",
    "s3_buckets",
    "sqs_queues",
]
WORDS = [
    "RootSessions",
    "RootCredentialsManagement",
    "password",
    "audit",
    "s3-unlock",
    "deny_actions_as_root",
    "deny_actions_as_root_except_centralized_root",
    "/root",
    "/root/workloads//prod",
    "arn:aws:iam::*:role/x",
    "*",
    "123456789012",
    "^[A-Z]+$",
    "[",
    "2026-01-31",
]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.dates(),
    st.text(max_size=20),
    st.sampled_from(WORDS),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(
            st.one_of(st.sampled_from(KEYS), st.text(max_size=8), st.integers()), inner, max_size=5
        ),
    ),
    max_leaves=25,
)
documents = st.one_of(
    st.dictionaries(st.sampled_from(KEYS), values, max_size=6),
    st.fixed_dictionaries(
        {},
        optional={
            "centralize_root_access": st.fixed_dictionaries(
                {"enabled": values}, optional={"features": st.lists(st.sampled_from(WORDS))}
            ),
            "guardrails": st.lists(
                st.dictionaries(st.sampled_from(KEYS), values, max_size=6), max_size=3
            ),
            "root_sessions": st.dictionaries(st.sampled_from(KEYS), values, max_size=5),
            "root_credentials": st.fixed_dictionaries(
                {
                    "exceptions": st.lists(
                        st.dictionaries(st.sampled_from(KEYS), values, max_size=5), max_size=3
                    )
                }
            ),
        },
    ),
    values,
)


def _check(load: Any) -> None:
    try:
        config = load()
    except UsageError as exc:
        message = str(exc)
        assert message
        assert "\n" not in message
        return
    assert isinstance(config, RootctlConfig)


@settings(
    max_examples=300,
    deadline=None,
    # tests/conftest.py's profile suppresses too_slow; a list here replaces it, so both.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=documents)
def test_any_yaml_document_loads_or_raises_usage_error(tmp_path: Path, data: Any) -> None:
    path = tmp_path / "rootctl.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True))
    _check(lambda: load_config(path))


@settings(max_examples=300, deadline=None)
@given(
    text=st.one_of(
        st.text(max_size=200), st.text(alphabet=":-[]{}!&*|>'\"#\n ,?%@`\tab01", max_size=80)
    )
)
def test_any_text_loads_or_raises_usage_error(text: str) -> None:
    _check(lambda: config_from_text(text))


@settings(max_examples=100, deadline=None)
@given(expires=st.dates(), today=st.dates())
def test_exception_is_active_until_its_expiry_day(expires: date, today: date) -> None:
    text = f"root_credentials: {{exceptions: [{{account_id: '111111111111', reason: r, expires: {expires.isoformat()}}}]}}"
    config = config_from_text(text)
    assert ("111111111111" in config.active_exceptions(today)) == (today <= expires)


@pytest.mark.parametrize("count", [1, 10])
def test_self_referencing_yaml_is_usage_error(count: int) -> None:
    text = "guardrails: &a [" + ", ".join(["*a"] * count) + "]\n"
    _check(lambda: config_from_text(text))
