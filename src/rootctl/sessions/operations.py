"""The privileged operations as library calls: prepare an unlock or a restore, list locks.

Each returns values the CLI renders (and a Python caller can inspect): the resource bound to
its root session and the plan; `apply_policy_plan` (in `unlock`) then executes exactly that plan.
Local validation (names, files, journal entries) happens before any session is opened.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from botocore.exceptions import BotoCoreError, ClientError

from rootctl.errors import UsageError, error_code
from rootctl.sessions.bind import bind_resource, missing_journaled, s3_client, sqs_client
from rootctl.sessions.policy import Kind, LockAnalysis, parse_policy_text, resource_arn
from rootctl.sessions.resources import TASK_FOR, PolicyResource, ResourceMissing
from rootctl.sessions.rules import SessionRequest
from rootctl.sessions.s3 import list_buckets
from rootctl.sessions.sqs import QueueRef, list_queues
from rootctl.sessions.unlock import (
    POLICY_ACTIONS,
    PolicyPlan,
    analyze_text,
    plan_restore,
    plan_unlock,
)

if TYPE_CHECKING:
    from rootctl.journal import StoredEntry
    from rootctl.run import RunContext

LIST_LOCKED: Final = "list-locked"  # the journal action of a listing
# The end of a lockout refusal; the CLI turns it into its flag (--allow-lockout).
LOCKOUT_CONSENT: Final = "; restore it anyway only with the explicit lockout permission"


def prepare_unlock(
    ctx: RunContext,
    kind: Kind,
    account_id: str,
    name: str | QueueRef,
    replacement: str | None = None,
    region: str | None = None,
) -> tuple[PolicyResource, PolicyPlan]:
    """Check the rules (journaling a refusal), open the session, read and plan."""
    plain = name.name if isinstance(name, QueueRef) else name
    arn = resource_arn(kind, account_id, plain, region or ctx.region)
    ctx.check(SessionRequest(account_id, TASK_FOR[kind], ctx.reason, (kind, plain)), target=arn)
    resource = bind_resource(ctx, kind, account_id, name, region)
    with missing_journaled(ctx, account_id, TASK_FOR[kind], resource.arn):
        return resource, plan_unlock(resource, replacement)


@dataclass(frozen=True)
class Backup:
    """A policy backup read from a journal entry: where it came from and its exact text."""

    entry_id: int
    kind: Kind
    account_id: str
    name: str
    region: str | None
    text: str


def backup_of(entry: StoredEntry) -> Backup:
    """The backup an entry holds, or UsageError saying why the entry cannot be restored."""
    what = f"journal entry {entry.id} ({entry.command}: {entry.action})"
    if entry.action not in POLICY_ACTIONS or not isinstance(entry.before, str):
        raise UsageError(
            f"{what} holds no policy backup: restore takes the id of an unlock or restore entry "
            "that had a policy (see the id printed by `rootctl unlock`)"
        )
    try:
        document = json.loads(entry.before)
    except ValueError:
        document = None
    if not isinstance(document, dict) or not entry.target or not entry.account_id:
        raise UsageError(f"{what} holds no usable policy backup")
    kind, region, name = _parse_arn(entry.target, entry.account_id, what)
    return Backup(entry.id, kind, entry.account_id, name, region, entry.before)


def check_restore_lockout(backup: Backup, region: str, allow_lockout: bool) -> LockAnalysis:
    """What the backed-up policy denies once restored; a lockout needs `allow_lockout`.

    Local (no AWS call): run it before any root session is opened. Restoring the backup of
    an unlock usually restores the lockout itself, which must be a deliberate choice, as
    `unlock --replace-with` refuses a locking replacement.
    """
    from rootctl.sessions.policy import analyze

    document = parse_policy_text(backup.text, f"journal entry {backup.entry_id}")
    arn = resource_arn(backup.kind, backup.account_id, backup.name, backup.region or region)
    analysis = analyze(document, backup.kind, backup.account_id, arn)
    if analysis.locked and not allow_lockout:
        labels = ", ".join(s.label for s in analysis.statements)
        raise UsageError(
            f"journal entry {backup.entry_id} holds a policy that denies every principal "
            f"({labels}): restoring it locks {backup.name} again{LOCKOUT_CONSENT}"
        )
    return analysis


def _parse_arn(arn: str, account_id: str, what: str) -> tuple[Kind, str | None, str]:
    parts = arn.split(":", 5)
    if arn.startswith("arn:aws:s3:::") and len(parts) == 6:
        return "s3", None, parts[5]
    if arn.startswith("arn:aws:sqs:") and len(parts) == 6 and parts[4] == account_id:
        return "sqs", parts[3], parts[5]
    raise UsageError(f"{what} names {arn!r}, which is not a bucket or queue of {account_id}")


def prepare_restore(
    ctx: RunContext, backup: Backup, region: str | None = None
) -> tuple[PolicyResource, PolicyPlan]:
    """Check the rules, open the same task's session, read the policy now, plan the put."""
    parse_policy_text(backup.text, f"journal entry {backup.entry_id}")
    where = backup.region or region
    arn = resource_arn(backup.kind, backup.account_id, backup.name, where or ctx.region)
    ctx.check(SessionRequest(backup.account_id, TASK_FOR[backup.kind], ctx.reason), target=arn)
    resource = bind_resource(ctx, backup.kind, backup.account_id, backup.name, where)
    with missing_journaled(ctx, backup.account_id, TASK_FOR[backup.kind], resource.arn):
        return resource, plan_restore(resource, backup.text)


@dataclass(frozen=True)
class LockRow:
    """One bucket or queue looked at by list-locked; `error` when its policy was unreadable."""

    name: str
    arn: str
    analysis: LockAnalysis | None
    error: str | None = None

    @property
    def locked(self) -> bool:
        return self.analysis is not None and self.analysis.locked


def list_locked(
    ctx: RunContext, kind: Kind, account_id: str, region: str | None = None
) -> list[LockRow]:
    """Every bucket or queue of the account, with the analysis of its policy."""
    task = TASK_FOR[kind]
    ctx.check(SessionRequest(account_id, task, ctx.reason))
    where = region or ctx.region
    resources: list[PolicyResource] = (
        list(list_buckets(s3_client(ctx, account_id, where), account_id, where))
        if kind == "s3"
        else list(list_queues(sqs_client(ctx, account_id, where), account_id, where))
    )
    rows = [_row(resource) for resource in resources]
    ctx.recorder.append(
        LIST_LOCKED,
        "error" if any(r.error for r in rows) else "ok",
        account_id=account_id,
        task=task,
        after={
            "locked": [r.arn for r in rows if r.locked],
            "errors": {r.arn: r.error for r in rows if r.error},
            "checked": len(rows),
        },
    )
    return rows


def _row(resource: PolicyResource) -> LockRow:
    try:
        text = resource.read()
    except ResourceMissing as exc:  # deleted between the listing and the read
        return LockRow(resource.name, resource.arn, None, str(exc))
    except (ClientError, BotoCoreError) as exc:
        return LockRow(resource.name, resource.arn, None, f"{error_code(exc)}: {exc}")
    return LockRow(resource.name, resource.arn, analyze_text(resource, text))
