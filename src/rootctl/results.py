"""Per-account results: every per-account operation returns one of these instead of raising.

The run goes on after a failed account; the caller turns the set of outcomes into an exit code.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

Outcome = Literal["ok", "error", "skipped"]


def iso(value: datetime | None) -> str | None:
    """UTC ISO 8601 with a Z suffix (None stays None)."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class ErrorInfo:
    """An error of one account: the AWS error code (or exception name) and a message."""

    code: str
    message: str

    @classmethod
    def from_exception(cls, exc: BaseException) -> ErrorInfo:
        from rootctl.errors import error_code

        response = getattr(exc, "response", None)
        message = str(exc)
        if isinstance(response, dict):
            message = str(response.get("Error", {}).get("Message") or message)
        return cls(code=error_code(exc), message=message)


@dataclass(frozen=True)
class Account:
    """A member (or management) account of the organization, with its OU path (/root/a/b)."""

    id: str
    name: str
    email: str = ""
    status: str = "ACTIVE"
    ou_path: str = "/root"
    joined_method: str = "CREATED"
