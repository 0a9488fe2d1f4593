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

This module holds the statement and policy rules and the public API; the condition operators
are in conditions.py, and wildcard and policy-variable matching in patterns.py.

Principals are not matched (SCPs and identity policies have no Principal element); a
statement with Principal/NotPrincipal is rejected with PolicyError instead of guessed at.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from typing import Any

from rootctl.guardrails.conditions import PolicyError, conditions_hold
from rootctl.guardrails.patterns import Ctx, normalise_context, policy_pattern

__all__ = [
    "Effect",
    "PolicyError",
    "PolicyResult",
    "RequestContext",
    "ScpDecision",
    "StatementRef",
    "evaluate_policy",
    "evaluate_policy_text",
    "evaluate_scps",
]

# Policy variables are only substituted under this version; older policies treat `${...}` literally.
VARIABLES_VERSION = "2012-10-17"


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


def _strings(raw: Any, element: str) -> tuple[str, ...]:
    items = raw if isinstance(raw, list) else [raw]
    if not all(isinstance(item, str) for item in items):
        raise PolicyError(f"{element} must be a string or a list of strings")
    return tuple(items)


def _action_matches(patterns: tuple[str, ...], action: str) -> bool:
    for pattern in patterns:
        regex = policy_pattern(pattern, {}, variables=False, wildcards=True, ignore_case=True)
        if regex is not None and regex.fullmatch(action):
            return True
    return False


def _resource_matches(patterns: tuple[str, ...], resource: str, ctx: Ctx, variables: bool) -> bool:
    for pattern in patterns:
        if pattern == "*":
            return True
        regex = policy_pattern(pattern, ctx, variables=variables, wildcards=True)
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
    statement: Mapping[str, Any],
    action: str,
    resource: str,
    ctx: Ctx,
    variables: bool,
    where: str,
) -> bool:
    if "Principal" in statement or "NotPrincipal" in statement:
        raise PolicyError(
            f"{where}: Principal/NotPrincipal is not supported (SCPs and identity policies only)"
        )
    element, raw_actions = _exactly_one(statement, "Action", "NotAction", where)
    if not element:
        raise PolicyError(f"{where}: a statement needs Action or NotAction")
    hit = _action_matches(_strings(raw_actions, element), action)
    if hit != (element == "Action"):
        return False
    element, raw_resources = _exactly_one(statement, "Resource", "NotResource", where)
    if element:
        hit = _resource_matches(_strings(raw_resources, element), resource, ctx, variables)
        if hit != (element == "Resource"):
            return False
    return conditions_hold(statement.get("Condition"), ctx, variables)


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
    ctx = normalise_context(request.context)
    return _evaluate(document, request.action, request.resource, ctx, name)


def _evaluate(
    document: Mapping[str, Any], action: str, resource: str, ctx: Ctx, name: str
) -> PolicyResult:
    if not isinstance(document, Mapping):
        raise PolicyError(f"{name}: a policy document must be a JSON object")
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
        if _statement_matches(statement, action, resource, ctx, variables, where):
            ref = StatementRef(name, str(sid) if sid is not None else None, index)
            if effect == Effect.DENY:
                deny = ref
            else:
                allow = ref
    return PolicyResult(explicit_deny=deny, allow=allow)


# -- the same, remembered: for callers that evaluate a few policies for many requests ----------
#
# The sandbox evaluates a task policy and the SCPs above an account on every call a root
# identity makes: the same few documents against the same few actions, from many accounts.
# A result is a pure function of the document, the action and what the document reads of the
# request (no clock, no randomness), so it is remembered by exactly those:
# - context: the keys its Condition blocks name (every read of the context is
#   `ctx.get(key)`); with a policy variable `${...}` anywhere, the whole context;
# - resource: without policy variables, a resource is read only by matching it against the
#   document's Resource/NotResource patterns, so what counts is which patterns match (the
#   audit task policy's NotResource arn:aws:iam::*:root matches every account's root alike);
#   with variables, the resource itself.
# So one evaluation serves every account unless the document tells accounts apart.

# Entries kept; when full, the cache starts again (a simple bound: the sandbox needs a few
# hundred entries).
MAX_CACHED_RESULTS = 8192
_RESULTS: dict[tuple[Any, ...], PolicyResult] = {}


@dataclass(frozen=True)
class _Reads:
    """What of a request one document can read."""

    keys: frozenset[str] | None  # context keys (lower case); None: all of them
    patterns: tuple[re.Pattern[str] | None, ...] | None  # resource patterns; None: verbatim


@lru_cache(maxsize=256)
def _document(text: str, name: str) -> Mapping[str, Any]:
    """A policy's JSON text parsed once (shared read-only: the evaluator never mutates it)."""
    try:
        document = json.loads(text)
    except ValueError:
        raise PolicyError(f"{name}: a policy document must be valid JSON") from None
    if not isinstance(document, Mapping):
        raise PolicyError(f"{name}: a policy document must be a JSON object")
    return document  # type: ignore[no-any-return]


_EVERYTHING = _Reads(keys=None, patterns=None)


@lru_cache(maxsize=256)
def _reads(text: str, name: str) -> _Reads:
    document = _document(text, name)
    if "${" in text:
        return _EVERYTHING
    keys: set[str] = set()
    patterns: dict[str, None] = {}
    raw = document.get("Statement")
    for statement in raw if isinstance(raw, list) else [raw]:
        if not isinstance(statement, Mapping):
            return _EVERYTHING  # evaluating it raises PolicyError whatever the request
        for element in ("Resource", "NotResource"):
            values = statement.get(element, [])
            for pattern in values if isinstance(values, list) else [values]:
                if not isinstance(pattern, str):
                    return _EVERYTHING
                patterns[pattern] = None
        condition = statement.get("Condition")
        if condition is None:
            continue
        if not isinstance(condition, Mapping):
            return _EVERYTHING
        for body in condition.values():
            if not isinstance(body, Mapping):
                return _EVERYTHING
            keys.update(str(key).lower() for key in body)
    compiled = tuple(
        None if p == "*" else policy_pattern(p, {}, variables=False, wildcards=True)
        for p in patterns
    )
    return _Reads(keys=frozenset(keys), patterns=compiled)


def _remembered(text: str, name: str, action: str, resource: str, ctx: Ctx) -> PolicyResult:
    reads = _reads(text, name)
    if reads.keys is None:
        items = tuple(ctx.items())
    else:
        items = tuple((key, value) for key, value in ctx.items() if key in reads.keys)
    if reads.patterns is None:
        seen: Any = resource
    else:  # "*" (None here) matches without reading the resource
        seen = tuple(p is None or p.fullmatch(resource) is not None for p in reads.patterns)
    key = (text, name, action, seen, items)
    result = _RESULTS.get(key)
    if result is None:
        result = _evaluate(_document(text, name), action, resource, ctx, name)
        if len(_RESULTS) >= MAX_CACHED_RESULTS:
            _RESULTS.clear()
        _RESULTS[key] = result
    return result


def evaluate_policy_text(text: str, request: RequestContext, name: str = "policy") -> PolicyResult:
    """`evaluate_policy` of a document given as its JSON text, remembered (see above).

    Raises PolicyError for text that is not a JSON object, and as `evaluate_policy` does
    (errors are never remembered: the next call raises again).
    """
    ctx = normalise_context(request.context)
    return _remembered(text, name, request.action, request.resource, ctx)


PolicySource = Mapping[str, Any] | str


def evaluate_scps(
    levels: Sequence[tuple[str, Sequence[tuple[str, PolicySource]]]],
    request: RequestContext,
) -> ScpDecision:
    """AWS SCP semantics over the path root -> OUs -> account.

    An explicit Deny at any level denies; otherwise every level needs at least one policy with
    a matching Allow (a level with no policies allows nothing). A policy given as JSON text is
    evaluated through `evaluate_policy_text` (remembered); a mapping, as it is.
    """
    denied_by: StatementRef | None = None
    missing: str | None = None
    ctx: Ctx | None = None
    for level_name, policies in levels:
        level_allows = False
        for policy_name, document in policies:
            if isinstance(document, str):
                ctx = normalise_context(request.context) if ctx is None else ctx
                result = _remembered(document, policy_name, request.action, request.resource, ctx)
            else:
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
