"""Reason patterns that cannot hang rootctl (catastrophic backtracking, ReDoS).

Python's `re` backtracks and has no timeout: `(a+)+$` against 30 a's and a `!` takes hours.
A config file is trusted more than a reason, but a pattern copied from the web is easy to
get wrong, and every root session checks its reason against it. Decision (docs/reliability.md):

- at load time, refuse the shapes that backtrack exponentially: a quantifier inside a
  quantified group (`(a+)+`, `(a*)*`, `(\\w+\\s?)*`), an alternation inside a quantified
  group (`(a|aa)+`: write a character class or one branch), and backreferences;
  possessive quantifiers and atomic groups (`a++`, `(?>...)`) never backtrack and pass;
- reasons are at most MAX_REASON_CHARS characters, which bounds the polynomial cases that
  remain (`.*.*.*x`) to well under a second.
"""

from __future__ import annotations

import re
from typing import Any

try:  # Python 3.11+
    from re import _constants as _c  # type: ignore[attr-defined]
    from re import _parser as _p  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - Python < 3.11
    import sre_constants as _c  # type: ignore[no-redef]
    import sre_parse as _p  # type: ignore[no-redef]

MAX_REASON_CHARS = 256
_REPEATS = {_c.MAX_REPEAT, _c.MIN_REPEAT}


def backtracking_problem(pattern: str) -> str | None:
    """Why `pattern` can backtrack catastrophically, or None when it cannot (see above)."""
    try:
        parsed = _p.parse(pattern)
    except re.error:
        return None  # re.compile reports it
    return _scan(parsed, inside_repeat=False)


def _scan(items: Any, inside_repeat: bool) -> str | None:
    for op, arg in items:
        problem = _scan_one(op, arg, inside_repeat)
        if problem is not None:
            return problem
    return None


def _scan_one(op: Any, arg: Any, inside_repeat: bool) -> str | None:
    if op in _REPEATS:
        low, high, body = arg
        repeats = high is _c.MAXREPEAT or high > 1
        variable = high is _c.MAXREPEAT or high > low  # (a{2})* is fine, (a{1,3})* is not
        if variable and inside_repeat:
            return "a quantifier inside a quantified group (like (a+)+) backtracks exponentially"
        return _scan(body, inside_repeat or repeats)
    if op is _c.BRANCH:
        if inside_repeat:
            return (
                "an alternation inside a quantified group (like (a|ab)+) can backtrack "
                "exponentially: use a character class or a single branch"
            )
        return next((p for b in arg[1] if (p := _scan(b, inside_repeat))), None)
    if op is _c.GROUPREF or op is _c.GROUPREF_EXISTS:
        return "backreferences can backtrack exponentially"
    if op is _c.SUBPATTERN:
        return _scan(arg[-1], inside_repeat)
    if op in (_c.ASSERT, _c.ASSERT_NOT):
        return _scan(arg[1], inside_repeat)
    return None  # literals, classes, anchors, possessive repeats, atomic groups
