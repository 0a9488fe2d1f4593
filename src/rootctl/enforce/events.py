"""EventBridge events `rootctl enforce --event` accepts, parsed before any AWS call.

Three shapes, as EventBridge delivers them (the envelope: `version`, `id`, `detail-type`,
`source`, `account`, `time`, `region`, `resources`, `detail`):

- the scheduled event: `source` aws.events, `detail-type` "Scheduled Event": a full pass;
- `AccountJoinedOrganization` (source aws.organizations, the CloudTrail record in `detail`):
  `detail.serviceEventDetails` carries `accountId`, `joinedMethod` (Created or Invited) and
  `joinedTime`: the pass is narrowed to that account;
- `CreateAccountResult`: `detail.serviceEventDetails.createAccountStatus` with `accountId`
  and `state`: SUCCEEDED narrows the pass to the new account; any other state has no
  account to check (nothing to do).

Organizations records both as AWS service events (detail-type "AWS Service Event via
CloudTrail"); "AWS API Call via CloudTrail" is accepted too, so a rule written for either
works. Anything else is refused as bad input (exit 2): a Lambda wired to the wrong rule
must fail loudly, not enforce over the whole organization.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Literal

from rootctl.errors import UsageError

ORGANIZATIONS = "aws.organizations"
SCHEDULER = "aws.events"
SCHEDULED = "Scheduled Event"
CLOUDTRAIL_DETAIL_TYPES = ("AWS Service Event via CloudTrail", "AWS API Call via CloudTrail")
JOINED = "AccountJoinedOrganization"
CREATED = "CreateAccountResult"
MAX_EVENT_BYTES = 256 * 1024  # EventBridge's own maximum event size
_ACCOUNT_ID = re.compile(r"[0-9]{12}")

EventKind = Literal["scheduled", "joined", "created", "ignored"]


@dataclass(frozen=True)
class EventScope:
    """What an event asks of the pass: everything (scheduled), one account, or nothing."""

    kind: EventKind
    event_id: str | None = None
    event_name: str | None = None
    account_id: str | None = None
    joined_method: str | None = None
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "event_id": self.event_id,
            "event_name": self.event_name,
            "account_id": self.account_id,
            "joined_method": self.joined_method,
        }


def parse_event_text(text: str | bytes) -> EventScope:
    """The event from a file's or stdin's bytes: JSON, at most 256 KiB, one object."""
    if len(text) > MAX_EVENT_BYTES:
        raise UsageError(f"--event: over {MAX_EVENT_BYTES} bytes; an EventBridge event is smaller")
    try:
        data = json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise UsageError(f"--event: not JSON ({_first_line(exc)})") from None
    return parse_event(data)


def parse_event(data: object) -> EventScope:
    """The scope of one EventBridge event; UsageError (one line) for any other input."""
    if not isinstance(data, dict):
        raise UsageError("--event: expected a JSON object (an EventBridge event)")
    source, detail_type = data.get("source"), data.get("detail-type")
    event_id = data.get("id") if isinstance(data.get("id"), str) else None
    if source == SCHEDULER and detail_type == SCHEDULED:
        return EventScope("scheduled", event_id)
    if source != ORGANIZATIONS or detail_type not in CLOUDTRAIL_DETAIL_TYPES:
        raise UsageError(
            f"--event: source {_show(source)} with detail-type {_show(detail_type)} is not an "
            f"event rootctl enforce handles: {ORGANIZATIONS} CloudTrail events ({JOINED}, "
            f"{CREATED}) or the {SCHEDULER} scheduled event"
        )
    detail = data.get("detail")
    if not isinstance(detail, dict):
        raise UsageError("--event: detail is missing or not an object")
    name = detail.get("eventName")
    details = detail.get("serviceEventDetails")
    if name == JOINED:
        return _joined(event_id, details)
    if name == CREATED:
        return _created(event_id, details)
    raise UsageError(
        f"--event: eventName {_show(name)} is not handled; expected {JOINED} or {CREATED}"
    )


def _joined(event_id: str | None, details: object) -> EventScope:
    if not isinstance(details, dict):
        raise UsageError(f"--event: {JOINED} without serviceEventDetails")
    account = _account_id(details.get("accountId"), f"{JOINED} serviceEventDetails.accountId")
    method = details.get("joinedMethod")
    if method not in ("Created", "Invited"):
        raise UsageError(
            f"--event: {JOINED} joinedMethod {_show(method)} is not Created or Invited"
        )
    return EventScope("joined", event_id, JOINED, account, str(method))


def _created(event_id: str | None, details: object) -> EventScope:
    status = details.get("createAccountStatus") if isinstance(details, dict) else None
    if not isinstance(status, dict):
        raise UsageError(f"--event: {CREATED} without serviceEventDetails.createAccountStatus")
    state = status.get("state")
    if state != "SUCCEEDED":
        if not isinstance(state, str) or state not in ("FAILED", "IN_PROGRESS"):
            raise UsageError(
                f"--event: {CREATED} state {_show(state)} is not a CreateAccount state"
            )
        return EventScope(
            "ignored", event_id, CREATED, note=f"{CREATED} {state}: no account to enforce on"
        )
    account = _account_id(status.get("accountId"), f"{CREATED} createAccountStatus.accountId")
    return EventScope("created", event_id, CREATED, account, "Created")


def _account_id(value: object, where: str) -> str:
    if isinstance(value, str) and _ACCOUNT_ID.fullmatch(value):
        return value
    raise UsageError(f"--event: {where} is {_show(value)}, not a 12-digit account id")


def _show(value: object) -> str:
    if value is None:
        return "(missing)"
    text = repr(value) if isinstance(value, str) else type(value).__name__
    return text if len(text) <= 60 else text[:57] + "..."


def _first_line(exc: Exception) -> str:
    return str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
