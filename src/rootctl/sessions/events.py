"""CloudTrail timeline of root sessions: who opened which session, and what it did.

AWS's documented procedure (IAM User Guide, "Track privileged tasks in CloudTrail"): find
the AssumeRoot events in the caller's account, take each session's access key id from
`responseElements.credentials.accessKeyId`, then search the target account's CloudTrail
for that key. AssumeRoot task policies do not allow CloudTrail, so the member account is
read through a role there (`OrganizationAccountAccessRole` by default). A session whose
key no journal entry mentions was started outside rootctl and is flagged, unless it is
most probably a rootctl call whose answer was lost (`probable_retries`): AWS opened the
session, the answer never arrived, botocore asked again and rootctl journaled the second
session, so the trail holds a session rootctl never received.

CloudTrail's event history is regional: an AssumeRoot is recorded in the region of the STS
endpoint that answered it, IAM (a global service) records its events in us-east-1 (the
partition's IAM region), S3 and SQS in the resource's region. So every region in
`regions` is read, in the caller's account and in each member account.

Session tokens never leave this module: every event is scrubbed as it is parsed, and only
chosen fields are kept.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from rootctl.aws.retry import BOTOCORE_MAX_ATTEMPTS
from rootctl.errors import UsageError, error_code
from rootctl.journal import scrub_value
from rootctl.tasks import TASK_POLICY_ARN_PREFIX

if TYPE_CHECKING:
    from mypy_boto3_cloudtrail import CloudTrailClient
    from mypy_boto3_cloudtrail.type_defs import LookupAttributeTypeDef

    from rootctl.aws import Credentials, SessionFactory
    from rootctl.journal import Journal

DEFAULT_MEMBER_ROLE = "OrganizationAccountAccessRole"
# Member-account events are searched from a little before the AssumeRoot event: clocks of
# different services are not perfectly aligned.
CLOCK_SKEW = timedelta(minutes=5)
# A session rootctl never received is taken for a retried rootctl call only when its
# AssumeRoot event is at most this long before the journaled session of the same caller,
# account, task and region. One rootctl AssumeRoot call is one botocore call of up to
# BOTOCORE_MAX_ATTEMPTS retries. A lost answer (an error answer or a closed connection)
# arrives at once, and botocore sleeps rand * min(0.05 * 2**i, 20) s before retry i after
# an error (botocore 1.44; rand * min(2**i, 20) s in the older releases rootctl accepts):
# at most 45.6 s for all ten retries (31 s for the first five with older botocore). 60 s
# covers that plus the round trips and CloudTrail's one-second resolution, or one lost
# answer that waited out the 30 s read timeout. Longer chains (throttled retries in
# between, several read timeouts) stay flagged: a false alarm, never a hidden session.
RETRY_WINDOW = timedelta(seconds=60)
# Each retry can follow one lost answer, so one call leaves at most this many sessions
# rootctl never received before the one it journals.
MAX_LOST_PER_CALL = BOTOCORE_MAX_ATTEMPTS
_SINCE = re.compile(r"^(\d+)([mhdw])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_TARGET = re.compile(r"(\d{12})")
PERMISSIONS = ("cloudtrail:LookupEvents", "sts:AssumeRole")


def parse_since(text: str, now: datetime | None = None) -> datetime:
    """`7d`, `12h`, `30m`, `2w`, or an ISO date/time (UTC unless it says otherwise)."""
    moment = now or datetime.now(UTC)
    value = text.strip()
    match = _SINCE.fullmatch(value)
    if match:
        return moment - timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(
            f"--since {text!r}: use a duration such as 7d, 12h, 30m, 2w or an ISO date "
            "such as 2026-11-01"
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def scrub_event(event: dict[str, Any]) -> dict[str, Any]:
    """The event without session credentials (AWS's example logs the session token)."""
    credentials = (event.get("responseElements") or {}).get("credentials")
    if isinstance(credentials, dict):
        for secret in ("sessionToken", "secretAccessKey"):
            credentials.pop(secret, None)
    scrubbed: dict[str, Any] = scrub_value(event)
    return scrubbed


@dataclass(frozen=True)
class SessionEvent:
    """One AssumeRoot call in the caller's account."""

    time: datetime
    account_id: str
    task: str
    access_key_id: str | None
    caller: str
    region: str
    error: str | None = None
    in_journal: bool = False
    # The journaled session this one most probably preceded as a lost answer
    # (`probable_retries`): set only for a session the journal does not know.
    retry_of: str | None = None

    @property
    def started_outside_rootctl(self) -> bool:
        """A session rootctl did not open: not journaled, and not a probable lost answer."""
        return self.access_key_id is not None and not self.in_journal and self.retry_of is None


@dataclass(frozen=True)
class ActionEvent:
    """One call made with a root session, from the member account's CloudTrail."""

    time: datetime
    account_id: str
    access_key_id: str
    source: str
    name: str
    region: str
    resources: tuple[str, ...]
    request: dict[str, Any]
    error: str | None = None


@dataclass
class Timeline:
    """Sessions and their actions, and the accounts whose trail could not be read."""

    sessions: list[SessionEvent] = field(default_factory=list)
    actions: list[ActionEvent] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)

    def items(self) -> list[SessionEvent | ActionEvent]:
        """Everything in time order (CloudTrail has one-second resolution): within a second,
        items of the earlier session first, and a session before its own actions."""
        ordered = sorted(self.sessions, key=lambda s: s.time)
        rank = {s.access_key_id: index for index, s in enumerate(ordered)}
        merged: list[SessionEvent | ActionEvent] = [*ordered, *self.actions]
        return sorted(
            merged,
            key=lambda i: (i.time, rank.get(i.access_key_id, -1), isinstance(i, ActionEvent)),
        )

    def actions_of(self, access_key_id: str) -> list[ActionEvent]:
        return [a for a in self.actions if a.access_key_id == access_key_id]


def lookup(
    client: CloudTrailClient, attribute: LookupAttributeTypeDef, start: datetime
) -> Iterator[dict[str, Any]]:
    """Every event matching `attribute` since `start`, parsed and scrubbed."""
    paginator = client.get_paginator("lookup_events")
    for page in paginator.paginate(LookupAttributes=[attribute], StartTime=start):
        for item in page.get("Events", []):
            raw = item.get("CloudTrailEvent")
            if raw:
                yield scrub_event(json.loads(raw))


def session_event(event: dict[str, Any], known_keys: set[str]) -> SessionEvent | None:
    """An AssumeRoot event as a SessionEvent (None if it names no target account)."""
    params = event.get("requestParameters") or {}
    match = _TARGET.search(str(params.get("targetPrincipal", "")))
    if match is None:
        return None
    task_arn = str((params.get("taskPolicyArn") or {}).get("arn", ""))
    credentials = (event.get("responseElements") or {}).get("credentials") or {}
    key = credentials.get("accessKeyId")
    return SessionEvent(
        time=_time(event),
        account_id=match.group(1),
        task=task_arn.removeprefix(TASK_POLICY_ARN_PREFIX),
        access_key_id=str(key) if key else None,
        caller=str((event.get("userIdentity") or {}).get("arn", "")),
        region=str(event.get("awsRegion", "")),
        error=event.get("errorCode"),
        in_journal=bool(key) and str(key) in known_keys,
    )


def action_event(event: dict[str, Any], account_id: str, key: str) -> ActionEvent:
    return ActionEvent(
        time=_time(event),
        account_id=account_id,
        access_key_id=key,
        source=str(event.get("eventSource", "")).removesuffix(".amazonaws.com"),
        name=str(event.get("eventName", "")),
        region=str(event.get("awsRegion", "")),
        resources=tuple(str(r.get("ARN")) for r in event.get("resources") or [] if r.get("ARN")),
        request=dict(event.get("requestParameters") or {}),
        error=event.get("errorCode"),
    )


def _time(event: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(str(event["eventTime"]).replace("Z", "+00:00"))


def journaled_key_ids(journal: Journal) -> set[str]:
    """Every session access key id the journal mentions, whichever command journaled it.

    Our commands put it in `after["access_key_id"]` of an assume-root entry; other commands
    may put it in `target` or elsewhere in `after`, so every string there is collected.
    """
    keys: set[str] = set()
    for entry in journal.list():
        if entry.target:
            keys.add(entry.target)
        keys.update(_strings(entry.after))
    return keys


def _strings(value: Any) -> set[str]:
    if isinstance(value, str):
        return {value}
    if isinstance(value, dict):
        return set().union(*(_strings(v) for v in value.values())) if value else set()
    if isinstance(value, list):
        return set().union(*(_strings(v) for v in value)) if value else set()
    return set()


def default_regions(region: str) -> tuple[str, ...]:
    """The configured region, plus the partition's IAM region where IAM records its events."""
    if region.startswith("cn-"):
        iam_region = "cn-north-1"
    elif region.startswith("us-gov-"):
        iam_region = "us-gov-west-1"
    else:
        iam_region = "us-east-1"
    return tuple(dict.fromkeys((region, iam_region)))


def build_timeline(
    factory: SessionFactory,
    known_keys: set[str],
    since: datetime,
    account_id: str | None = None,
    member_role: str = DEFAULT_MEMBER_ROLE,
    regions: Iterable[str] | None = None,
) -> Timeline:
    """AssumeRoot events of the caller's account, then each session's actions, per region.

    `regions` defaults to `default_regions(factory.region)`.
    """
    timeline = Timeline()
    where = tuple(dict.fromkeys(regions)) if regions else default_regions(factory.region)
    attribute: LookupAttributeTypeDef = {
        "AttributeKey": "EventName",
        "AttributeValue": "AssumeRoot",
    }
    seen: set[str] = set()
    for region in where:
        for event in lookup(factory.client("cloudtrail", region=region), attribute, since):
            session = session_event(event, known_keys)
            if session is None or account_id not in (None, session.account_id):
                continue
            if session.access_key_id is not None:
                if session.access_key_id in seen:
                    continue  # the same event delivered to two regions' history
                seen.add(session.access_key_id)
            timeline.sessions.append(session)
    for account in sorted({s.account_id for s in timeline.sessions if s.access_key_id}):
        sessions = [s for s in timeline.sessions if s.account_id == account and s.access_key_id]
        try:
            credentials = _member_credentials(factory, account, member_role)
        except (ClientError, BotoCoreError) as exc:
            timeline.errors[account] = _role_refused(account, member_role, exc)
            continue
        try:
            for region in where:
                member_trail = factory.client("cloudtrail", credentials=credentials, region=region)
                for session in sessions:
                    timeline.actions.extend(_actions(member_trail, account, session))
        except (ClientError, BotoCoreError) as exc:
            timeline.errors[account] = (
                f"cannot read CloudTrail in {account} through role {member_role}: "
                f"{error_code(exc)}: {_message(exc)}"
            )
    retries = probable_retries(timeline.sessions, timeline.actions, set(timeline.errors))
    timeline.sessions = [
        replace(s, retry_of=retries[s.access_key_id]) if s.access_key_id in retries else s
        for s in timeline.sessions
    ]
    return timeline


def probable_retries(
    sessions: Iterable[SessionEvent],
    actions: Iterable[ActionEvent],
    unread_accounts: set[str],
) -> dict[str, str]:
    """Sessions rootctl most probably opened without receiving them: key -> journaled key.

    A lost AssumeRoot answer leaves a session nobody holds; botocore's retry opens the
    session rootctl journals. An unjournaled session is taken for one only when all hold:
    the same caller ARN, target account, task and region as a journaled session; its event
    at most RETRY_WINDOW before that session's (the first journaled one at or after it);
    among the MAX_LOST_PER_CALL closest such sessions; and no call made with its key in
    the member account's trail. A key with any call, or in an account whose trail could
    not be read, is never taken for one, whatever the timing: it stays "outside".
    """
    used = {action.access_key_id for action in actions}
    groups: dict[tuple[str, str, str, str], list[SessionEvent]] = defaultdict(list)
    for session in sessions:
        if session.access_key_id and session.caller and not session.error:
            groups[(session.caller, session.account_id, session.task, session.region)].append(
                session
            )
    found: dict[str, str] = {}
    for group in groups.values():
        journaled = sorted((s for s in group if s.in_journal), key=lambda s: s.time)
        preceding: dict[str, list[SessionEvent]] = defaultdict(list)
        for session in group:
            if (
                session.in_journal
                or session.access_key_id in used
                or session.account_id in unread_accounts
            ):
                continue
            after = next((j for j in journaled if j.time >= session.time), None)
            if after is not None and after.time - session.time <= RETRY_WINDOW:
                assert after.access_key_id is not None
                preceding[after.access_key_id].append(session)
        for key, lost in preceding.items():
            closest = sorted(lost, key=lambda s: s.time, reverse=True)[:MAX_LOST_PER_CALL]
            found.update((str(s.access_key_id), key) for s in closest)
    return found


def _role_refused(account_id: str, role: str, exc: ClientError | BotoCoreError) -> str:
    """One line that says what failed and what to fix (a missing role is the usual cause)."""
    code = error_code(exc)
    line = f"cannot read CloudTrail in {account_id}: role {role} cannot be assumed there ({code}: {_message(exc)})"
    if code in ("AccessDenied", "AccessDeniedException"):
        line += (
            "; the role must exist in that account and trust your identity, "
            "or pass --member-role with a role that does"
        )
    return line


def _message(exc: ClientError | BotoCoreError) -> str:
    """AWS's message without botocore's "An error occurred (X) when calling Y" prefix."""
    if isinstance(exc, ClientError):
        message = exc.response.get("Error", {}).get("Message")
        if message:
            return str(message)
    return str(exc)


def _member_credentials(factory: SessionFactory, account_id: str, role: str) -> Credentials:
    from rootctl.aws import Credentials

    response = factory.client("sts").assume_role(
        RoleArn=f"arn:aws:iam::{account_id}:role/{role}", RoleSessionName="rootctl-events"
    )
    return Credentials.from_response(response["Credentials"])


def _actions(client: CloudTrailClient, account_id: str, session: SessionEvent) -> list[ActionEvent]:
    assert session.access_key_id is not None
    key = session.access_key_id
    attribute: LookupAttributeTypeDef = {"AttributeKey": "AccessKeyId", "AttributeValue": key}
    return [
        action_event(event, account_id, key)
        for event in lookup(client, attribute, session.time - CLOCK_SKEW)
    ]
