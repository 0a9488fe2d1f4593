"""Root-usage watch: real root use and unexpected root sessions, from CloudTrail, once each.

After centralizing root, `userIdentity.type = "Root"` fires on every legitimate AssumeRoot
session, so the CIS-style alarm is muted and a real root sign-in goes unseen. The watch
tells them apart:

- in each member account's history (read through the member role, as `rootctl events`
  does), an event with `userIdentity.type` Root and no `sessionContext.assumedRoot`: a
  console sign-in (`root-sign-in`) or a call signed with root credentials
  (`root-credentials-used`);
- in the caller's history, AssumeRoot sessions (`rootctl.sessions.events.build_timeline`):
  a caller outside `root_sessions.allowed_callers` (`assume-root-caller`, only when the list
  is set), a task outside `allowed_tasks` (`assume-root-task`), a session rootctl did not
  open (`root-session-outside-rootctl`, what `events` flags).

The cursor: each run journals a `watch-cursor` entry (the end of the window it read and the
ids of the events of its last 15 minutes). The next run starts 15 minutes before that end,
because CloudTrail's event history can deliver an event up to about 15 minutes after it
happened, and skips the ids it already reported: each event is reported once, late ones
are not lost.

Finding the cursor does not read the whole journal (issue 15): the latest cursor entry is
the newest one, so the read goes from the head down and stops at the first cursor entry it
meets (usually among the entries of the previous pass), or at the newest enforcement
checkpoint, which carries the latest cursor as of the entry it summarises (`cursor` in
rootctl.enforce.checkpoint; null: none up to there), whichever comes first. What was read
is verified from its lowest entry to the journal's head record before the cursor is used.
Only a journal with neither (no watch yet, no checkpoint) is read whole, as before.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from rootctl.enforce.report import EnforcementReport, Finding
from rootctl.org.selection import SelectionSpec
from rootctl.results import iso
from rootctl.tasks import Task

if TYPE_CHECKING:
    from rootctl.api import Rootctl
    from rootctl.aws import Credentials, SessionFactory
    from rootctl.enforce.checkpoint import Checkpoint
    from rootctl.journal import Journal, StoredEntry
    from rootctl.sessions.events import SessionEvent

CURSOR_ACTION = "watch-cursor"
DELIVERY_LAG = timedelta(minutes=15)
ROLE_SESSION = "rootctl-watch"
# Besides the organization listing (rootctl.org.accounts) and AssumeRoot's CloudTrail
# reads (rootctl.sessions.events): member trails through the member role.
PERMISSIONS = ("cloudtrail:LookupEvents", "sts:AssumeRole")


@dataclass(frozen=True)
class Cursor:
    until: datetime
    recent: frozenset[str]
    entry_id: int = 0  # the `watch-cursor` entry it was read from


@dataclass
class WatchResult:
    """What one watch read (its window, the accounts) and found."""

    start: datetime
    until: datetime
    accounts: int = 0
    events: int = 0
    findings: list[Finding] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    seen: dict[str, datetime] = field(default_factory=dict)  # event/session id -> time

    def to_dict(self) -> dict[str, Any]:
        return {
            "start": iso(self.start),
            "until": iso(self.until),
            "accounts": self.accounts,
            "events": self.events,
            "errors": dict(sorted(self.errors.items())),
        }


def last_cursor(journal: Journal) -> Cursor | None:
    """The latest `watch-cursor` entry of the verified journal (None: the first run), read
    from the head down to it or to the newest checkpoint (the module's docstring)."""
    from rootctl.enforce.checkpoint import read_since_checkpoint

    if not journal.path.exists():
        return None
    since = read_since_checkpoint(journal, stop=lambda entry: cursor_of(entry) is not None)
    return cursor_after(since.checkpoint, since.entries)


def cursor_of(entry: StoredEntry) -> Cursor | None:
    """The cursor a `watch-cursor` entry holds (None: another entry, or not one rootctl reads)."""
    if entry.action != CURSOR_ACTION or entry.outcome != "ok":
        return None
    after = entry.after if isinstance(entry.after, dict) else {}
    until = _parse(after.get("until"))
    recent = after.get("recent")
    if until is None or not isinstance(recent, list):
        return None
    return Cursor(until, frozenset(str(r) for r in recent), entry.id)


def cursor_after(checkpoint: Checkpoint | None, entries: Iterable[StoredEntry]) -> Cursor | None:
    """The checkpoint's cursor, replaced by each cursor entry after it (id order)."""
    latest = cursor_from_checkpoint(checkpoint.cursor) if checkpoint is not None else None
    for entry in entries:
        latest = cursor_of(entry) or latest
    return latest


def cursor_checkpoint(cursor: Cursor | None) -> dict[str, Any] | None:
    """The `cursor` part of a checkpoint."""
    if cursor is None:
        return None
    return {
        "entry_id": cursor.entry_id,
        "until": iso(cursor.until),
        "recent": sorted(cursor.recent),
    }


def cursor_from_checkpoint(raw: object) -> Cursor | None:
    """The cursor a checkpoint carries (ValueError: not a shape rootctl writes)."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise ValueError("cursor")
    entry_id, until, recent = raw.get("entry_id"), _parse(raw.get("until")), raw.get("recent")
    if (
        isinstance(entry_id, bool)
        or not isinstance(entry_id, int)
        or until is None
        or not isinstance(recent, list)
        or not all(isinstance(r, str) for r in recent)
    ):
        raise ValueError("cursor")
    return Cursor(until, frozenset(recent), entry_id)


def watch(
    rc: Rootctl,
    selection: SelectionSpec | None,
    *,
    since: datetime,
    now: datetime,
    regions: Sequence[str] | None = None,
    member_role: str | None = None,
) -> tuple[WatchResult, Cursor | None]:
    """Read the window from max(since, cursor - 15 min) to now; the findings not yet reported."""
    from rootctl.sessions.events import DEFAULT_MEMBER_ROLE, default_regions

    cursor = last_cursor(rc.journal)
    start = since if cursor is None else max(since, cursor.until - DELIVERY_LAG)
    result = WatchResult(start=min(start, now), until=now)
    where = tuple(dict.fromkeys(regions)) if regions else default_regions(rc.factory.region)
    role = member_role or DEFAULT_MEMBER_ROLE
    skip = cursor.recent if cursor is not None else frozenset()
    _sessions(rc, result, where, role, skip)
    targets = rc.run("watch").select(selection or SelectionSpec()).targets
    result.accounts = len(targets)
    usages = read_member_trails(
        rc.factory, [a.id for a in targets], result.start, result.until, where, role, rc.concurrency
    )
    for usage in usages:  # the accounts' order, whatever order their reads finished in
        _merge_usage(result, usage, skip)
    return result, cursor


def record_cursor(recorder: Any, result: WatchResult) -> None:
    """Journal where this watch stopped (never on a dry run: the window would be lost)."""
    recent = sorted(k for k, t in result.seen.items() if t >= result.until - DELIVERY_LAG)
    recorder.append(
        CURSOR_ACTION,
        "ok",
        after={
            "start": iso(result.start),
            "until": iso(result.until),
            "recent": recent,
            "findings": [f.id for f in result.findings],
        },
    )


def _sessions(
    rc: Rootctl, result: WatchResult, where: tuple[str, ...], role: str, skip: frozenset[str]
) -> None:
    from rootctl.sessions.events import build_timeline, journaled_key_ids

    known = journaled_key_ids(rc.journal) if rc.journal.path.exists() else set()
    timeline = build_timeline(rc.factory, known, result.start, None, role, where)
    result.errors.update(timeline.errors)
    rules = rc.config.root_sessions
    for session in timeline.sessions:
        key = session.access_key_id
        if key is None or session.time > result.until:
            continue  # a refused AssumeRoot opened nothing
        result.events += 1
        result.seen[key] = session.time
        if key not in skip:
            result.findings.extend(session_findings(session, rules))


def session_findings(session: SessionEvent, rules: Any) -> list[Finding]:
    """The findings one AssumeRoot session raises against `root_sessions`."""
    found: list[Finding] = []
    detail = {
        "caller": session.caller,
        "task": session.task,
        "time": iso(session.time),
        "region": session.region,
        "access_key_id": session.access_key_id,
    }
    account, key = session.account_id, session.access_key_id
    if rules.allowed_callers and not rules.caller_allowed(session.caller):
        found.append(
            Finding(
                "assume-root-caller",
                account,
                f"AssumeRoot into {account} by {session.caller}, not in allowed_callers",
                detail,
                key=key,
            )
        )
    task = Task.from_arn(f"arn:aws:iam::aws:policy/root-task/{session.task}")
    if task is None or not rules.allows(task):
        found.append(
            Finding(
                "assume-root-task",
                account,
                f"AssumeRoot into {account} for task {session.task}, not in allowed_tasks",
                detail,
                key=key,
            )
        )
    if session.started_outside_rootctl:
        found.append(
            Finding(
                "root-session-outside-rootctl",
                account,
                f"root session into {account} by {session.caller} that rootctl did not open",
                detail,
                severity="MEDIUM",
                key=key,
            )
        )
    return found


@dataclass
class AccountUsage:
    """What one member account's trails held: real root use, or why they could not be read."""

    account_id: str
    found: list[tuple[Finding, datetime]] = field(default_factory=list)
    error: str | None = None
    endpoint_down: bool = False


def read_member_trails(
    factory: SessionFactory,
    account_ids: Sequence[str],
    start: datetime,
    until: datetime,
    where: tuple[str, ...],
    role: str,
    concurrency: int,
) -> list[AccountUsage]:
    """Every account's trails on the fan-out (bounded concurrency), one value per account in
    the order given: an account that cannot be read is an error value, never an abort.

    Throttling: each client retries it (botocore's adaptive mode), and AssumeRole into the
    member role, the call every account starts with, backs off on top (`call_with_backoff`).
    A run whose endpoint is down stops after `2 x concurrency` accounts in a row could not
    reach it (`RunGate`): the others are "not attempted", as in audit.
    """
    from rootctl.fanout import RunGate, run_over_accounts

    gate: RunGate[AccountUsage] = RunGate.for_concurrency(
        concurrency, lambda usage: usage.endpoint_down
    )
    return run_over_accounts(
        list(account_ids),
        lambda account_id: _root_usage(factory, account_id, start, until, where, role),
        on_exception=lambda account_id, exc: _failed_usage(account_id, role, exc),
        concurrency=concurrency,
        gate=gate,
        on_not_started=lambda account_id, why: AccountUsage(
            account_id, error=f"cannot read CloudTrail in {account_id}: not attempted: {why}"
        ),
    )


def _root_usage(
    factory: SessionFactory,
    account_id: str,
    start: datetime,
    until: datetime,
    where: tuple[str, ...],
    role: str,
) -> AccountUsage:
    from botocore.exceptions import BotoCoreError, ClientError

    usage = AccountUsage(account_id)
    seen: set[str] = set()
    try:
        credentials = _member_credentials(factory, account_id, role)
        for region in where:
            trail = factory.client("cloudtrail", credentials=credentials, region=region)
            for event in _root_events(trail, start, until):
                finding = usage_finding(event, account_id)
                if finding is None or finding.key is None or finding.key in seen:
                    continue
                seen.add(finding.key)
                usage.found.append((finding, _time(event)))
    except (ClientError, BotoCoreError) as exc:
        return _failed_usage(account_id, role, exc)
    return usage


def _failed_usage(account_id: str, role: str, exc: BaseException) -> AccountUsage:
    from rootctl.credentials.audit import endpoint_failed
    from rootctl.errors import RootctlError, error_code
    from rootctl.results import ErrorInfo

    if isinstance(exc, RootctlError):
        raise exc  # the operator's problem (rejected credentials), not this account's
    return AccountUsage(
        account_id,
        error=f"cannot read CloudTrail in {account_id} through role {role}: {error_code(exc)}",
        endpoint_down=endpoint_failed(ErrorInfo.from_exception(exc)),
    )


def _merge_usage(result: WatchResult, usage: AccountUsage, skip: frozenset[str]) -> None:
    if usage.error is not None:
        result.errors[usage.account_id] = usage.error
        return
    for finding, when in usage.found:
        assert finding.key is not None
        if finding.key in result.seen:
            continue
        result.events += 1
        result.seen[finding.key] = when
        if finding.key not in skip:
            result.findings.append(finding)


def usage_finding(event: dict[str, Any], account_id: str) -> Finding | None:
    """A finding for real root use (Root without assumedRoot); None for anything else."""
    identity = event.get("userIdentity") or {}
    if identity.get("type") != "Root":
        return None
    context = identity.get("sessionContext") or {}
    if str(context.get("assumedRoot", "")).lower() == "true":
        return None  # an AssumeRoot session: judged from its AssumeRoot event instead
    name = str(event.get("eventName", ""))
    source = str(event.get("eventSource", "")).removesuffix(".amazonaws.com")
    detail = {
        "event_name": name,
        "event_source": source,
        "time": str(event.get("eventTime", "")),
        "region": str(event.get("awsRegion", "")),
        "source_ip": str(event.get("sourceIPAddress", "")),
        "access_key_id": identity.get("accessKeyId"),
        "error": event.get("errorCode"),
    }
    event_id = str(event.get("eventID", ""))
    if name == "ConsoleLogin":
        extra = event.get("additionalEventData") or {}
        outcome = (event.get("responseElements") or {}).get("ConsoleLogin", "unknown")
        detail["mfa_used"] = extra.get("MFAUsed")
        title = f"root user of {account_id} signed in to the console ({outcome})"
        return Finding("root-sign-in", account_id, title, detail, "CRITICAL", event_id)
    title = f"root user of {account_id} called {source}:{name} with long-term root credentials"
    return Finding("root-credentials-used", account_id, title, detail, "CRITICAL", event_id)


def _root_events(trail: Any, start: datetime, until: datetime) -> Iterator[dict[str, Any]]:
    """Events of the root user (CloudTrail's user name `root`) in the window, scrubbed."""
    import json

    from rootctl.sessions.events import scrub_event

    paginator = trail.get_paginator("lookup_events")
    pages = paginator.paginate(
        LookupAttributes=[{"AttributeKey": "Username", "AttributeValue": "root"}],
        StartTime=start,
        EndTime=until,
    )
    for page in pages:
        for item in page.get("Events", []):
            raw = item.get("CloudTrailEvent")
            if raw:
                yield scrub_event(json.loads(raw))


def _member_credentials(factory: SessionFactory, account_id: str, role: str) -> Credentials:
    from rootctl.aws import Credentials
    from rootctl.aws.retry import call_with_backoff

    sts = factory.client("sts")
    response = call_with_backoff(
        lambda: sts.assume_role(
            RoleArn=f"arn:aws:iam::{account_id}:role/{role}", RoleSessionName=ROLE_SESSION
        )
    )
    return Credentials.from_response(response["Credentials"])


def _time(event: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(str(event["eventTime"]).replace("Z", "+00:00"))


def _parse(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def run_watch(
    rc: Rootctl,
    selection: SelectionSpec | None = None,
    *,
    since: datetime,
    now: datetime,
    regions: Sequence[str] | None = None,
    member_role: str | None = None,
    dry_run: bool = False,
) -> EnforcementReport:
    """`rootctl watch`: one report (rootctl.enforce/v1) of the findings not yet reported."""
    from rootctl.enforce.report import EnforcementReport

    result, _ = watch(rc, selection, since=since, now=now, regions=regions, member_role=member_role)
    run = rc.run("watch", "rootctl watch: root usage since the last cursor")
    policy = str(rc.config.root_credentials.policy)
    report = EnforcementReport(now, policy, dry_run, run.recorder.run_id, {"event": None})
    merge(report, result)
    if not dry_run:
        record_cursor(run.recorder, result)
    return report


def merge(report: EnforcementReport, result: WatchResult) -> None:
    """The watch's findings and unreadable accounts into a pass's report."""
    from rootctl.enforce.report import Failed

    report.scope["watch"] = result.to_dict()
    report.findings.extend(result.findings)
    report.failed.extend(Failed(a, e) for a, e in sorted(result.errors.items()))
    report.accounts = max(report.accounts, result.accounts)
