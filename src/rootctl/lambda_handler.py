"""`rootctl.lambda_handler.handler`: the enforcement pass as an AWS Lambda function.

EventBridge invokes it with the scheduled event, `AccountJoinedOrganization` or
`CreateAccountResult` (rootctl.enforce.events); the scheduled fan-out (docs/deploy.md)
invokes it with `{"shard": "K/N"}`, alone or added to the scheduled event. It is a skin
over `connect(...).enforce(...)`, as `rootctl enforce --yes` is:

- environment: ROOTCTL_CONFIG (`ssm://NAME` or `s3://BUCKET/KEY`: the rootctl.yaml text),
  ROOTCTL_JOURNAL (`dynamodb://TABLE`: a Lambda's disk does not outlive it), optionally
  ROOTCTL_ANCHOR (`ssm://NAME` or `s3://BUCKET/KEY`: the verified head), ROOTCTL_REASON
  (journaled; default names the policy), ROOTCTL_SECURITY_HUB (`true`/`false`: import
  the findings, as `enforce --security-hub`) and ROOTCTL_NOTIFY_TOPIC (an SNS topic ARN:
  the summary, as `enforce --notify-topic`); an empty value is the same as unset;
- journal: with an anchor, the journal is verified from it before anything is done (the
  entries since the last run, not the whole journal; no anchor stored yet: the whole
  chain) and the new head is stored there after the run (rootctl.journal.anchor);
- logs: one JSON object per line on stdout (CloudWatch Logs): one per account with an
  outcome (changed, kept, failed, finding), one per run; error texts are scrubbed like
  the journal's, and nothing else from a root session is logged;
- result: the report's summary. Accounts that fail are in the summary and the logs; they
  do not fail the invocation (a retry would redo the whole pass), nor does a failed
  Security Hub import or SNS publish after the pass (an ERROR line, `delivered` false,
  exit_code 1). A bad config, environment, event, journal (one that does not verify from
  its anchor) or shard fails it, with one `"level": "ERROR"` line saying why, before any
  change.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from rootctl.errors import RootctlError, UsageError

if TYPE_CHECKING:
    from rootctl.api import Rootctl
    from rootctl.config import RootctlConfig
    from rootctl.enforce import EnforcementReport, EventScope
    from rootctl.integrations.deliver import Delivery
    from rootctl.integrations.sns import Topic
    from rootctl.journal.anchor import Anchor, AnchorRef
    from rootctl.shards import Shard

LAMBDA_SCHEMA = "rootctl.lambda/v1"
MAX_CONFIG_BYTES = 1024 * 1024  # rootctl.yaml's own cap


class InvocationError(RuntimeError):
    """The invocation cannot run (bad config, event, journal or shard): it fails, unchanged."""


@dataclass(frozen=True)
class Setup:
    """What the environment names: where the config, journal and anchor live, and where
    findings go."""

    config: AnchorRef
    journal: str
    anchor: AnchorRef | None
    reason: str | None
    security_hub: bool = False
    notify_topic: Topic | None = None


def handler(event: Any, context: Any) -> dict[str, Any]:
    """Run one enforcement pass for `event`; return the summary (see the module docstring)."""
    log = JsonLog(getattr(context, "aws_request_id", None))
    try:
        setup = read_setup(os.environ)
        scope, shard = parse_invocation(event)
        with _connect(setup) as rc:
            return _run(rc, setup, scope, shard, log)
    except RootctlError as exc:
        log.line("ERROR", "invocation-failed", error=str(exc))
        raise InvocationError(str(exc)) from None


def read_setup(env: Any) -> Setup:
    """The references in the environment, checked before any AWS call."""
    from rootctl.journal.anchor import parse_anchor_ref
    from rootctl.journal.backend import is_table

    config = env.get("ROOTCTL_CONFIG")
    if not config:
        raise UsageError(
            "ROOTCTL_CONFIG is not set: name the rootctl.yaml (ssm://NAME or s3://BUCKET/KEY)"
        )
    journal = env.get("ROOTCTL_JOURNAL") or ""
    if not is_table(journal):
        raise UsageError(
            "ROOTCTL_JOURNAL must be dynamodb://TABLE: a Lambda's disk does not outlive it"
        )
    anchor = env.get("ROOTCTL_ANCHOR")
    return Setup(
        config=parse_anchor_ref(config, "ROOTCTL_CONFIG"),
        journal=journal,
        anchor=parse_anchor_ref(anchor, "ROOTCTL_ANCHOR") if anchor else None,
        reason=env.get("ROOTCTL_REASON") or None,
        security_hub=parse_flag(env.get("ROOTCTL_SECURITY_HUB"), "ROOTCTL_SECURITY_HUB"),
        notify_topic=read_topic(env.get("ROOTCTL_NOTIFY_TOPIC")),
    )


def parse_flag(value: str | None, name: str) -> bool:
    """`true` or `false` (any case; unset or empty: false), as deploy/ writes them."""
    text = (value or "").strip().lower()
    if text in ("", "false"):
        return False
    if text == "true":
        return True
    raise UsageError(f"{name} must be true or false, not {str(value)[:40]!r}")


def read_topic(value: str | None) -> Topic | None:
    """ROOTCTL_NOTIFY_TOPIC: an SNS topic ARN, checked as `--notify-topic` checks it."""
    from rootctl.integrations.sns import parse_topic

    if not value or not value.strip():
        return None
    try:
        return parse_topic(value)
    except UsageError:
        raise UsageError(
            f"ROOTCTL_NOTIFY_TOPIC: {value[:120]!r} is not an SNS topic ARN "
            "(arn:aws:sns:REGION:ACCOUNT:NAME)"
        ) from None


def parse_invocation(event: Any) -> tuple[EventScope, Shard | None]:
    """The event's scope and shard: an EventBridge event, or the fan-out's {"shard": "K/N"}."""
    from rootctl.enforce.events import EventScope, parse_event
    from rootctl.shards import parse_shard

    if not isinstance(event, dict):
        raise UsageError('event: expected a JSON object (an EventBridge event or {"shard": "K/N"})')
    shard = parse_shard(event["shard"]) if "shard" in event else None
    rest = {k: v for k, v in event.items() if k != "shard"}
    if shard is not None and not rest:
        return EventScope("scheduled"), shard
    scope = parse_event(rest)
    if shard is not None and scope.kind != "scheduled":
        raise UsageError("event: a shard splits the scheduled pass, not an account's event")
    return scope, shard


def load_config(setup: Setup, rc: Rootctl) -> RootctlConfig:
    """rootctl.yaml from the SSM parameter or S3 object, validated like a local file."""
    from rootctl.config import config_from_text
    from rootctl.journal.anchor import read_text

    raw = read_text(setup.config, rc.factory, MAX_CONFIG_BYTES + 1, "ROOTCTL_CONFIG")
    if len(raw) > MAX_CONFIG_BYTES:
        raise UsageError(f"{setup.config}: larger than 1024 KiB, not a rootctl.yaml")
    try:
        text = raw.decode("utf-8-sig") if isinstance(raw, bytes) else raw
    except UnicodeDecodeError as exc:
        raise UsageError(
            f"{setup.config}: not UTF-8 text (bad byte at offset {exc.start})"
        ) from None
    return config_from_text(text, source=str(setup.config))


def _connect(setup: Setup) -> Rootctl:
    from rootctl.api import Rootctl

    rc = Rootctl(profile=None, region=None, config=None, journal_ref=setup.journal)
    rc.config = load_config(setup, rc)
    rc.existing_journal()  # a missing or foreign table fails now, before any change
    return rc


def _run(
    rc: Rootctl, setup: Setup, scope: EventScope, shard: Shard | None, log: JsonLog
) -> dict[str, Any]:
    from rootctl.org.selection import SelectionSpec
    from rootctl.shards import shard_spec

    start = _verify_before(rc, setup, log) if setup.anchor is not None else None
    spec: SelectionSpec | None = SelectionSpec()
    if shard is not None:
        spec = shard_spec(rc, SelectionSpec(), shard, event=scope)
    if spec is None:
        log.line("INFO", "run", shard=str(shard), note="the shard holds no account")
        return {"schema": LAMBDA_SCHEMA, "shard": str(shard), "summary": None, "exit_code": 0}
    report = rc.enforce(
        spec,
        event=scope,
        reason=setup.reason,
        organization=shard is None or shard.index == 1,  # one shard changes the organization
    )
    for line in account_lines(report):
        log.line("WARN" if line["outcome"] in ("failed", "finding") else "INFO", "account", **line)
    delivered = _deliver(rc, setup, report, log)
    anchored = _anchor(rc, setup, start) if setup.anchor is not None else None
    result = {
        "schema": LAMBDA_SCHEMA,
        "run_id": report.run_id,
        "deletion_run_id": report.deletion_run_id,
        "policy": report.policy,
        "scope": report.scope,
        "shard": str(shard) if shard is not None else None,
        "summary": report.summary(),
        "exit_code": report.exit_code if delivered is None or delivered.ok else 1,
        "delivered": None if delivered is None else _delivered(delivered),
        "anchor": anchored,
    }
    log.line("INFO", "run", **{k: v for k, v in result.items() if k != "schema"})
    return result


def account_lines(report: EnforcementReport) -> list[dict[str, Any]]:
    """One line per account with an outcome: failed > finding > changed > kept."""
    from rootctl.journal.scrub import scrub_text

    lines: dict[str, dict[str, Any]] = {}
    for kept in report.refused:
        line = lines.setdefault(kept.account_id, {"account_id": kept.account_id, "outcome": "kept"})
        line.setdefault("kept", []).append({"kind": kept.kind, "why": scrub_text(kept.reason)})
    for changed in report.changed:
        line = lines.setdefault(changed.account_id, {"account_id": changed.account_id})
        line.update(outcome="changed", deleted=list(changed.deleted), verified=changed.verified)
    for finding in report.findings:
        line = lines.setdefault(finding.account_id, {"account_id": finding.account_id})
        line.update(outcome="finding", finding=finding.id, title=scrub_text(finding.title))
    for failed in report.failed:
        line = lines.setdefault(failed.account_id, {"account_id": failed.account_id})
        line.update(outcome="failed", error=scrub_text(failed.error))
    return [lines[k] for k in sorted(lines)]


def _verify_before(rc: Rootctl, setup: Setup, log: JsonLog) -> Anchor | None:
    """Refuse to act on a journal that does not verify from its anchor (one line); the
    anchor the run started from (None: none stored yet, the whole chain was verified)."""
    from rootctl.journal.anchor import verify_from_anchor

    assert setup.anchor is not None
    done = verify_from_anchor(rc.journal, setup.anchor, rc.factory, missing_ok=True)
    if not done.result.ok:
        raise UsageError(
            f"journal {setup.journal} does not verify from the anchor {setup.anchor} "
            f"({done.result.problem}): nothing was done"
        )
    log.line(
        "INFO",
        "journal-verified",
        mode=done.mode,
        anchor=None if done.anchor is None else done.anchor.entries,
        checked=done.checked,
        entries=done.result.entries,
    )
    return done.anchor


def _anchor(rc: Rootctl, setup: Setup, since: Anchor | None) -> dict[str, Any]:
    """Verify the entries since the starting anchor and store the new head outside the
    table (rootctl.journal.anchor.advance_anchor)."""
    from rootctl.journal.anchor import advance_anchor

    assert setup.anchor is not None
    result, written = advance_anchor(rc.journal, setup.anchor, since, rc.factory)
    if not result.ok:
        raise UsageError(f"journal {setup.journal} does not verify after the run: {result.problem}")
    return {
        "to": str(setup.anchor),
        "entries": result.entries,
        "head": result.head_hash,
        "written": written,
    }


def _deliver(rc: Rootctl, setup: Setup, report: EnforcementReport, log: JsonLog) -> Delivery | None:
    """Security Hub and SNS as configured (rootctl.integrations.deliver); failures are
    ERROR lines, not a failed invocation: the pass ran and is journaled."""
    from rootctl.integrations.deliver import deliver
    from rootctl.journal.scrub import scrub_text

    if not (setup.security_hub or setup.notify_topic):
        return None
    done = deliver(rc, report, security_hub=setup.security_hub, topic=setup.notify_topic)
    for error in done.errors:
        log.line("ERROR", "delivery-failed", error=scrub_text(error))
    return done


def _delivered(done: Delivery) -> dict[str, Any]:
    hub = done.security_hub
    return {
        "ok": done.ok,
        "security_hub": None
        if hub is None
        else {"imported": hub.imported, "archived": hub.archived, "refused": len(hub.failed)},
        "sns_message_id": done.sns_message_id,
        "sns_skipped": done.sns_skipped,
    }


class JsonLog:
    """Structured log lines on stdout, which Lambda sends to CloudWatch Logs."""

    def __init__(self, request_id: str | None) -> None:
        self.request_id = request_id

    def line(self, level: str, kind: str, **fields: Any) -> None:
        record = {
            "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "level": level,
            "logger": "rootctl",
            "event": kind,
            "request_id": self.request_id,
            **fields,
        }
        sys.stdout.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")
        sys.stdout.flush()
