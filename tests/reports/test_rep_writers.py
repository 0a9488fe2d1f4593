"""Unit tests of the findings and of the html, ocsf and asff writers, on hand-built reports."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
from datetime import UTC, datetime
from typing import Any

import pytest

from rootctl.credentials.models import (
    AccessKey,
    AccountAudit,
    AuditReport,
    MfaDevice,
    Password,
    RootCredentials,
    SigningCertificate,
)
from rootctl.errors import UsageError
from rootctl.reports import report_formats, writer_for
from rootctl.reports.asff_report import AsffWriter, account_of, partition_of
from rootctl.reports.findings import account_findings, finding_id, severity
from rootctl.reports.html_charts import MAX_CHART_OUS
from rootctl.reports.html_report import render
from rootctl.results import ErrorInfo

ORG = "o-a1b2c3d4e5"
OPERATOR = "arn:aws:sts::111111111111:assumed-role/Admin/alice"
T1 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
T2 = datetime(2026, 3, 8, 12, 0, tzinfo=UTC)
EVIL = '<script>alert("x")</script>{{ script }}&amp;'


def _root(**kwargs: Any) -> RootCredentials:
    return RootCredentials(**kwargs)


def sample_report(at: datetime = T1, **names: str) -> AuditReport:
    """Two findings, one clean account, one error, one skipped."""
    accounts = (
        AccountAudit(
            "333333333333",
            names.get("333333333333", "payments-prod"),
            "/root/workloads/prod",
            "ok",
            True,
            _root(
                password=Password(True, at, at),
                access_keys=(AccessKey("AKIAROOT1", "Active"),),
                mfa_devices=(MfaDevice("arn:aws:iam::333333333333:mfa/root", "virtual"),),
            ),
        ),
        AccountAudit(
            "444444444444",
            names.get("444444444444", "payments-dev"),
            "/root/workloads/dev",
            "ok",
            True,
            _root(signing_certificates=(SigningCertificate("C1", "Inactive"),)),
        ),
        AccountAudit("666666666666", "experiments", "/root/sandbox", "ok", False, _root()),
        AccountAudit(
            "999999999999",
            "broken",
            "/root/sandbox",
            "error",
            error=ErrorInfo("AccessDenied", "not authorized <b>"),
        ),
        AccountAudit(
            "777777777777",
            "legacy",
            "/root/sandbox",
            "skipped",
            error=ErrorInfo("Skipped", "SUSPENDED"),
        ),
    )
    return AuditReport(at, ORG, OPERATOR, accounts)


def written(format: str, report: AuditReport) -> str:
    out = io.StringIO()
    writer_for(format).write(report, out)
    return out.getvalue()


# -- registry and findings ----------------------------------------------------------------------


def test_formats_are_registered() -> None:
    assert {"html", "ocsf", "asff"} <= set(report_formats())
    for format in ("html", "ocsf", "asff"):
        assert writer_for(format).format == format


def test_one_finding_per_completed_audit_none_for_errors_or_skipped() -> None:
    findings = account_findings(sample_report())
    assert [(f.account_id, f.result) for f in findings] == [
        ("333333333333", "FAIL"),
        ("444444444444", "FAIL"),
        ("666666666666", "PASS"),
    ]
    assert findings[0].kinds == ("password", "access-keys", "mfa-devices")
    assert findings[1].kinds == ("signing-certificates",)
    assert findings[2].kinds == ()


def test_finding_ids_depend_on_org_account_and_check_only() -> None:
    first = [f.id for f in account_findings(sample_report(T1))]
    again = [f.id for f in account_findings(sample_report(T2, **{"333333333333": "renamed"}))]
    assert first == again
    assert first[0] == "rootctl/o-a1b2c3d4e5/333333333333/root-user-credentials"
    assert finding_id("o-other", "333333333333") != first[0]
    assert len(set(first)) == len(first)


@pytest.mark.parametrize(
    ("root", "label"),
    [
        (_root(access_keys=(AccessKey("K", "Active"),)), "CRITICAL"),
        (_root(password=Password(True)), "HIGH"),
        (_root(signing_certificates=(SigningCertificate("C", "Active"),)), "HIGH"),
        (_root(access_keys=(AccessKey("K", "Inactive"),)), "MEDIUM"),
        (_root(mfa_devices=(MfaDevice("S", "hardware"),)), "MEDIUM"),
        (_root(), "INFORMATIONAL"),
    ],
)
def test_severity(root: RootCredentials, label: str) -> None:
    assert severity(root) == label


# -- ASFF -----------------------------------------------------------------------------------------

_ASFF_ENUMS = {
    ("Severity", "Label"): {"INFORMATIONAL", "LOW", "MEDIUM", "HIGH", "CRITICAL"},
    ("Compliance", "Status"): {"PASSED", "WARNING", "FAILED", "NOT_AVAILABLE"},
    ("Workflow", "Status"): {"NEW", "NOTIFIED", "RESOLVED", "SUPPRESSED"},
}
_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")


def check_asff(findings: list[dict[str, Any]]) -> None:
    """What BatchImportFindings checks before it accepts a batch, from botocore's own model of
    the API (required members, types, no unknown keys) plus ASFF's enums and limits."""
    import botocore.session
    from botocore.validate import ParamValidator

    model = botocore.session.get_session().get_service_model("securityhub")
    shape = model.operation_model("BatchImportFindings").input_shape
    report = ParamValidator().validate({"Findings": findings}, shape)
    assert not report.has_errors(), report.generate_report()
    assert 1 <= len(findings) <= 100  # one BatchImportFindings call
    for finding in findings:
        assert finding["SchemaVersion"] == "2018-10-08"
        assert len(finding["Id"]) <= 512 and len(finding["Title"]) <= 256
        assert len(finding["Description"]) <= 1024
        for key in ("CreatedAt", "UpdatedAt", "LastObservedAt"):
            assert _TIMESTAMP.match(finding[key]), finding[key]
        for (outer, inner), allowed in _ASFF_ENUMS.items():
            assert finding[outer][inner] in allowed
        assert finding["RecordState"] in {"ACTIVE", "ARCHIVED"}
        assert all(isinstance(v, str) and v for v in finding["ProductFields"].values())
        account = finding["AwsAccountId"]
        assert re.fullmatch(
            rf"arn:aws(-cn|-us-gov)?:securityhub:[a-z0-9-]+:{account}:product/{account}/default",
            finding["ProductArn"],
        )


def test_asff_findings_are_valid_batch_import_input() -> None:
    findings = json.loads(written("asff", sample_report()))
    check_asff(findings)
    assert len(findings) == 3


def test_asff_fields(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    failed, failed_cert, passed = json.loads(written("asff", sample_report()))
    assert failed["Id"] == "rootctl/o-a1b2c3d4e5/333333333333/root-user-credentials"
    assert failed["ProductArn"] == (
        "arn:aws:securityhub:eu-west-1:111111111111:product/111111111111/default"
    )
    assert failed["GeneratorId"] == "rootctl-root-user-credentials"
    assert failed["AwsAccountId"] == "111111111111"  # the importing account (module docstring)
    assert failed["Resources"][0]["Type"] == "AwsAccount"
    assert failed["Resources"][0]["Id"] == "AWS::::Account:333333333333"
    assert failed["Compliance"]["Status"] == "FAILED"
    assert failed["Workflow"]["Status"] == "NEW"
    assert failed["RecordState"] == "ACTIVE"
    assert failed["Severity"]["Label"] == "CRITICAL"
    assert failed["FindingProviderFields"]["Severity"]["Label"] == "CRITICAL"
    assert failed["CreatedAt"] == failed["UpdatedAt"] == "2026-03-01T12:00:00Z"
    assert failed["ProductFields"]["rootctl/CredentialKinds"] == "password,access-keys,mfa-devices"
    assert "333333333333" in failed["Title"] and "password" in failed["Description"]
    assert failed_cert["Severity"]["Label"] == "MEDIUM"
    assert passed["Compliance"]["Status"] == "PASSED"
    assert passed["Workflow"]["Status"] == "RESOLVED"
    assert passed["Severity"]["Label"] == "INFORMATIONAL"


def test_asff_reimport_updates_the_same_findings() -> None:
    before = json.loads(written("asff", sample_report(T1)))
    after = json.loads(written("asff", sample_report(T2)))
    assert [f["Id"] for f in before] == [f["Id"] for f in after]
    assert [f["ProductArn"] for f in before] == [f["ProductArn"] for f in after]
    assert all(a["UpdatedAt"] > b["UpdatedAt"] for a, b in zip(after, before, strict=True))


def test_asff_explicit_target_and_partitions() -> None:
    writer = AsffWriter(region="cn-north-1", account_id="123456789012")
    finding = writer.findings(sample_report())[0]
    assert finding["ProductArn"] == (
        "arn:aws-cn:securityhub:cn-north-1:123456789012:product/123456789012/default"
    )
    assert finding["Resources"][0]["Partition"] == "aws-cn"
    assert partition_of("us-gov-west-1") == "aws-us-gov"
    assert partition_of("eu-central-1") == "aws"


def test_asff_region_falls_back_to_us_east_1(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    finding = AsffWriter(account_id="123456789012").findings(sample_report())[0]
    assert ":securityhub:us-east-1:" in finding["ProductArn"]


def test_account_of_operator_arns() -> None:
    assert account_of("arn:aws:iam::123456789012:user/ops") == "123456789012"
    assert account_of("arn:aws-us-gov:sts::123456789012:assumed-role/R/s") == "123456789012"
    with pytest.raises(UsageError, match="importing account"):
        account_of("alice")


def test_asff_long_names_are_clipped_to_the_limits() -> None:
    report = sample_report(**{"333333333333": "n" * 2000})
    check_asff(json.loads(written("asff", report)))


# -- OCSF -----------------------------------------------------------------------------------------


def test_ocsf_round_trips_through_the_model() -> None:
    from py_ocsf_models.events.findings.detection_finding import DetectionFinding

    documents = json.loads(written("ocsf", sample_report()))
    assert len(documents) == 3
    for document in documents:
        model = DetectionFinding.model_validate(document)
        assert model.model_dump(mode="json", exclude_none=True) == document


def test_ocsf_fields() -> None:
    failed, _, passed = json.loads(written("ocsf", sample_report()))
    assert failed["class_uid"] == 2004 and failed["category_uid"] == 2
    assert failed["finding_info"]["uid"] == (
        "rootctl/o-a1b2c3d4e5/333333333333/root-user-credentials"
    )
    assert (failed["activity_id"], failed["status_id"], failed["status_code"]) == (1, 1, "FAIL")
    assert failed["type_uid"] == 200401
    assert failed["severity_id"] == 5 and failed["severity"] == "Critical"
    assert failed["time"] == int(T1.timestamp() * 1000)  # OCSF timestamps are milliseconds
    assert failed["cloud"]["account"] == {
        "name": "payments-prod",
        "type": "AWS Account",
        "type_id": 10,
        "uid": "333333333333",
    }
    assert failed["cloud"]["org"]["uid"] == ORG
    assert failed["resources"][0]["data"]["root_credentials"] == [
        "password",
        "access-keys",
        "mfa-devices",
    ]
    assert failed["metadata"]["product"]["name"] == "rootctl"
    assert (passed["activity_id"], passed["status_id"], passed["status_code"]) == (3, 4, "PASS")
    assert passed["type_uid"] == 200403
    assert passed["severity_id"] == 1


def test_ocsf_ids_are_stable_across_runs() -> None:
    before = json.loads(written("ocsf", sample_report(T1)))
    after = json.loads(written("ocsf", sample_report(T2)))
    assert [d["finding_info"]["uid"] for d in before] == [d["finding_info"]["uid"] for d in after]


def test_empty_report_gives_empty_arrays() -> None:
    empty = AuditReport(T1, ORG, OPERATOR, ())
    assert json.loads(written("ocsf", empty)) == []
    assert json.loads(written("asff", empty)) == []


# -- HTML (static; tests/reports/test_rep_html_browser.py looks at it in Chromium) ---------------


def test_html_escapes_every_value() -> None:
    page = render(sample_report(**{"333333333333": EVIL}))
    assert "<script>alert" not in page
    assert page.count("<script>") == 1  # the page's own
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;{{ script }}&amp;amp;" in page
    assert "not authorized &lt;b&gt;" in page


def test_html_operator_and_org_are_escaped() -> None:
    report = AuditReport(T1, '<o-x">', '<img src=x onerror="1">', ())
    page = render(report)
    assert "<img" not in page and '<o-x">' not in page


def test_html_is_self_contained_and_csp_hashes_match() -> None:
    page = render(sample_report())
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
    assert "@import" not in page and "url(" not in page
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', page)
    assert csp is not None
    policy = csp.group(1)
    assert "default-src 'none'" in policy
    for tag in ("style", "script"):
        body = re.search(rf"<{tag}>(.*?)</{tag}>", page, re.S)
        assert body is not None
        digest = base64.b64encode(hashlib.sha256(body.group(1).encode()).digest()).decode()
        assert f"{tag}-src 'sha256-{digest}'" in policy


def test_html_summary_and_meta() -> None:
    page = render(sample_report())
    assert '<div class="card card-finding" id="card-finding"><span class="value">2</span>' in page
    assert '<div class="card card-clean" id="card-clean"><span class="value">1</span>' in page
    assert "2026-03-01 12:00:00 UTC" in page
    assert OPERATOR in page and ORG in page
    assert page.count('<tr data-status="') == 5 + 2  # accounts table + errors table


def test_html_empty_report() -> None:
    page = render(AuditReport(T1, ORG, OPERATOR, ()))
    assert "0 of 0 accounts" in page
    assert 'id="no-problems"' in page


def test_html_ou_chart_is_capped_and_says_so() -> None:
    accounts = tuple(
        AccountAudit(f"{i:012d}", f"a{i}", f"/root/ou-{i:03d}", "ok", i % 2 == 0, _root())
        for i in range(MAX_CHART_OUS + 10)
    )
    page = render(AuditReport(T1, ORG, OPERATOR, accounts))
    chart = page.split('id="ou-chart"', 1)[1].split("</svg>", 1)[0]
    assert chart.count("<g data-ou=") == MAX_CHART_OUS
    assert f"The {MAX_CHART_OUS} of {MAX_CHART_OUS + 10} OUs" in page
    table = page.split('id="ous"', 1)[1].split("</table>", 1)[0]
    assert table.count("<tr>") == MAX_CHART_OUS + 10 + 1  # every OU, plus the header row
