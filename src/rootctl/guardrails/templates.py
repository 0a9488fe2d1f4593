"""SCP templates for root access, rendered into one policy ready to attach.

The templates are JSON files shipped as package data (`guardrails/templates/*.json`) so they can
be read, diffed and reviewed as the policies AWS will see. Template names follow Nuvibit's
guardrail templates (`deny_actions_as_root`, `deny_actions_as_root_except_centralized_root`);
the second carries AWS's recommended `Null aws:AssumedRoot` exemption, see docs/guardrails.md.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Sequence
from functools import cache
from importlib import resources
from typing import Any

from rootctl.errors import UsageError

__all__ = [
    "SCP_MAX_CHARS",
    "TEMPLATE_NAMES",
    "check_size",
    "minify",
    "render",
    "size",
    "template",
]

TEMPLATE_NAMES: tuple[str, ...] = (
    "deny_actions_as_root",
    "deny_actions_as_root_except_centralized_root",
)

# AWS Organizations quota: "Maximum size of a service control policy document: 5,120 characters".
SCP_MAX_CHARS = 5120

_EXCLUDE_OPERATOR = "ArnNotLike"
_EXCLUDE_KEY = "aws:PrincipalArn"


@cache
def _load(name: str) -> dict[str, Any]:
    text = (
        resources.files("rootctl.guardrails").joinpath(f"templates/{name}.json").read_text("utf-8")
    )
    data: dict[str, Any] = json.loads(text)
    return data


def template(name: str) -> dict[str, Any]:
    """One template's policy document (a copy: callers may change it)."""
    if name not in TEMPLATE_NAMES:
        raise UsageError(
            f"unknown guardrail template {name!r}; use one of: {', '.join(TEMPLATE_NAMES)}"
        )
    return copy.deepcopy(_load(name))


def _check_exclusions(arns: Sequence[str]) -> list[str]:
    unique: list[str] = []
    for arn in arns:
        value = arn.strip()
        if not value.startswith("arn:") or value.count(":") < 5:
            raise UsageError(
                f"exclude principal ARN {arn!r} is not an ARN pattern (arn:partition:service:region:account:resource, wildcards allowed)"
            )
        if value not in unique:
            unique.append(value)
    return unique


def _exclude(statement: dict[str, Any], arns: list[str]) -> None:
    """Add `ArnNotLike aws:PrincipalArn` (merged with any the template already has)."""
    condition: dict[str, Any] = statement.setdefault("Condition", {})
    block: dict[str, Any] = condition.setdefault(_EXCLUDE_OPERATOR, {})
    existing = block.get(_EXCLUDE_KEY, [])
    values = [existing] if isinstance(existing, str) else list(existing)
    values.extend(arn for arn in arns if arn not in values)
    block[_EXCLUDE_KEY] = values[0] if len(values) == 1 else values


def render(names: Sequence[str], exclude_principal_arns: Sequence[str] = ()) -> dict[str, Any]:
    """Merge templates' statements into one SCP, with exclusions on every Deny statement.

    Raises UsageError for an unknown or repeated name, a malformed exclusion, or a result over
    the SCP size limit (checked minified), so a bad guardrail fails before any AWS call.
    """
    if isinstance(names, str):
        names = [names]
    if not names:
        raise UsageError(f"name at least one guardrail template: {', '.join(TEMPLATE_NAMES)}")
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise UsageError(f"guardrail template {name!r} is listed twice")
        seen.add(name)
    exclusions = _check_exclusions(exclude_principal_arns)
    statements: list[dict[str, Any]] = []
    sids: set[str] = set()
    for name in names:
        for statement in template(name)["Statement"]:
            sid = statement.get("Sid")
            if sid in sids:
                raise UsageError(
                    f"guardrail templates repeat the statement id {sid!r}; render them as separate SCPs"
                )
            sids.add(sid)
            if exclusions and statement.get("Effect") == "Deny":
                _exclude(statement, exclusions)
            statements.append(statement)
    document = {"Version": "2012-10-17", "Statement": statements}
    check_size(document)
    return document


def minify(document: dict[str, Any]) -> str:
    """Compact JSON: what rootctl uploads, and what the size limit is measured on."""
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False)


def size(document: dict[str, Any]) -> int:
    """Characters of the minified document."""
    return len(minify(document))


def check_size(document: dict[str, Any]) -> None:
    """Raise UsageError when the minified document exceeds the SCP limit of 5,120 characters."""
    length = size(document)
    if length > SCP_MAX_CHARS:
        raise UsageError(
            f"the SCP is {length} characters minified, over the AWS limit of {SCP_MAX_CHARS}: split it into several policies or shorten exclude_principal_arns"
        )
