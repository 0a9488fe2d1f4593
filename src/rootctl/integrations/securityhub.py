"""`rootctl enforce --security-hub`: import the pass's findings, update known ones, archive
the resolved ones.

Imported into the operator's own account (the management or delegated-admin account) and
region, under its default product (`product/<account>/default`): Security Hub then accepts
only findings whose AwsAccountId is that account (asff_report). Re-importing the same Id
with a newer UpdatedAt updates the finding (CreatedAt is kept from Security Hub's copy), so
a re-run never duplicates. A state finding (leftover credentials, an open recovery window)
that an earlier pass imported and this pass no longer reports, for an account this pass
audited, is sent again ARCHIVED with Compliance PASSED (and Workflow RESOLVED, which Security
Hub honours only on creation: see docs/reports.md). An `organization` finding (a change the
organization still needed) is resolved the same way by a pass that read the organization in
full and no longer finds the change: converged, or no longer in the config. Event findings are
never archived here.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rootctl.reports.asff_report import EnforceAsffWriter, partition_of, product_arn
from rootctl.reports.enforce_findings import GENERATOR_PREFIX, STATE_TYPES
from rootctl.results import iso

if TYPE_CHECKING:
    from datetime import datetime

    from rootctl.aws.session import SessionFactory
    from rootctl.enforce.report import EnforcementReport

PERMISSIONS = ("securityhub:BatchImportFindings", "securityhub:GetFindings")
BATCH = 100  # BatchImportFindings accepts 1 to 100 findings per call
# Fields a provider may send again when it archives a finding it imported earlier.
_RESENT = (
    "SchemaVersion", "Id", "ProductArn", "ProductName", "CompanyName", "GeneratorId",
    "AwsAccountId", "Region", "Types", "CreatedAt", "FirstObservedAt", "LastObservedAt",
    "Severity", "FindingProviderFields", "Title", "Description", "Remediation", "Resources",
)  # fmt: skip


@dataclass
class ImportResult:
    """What one import did: counts, and the findings Security Hub refused (id, code, message)."""

    imported: int = 0
    archived: int = 0
    failed: list[tuple[str, str, str]] = field(default_factory=list)

    def line(self) -> str:
        return f"security hub: {self.imported} imported, {self.archived} archived as resolved"


def import_findings(factory: SessionFactory, report: EnforcementReport) -> ImportResult:
    """Import (see module docstring); a refused finding is a value, never an exception."""
    account, region = factory.caller_identity().account, factory.region
    client = factory.client("securityhub")
    product = product_arn(partition_of(region), region, account)
    current = EnforceAsffWriter(region, account).findings(report)
    known = {f["Id"]: f for f in _active(client, product)}
    for finding in current:
        earlier = known.get(finding["Id"])
        if earlier is not None and earlier.get("CreatedAt"):
            finding["CreatedAt"] = earlier["CreatedAt"]
    sent = {f["Id"] for f in current}
    resolved = [
        archived(f, report.generated_at)
        for f in known.values()
        if f["Id"] not in sent and resolved_by(f, report)
    ]
    result = ImportResult(imported=len(current), archived=len(resolved))
    for batch in batches(current + resolved):
        answer = client.batch_import_findings(Findings=batch)
        for failed in answer.get("FailedFindings", []) if answer.get("FailedCount") else []:
            result.failed.append(
                (failed.get("Id", ""), failed.get("ErrorCode", ""), failed.get("ErrorMessage", ""))
            )
    return result


def _active(client: Any, product: str) -> Iterator[dict[str, Any]]:
    """rootctl enforce's ACTIVE findings in this product. The filter is checked again here:
    a server that ignores GetFindings filters (moto does) must not widen the archive."""
    filters = {
        "ProductArn": [{"Value": product, "Comparison": "EQUALS"}],
        "GeneratorId": [{"Value": GENERATOR_PREFIX, "Comparison": "PREFIX"}],
        "RecordState": [{"Value": "ACTIVE", "Comparison": "EQUALS"}],
    }
    for page in client.get_paginator("get_findings").paginate(Filters=filters):
        for finding in page["Findings"]:
            if (
                finding.get("ProductArn") == product
                and str(finding.get("GeneratorId", "")).startswith(GENERATOR_PREFIX)
                and finding.get("RecordState", "ACTIVE") == "ACTIVE"
            ):
                yield finding


ORGANIZATION = "organization"


def resolved_by(finding: dict[str, Any], report: EnforcementReport) -> bool:
    """Whether this pass saw the state a finding (absent now) was about: resolved if so.

    A state finding of an account this pass audited to completion; an organization finding
    when this pass planned the organization from a full read (a pass that could not read it,
    or did not look at it, e.g. one narrowed to a joined account, proves nothing)."""
    fields = finding.get("ProductFields", {})
    kind = fields.get("rootctl/FindingType")
    if kind == ORGANIZATION:
        org = report.organization
        return org is not None and not org.errors
    return kind in STATE_TYPES and fields.get("rootctl/AccountId") in set(report.audited)


def archived(finding: dict[str, Any], now: datetime) -> dict[str, Any]:
    """The earlier finding, resent resolved: newer UpdatedAt, ARCHIVED, Compliance PASSED."""
    again = {key: finding[key] for key in _RESENT if key in finding}
    again["ProductFields"] = {
        k: v for k, v in finding.get("ProductFields", {}).items() if k.startswith("rootctl/")
    }
    again["UpdatedAt"] = iso(now)
    again["RecordState"] = "ARCHIVED"
    again["Workflow"] = {"Status": "RESOLVED"}
    compliance = dict(finding.get("Compliance", {}))
    compliance["Status"] = "PASSED"
    again["Compliance"] = compliance
    return again


def batches(findings: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(findings), BATCH):
        yield findings[start : start + BATCH]
