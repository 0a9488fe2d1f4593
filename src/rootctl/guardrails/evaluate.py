"""Evaluate IAM policies the way AWS does, for SCPs and deny-only identity policies.

rootctl must tell, without calling AWS, whether an organization's SCPs block a root session
(SCPs apply to AssumeRoot sessions, and a too-broad "deny root" SCP is the known pitfall), and
the sandbox enforces task policies with the same code. So this is a faithful evaluator of the
policy grammar, not a linter: Action/NotAction, Resource/NotResource, wildcards, policy
variables and the Condition operators with their documented edge cases. Sources:
IAM User Guide "IAM JSON policy elements: Condition operators"
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html),
"Conditions with multiple context keys or values"
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_multi-value-conditions.html),
"IAM policy elements: Variables and tags"
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html).
The rules as implemented are listed in docs/guardrails.md.

Principals are not matched (SCPs and identity policies have no Principal element); a
statement with Principal/NotPrincipal is rejected with PolicyError instead of guessed at.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from functools import lru_cache
from typing import Any

__all__ = [
    "Effect",
    "PolicyError",
    "PolicyResult",
    "RequestContext",
    "ScpDecision",
    "StatementRef",
    "evaluate_policy",
    "evaluate_scps",
]

# Policy variables are only substituted under this version; older policies treat `${...}` literally.
VARIABLES_VERSION = "2012-10-17"


class PolicyError(ValueError):
    """The policy document is malformed in a way AWS would reject (or we cannot evaluate)."""


class Effect(StrEnum):
    ALLOW = "Allow"
    DENY = "Deny"


@dataclass(frozen=True)
class RequestContext:
    """One API request as the authorizer sees it.

    `context` keys are compared case-insensitively; a key that is absent is absent (it matters
    for Null, ...IfExists and negated operators). A list value makes the key multivalued.
    """

    action: str
    resource: str
    context: Mapping[str, str | bool | Sequence[str]]


@dataclass(frozen=True)
class StatementRef:
    """Where a decision came from: the caller's policy name, the statement Sid and index."""

    policy: str
    sid: str | None
    index: int


@dataclass(frozen=True)
class PolicyResult:
    explicit_deny: StatementRef | None
    allow: StatementRef | None


@dataclass(frozen=True)
class ScpDecision:
    allowed: bool
    denied_by: StatementRef | None
    missing_allow_level: str | None


# --------------------------------------------------------------------------- request context


@dataclass(frozen=True)
class _Value:
    values: tuple[str, ...]
    multi: bool


_Ctx = dict[str, _Value]


def _as_text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _normalise_context(context: Mapping[str, Any]) -> _Ctx:
    out: _Ctx = {}
    for key, value in context.items():
        if isinstance(value, str | bool | int | float):
            out[str(key).lower()] = _Value((_as_text(value),), multi=False)
        elif isinstance(value, Sequence | set | frozenset):
            out[str(key).lower()] = _Value(tuple(_as_text(v) for v in value), multi=True)
        elif value is not None:
            out[str(key).lower()] = _Value((_as_text(value),), multi=False)
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


def _resolve_variable(token: _Var, ctx: _Ctx) -> str | None:
    value = ctx.get(token[1])
    if value is not None and not value.multi:
        return value.values[0]
    # Missing (or multivalued, which AWS does not substitute): the default, else unresolvable.
    return token[2]


def _token_regex(token: _Token, ctx: _Ctx, wildcards: bool) -> str | None:
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


def _pattern(
    text: str, ctx: _Ctx, *, variables: bool, wildcards: bool, ignore_case: bool = False
) -> re.Pattern[str] | None:
    """A full-match regex for a policy value, or None when a variable cannot be resolved."""
    parts: list[str] = []
    for token in _tokenize(text, variables):
        piece = _token_regex(token, ctx, wildcards)
        if piece is None:
            return None
        parts.append(piece)
    return _compile("".join(parts), ignore_case)


def _arn_like(request_value: str, policy_value: str, ctx: _Ctx, variables: bool) -> bool:
    """ArnLike: each of the six colon-separated ARN segments is matched on its own.

    The sixth segment keeps its colons. A policy value with fewer than six segments (such
    as "*") is matched as one glob.
    """
    tokens = _tokenize(policy_value, variables)
    if sum(1 for token in tokens if token[0] == "sep") < 5:
        whole = _pattern(policy_value, ctx, variables=variables, wildcards=True)
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


# --------------------------------------------------------------------------- operators


def _decimal(text: str) -> Decimal | None:
    try:
        number = Decimal(text.strip())
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


_EPOCH_RE = re.compile(r"^\s*-?\d+(\.\d+)?\s*$")


def _timestamp(text: str) -> float | None:
    """Seconds since the epoch for ISO 8601 or epoch text (naive times are UTC)."""
    if _EPOCH_RE.match(text):
        try:
            return float(text)
        except (ValueError, OverflowError):
            return None
    try:
        moment = datetime.fromisoformat(text.strip().replace("z", "Z"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        return moment.timestamp()
    except (OverflowError, OSError, ValueError):
        return None


def _ip_in(request_value: str, policy_value: str) -> bool:
    try:
        network = ipaddress.ip_network(policy_value.strip(), strict=False)
        address = ipaddress.ip_address(request_value.strip())
    except ValueError:
        return False
    return address in network


def _binary(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return text.encode("utf-8", "surrogatepass")


_Compare = Callable[[str, str, _Ctx, bool], bool]


def _numeric(test: Callable[[Decimal, Decimal], bool]) -> _Compare:
    def compare(req: str, pol: str, ctx: _Ctx, variables: bool) -> bool:
        a, b = _decimal(req), _decimal(pol)
        return a is not None and b is not None and test(a, b)

    return compare


def _date(test: Callable[[float, float], bool]) -> _Compare:
    def compare(req: str, pol: str, ctx: _Ctx, variables: bool) -> bool:
        a, b = _timestamp(req), _timestamp(pol)
        return a is not None and b is not None and test(a, b)

    return compare


def _string_equals(req: str, pol: str, ctx: _Ctx, variables: bool) -> bool:
    pattern = _pattern(pol, ctx, variables=variables, wildcards=False)
    return pattern is not None and pattern.fullmatch(req) is not None


def _string_equals_ic(req: str, pol: str, ctx: _Ctx, variables: bool) -> bool:
    pattern = _pattern(pol, ctx, variables=variables, wildcards=False, ignore_case=True)
    return pattern is not None and pattern.fullmatch(req) is not None


def _string_like(req: str, pol: str, ctx: _Ctx, variables: bool) -> bool:
    pattern = _pattern(pol, ctx, variables=variables, wildcards=True)
    return pattern is not None and pattern.fullmatch(req) is not None


def _bool(req: str, pol: str, ctx: _Ctx, variables: bool) -> bool:
    pattern = _pattern(pol, ctx, variables=variables, wildcards=False, ignore_case=True)
    return pattern is not None and pattern.fullmatch(req.strip()) is not None


def _ip(req: str, pol: str, ctx: _Ctx, variables: bool) -> bool:
    return _ip_in(req, pol)


def _binary_equals(req: str, pol: str, ctx: _Ctx, variables: bool) -> bool:
    return _binary(req) == _binary(pol)


def _arn(req: str, pol: str, ctx: _Ctx, variables: bool) -> bool:
    return _arn_like(req, pol, ctx, variables)


@dataclass(frozen=True)
class _Operator:
    compare: _Compare
    negated: bool
    variables: bool  # does the operator substitute policy variables in its values?


# Negated operators are "NOR" over the policy values: NOT (any positive match).
_OPERATORS: dict[str, _Operator] = {
    "stringequals": _Operator(_string_equals, False, True),
    "stringnotequals": _Operator(_string_equals, True, True),
    "stringequalsignorecase": _Operator(_string_equals_ic, False, True),
    "stringnotequalsignorecase": _Operator(_string_equals_ic, True, True),
    "stringlike": _Operator(_string_like, False, True),
    "stringnotlike": _Operator(_string_like, True, True),
    "numericequals": _Operator(_numeric(lambda a, b: a == b), False, False),
    "numericnotequals": _Operator(_numeric(lambda a, b: a == b), True, False),
    "numericlessthan": _Operator(_numeric(lambda a, b: a < b), False, False),
    "numericlessthanequals": _Operator(_numeric(lambda a, b: a <= b), False, False),
    "numericgreaterthan": _Operator(_numeric(lambda a, b: a > b), False, False),
    "numericgreaterthanequals": _Operator(_numeric(lambda a, b: a >= b), False, False),
    "dateequals": _Operator(_date(lambda a, b: a == b), False, False),
    "datenotequals": _Operator(_date(lambda a, b: a == b), True, False),
    "datelessthan": _Operator(_date(lambda a, b: a < b), False, False),
    "datelessthanequals": _Operator(_date(lambda a, b: a <= b), False, False),
    "dategreaterthan": _Operator(_date(lambda a, b: a > b), False, False),
    "dategreaterthanequals": _Operator(_date(lambda a, b: a >= b), False, False),
    "bool": _Operator(_bool, False, True),
    "binaryequals": _Operator(_binary_equals, False, False),
    "ipaddress": _Operator(_ip, False, False),
    "notipaddress": _Operator(_ip, True, False),
    "arnequals": _Operator(_arn, False, True),
    "arnlike": _Operator(_arn, False, True),
    "arnnotequals": _Operator(_arn, True, True),
    "arnnotlike": _Operator(_arn, True, True),
}

_FOR_ALL = "forallvalues:"
_FOR_ANY = "foranyvalue:"


@lru_cache(maxsize=512)
def _parse_operator(name: str) -> tuple[str | None, str, bool]:
    """(set qualifier, base operator, IfExists) from e.g. "ForAnyValue:StringLikeIfExists"."""
    lowered = name.strip().lower()
    qualifier: str | None = None
    for prefix in (_FOR_ALL, _FOR_ANY):
        if lowered.startswith(prefix):
            qualifier, lowered = prefix, lowered[len(prefix) :]
    if_exists = lowered.endswith("ifexists")
    base = lowered.removesuffix("ifexists") if if_exists else lowered
    if base == "null":
        if if_exists or qualifier:
            raise PolicyError(f"condition operator {name!r} is not valid (Null takes no IfExists)")
        return None, base, False
    if base not in _OPERATORS:
        raise PolicyError(f"unknown condition operator {name!r}")
    return qualifier, base, if_exists


def _policy_values(raw: Any, where: str) -> tuple[str, ...]:
    items = raw if isinstance(raw, list) else [raw]
    values: list[str] = []
    for item in items:
        if isinstance(item, str | bool | int | float):
            values.append(_as_text(item))
        else:
            raise PolicyError(f"{where}: condition values must be strings, numbers or booleans")
    return tuple(values)


def _null_matches(values: tuple[str, ...], entry: _Value | None) -> bool:
    absent = entry is None or (entry.multi and not entry.values)
    wanted = {v.strip().lower() for v in values}
    if not wanted <= {"true", "false"}:
        raise PolicyError(f"Null takes 'true' or 'false', not {sorted(wanted)}")
    return (absent and "true" in wanted) or (not absent and "false" in wanted)


def _key_matches(operator_name: str, key: str, raw: Any, ctx: _Ctx, variables: bool) -> bool:
    qualifier, base, if_exists = _parse_operator(operator_name)
    values = _policy_values(raw, f"{operator_name}/{key}")
    entry = ctx.get(key.lower())
    if base == "null":
        return _null_matches(values, entry)
    op = _OPERATORS[base]
    if entry is None or (entry.multi and not entry.values):
        if if_exists or qualifier == _FOR_ALL:
            return True
        if qualifier == _FOR_ANY:
            return False
        return op.negated  # absent key: positive operators fail, negated ones hold
    subst = variables and op.variables

    def matches(request_value: str) -> bool:
        return any(op.compare(request_value, pol, ctx, subst) for pol in values)

    if qualifier == _FOR_ALL:
        return all(matches(v) != op.negated for v in entry.values)
    if qualifier == _FOR_ANY:
        return any(matches(v) != op.negated for v in entry.values)
    hit = any(matches(v) for v in entry.values)
    return hit != op.negated


def _conditions_hold(condition: Any, ctx: _Ctx, variables: bool) -> bool:
    if condition is None:
        return True
    if not isinstance(condition, Mapping):
        raise PolicyError("Condition must be an object")
    for operator_name, body in condition.items():
        if not isinstance(body, Mapping):
            raise PolicyError(f"Condition operator {operator_name!r} must map keys to values")
        for key, raw in body.items():
            if not _key_matches(str(operator_name), str(key), raw, ctx, variables):
                return False
    return True


# --------------------------------------------------------------------------- statements


def _strings(raw: Any, element: str) -> tuple[str, ...]:
    items = raw if isinstance(raw, list) else [raw]
    if not all(isinstance(item, str) for item in items):
        raise PolicyError(f"{element} must be a string or a list of strings")
    return tuple(items)


def _action_matches(patterns: tuple[str, ...], action: str) -> bool:
    for pattern in patterns:
        regex = _pattern(pattern, {}, variables=False, wildcards=True, ignore_case=True)
        if regex is not None and regex.fullmatch(action):
            return True
    return False


def _resource_matches(patterns: tuple[str, ...], resource: str, ctx: _Ctx, variables: bool) -> bool:
    for pattern in patterns:
        if pattern == "*":
            return True
        regex = _pattern(pattern, ctx, variables=variables, wildcards=True)
        if regex is not None and regex.fullmatch(resource):
            return True
    return False


def _exactly_one(statement: Mapping[str, Any], a: str, b: str, where: str) -> tuple[str, Any]:
    if a in statement and b in statement:
        raise PolicyError(f"{where}: use {a} or {b}, not both")
    if a in statement:
        return a, statement[a]
    if b in statement:
        return b, statement[b]
    return "", None


def _statement_matches(
    statement: Mapping[str, Any], request: RequestContext, ctx: _Ctx, variables: bool, where: str
) -> bool:
    if "Principal" in statement or "NotPrincipal" in statement:
        raise PolicyError(
            f"{where}: Principal/NotPrincipal is not supported (SCPs and identity policies only)"
        )
    element, raw_actions = _exactly_one(statement, "Action", "NotAction", where)
    if not element:
        raise PolicyError(f"{where}: a statement needs Action or NotAction")
    hit = _action_matches(_strings(raw_actions, element), request.action)
    if hit != (element == "Action"):
        return False
    element, raw_resources = _exactly_one(statement, "Resource", "NotResource", where)
    if element:
        hit = _resource_matches(_strings(raw_resources, element), request.resource, ctx, variables)
        if hit != (element == "Resource"):
            return False
    return _conditions_hold(statement.get("Condition"), ctx, variables)


def _statements(document: Mapping[str, Any], name: str) -> list[Mapping[str, Any]]:
    raw = document.get("Statement")
    items = raw if isinstance(raw, list) else [raw] if raw is not None else []
    for index, item in enumerate(items):
        if not isinstance(item, Mapping):
            raise PolicyError(f"{name} statement {index}: must be an object")
    return items


def evaluate_policy(
    document: Mapping[str, Any], request: RequestContext, name: str = "policy"
) -> PolicyResult:
    """The first matching Deny and the first matching Allow statement of one policy.

    Raises PolicyError for a document AWS would not accept (unknown operator, Action and
    NotAction together, ...); never raises because of the request's values.
    """
    if not isinstance(document, Mapping):
        raise PolicyError(f"{name}: a policy document must be a JSON object")
    ctx = _normalise_context(request.context)
    variables = document.get("Version") == VARIABLES_VERSION
    deny: StatementRef | None = None
    allow: StatementRef | None = None
    for index, statement in enumerate(_statements(document, name)):
        sid = statement.get("Sid")
        where = f"{name} statement {sid or index}"
        effect = statement.get("Effect")
        if effect not in (Effect.ALLOW.value, Effect.DENY.value):
            raise PolicyError(f"{where}: Effect must be 'Allow' or 'Deny', not {effect!r}")
        if (deny if effect == Effect.DENY else allow) is not None:
            continue
        if _statement_matches(statement, request, ctx, variables, where):
            ref = StatementRef(name, str(sid) if sid is not None else None, index)
            if effect == Effect.DENY:
                deny = ref
            else:
                allow = ref
    return PolicyResult(explicit_deny=deny, allow=allow)


def evaluate_scps(
    levels: Sequence[tuple[str, Sequence[tuple[str, Mapping[str, Any]]]]],
    request: RequestContext,
) -> ScpDecision:
    """AWS SCP semantics over the path root -> OUs -> account.

    An explicit Deny at any level denies; otherwise every level needs at least one policy with
    a matching Allow (a level with no policies allows nothing).
    """
    denied_by: StatementRef | None = None
    missing: str | None = None
    for level_name, policies in levels:
        level_allows = False
        for policy_name, document in policies:
            result = evaluate_policy(document, request, policy_name)
            if denied_by is None and result.explicit_deny is not None:
                denied_by = result.explicit_deny
            level_allows = level_allows or result.allow is not None
        if missing is None and not level_allows:
            missing = level_name
    return ScpDecision(
        allowed=denied_by is None and missing is None,
        denied_by=denied_by,
        missing_allow_level=missing,
    )
