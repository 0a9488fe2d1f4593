"""Resource policies: which statements lock a bucket or queue, and is a replacement sound.

A lockout is a resource policy that denies every principal, the account's own admins
included, both reads and writes. We decide it with rootctl's IAM policy evaluator instead of
pattern-matching JSON: each Deny statement whose principal is everyone is evaluated (without
its Principal element, which the evaluator does not match) against probe requests made by
principals of the owning account. A statement locks the resource when, for every probe
principal, it denies at least one read and one write. Probes carry the context of an
ordinary request (TLS on, same account), so "deny unless TLS" or "deny unencrypted uploads"
are not lockouts, while "deny unless from vpce-123" or "deny unless role X" are (from
anywhere else, nobody gets in).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from rootctl.errors import UsageError
from rootctl.guardrails.evaluate import PolicyError, RequestContext, evaluate_policy

Kind = Literal["s3", "sqs"]

STATEMENT_KEYS = frozenset(
    {"Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction", "Resource"}
    | {"NotResource", "Condition"}
)
POLICY_KEYS = frozenset({"Version", "Id", "Statement"})
POLICY_VERSIONS = ("2012-10-17", "2008-10-17")
MAX_POLICY_BYTES = 256 * 1024  # SQS's attribute limit; S3 bucket policies stop at 20 KB
_OBJECT_PROBE_KEY = "rootctl-lock-probe"


@dataclass(frozen=True)
class Probe:
    """One request an ordinary principal of the owning account would make."""

    action: str
    resource: str
    write: bool


@dataclass(frozen=True)
class LockingStatement:
    """A statement that denies every principal: where it is and what it denies."""

    index: int
    sid: str | None
    denied_actions: tuple[str, ...]
    statement: Mapping[str, Any]

    @property
    def label(self) -> str:
        return f"Statement[{self.index}]" + (f" (Sid {self.sid})" if self.sid else "")


@dataclass(frozen=True)
class LockAnalysis:
    """The verdict on one policy: locked or not, the statements responsible, and notes."""

    locked: bool
    statements: tuple[LockingStatement, ...]
    notes: tuple[str, ...] = ()


def resource_arn(kind: Kind, account_id: str, name: str, region: str) -> str:
    if kind == "s3":
        return f"arn:aws:s3:::{name}"
    return f"arn:aws:sqs:{region}:{account_id}:{name}"


def probes(kind: Kind, arn: str) -> tuple[Probe, ...]:
    """Reads and writes an owner would expect to work on a bucket or queue."""
    if kind == "s3":
        obj = f"{arn}/{_OBJECT_PROBE_KEY}"
        return (
            Probe("s3:GetObject", obj, write=False),
            Probe("s3:ListBucket", arn, write=False),
            Probe("s3:PutObject", obj, write=True),
            Probe("s3:DeleteObject", obj, write=True),
        )
    return (
        Probe("sqs:ReceiveMessage", arn, write=False),
        Probe("sqs:GetQueueAttributes", arn, write=False),
        Probe("sqs:SendMessage", arn, write=True),
        Probe("sqs:DeleteMessage", arn, write=True),
    )


def _probe_contexts(account_id: str) -> tuple[dict[str, Any], ...]:
    base = {
        "aws:PrincipalAccount": account_id,
        "aws:ResourceAccount": account_id,
        "aws:SecureTransport": True,
    }
    return (
        {
            **base,
            "aws:PrincipalArn": f"arn:aws:iam::{account_id}:root",
            "aws:PrincipalType": "Account",
        },
        {
            **base,
            "aws:PrincipalArn": f"arn:aws:iam::{account_id}:role/rootctl-lock-probe",
            "aws:PrincipalType": "AssumedRole",
        },
    )


def is_everyone(principal: Any) -> bool:
    """Principal "*", {"AWS": "*"} or an AWS list containing "*"."""
    if principal == "*":
        return True
    if isinstance(principal, Mapping):
        aws = principal.get("AWS")
        return aws == "*" or (isinstance(aws, list) and "*" in aws)
    return False


def statements_of(document: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    raw = document.get("Statement")
    items = raw if isinstance(raw, list) else [raw] if raw is not None else []
    return [item for item in items if isinstance(item, Mapping)]


def analyze(document: Mapping[str, Any], kind: Kind, account_id: str, arn: str) -> LockAnalysis:
    """Find the statements of `document` that deny every principal reads and writes."""
    locking: list[LockingStatement] = []
    notes: list[str] = []
    version = document.get("Version")
    for index, statement in enumerate(statements_of(document)):
        if statement.get("Effect") != "Deny" or not is_everyone(statement.get("Principal")):
            continue
        try:
            denied = _denied_by(statement, version, kind, account_id, arn)
        except PolicyError as exc:
            notes.append(f"Statement[{index}] could not be evaluated: {exc}")
            continue
        if denied is not None:
            sid = statement.get("Sid")
            locking.append(
                LockingStatement(index, str(sid) if sid else None, denied, dict(statement))
            )
    return LockAnalysis(bool(locking), tuple(locking), tuple(notes))


def _denied_by(
    statement: Mapping[str, Any], version: Any, kind: Kind, account_id: str, arn: str
) -> tuple[str, ...] | None:
    """The probe actions one statement denies, or None unless it locks every probe principal."""
    bare = {k: v for k, v in statement.items() if k not in ("Principal", "NotPrincipal")}
    document = {"Version": version, "Statement": [bare]}
    denied_everywhere: set[str] | None = None
    for context in _probe_contexts(account_id):
        denied = {
            probe
            for probe in probes(kind, arn)
            if evaluate_policy(
                document, RequestContext(probe.action, probe.resource, context), "resource policy"
            ).explicit_deny
            is not None
        }
        if not any(p.write for p in denied) or all(p.write for p in denied):
            return None
        names = {p.action for p in denied}
        denied_everywhere = names if denied_everywhere is None else denied_everywhere & names
    return tuple(sorted(denied_everywhere or ()))


# --------------------------------------------------------------------------- validation


def parse_policy_text(text: str, source: str) -> dict[str, Any]:
    """Parse and shape-check a resource policy; UsageError names the file and the place.

    S3 bucket policies are at most 20 KB and SQS policies fit in a 256 KB attribute: a text
    over MAX_POLICY_BYTES is refused before parsing, and nesting too deep for the parser is
    bad input too (json.loads raises RecursionError, not ValueError).
    """
    if len(text.encode("utf-8", "surrogatepass")) > MAX_POLICY_BYTES:
        raise UsageError(
            f"{source}: larger than {MAX_POLICY_BYTES // 1024} KiB, not a bucket or queue policy"
        )
    try:
        document = json.loads(text)
    except RecursionError:
        raise UsageError(f"{source}: not valid JSON (nested too deep)") from None
    except ValueError as exc:
        raise UsageError(f"{source}: not valid JSON ({exc})") from None
    problem = policy_shape_problem(document)
    if problem is not None:
        raise UsageError(f"{source}: not a resource policy: {problem}")
    assert isinstance(document, dict)
    return document


def policy_shape_problem(document: Any) -> str | None:
    """What is wrong with a resource policy's shape, or None when it looks like one."""
    if not isinstance(document, dict):
        return "the document must be a JSON object"
    unknown = sorted(set(document) - POLICY_KEYS)
    if unknown:
        return f"unknown top-level key {unknown[0]!r} (allowed: Version, Id, Statement)"
    if document.get("Version") not in POLICY_VERSIONS:
        return f"Version must be one of {', '.join(POLICY_VERSIONS)}"
    statements = document.get("Statement")
    if not isinstance(statements, list) or not statements:
        return "Statement must be a non-empty list"
    for index, statement in enumerate(statements):
        problem = _statement_problem(statement)
        if problem is not None:
            return f"Statement[{index}]: {problem}"
    return None


def _statement_problem(statement: Any) -> str | None:
    if not isinstance(statement, dict):
        return "must be an object"
    unknown = sorted(set(statement) - STATEMENT_KEYS)
    if unknown:
        return f"unknown key {unknown[0]!r}"
    if statement.get("Effect") not in ("Allow", "Deny"):
        return "Effect must be Allow or Deny"
    for pair in (
        ("Principal", "NotPrincipal"),
        ("Action", "NotAction"),
        ("Resource", "NotResource"),
    ):
        present = [key for key in pair if key in statement]
        if len(present) != 1:
            return f"needs exactly one of {pair[0]} or {pair[1]}"
        if not _strings_or_principal(statement[present[0]], present[0]):
            return f"{present[0]} must be a string, a list of strings or a principal map"
    condition = statement.get("Condition")
    if condition is not None and not isinstance(condition, dict):
        return "Condition must be an object"
    return None


def _strings_or_principal(value: Any, key: str) -> bool:
    if isinstance(value, str):
        return bool(value)
    if isinstance(value, list):
        return bool(value) and all(isinstance(v, str) and v for v in value)
    if key.endswith("Principal") and isinstance(value, dict):
        return bool(value) and all(
            isinstance(k, str) and _strings_or_principal(v, "") for k, v in value.items()
        )
    return False


def same_policy(a: str | Mapping[str, Any] | None, b: str | Mapping[str, Any] | None) -> bool:
    """Equal as JSON (key order and whitespace do not matter)."""
    return bool(_as_document(a) == _as_document(b))


def _as_document(value: str | Mapping[str, Any] | None) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def render(document: Mapping[str, Any] | str) -> str:
    """The policy pretty-printed for a human (text that is not JSON is shown as is)."""
    parsed = _as_document(document) if isinstance(document, str) else document
    if isinstance(parsed, str):
        return parsed
    return json.dumps(parsed, indent=2, sort_keys=False)


def describe_locks(analysis: LockAnalysis) -> list[str]:
    lines = [
        f"  {s.label} denies every principal: {', '.join(s.denied_actions)}"
        for s in analysis.statements
    ]
    return lines + [f"  note: {note}" for note in analysis.notes]
