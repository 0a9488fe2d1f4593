"""IAM condition operators, with the qualifiers (ForAllValues, ForAnyValue, IfExists) and Null.

The operator table and its documented edge cases (absent and multivalued keys, NOR over the
values of negated operators, numbers, dates, IP ranges, base64) are most of the evaluator's
rules; they live here so evaluate.py reads as the few rules of statements and policies.
PolicyError is defined here, below evaluate.py, because most malformed-policy errors are found
here; evaluate.py exports it with its public API.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

from rootctl.guardrails.patterns import Ctx, CtxValue, arn_like, as_text, policy_pattern

__all__ = ["PolicyError", "conditions_hold"]


class PolicyError(ValueError):
    """The policy document is malformed in a way AWS would reject (or we cannot evaluate)."""


# --------------------------------------------------------------------------- value types


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


# --------------------------------------------------------------------------- comparisons

_Compare = Callable[[str, str, Ctx, bool], bool]


def _numeric(test: Callable[[Decimal, Decimal], bool]) -> _Compare:
    def compare(req: str, pol: str, ctx: Ctx, variables: bool) -> bool:
        a, b = _decimal(req), _decimal(pol)
        return a is not None and b is not None and test(a, b)

    return compare


def _date(test: Callable[[float, float], bool]) -> _Compare:
    def compare(req: str, pol: str, ctx: Ctx, variables: bool) -> bool:
        a, b = _timestamp(req), _timestamp(pol)
        return a is not None and b is not None and test(a, b)

    return compare


def _string_equals(req: str, pol: str, ctx: Ctx, variables: bool) -> bool:
    pattern = policy_pattern(pol, ctx, variables=variables, wildcards=False)
    return pattern is not None and pattern.fullmatch(req) is not None


def _string_equals_ic(req: str, pol: str, ctx: Ctx, variables: bool) -> bool:
    pattern = policy_pattern(pol, ctx, variables=variables, wildcards=False, ignore_case=True)
    return pattern is not None and pattern.fullmatch(req) is not None


def _string_like(req: str, pol: str, ctx: Ctx, variables: bool) -> bool:
    pattern = policy_pattern(pol, ctx, variables=variables, wildcards=True)
    return pattern is not None and pattern.fullmatch(req) is not None


def _bool(req: str, pol: str, ctx: Ctx, variables: bool) -> bool:
    pattern = policy_pattern(pol, ctx, variables=variables, wildcards=False, ignore_case=True)
    return pattern is not None and pattern.fullmatch(req.strip()) is not None


def _ip(req: str, pol: str, ctx: Ctx, variables: bool) -> bool:
    return _ip_in(req, pol)


def _binary_equals(req: str, pol: str, ctx: Ctx, variables: bool) -> bool:
    return _binary(req) == _binary(pol)


def _arn(req: str, pol: str, ctx: Ctx, variables: bool) -> bool:
    return arn_like(req, pol, ctx, variables)


# --------------------------------------------------------------------------- operator table


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
            values.append(as_text(item))
        else:
            raise PolicyError(f"{where}: condition values must be strings, numbers or booleans")
    return tuple(values)


def _null_matches(values: tuple[str, ...], entry: CtxValue | None) -> bool:
    absent = entry is None or (entry.multi and not entry.values)
    wanted = {v.strip().lower() for v in values}
    if not wanted <= {"true", "false"}:
        raise PolicyError(f"Null takes 'true' or 'false', not {sorted(wanted)}")
    return (absent and "true" in wanted) or (not absent and "false" in wanted)


def _key_matches(operator_name: str, key: str, raw: Any, ctx: Ctx, variables: bool) -> bool:
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


def conditions_hold(condition: Any, ctx: Ctx, variables: bool) -> bool:
    """Whether a statement's Condition block holds: AND over operators and over their keys.

    `variables` is whether the policy's Version lets operators substitute policy variables.
    """
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
