"""What makes a saved plan safe to apply later: who made it, from what, when, and a digest.

A saved plan (`rootctl.plan/v1` written by `plan --out`, `rootctl.deletion-plan/v1`) is
applied only if, at apply time, the organization is the same one, the state read again
gives the same fingerprint, the config gives the same hash, the plan is younger than the
limit (24 h by default) and its digest matches its content. Every refusal is a
`StalePlanError`: one line, exit 2, nothing changed. The digest is not a signature (anyone
can recompute it); it catches an edited or truncated file with a clear message, and the
org apply additionally re-plans and requires the same changes, which no edit survives.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from rootctl.documents.base import Part, sha256_of, to_data
from rootctl.errors import UsageError

if TYPE_CHECKING:
    from pydantic import BaseModel

DEFAULT_MAX_AGE = timedelta(hours=24)
# A plan dated further ahead than this was not made by this clock: refuse it as well.
CLOCK_SKEW = timedelta(minutes=5)


class StalePlanError(UsageError):
    """A saved plan that must not be applied: changed world, other config, too old, edited."""


class SavedPlan(Protocol):
    """The fields every saved plan carries (the models declare them as pydantic fields)."""

    @property
    def organization_id(self) -> str: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def rootctl_version(self) -> str: ...
    @property
    def config_sha256(self) -> str: ...
    @property
    def digest(self) -> str: ...


def config_sha256(config: BaseModel, sections: tuple[str, ...]) -> str:
    """sha256 of the config sections a plan depends on, as validated values.

    Hashing the validated sections, not the file's bytes, means a comment, a reordering or a
    section the plan does not use does not invalidate a plan; any change of meaning does.
    """
    data = config.model_dump(mode="json")
    return sha256_of({name: data.get(name) for name in sections})


def content_digest(document: Part) -> str:
    """sha256 of the document's canonical JSON without its `digest` field."""
    data = to_data(document)
    data.pop("digest", None)
    return sha256_of(data)


def sealed(document: Any) -> Any:
    """The document with its `digest` set (call last, after every other field is final)."""
    return document.model_copy(update={"digest": content_digest(document)})


def check_saved_plan(
    plan: SavedPlan,
    *,
    organization_id: str,
    config_sha256: str,
    now: datetime | None = None,
    max_age: timedelta = DEFAULT_MAX_AGE,
    source: str = "plan",
) -> None:
    """Refuse (StalePlanError) a plan that is edited, of another org or config, or too old."""
    from rootctl import __version__

    if content_digest(plan) != plan.digest:  # type: ignore[arg-type]
        raise StalePlanError(
            f"{source}: the file was edited after it was saved (digest mismatch): make a new plan"
        )
    if plan.rootctl_version != __version__:
        raise StalePlanError(
            f"{source}: made by rootctl {plan.rootctl_version}, this is {__version__}: make a new plan"
        )
    if plan.organization_id != organization_id:
        raise StalePlanError(
            f"{source}: made for organization {plan.organization_id}, the credentials reach "
            f"{organization_id}: nothing applied"
        )
    moment = now or datetime.now(UTC)
    age = moment - plan.created_at
    if age > max_age:
        raise StalePlanError(
            f"{source}: made {_hours(age)} ago, older than the limit of {_hours(max_age)} "
            "(--max-age): make a new plan"
        )
    if age < -CLOCK_SKEW:
        raise StalePlanError(f"{source}: dated {plan.created_at:%Y-%m-%dT%H:%M:%SZ}, in the future")
    if plan.config_sha256 != config_sha256:
        raise StalePlanError(
            f"{source}: the configuration changed since the plan was made: make a new plan"
        )


def parse_max_age(text: str) -> timedelta:
    """`--max-age 24h` / `90m` / `2d` -> timedelta; UsageError otherwise."""
    units = {"m": 60, "h": 3600, "d": 86400}
    value, unit = text[:-1].strip(), text[-1:].lower()
    if unit not in units or not value.isdigit() or int(value) == 0 or len(value) > 6:
        raise UsageError(f"--max-age {text!r}: use a positive number with m, h or d, e.g. 24h")
    return timedelta(seconds=int(value) * units[unit])


def _hours(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds % 3600 == 0:
        return f"{seconds // 3600} h"
    return f"{seconds / 3600:.1f} h" if seconds >= 3600 else f"{max(1, seconds // 60)} min"
