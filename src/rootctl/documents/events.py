"""`rootctl.events/v1`: the CloudTrail timeline of root sessions and their actions."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Final, Literal

from pydantic import Field

from rootctl.documents.base import Document, Part, Timestamp

if TYPE_CHECKING:
    from rootctl.sessions.events import ActionEvent, SessionEvent, Timeline

EVENTS_SCHEMA: Final = "rootctl.events/v1"


class SessionItem(Part):
    type: Literal["session"] = "session"
    time: Timestamp
    account_id: str
    task: str
    access_key_id: str | None
    caller: str
    region: str
    error: str | None
    started_outside_rootctl: bool
    probable_retry_of: str | None


class ActionItem(Part):
    type: Literal["action"] = "action"
    time: Timestamp
    account_id: str
    access_key_id: str
    event: str
    region: str
    resources: list[str]
    request_parameters: dict[str, Any]
    error: str | None


class EventsDocument(Document):
    schema_id: Literal["rootctl.events/v1"] = Field(default=EVENTS_SCHEMA, alias="schema")
    timeline: list[Annotated[SessionItem | ActionItem, Field(discriminator="type")]]
    errors: dict[str, str]


def _session(s: SessionEvent) -> SessionItem:
    return SessionItem(
        time=s.time,
        account_id=s.account_id,
        task=s.task,
        access_key_id=s.access_key_id,
        caller=s.caller,
        region=s.region,
        error=s.error,
        started_outside_rootctl=s.started_outside_rootctl,
        probable_retry_of=s.retry_of,
    )


def _action(a: ActionEvent) -> ActionItem:
    return ActionItem(
        time=a.time,
        account_id=a.account_id,
        access_key_id=a.access_key_id,
        event=f"{a.source}:{a.name}",
        region=a.region,
        resources=list(a.resources),
        request_parameters=a.request,
        error=a.error,
    )


def events_document(timeline: Timeline) -> EventsDocument:
    """The rootctl.events/v1 document of a timeline (what `events --output json` prints)."""
    from rootctl.sessions.events import SessionEvent

    return EventsDocument(
        timeline=[
            _session(i) if isinstance(i, SessionEvent) else _action(i) for i in timeline.items()
        ],
        errors=dict(timeline.errors),
    )
