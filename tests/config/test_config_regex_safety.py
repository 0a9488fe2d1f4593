"""reason_pattern: shapes that backtrack catastrophically are refused at load time."""

from __future__ import annotations

import pytest

from rootctl.config import config_from_text
from rootctl.config.regex_safety import MAX_REASON_CHARS, backtracking_problem
from rootctl.errors import UsageError

REFUSED = [
    "(a+)+$",
    "(a*)*",
    "(a+)*b",
    "(\\w+\\s?)*$",
    "(x+x+)+y",
    "(.*a){12}",
    "([a-z]+)+$",
    "^(([a-z])+.)+[A-Z]([a-z])+$",
    "(a|aa)+",
    "(a|a)*$",
    "(?:OPS|OP)+-1",
    "(a{1,3})+",
    "(a)\\1",
    "(?P<x>a+)(?P=x)",
    "(?:(?:a+))+",
    "(?=(a+)+)",
]
ALLOWED = [
    "^[A-Z]+-[0-9]+$", "[A-Z]+-[0-9]+ .+", "(OPS|SEC)-[0-9]+", "(a++)+", "(?>a+)+",
    "(?:ab){2,5}x", "(a{2})*", "^(?=OPS)[A-Z]+-\\d+$", "[A-Z]{2,10}-\\d{1,6}(: .+)?",
]  # fmt: skip


@pytest.mark.parametrize("pattern", REFUSED)
def test_refused(pattern: str) -> None:
    assert backtracking_problem(pattern) is not None
    with pytest.raises(UsageError, match="reason_pattern"):
        config_from_text(f"root_sessions:\n  reason_pattern: '{pattern}'\n")


@pytest.mark.parametrize("pattern", ALLOWED)
def test_allowed(pattern: str) -> None:
    assert backtracking_problem(pattern) is None
    config = config_from_text(f"root_sessions:\n  reason_pattern: '{pattern}'\n")
    assert config.root_sessions.reason_pattern is not None


@pytest.mark.parametrize("length", [MAX_REASON_CHARS + 1, 10_000])
def test_long_reasons_are_refused_before_matching(length: int) -> None:
    config = config_from_text("root_sessions:\n  reason_pattern: '.+'\n")
    with pytest.raises(UsageError, match=f"at most {MAX_REASON_CHARS}"):
        config.root_sessions.check_reason("x" * length)
    config.root_sessions.check_reason("x" * MAX_REASON_CHARS)
