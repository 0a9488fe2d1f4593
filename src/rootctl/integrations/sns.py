"""`rootctl enforce --notify-topic ARN`: a short summary to SNS when the pass changed
something or found something new.

"Changed" counts the accounts whose credentials the pass deleted and the organization
changes it made (`organization_changes`: "enable-feature RootSessions", ...), so a pass that
only converged the organization is sent too. "New" compares the pass's finding ids with
those of the previous `enforce` entry in the journal (its `finding_ids`; an older entry
without them counts every finding as new). The summary holds counts, account ids, change
names and finding ids: no credential, no reason text, no event body. It stays under SNS's 256 KB message limit: id lists are cut at `MAX_IDS` each and the
cut is counted.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rootctl.errors import UsageError
from rootctl.results import iso

if TYPE_CHECKING:
    from rootctl.aws.session import SessionFactory
    from rootctl.enforce.report import EnforcementReport
    from rootctl.journal import Journal

PERMISSIONS = ("sns:Publish",)
SUMMARY_SCHEMA = "rootctl.enforce-summary/v1"
MAX_BYTES = 256 * 1024  # SNS: a message is at most 256 KB
MAX_IDS = 1000
_TOPIC = re.compile(
    r"arn:(?P<partition>aws|aws-cn|aws-us-gov):sns:(?P<region>[a-z]{2}(-[a-z]+)+-\d):"
    r"(?P<account>\d{12}):(?P<name>[A-Za-z0-9_-]{1,256}(\.fifo)?)"
)


@dataclass(frozen=True)
class Topic:
    arn: str
    region: str

    @property
    def fifo(self) -> bool:
        return self.arn.endswith(".fifo")


def parse_topic(value: str) -> Topic:
    """The topic ARN, checked before any AWS call (UsageError: exit 2)."""
    match = _TOPIC.fullmatch(value.strip())
    if match is None:
        raise UsageError(
            f"--notify-topic: {value!r} is not an SNS topic ARN (arn:aws:sns:REGION:ACCOUNT:NAME)"
        )
    return Topic(match.group(0), match.group("region"))


def previous_ids(journal: Journal, run_id: str) -> set[str] | None:
    """The finding ids of the latest `enforce` entry before this run (None: none known).

    Read from the head down, a page at a time, stopping at that entry: a pass reads the
    entries since the previous pass, not the whole journal (`Journal.entries_after`)."""
    if not journal.path.exists():
        return None
    pages = journal.entries_after(0, newest_first=True)
    try:
        for entry in pages:
            if entry.action != "enforce" or entry.run_id == run_id:
                continue
            after = entry.after if isinstance(entry.after, dict) else {}
            ids = after.get("finding_ids")
            return {str(i) for i in ids} if isinstance(ids, list) else None
    finally:
        close = getattr(pages, "close", None)
        if close is not None:
            close()
    return None


def summary(report: EnforcementReport, previous: set[str] | None) -> dict[str, Any]:
    """The message: counts, changed accounts, new and gone finding ids (capped)."""
    current = report.finding_ids
    new = [i for i in current if previous is None or i not in previous]
    gone = sorted(previous - set(current)) if previous is not None else []
    changed = sorted({c.account_id for c in report.changed})
    org = report.organization
    org_changed = [item.describe() for item in org.changed] if org is not None else []
    document: dict[str, Any] = {
        "schema": SUMMARY_SCHEMA,
        "run_id": report.run_id,
        "generated_at": iso(report.generated_at),
        "policy": report.policy,
        "summary": report.summary(),
        "exit_code": report.exit_code,
    }
    for key, ids in (
        ("changed_accounts", changed),
        ("organization_changes", org_changed),
        ("new_finding_ids", new),
        ("gone", gone),
    ):
        document[key] = ids[:MAX_IDS]
        if len(ids) > MAX_IDS:
            document[f"{key}_not_listed"] = len(ids) - MAX_IDS
    return document


def worth_sending(message: dict[str, Any]) -> bool:
    """Something changed (an account's credentials, the organization) or a finding is new."""
    return bool(
        message["changed_accounts"]
        or message.get("organization_changes")
        or message["new_finding_ids"]
    )


def publish(factory: SessionFactory, topic: Topic, message: dict[str, Any]) -> str:
    """Publish; the MessageId. A FIFO topic gets the run id as group and deduplication id."""
    body = json.dumps(message, separators=(",", ":"), ensure_ascii=True)
    if len(body.encode()) > MAX_BYTES:  # cannot happen with MAX_IDS ids of bounded length
        raise ValueError(f"summary of {len(body.encode())} bytes exceeds SNS's {MAX_BYTES}")
    s = message["summary"]
    org = (
        f", {s['organization_changed']} organization changes"
        if s.get("organization_changed")
        else ""
    )
    subject = (
        f"rootctl enforce: {s['changed']} changed{org}, {s['findings']} findings, "
        f"{len(message['new_finding_ids'])} new"
    )
    extra: dict[str, str] = {}
    if topic.fifo:
        extra = {"MessageGroupId": "rootctl-enforce", "MessageDeduplicationId": message["run_id"]}
    answer = factory.client("sns", region=topic.region).publish(
        TopicArn=topic.arn, Subject=subject[:100], Message=body, **extra
    )
    return str(answer["MessageId"])
