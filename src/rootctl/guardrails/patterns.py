"""Policy values as patterns: `*` and `?` wildcards, policy variables, ARN segments.

Action, Resource and the String/Arn condition operators all match a request value against a
policy value whose wildcards and `${...}` variables are resolved from the request's context.
Statements (evaluate.py) and condition operators (conditions.py) both need that, so it sits
below them here, with the normalised request context the variables are resolved against.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

__all__ = ["Ctx", "CtxValue", "arn_like", "as_text", "normalise_context", "policy_pattern"]


# --------------------------------------------------------------------------- request context


@dataclass(frozen=True)
class CtxValue:
    """One context key's values; `multi` for a multivalued key (even with one value)."""

    values: tuple[str, ...]
    multi: bool


Ctx = dict[str, CtxValue]


def as_text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def normalise_context(context: Mapping[str, Any]) -> Ctx:
    out: Ctx = {}
    for key, value in context.items():
        if isinstance(value, str | bool | int | float):
            out[str(key).lower()] = CtxValue((as_text(value),), multi=False)
        elif isinstance(value, Sequence | set | frozenset):
            out[str(key).lower()] = CtxValue(tuple(as_text(v) for v in value), multi=True)
        elif value is not None:
            out[str(key).lower()] = CtxValue((as_text(value),), multi=False)
    return out


# --------------------------------------------------------------------------- patterns

# A pattern is parsed once into tokens; variables are resolved per request.
_Lit = tuple[str, str]  # ("lit", text) | ("star", "*") | ("one", "?") | ("sep", ":")
_Var = tuple[str, str, str | None]  # ("var", key, default)
_Token = _Lit | _Var

_VAR_RE = re.compile(r"\$\{([^}]*)\}")
_DEFAULT_RE = re.compile(r"^\s*([^,\s][^,]*?)\s*,\s*'((?:[^']|'')*)'\s*$")


@lru_cache(maxsize=4096)
def _tokenize(pattern: str, variables: bool) -> tuple[_Token, ...]:
    tokens: list[_Token] = []
    pos = 0
    for match in _VAR_RE.finditer(pattern) if variables else ():
        tokens.extend(_plain_tokens(pattern[pos : match.start()]))
        inner = match.group(1)
        if inner in ("*", "?", "$"):
            tokens.append(("lit", inner))  # escapes: a literal *, ? or $
        else:
            with_default = _DEFAULT_RE.match(inner)
            if with_default:
                default = with_default.group(2).replace("''", "'")
                tokens.append(("var", with_default.group(1).strip().lower(), default))
            else:
                tokens.append(("var", inner.strip().lower(), None))
        pos = match.end()
    tokens.extend(_plain_tokens(pattern[pos:]))
    return tuple(tokens)


def _plain_tokens(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    for part in re.split(r"([*?:])", text):
        if part == "*":
            tokens.append(("star", "*"))
        elif part == "?":
            tokens.append(("one", "?"))
        elif part == ":":
            tokens.append(("sep", ":"))
        elif part:
            tokens.append(("lit", part))
    return tokens


def _resolve_variable(token: _Var, ctx: Ctx) -> str | None:
    value = ctx.get(token[1])
    if value is not None and not value.multi:
        return value.values[0]
    # Missing (or multivalued, which AWS does not substitute): the default, else unresolvable.
    return token[2]


def _token_regex(token: _Token, ctx: Ctx, wildcards: bool) -> str | None:
    kind = token[0]
    if kind == "var":
        value = _resolve_variable(token, ctx)  # type: ignore[arg-type]
        return None if value is None else re.escape(value)
    if wildcards and kind == "star":
        return ".*"
    if wildcards and kind == "one":
        return "."
    return re.escape(token[1])


@lru_cache(maxsize=8192)
def _compile(regex: str, ignore_case: bool) -> re.Pattern[str]:
    return re.compile(regex, re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def policy_pattern(
    text: str, ctx: Ctx, *, variables: bool, wildcards: bool, ignore_case: bool = False
) -> re.Pattern[str] | None:
    """A full-match regex for a policy value, or None when a variable cannot be resolved."""
    parts: list[str] = []
    for token in _tokenize(text, variables):
        piece = _token_regex(token, ctx, wildcards)
        if piece is None:
            return None
        parts.append(piece)
    return _compile("".join(parts), ignore_case)


def arn_like(request_value: str, policy_value: str, ctx: Ctx, variables: bool) -> bool:
    """ArnLike: each of the six colon-separated ARN segments is matched on its own.

    The sixth segment keeps its colons. A policy value with fewer than six segments (such
    as "*") is matched as one glob.
    """
    tokens = _tokenize(policy_value, variables)
    if sum(1 for token in tokens if token[0] == "sep") < 5:
        whole = policy_pattern(policy_value, ctx, variables=variables, wildcards=True)
        return whole is not None and whole.fullmatch(request_value) is not None
    parts = request_value.split(":", 5)
    if len(parts) != 6:
        return False
    segments: list[list[str]] = [[]]
    for token in tokens:
        if token[0] == "sep" and len(segments) < 6:
            segments.append([])
            continue
        piece = _token_regex(token, ctx, wildcards=True)
        if piece is None:
            return False  # unresolvable policy variable: matches nothing
        segments[-1].append(piece)
    return all(
        _compile("".join(seg), False).fullmatch(part) is not None
        for seg, part in zip(segments, parts, strict=True)
    )
