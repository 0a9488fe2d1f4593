"""Value checks shared by rootctl.yaml and the CLI flags.

Each `check_*` function returns the normalised value or raises `FieldProblem` (a ValueError,
so pydantic reports it at the field's location). The `parse_*` functions wrap the same checks
for command-line flags and raise `UsageError` instead, so a flag and a config key that mean the
same thing are validated by the same code and explained in the same words.
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Iterable, Sequence
from datetime import date, datetime
from typing import TypeVar

from rootctl.errors import UsageError

T = TypeVar("T", bound=Hashable)

_ACCOUNT_ID = re.compile(r"^[0-9]{12}$")
_PRINCIPAL_ARN = re.compile(r"^arn:(aws|aws-cn|aws-us-gov):iam::([0-9]{12}|\*):\S+$")
# S3 bucket names are lowercase letters, digits, dots and hyphens; fnmatch adds * ? [ ] !.
_BUCKET_PATTERN = re.compile(r"^[a-z0-9.\-*?\[\]!]{1,63}$")
# SQS queue names are letters, digits, hyphens and underscores (plus .fifo), up to 80 chars.
_QUEUE_PATTERN = re.compile(r"^[A-Za-z0-9_.\-*?\[\]!]{1,80}$")


class FieldProblem(ValueError):
    """A bad value, optionally located below the field being validated.

    `loc` is relative to the field pydantic is validating (list indexes and keys); the error
    formatter appends it, so a list validator can point at the exact bad item.
    """

    def __init__(self, message: str, loc: tuple[int | str, ...] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.loc = loc


def show(value: object) -> str:
    """A short, single-line rendering of a user's value for error messages."""
    if value is None:
        return "an empty value"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list | tuple | set | frozenset):
        return "a list"
    if isinstance(value, date):
        return value.isoformat()
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 60 else text[:57] + "..."


def check_account_id(value: object) -> str:
    """A 12-digit account id as a string; an unquoted YAML number is accepted if it has 12 digits."""
    number = isinstance(value, int) and not isinstance(value, bool)
    if number:
        value = str(value)
    if not isinstance(value, str):
        raise FieldProblem(f"expected a 12-digit account id, got {show(value)}")
    text = value.strip()
    if not _ACCOUNT_ID.fullmatch(text):
        hint = "; quote it in YAML to keep leading zeros" if number else ""
        raise FieldProblem(
            f"{show(value)} is not an account id: expected 12 digits like 123456789012{hint}"
        )
    return text


def check_account_or_any(value: object) -> str:
    """An account id, or "*" for every account."""
    if isinstance(value, str) and value.strip() == "*":
        return "*"
    try:
        return check_account_id(value)
    except FieldProblem as exc:
        raise FieldProblem(
            exc.message.replace("expected 12 digits", 'expected 12 digits or "*"')
        ) from None


def check_ou_path(value: object) -> str:
    """An OU path like /root/workloads/prod: starts at /root, no empty segments, no trailing slash."""
    if not isinstance(value, str):
        raise FieldProblem(f"expected an OU path like /root/workloads/prod, got {show(value)}")
    text = value.strip()
    while len(text) > 1 and text.rstrip("/").strip() != text:  # "/root/a /" -> "/root/a"
        text = text.rstrip("/").strip()
    if text != "/root" and not text.startswith("/root/"):
        if text.startswith("root/") or text == "root":
            hint = f"; did you mean '/{text}'?"
        elif text.lower() == "/root" or text.lower().startswith("/root/"):
            hint = "; the first segment is lowercase /root"
        else:
            hint = " (e.g. /root/workloads/prod)"
        raise FieldProblem(f"{show(value)} is not an OU path: it must start with /root{hint}")
    segments = text.split("/")[1:]
    if any(not segment.strip() for segment in segments):
        raise FieldProblem(f"{show(value)} has an empty segment: write /root/a/b, without '//'")
    return text


def check_principal_arn_pattern(value: object) -> str:
    """An IAM principal ARN pattern: arn:aws:iam::<12 digits or *>:<resource>, wildcards allowed."""
    if not isinstance(value, str):
        raise FieldProblem(f"expected an IAM principal ARN pattern, got {show(value)}")
    text = value.strip()
    if not _PRINCIPAL_ARN.fullmatch(text):
        raise FieldProblem(
            f"{show(value)} is not an IAM principal ARN pattern: expected arn:aws:iam::<account id or *>:<resource>, e.g. arn:aws:iam::*:role/OrganizationAccountAccessRole"
        )
    return text


def check_text(value: object) -> str:
    """A non-empty string (YAML numbers and dates are not silently turned into text)."""
    if not isinstance(value, str):
        raise FieldProblem(f"expected a string, got {show(value)}; quote it in YAML")
    text = value.strip()
    if not text:
        raise FieldProblem("must not be empty")
    return text


def check_iso_date(value: object) -> date:
    """A calendar date: an unquoted YAML date or a string YYYY-MM-DD."""
    if isinstance(value, datetime):
        raise FieldProblem(
            f"expected a date like 2026-03-31, got a date and time {value.isoformat()}"
        )
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass  # not ISO: fall through to the FieldProblem below, which says what to write
    raise FieldProblem(f"expected a date like 2026-03-31, got {show(value)}")


def check_regex(value: object) -> re.Pattern[str]:
    """A Python regular expression, compiled now so a typo fails before any AWS call."""
    if isinstance(value, re.Pattern):
        return value
    if not isinstance(value, str) or not value:
        raise FieldProblem(f"expected a regular expression like ^[A-Z]+-[0-9]+$, got {show(value)}")
    try:
        compiled = re.compile(value)
    except re.error as exc:
        raise FieldProblem(f"{show(value)} is not a valid regular expression: {exc}") from None
    from rootctl.config.regex_safety import backtracking_problem

    problem = backtracking_problem(value)
    if problem is not None:
        raise FieldProblem(f"{show(value)} is refused: {problem}")
    return compiled


def check_bucket_pattern(value: object) -> str:
    """An S3 bucket name or fnmatch pattern (lowercase, digits, '.', '-', and * ? [ ])."""
    text = check_text(value)
    if not _BUCKET_PATTERN.fullmatch(text):
        raise FieldProblem(
            f"{show(value)} is not an S3 bucket name or pattern: use lowercase letters, digits, '.', '-' and the wildcards * ? [ ]"
        )
    return text


def check_queue_pattern(value: object) -> str:
    """An SQS queue name or fnmatch pattern (letters, digits, '-', '_', '.fifo', and * ? [ ])."""
    text = check_text(value)
    if not _QUEUE_PATTERN.fullmatch(text):
        raise FieldProblem(
            f"{show(value)} is not an SQS queue name or pattern: use letters, digits, '-', '_' and the wildcards * ? [ ] (the name, not the URL or ARN)"
        )
    return text


def check_unique(items: Sequence[T], what: str) -> Sequence[T]:
    """Reject a repeated item, pointing at its second occurrence."""
    first: dict[T, int] = {}
    for index, item in enumerate(items):
        if item in first:
            raise FieldProblem(
                f"{show(str(item))} is listed twice (also at [{first[item]}]); list each {what} once",
                (index,),
            )
        first[item] = index
    return items


def _usage(flag: str | None, exc: FieldProblem) -> UsageError:
    prefix = f"{flag}: " if flag else ""
    return UsageError(prefix + exc.message)


def parse_account_id(text: str, *, flag: str | None = None) -> str:
    """A CLI account id; raises UsageError naming `flag` (e.g. "--account") and the fix."""
    try:
        return check_account_id(text)
    except FieldProblem as exc:
        raise _usage(flag, exc) from None


def parse_account_ids(csv: str | Iterable[str], *, flag: str | None = None) -> list[str]:
    """Comma- or space-separated account ids (or several flag values): validated, de-duplicated, in order."""
    chunks = [csv] if isinstance(csv, str) else list(csv)
    items = [part for chunk in chunks for part in re.split(r"[,\s]+", chunk) if part]
    if not items:
        prefix = f"{flag}: " if flag else ""
        raise UsageError(f"{prefix}no account ids given: expected e.g. 111111111111,222222222222")
    result: list[str] = []
    for item in items:
        account = parse_account_id(item, flag=flag)
        if account not in result:
            result.append(account)
    return result


def parse_ou_path(text: str, *, flag: str | None = None) -> str:
    """A CLI OU path, normalised (trailing slash stripped); raises UsageError with the fix."""
    try:
        return check_ou_path(text)
    except FieldProblem as exc:
        raise _usage(flag, exc) from None
