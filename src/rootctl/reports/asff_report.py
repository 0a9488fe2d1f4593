"""ASFF: the AWS Security Finding Format, a JSON array `BatchImportFindings` accepts as is.

    aws securityhub batch-import-findings --findings file://findings.json

(at most 100 findings per call: docs/reports.md shows how to split a larger file).

With the default product ARN (`product/<account>/default`) Security Hub accepts a finding
only from the account named in its `AwsAccountId`. rootctl audits many accounts but the
findings are imported from one, so `AwsAccountId` is the importing account (by default
the operator's, from the report's caller ARN) and the audited account is the finding's
resource (`AWS::::Account:<id>`), in its title and in `ProductFields`.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TextIO

from rootctl.credentials.models import AuditReport
from rootctl.errors import UsageError
from rootctl.reports.findings import (
    CHECK_ID,
    KIND_LABELS,
    PRODUCT,
    REMEDIATION_TEXT,
    REMEDIATION_URL,
    AccountFinding,
    account_findings,
)
from rootctl.results import iso
from rootctl.text import clean_json

if TYPE_CHECKING:
    from rootctl.enforce.report import EnforcementReport
    from rootctl.reports.enforce_findings import ExportFinding

SCHEMA_VERSION = "2018-10-08"
FINDING_TYPE = "Software and Configuration Checks/AWS Security Best Practices"
DEFAULT_REGION = "us-east-1"
# ASFF limits (AwsSecurityFinding): Title 256 characters, Description 1024.
_TITLE_MAX = 256
_DESCRIPTION_MAX = 1024


@dataclass
class AsffWriter:
    """`region` and `account_id` name where the findings will be imported (ProductArn).

    Unset, the region is AWS_REGION, AWS_DEFAULT_REGION, the profile's region or us-east-1
    (the order rootctl's session factory uses) and the account is the operator's.
    """

    region: str | None = None
    account_id: str | None = None
    format = "asff"

    def write(self, report: AuditReport, out: TextIO) -> None:
        # ensure_ascii=False leaves C1 and bidi controls raw: clean_json writes them as JSON escapes
        out.write(clean_json(json.dumps(self.findings(report), indent=2, ensure_ascii=False)))
        out.write("\n")

    def findings(self, report: AuditReport) -> list[dict[str, Any]]:
        region = self.region or default_region()
        account = self.account_id or account_of(report.operator)
        return [
            asff_finding(f, region=region, account_id=account) for f in account_findings(report)
        ]


def asff_finding(finding: AccountFinding, *, region: str, account_id: str) -> dict[str, Any]:
    """One AwsSecurityFinding. Workflow is only honoured when Security Hub creates the finding;
    afterwards it belongs to the analysts (BatchImportFindings cannot change it)."""
    partition = partition_of(region)
    observed = iso(finding.observed_at)
    severity = {"Label": finding.severity}
    types = [FINDING_TYPE]
    return {
        "SchemaVersion": SCHEMA_VERSION,
        "Id": finding.id,
        "ProductArn": product_arn(partition, region, account_id),
        "ProductName": PRODUCT,
        "CompanyName": PRODUCT,
        "GeneratorId": f"{PRODUCT}-{CHECK_ID}",
        "AwsAccountId": account_id,
        "Region": region,
        "Types": types,
        "CreatedAt": observed,
        "UpdatedAt": observed,
        "LastObservedAt": observed,
        "Severity": severity,
        "FindingProviderFields": {"Severity": severity, "Types": types},
        "Title": _clip(finding.title, _TITLE_MAX),
        "Description": _clip(finding.description, _DESCRIPTION_MAX),
        "Remediation": {"Recommendation": {"Text": REMEDIATION_TEXT, "Url": REMEDIATION_URL}},
        "ProductFields": {
            "rootctl/OrganizationId": finding.organization_id,
            "rootctl/AccountId": finding.account_id,
            "rootctl/AccountName": finding.account_name,
            "rootctl/OuPath": finding.ou_path,
            "rootctl/CredentialKinds": ",".join(finding.kinds) or "none",
        },
        "Resources": [
            {
                "Type": "AwsAccount",
                "Id": f"AWS::::Account:{finding.account_id}",
                "Partition": partition,
                "Region": region,
                "Details": {
                    "Other": {
                        "AccountName": finding.account_name,
                        "OuPath": finding.ou_path,
                        "RootCredentials": ", ".join(KIND_LABELS[k] for k in finding.kinds)
                        or "none",
                    }
                },
            }
        ],
        "Compliance": {"Status": "PASSED" if finding.passed else "FAILED"},
        "Workflow": {"Status": "RESOLVED" if finding.passed else "NEW"},
        "RecordState": "ACTIVE",
    }


def product_arn(partition: str, region: str, account_id: str) -> str:
    """The default product of the importing account: what a custom integration imports into."""
    return f"arn:{partition}:securityhub:{region}:{account_id}:product/{account_id}/default"


def partition_of(region: str) -> str:
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def account_of(arn: str) -> str:
    """The account id in an IAM or STS ARN (arn:aws:sts::<account>:assumed-role/...)."""
    parts = arn.split(":")
    if len(parts) >= 6 and parts[0] == "arn" and parts[4].isdigit() and len(parts[4]) == 12:
        return parts[4]
    raise UsageError(
        f"cannot tell the importing account from the operator {arn!r}: "
        "set AsffWriter(account_id=...) to the account that imports the findings"
    )


def default_region() -> str:
    """AWS_REGION > AWS_DEFAULT_REGION > the (AWS_PROFILE) profile's region > us-east-1."""
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION"):
        value = os.environ.get(name, "").strip()
        if value:
            return value
    import botocore.session

    configured = botocore.session.Session().get_config_variable("region")
    return str(configured) if configured else DEFAULT_REGION


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


# -- the enforcement report (`rootctl enforce -o asff`, `--security-hub`) -----------------------

EVENT_TYPE = "Unusual Behaviors/User"
_REQUIREMENTS_MAX = 32  # Compliance.RelatedRequirements holds at most 32 entries


@dataclass
class EnforceAsffWriter:
    """The enforcement report's findings (rootctl.reports.enforce_findings) as ASFF.

    `region` and `account_id` name the importing account (ProductArn, AwsAccountId); the CLI
    sets them from the operator's session. Unset: AsffWriter's fallbacks, and an error when
    no account is known (the enforcement report does not carry the operator).
    """

    region: str | None = None
    account_id: str | None = None
    format = "asff"

    def write(self, report: EnforcementReport, out: TextIO) -> None:
        out.write(clean_json(json.dumps(self.findings(report), indent=2, ensure_ascii=False)))
        out.write("\n")

    def findings(self, report: EnforcementReport) -> list[dict[str, Any]]:
        from rootctl.reports.enforce_findings import export_findings

        if not self.account_id:
            raise UsageError("EnforceAsffWriter needs account_id: the account that imports")
        region = self.region or default_region()
        return [
            enforce_asff_finding(f, region=region, account_id=self.account_id)
            for f in export_findings(report)
        ]


def enforce_asff_finding(finding: ExportFinding, *, region: str, account_id: str) -> dict[str, Any]:
    """One AwsSecurityFinding of an enforcement finding (Workflow: see `asff_finding`)."""
    from rootctl.reports.enforce_findings import PRODUCT as ENFORCE_PRODUCT
    from rootctl.reports.enforce_findings import REMEDIATION_URL as ENFORCE_URL

    partition = partition_of(region)
    observed = iso(finding.observed_at)
    severity = {"Label": finding.severity}
    types = [FINDING_TYPE if finding.controls else EVENT_TYPE]
    document: dict[str, Any] = {
        "SchemaVersion": SCHEMA_VERSION,
        "Id": finding.id,
        "ProductArn": product_arn(partition, region, account_id),
        "ProductName": ENFORCE_PRODUCT,
        "CompanyName": ENFORCE_PRODUCT,
        "GeneratorId": finding.generator_id,
        "AwsAccountId": account_id,
        "Region": region,
        "Types": types,
        "CreatedAt": observed,
        "UpdatedAt": observed,
        "LastObservedAt": observed,
        "Severity": severity,
        "FindingProviderFields": {"Severity": severity, "Types": types},
        "Title": _clip(finding.title, _TITLE_MAX),
        "Description": _clip(finding.description, _DESCRIPTION_MAX),
        "Remediation": {"Recommendation": {"Text": finding.remediation, "Url": ENFORCE_URL}},
        "ProductFields": {
            "rootctl/FindingType": finding.type,
            "rootctl/AccountId": finding.account_id,
            "rootctl/Controls": ",".join(c.requirement for c in finding.controls) or "none",
        },
        "Resources": [
            {
                "Type": "AwsAccount",
                "Id": f"AWS::::Account:{finding.account_id}",
                "Partition": partition,
                "Region": region,
            }
        ],
        "Workflow": {"Status": "RESOLVED" if finding.passed else "NEW"},
        "RecordState": "ARCHIVED" if finding.passed else "ACTIVE",
    }
    if finding.controls:
        document["Compliance"] = {
            "Status": "PASSED" if finding.passed else "FAILED",
            "RelatedRequirements": [c.requirement for c in finding.controls][:_REQUIREMENTS_MAX],
        }
    if finding.account_name:
        document["Resources"][0]["Details"] = {"Other": {"AccountName": finding.account_name}}
    return document
