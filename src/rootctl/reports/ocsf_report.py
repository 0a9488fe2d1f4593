"""OCSF: a JSON array of Detection Findings (class 2004), built with py-ocsf-models.

Same findings as ASFF (rootctl.reports.findings): FAIL is a new finding (activity Create,
status New), PASS closes it (activity Close, status Resolved); `finding_info.uid` is the
stable finding id, so a SIEM that keys on it updates one record per account.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, TextIO

# py-ocsf-models ships no py.typed marker: its models are Any to mypy.
from py_ocsf_models.events.findings.activity_id import (  # type: ignore[import-untyped]
    ActivityID,
)
from py_ocsf_models.events.findings.compliance_finding import (  # type: ignore[import-untyped]
    ComplianceFinding,
)
from py_ocsf_models.events.findings.compliance_finding_type_id import (  # type: ignore[import-untyped]
    ComplianceFindingTypeID,
)
from py_ocsf_models.events.findings.detection_finding import (  # type: ignore[import-untyped]
    DetectionFinding,
)
from py_ocsf_models.events.findings.detection_finding_type_id import (  # type: ignore[import-untyped]
    DetectionFindingTypeID,
)
from py_ocsf_models.events.findings.severity_id import (  # type: ignore[import-untyped]
    SeverityID,
)
from py_ocsf_models.events.findings.status_id import StatusID  # type: ignore[import-untyped]
from py_ocsf_models.objects.account import Account, TypeID  # type: ignore[import-untyped]
from py_ocsf_models.objects.cloud import Cloud  # type: ignore[import-untyped]
from py_ocsf_models.objects.compliance import Compliance  # type: ignore[import-untyped]
from py_ocsf_models.objects.compliance_status import (  # type: ignore[import-untyped]
    StatusID as ComplianceStatusID,
)
from py_ocsf_models.objects.finding_info import (  # type: ignore[import-untyped]
    FindingInformation,
)
from py_ocsf_models.objects.group import Group  # type: ignore[import-untyped]
from py_ocsf_models.objects.metadata import Metadata  # type: ignore[import-untyped]
from py_ocsf_models.objects.organization import Organization  # type: ignore[import-untyped]
from py_ocsf_models.objects.product import Product  # type: ignore[import-untyped]
from py_ocsf_models.objects.remediation import Remediation  # type: ignore[import-untyped]
from py_ocsf_models.objects.resource_details import (  # type: ignore[import-untyped]
    ResourceDetails,
)

from rootctl import __version__
from rootctl.credentials.models import AuditReport
from rootctl.reports.enforce_findings import REMEDIATION_URL as ENFORCE_URL
from rootctl.reports.findings import (
    CHECK_ID,
    CHECK_TITLE,
    PRODUCT,
    REMEDIATION_TEXT,
    REMEDIATION_URL,
    AccountFinding,
    account_findings,
)
from rootctl.text import clean_json

if TYPE_CHECKING:
    from rootctl.enforce.report import EnforcementReport
    from rootctl.reports.enforce_findings import ExportFinding

FINDING_TYPE = "Software and Configuration Checks/AWS Security Best Practices"
_SEVERITY = {
    "CRITICAL": SeverityID.Critical,
    "HIGH": SeverityID.High,
    "MEDIUM": SeverityID.Medium,
    "LOW": SeverityID.Low,
    "INFORMATIONAL": SeverityID.Informational,
}


class OcsfWriter:
    format = "ocsf"

    def write(self, report: AuditReport, out: TextIO) -> None:
        documents = [
            detection_finding(f, report).model_dump(mode="json", exclude_none=True)
            for f in account_findings(report)
        ]
        # ensure_ascii=False leaves C1 and bidi controls raw: clean_json writes them as JSON escapes
        out.write(clean_json(json.dumps(documents, indent=2, ensure_ascii=False)))
        out.write("\n")


def detection_finding(finding: AccountFinding, report: AuditReport) -> Any:
    """One DetectionFinding (validated by pydantic as it is built)."""
    activity = ActivityID.Close if finding.passed else ActivityID.Create
    status = StatusID.Resolved if finding.passed else StatusID.New
    severity = _SEVERITY[finding.severity]
    epoch_ms = int(finding.observed_at.timestamp() * 1000)
    return DetectionFinding(
        activity_id=activity,
        activity_name=activity.name,
        type_uid=DetectionFindingTypeID(DetectionFindingTypeID.Unknown + activity.value),
        type_name=f"Detection Finding: {activity.name}",
        time=epoch_ms,
        time_dt=finding.observed_at,
        severity_id=severity,
        severity=severity.name,
        status_id=status,
        status=status.name,
        status_code=finding.result,
        status_detail=finding.description,
        message=finding.title,
        finding_info=FindingInformation(
            uid=finding.id,
            title=CHECK_TITLE,
            desc=finding.description,
            types=[FINDING_TYPE],
            created_time=epoch_ms,
            created_time_dt=finding.observed_at,
            last_seen_time=epoch_ms,
            last_seen_time_dt=finding.observed_at,
        ),
        metadata=Metadata(
            event_code=CHECK_ID,
            product=Product(name=PRODUCT, uid=PRODUCT, vendor_name=PRODUCT, version=__version__),
            profiles=["cloud", "datetime"],
            tenant_uid=finding.organization_id,
        ),
        cloud=Cloud(
            provider="aws",
            account=Account(
                uid=finding.account_id,
                name=finding.account_name,
                type_id=TypeID.AWS_Account,
                type="AWS Account",
            ),
            org=Organization(uid=finding.organization_id, ou_name=finding.ou_path),
        ),
        resources=[
            ResourceDetails(
                uid=f"AWS::::Account:{finding.account_id}",
                name=finding.account_name,
                type="AwsAccount",
                group=Group(name="iam"),
                data={"root_credentials": list(finding.kinds), "ou_path": finding.ou_path},
            )
        ],
        remediation=Remediation(desc=REMEDIATION_TEXT, references=[REMEDIATION_URL]),
        unmapped={"operator": report.operator, "audit_schema": report.schema},
    )


# -- the enforcement report (`rootctl enforce -o ocsf`) ------------------------------------------


class EnforceOcsfWriter:
    """Findings tied to controls as Compliance Findings (2003), with the controls in
    `compliance`; the rest (an AssumeRoot call, a session) as Detection Findings (2004).
    `finding_info.uid` is the stable id, as in the audit's OCSF."""

    format = "ocsf"

    def write(self, report: EnforcementReport, out: TextIO) -> None:
        from rootctl.reports.enforce_findings import export_findings

        documents = [
            enforce_ocsf_finding(f, report.run_id).model_dump(mode="json", exclude_none=True)
            for f in export_findings(report)
        ]
        out.write(clean_json(json.dumps(documents, indent=2, ensure_ascii=False)))
        out.write("\n")


def enforce_ocsf_finding(finding: ExportFinding, run_id: str) -> Any:
    """One OCSF finding of an enforcement finding (validated by pydantic as it is built)."""
    activity = ActivityID.Close if finding.passed else ActivityID.Create
    status = StatusID.Resolved if finding.passed else StatusID.New
    severity = _SEVERITY[finding.severity]
    epoch_ms = int(finding.observed_at.timestamp() * 1000)
    common: dict[str, Any] = {
        "activity_id": activity,
        "activity_name": activity.name,
        "time": epoch_ms,
        "time_dt": finding.observed_at,
        "severity_id": severity,
        "severity": severity.name,
        "status_id": status,
        "status": status.name,
        "status_code": "PASS" if finding.passed else "FAIL",
        "message": finding.title,
        "finding_info": FindingInformation(
            uid=finding.id,
            title=finding.title,
            desc=finding.description,
            types=[finding.type],
            created_time=epoch_ms,
            created_time_dt=finding.observed_at,
            last_seen_time=epoch_ms,
            last_seen_time_dt=finding.observed_at,
        ),
        "metadata": Metadata(
            event_code=finding.type,
            product=Product(name=PRODUCT, uid=PRODUCT, vendor_name=PRODUCT, version=__version__),
            profiles=["datetime"],
        ),
        "resources": [
            ResourceDetails(
                uid=f"AWS::::Account:{finding.account_id}",
                name=finding.account_name or finding.account_id,
                type="AwsAccount",
                group=Group(name="iam"),
                data={"root_credentials": list(finding.kinds)},
            )
        ],
        "remediation": Remediation(desc=finding.remediation, references=[ENFORCE_URL]),
        "unmapped": {"run_id": run_id, "account_id": finding.account_id},
    }
    if not finding.controls:
        return DetectionFinding(
            type_uid=DetectionFindingTypeID(DetectionFindingTypeID.Unknown + activity.value),
            type_name=f"Detection Finding: {activity.name}",
            **common,
        )
    return ComplianceFinding(
        type_uid=ComplianceFindingTypeID(ComplianceFindingTypeID.Unknown + activity.value),
        type_name=f"Compliance Finding: {activity.name}",
        compliance=Compliance(
            control=finding.type,
            requirements=[c.requirement for c in finding.controls],
            standards=sorted({c.standard for c in finding.controls}),
            status_id=ComplianceStatusID.Pass if finding.passed else ComplianceStatusID.Fail,
        ),
        **common,
    )
