"""`rootctl.enforce/v1`: the report of one enforcement pass, and of `rootctl watch`.

`rootctl watch` prints the same document (its findings and unreadable accounts are those of
a pass; `scope.watch` says what window it read), so there is no separate watch document:
a scheduler reads both with one model. The library's value is `EnforcementReport`
(rootctl.enforce.report); `enforce_document` is its one JSON form.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import ConfigDict, Field, SerializerFunctionWrapHandler, model_serializer

from rootctl.documents.base import Document, Part, Timestamp
from rootctl.enforce.report import ENFORCE_SCHEMA

if TYPE_CHECKING:
    from rootctl.enforce.report import EnforcementReport, OrganizationPart, OrgItem

FindingTypeName = Literal[
    "root-credentials",
    "root-sign-in",
    "root-credentials-used",
    "assume-root-caller",
    "assume-root-task",
    "root-session-outside-rootctl",
    "organization",
]
SeverityName = Literal["CRITICAL", "HIGH", "MEDIUM", "LOW", "INFORMATIONAL"]


class EventScopePart(Part):
    """The EventBridge event that narrowed the pass (rootctl.enforce.events.EventScope)."""

    kind: Literal["scheduled", "joined", "created", "ignored"]
    event_id: str | None
    event_name: str | None
    account_id: str | None
    joined_method: str | None


class WatchScopePart(Part):
    """The window the root-usage watch read (rootctl.enforce.watch.WatchResult)."""

    start: Timestamp
    until: Timestamp
    accounts: int
    events: int
    errors: dict[str, str]


class ScopePart(Part):
    """What the pass covered: its event (null: a full pass), and the watch when it ran
    (`watch` is absent, not null, when it did not)."""

    model_config = ConfigDict(json_schema_mode_override="validation")

    event: EventScopePart | None
    watch: WatchScopePart | None = None

    @model_serializer(mode="wrap")
    def _drop_watch(self, handler: SerializerFunctionWrapHandler):  # type: ignore[no-untyped-def]
        data: dict[str, Any] = handler(self)
        if data.get("watch") is None:
            data.pop("watch", None)
        return data


class SummaryPart(Part):
    accounts: int
    found: int
    changed: int
    refused: int
    failed: int
    findings: int
    organization_changed: int
    organization_pending: int
    organization_failed: int


class OrgItemPart(Part):
    kind: str
    target: str
    detail: str
    why: str | None
    needs: str | None
    error: str | None


class OrganizationDocPart(Part):
    management_account_id: str | None
    caller_role: Literal["management", "delegated-administrator", "member"] | None
    changed: list[OrgItemPart]
    pending: list[OrgItemPart]
    failed: list[OrgItemPart]
    errors: list[str]
    verified: bool | None
    enabled_features: list[str] | None


class FoundItem(Part):
    account_id: str
    account_name: str
    kinds: list[str]


class ChangedItem(Part):
    account_id: str
    deleted: list[str]
    why: str
    verified: bool | None


class RefusedItem(Part):
    account_id: str
    kind: str
    reason: str


class FailedItem(Part):
    account_id: str
    error: str


class FindingItem(Part):
    id: str
    type: FindingTypeName
    account_id: str
    severity: SeverityName
    title: str
    detail: dict[str, Any]


class EnforceDocument(Document):
    schema_id: Literal["rootctl.enforce/v1"] = Field(default=ENFORCE_SCHEMA, alias="schema")
    generated_at: Timestamp
    run_id: str
    deletion_run_id: str | None
    policy: Literal["report", "delete"]
    dry_run: bool
    scope: ScopePart
    summary: SummaryPart
    organization: OrganizationDocPart | None
    credentials_skipped: str | None
    found: list[FoundItem]
    changed: list[ChangedItem]
    refused: list[RefusedItem]
    failed: list[FailedItem]
    findings: list[FindingItem]
    notes: list[str]
    exit_code: Literal[0, 1, 3]


def _org_item(item: OrgItem) -> OrgItemPart:
    return OrgItemPart(
        kind=item.kind,
        target=item.target,
        detail=item.detail,
        why=item.why,
        needs=item.needs,
        error=item.error,
    )


def _organization(org: OrganizationPart) -> OrganizationDocPart:
    return OrganizationDocPart(
        management_account_id=org.management_account_id,
        caller_role=org.caller_role,  # type: ignore[arg-type]  # a CallerRole, or None
        changed=[_org_item(i) for i in org.changed],
        pending=[_org_item(i) for i in org.pending],
        failed=[_org_item(i) for i in org.failed],
        errors=list(org.errors),
        verified=org.verified,
        enabled_features=None if org.enabled_features is None else list(org.enabled_features),
    )


def enforce_document(report: EnforcementReport) -> EnforceDocument:
    """The rootctl.enforce/v1 document of a pass or a watch (what `-o json` prints).

    `scope` is the dict the pass journals with its `enforce` entry; the model checks it."""
    org = report.organization
    return EnforceDocument(
        generated_at=report.generated_at,
        run_id=report.run_id,
        deletion_run_id=report.deletion_run_id,
        policy=report.policy,  # type: ignore[arg-type]  # the config's Policy value
        dry_run=report.dry_run,
        scope=ScopePart.model_validate(report.scope),
        summary=SummaryPart(**report.summary()),
        organization=None if org is None else _organization(org),
        credentials_skipped=report.credentials_skipped,
        found=[
            FoundItem(account_id=f.account_id, account_name=f.account_name, kinds=list(f.kinds))
            for f in report.found
        ],
        changed=[
            ChangedItem(
                account_id=c.account_id, deleted=list(c.deleted), why=c.why, verified=c.verified
            )
            for c in report.changed
        ],
        refused=[
            RefusedItem(account_id=r.account_id, kind=r.kind, reason=r.reason)
            for r in report.refused
        ],
        failed=[FailedItem(account_id=f.account_id, error=f.error) for f in report.failed],
        findings=[
            FindingItem(
                id=f.id,
                type=f.type,
                account_id=f.account_id,
                severity=f.severity,  # type: ignore[arg-type]  # one of the labels above
                title=f.title,
                detail=dict(f.detail),
            )
            for f in report.findings
        ],
        notes=list(report.notes),
        exit_code=report.exit_code,  # type: ignore[arg-type]  # EXIT_OK/FAILED/FINDINGS
    )
