"""Selection, planning, resumption and report writers as plain functions (no sandbox)."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from rootctl.cli.credentials import parse_only
from rootctl.config import config_from_text
from rootctl.credentials.models import (
    AccessKey,
    AccountAudit,
    AuditReport,
    MfaDevice,
    Password,
    RootCredentials,
    SigningCertificate,
    mfa_type,
)
from rootctl.credentials.plan import KINDS, Step, parse_kinds, plan_deletion
from rootctl.credentials.resume import unfinished_steps
from rootctl.errors import UsageError
from rootctl.journal import Journal, Recorder
from rootctl.org.accounts import OrgInventory
from rootctl.org.selection import MANAGEMENT_SKIP_REASON, SelectionSpec, select_accounts, under
from rootctl.reports import report_formats, writer_for
from rootctl.results import Account, ErrorInfo
from rootctl.tasks import Task

MGMT, A, B, C, D = "111111111111", "222222222222", "333333333333", "444444444444", "555555555555"
INVENTORY = OrgInventory(
    organization_id="o-abcdefghij",
    management_account_id=MGMT,
    accounts=(
        Account(MGMT, "management", ou_path="/root"),
        Account(A, "a", ou_path="/root/workloads/prod"),
        Account(B, "b", ou_path="/root/workloads/prod-eu"),
        Account(C, "c", ou_path="/root/workloads/dev"),
        Account(D, "d", status="SUSPENDED", ou_path="/root/sandbox"),
    ),
    ou_paths=frozenset(
        {
            "/root",
            "/root/workloads",
            "/root/workloads/prod",
            "/root/workloads/prod-eu",
            "/root/workloads/dev",
            "/root/sandbox",
        }
    ),
)


def ids(spec: SelectionSpec) -> tuple[list[str], list[str]]:
    selection = select_accounts(INVENTORY, spec)
    return [a.id for a in selection.targets], [s.account.id for s in selection.skipped]


def test_selection() -> None:
    assert ids(SelectionSpec()) == ([A, B, C], [MGMT, D])
    assert ids(SelectionSpec(ous=("/root/workloads",))) == ([A, B, C], [])
    # Recursive means the OU and its children, not every path with the same prefix.
    assert ids(SelectionSpec(ous=("/root/workloads/prod",))) == ([A], [])
    assert ids(SelectionSpec(exclude_ous=("/root/workloads/prod",))) == ([B, C], [MGMT, D])
    assert ids(SelectionSpec(accounts=(C, MGMT), exclude=(MGMT,))) == ([C], [])
    skipped = select_accounts(INVENTORY, SelectionSpec(accounts=(A, MGMT))).skipped
    assert skipped[0].reason == MANAGEMENT_SKIP_REASON
    assert under("/root/a/b", "/root/a") and not under("/root/ab", "/root/a")


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (SelectionSpec(accounts=("999999999999",)), "^selected account 999999999999 not in"),
        (SelectionSpec(exclude=("999999999999",)), "^excluded account 999999999999"),
        (SelectionSpec(ous=("/root/workload",)), "^selected OU /root/workload is not"),
        (SelectionSpec(exclude_ous=("/root/x",)), "^excluded OU /root/x"),
        (SelectionSpec(accounts=(MGMT, D)), "no account AssumeRoot can target"),
        (SelectionSpec(accounts=(A,), exclude=(A,)), "selection is empty"),
    ],
)
def test_selection_errors(spec: SelectionSpec, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        select_accounts(INVENTORY, spec)


def test_parse_only() -> None:
    assert parse_only(None) == KINDS
    assert parse_only(" mfa-devices, password ") == ("password", "mfa-devices")
    for bad in ("", "passwords", "password,keys"):
        with pytest.raises(UsageError, match="--only"):
            parse_only(bad)
    assert parse_kinds(["mfa-devices", " password"]) == ("password", "mfa-devices")
    for kinds in ([], ["keys"], ["password", "passwords"]):
        with pytest.raises(UsageError, match=r"^(nothing|keys|passwords) is not a credential kind"):
            parse_kinds(kinds)


def t(day: int) -> datetime:
    return datetime(2024, 1, day, tzinfo=UTC)


ROOT = RootCredentials(
    password=Password(True, t(1), t(2)),
    access_keys=(AccessKey("AKIA1", "Active", t(3), t(4), "s3", "eu-west-1"),),
    signing_certificates=(SigningCertificate("CERT1", "Inactive", t(5)),),
    mfa_devices=(
        MfaDevice("arn:aws:iam::222222222222:mfa/root-account-mfa-device", "virtual", t(6)),
        MfaDevice("GAHT12345678", "hardware", t(7)),
    ),
)


def report_with(*audits: AccountAudit) -> AuditReport:
    return AuditReport(t(9), "o-abcdefghij", "arn:aws:iam::111111111111:user/op", audits)


def ok(account_id: str, root: RootCredentials) -> AccountAudit:
    return AccountAudit(account_id, "n", "/root/x", "ok", root.has_any(), root)


def test_plan_order_exceptions_and_only() -> None:
    config = config_from_text(
        "root_credentials:\n  exceptions:\n"
        f"    - {{account_id: '{B}', reason: r, expires: 2099-01-01, keep: [password]}}\n"
    )
    report = report_with(ok(A, ROOT), ok(B, ROOT), ok(C, RootCredentials()))
    exceptions = config.root_credentials.active_exceptions(date(2025, 1, 1))
    plan = plan_deletion(report, exceptions=exceptions)
    first, second = plan.accounts
    assert [s.action for s in first.steps] == [
        "delete-login-profile",
        "delete-access-key",
        "delete-signing-certificate",
        "deactivate-mfa-device",
        "delete-virtual-mfa-device",
        "deactivate-mfa-device",
    ]
    assert second.steps[0].action == "delete-access-key"
    assert [(k.kind, k.reason) for k in second.kept] == [
        ("password", "config exception until 2099-01-01: r")
    ]
    assert C not in [p.account_id for p in plan.accounts]
    only = plan_deletion(report, only=("mfa-devices",))
    assert {s.kind for p in only.accounts for s in p.steps} == {"mfa-devices"}
    assert {k.reason for p in only.accounts for k in p.kept} == {"not selected by --only"}


def test_unfinished_steps_resume_and_reconcile(tmp_path: Path) -> None:
    serial = "arn:aws:iam::222222222222:mfa/root-account-mfa-device"
    journal = Journal(tmp_path / "j.db")
    recorder = Recorder(journal, "delete-credentials", "op")
    plan = plan_deletion(report_with(ok(A, ROOT)))
    recorder.append(
        action="plan", outcome="planned", account_id=A, before=plan.accounts[0].to_dict()
    )
    recorder.append(
        action="delete-login-profile", outcome="ok", account_id=A, target="login-profile"
    )
    recorder.append(action="deactivate-mfa-device", outcome="ok", account_id=A, target=serial)
    left = {(s.action, s.target) for s in unfinished_steps(journal, [A])[A]}
    assert left == {
        ("delete-access-key", "AKIA1"),
        ("delete-signing-certificate", "CERT1"),
        ("delete-virtual-mfa-device", serial),
        ("deactivate-mfa-device", "GAHT12345678"),
    }
    assert unfinished_steps(journal, [B]) == {}
    # Re-audit: the key is gone (deleted, not journaled), the virtual device is hidden.
    now = RootCredentials(
        signing_certificates=ROOT.signing_certificates, mfa_devices=ROOT.mfa_devices[1:]
    )
    again = plan_deletion(report_with(ok(A, now)), unfinished=unfinished_steps(journal, [A]))
    account = again.accounts[0]
    assert [(s.action, s.target) for s in account.steps] == [
        ("delete-signing-certificate", "CERT1"),
        ("deactivate-mfa-device", "GAHT12345678"),
        ("delete-virtual-mfa-device", serial),
    ]
    assert [(s.action, s.target) for s in account.reconciled] == [("delete-access-key", "AKIA1")]
    # A later successful deletion of the reused serial closes it; a newer plan reopens it.
    recorder.append(action="delete-virtual-mfa-device", outcome="ok", account_id=A, target=serial)
    assert ("delete-virtual-mfa-device", serial) not in {
        (s.action, s.target) for s in unfinished_steps(journal, [A])[A]
    }
    recorder.append(
        action="plan", outcome="planned", account_id=A, before=plan.accounts[0].to_dict()
    )
    assert ("delete-virtual-mfa-device", serial) in {
        (s.action, s.target) for s in unfinished_steps(journal, [A])[A]
    }
    journal.close()


def test_step_round_trips_through_the_journal_shape() -> None:
    step = Step("delete-access-key", "access-keys", "AKIA1", {"access_key_id": "AKIA1"})
    assert step.to_dict()["before"] == {"access_key_id": "AKIA1"}


def test_mfa_type() -> None:
    assert mfa_type("arn:aws:iam::123456789012:mfa/root-account-mfa-device") == "virtual"
    assert mfa_type("GAHT12345678") == "hardware"
    assert mfa_type("arn:aws:iam::123456789012:u2f/root/x") == "hardware"


def sample_report() -> AuditReport:
    return report_with(
        ok(A, ROOT),
        ok(C, RootCredentials()),
        AccountAudit(B, "b", "/root", "error", error=ErrorInfo("AccessDenied", "no")),
        AccountAudit(
            MGMT, "m", "/root", "skipped", error=ErrorInfo("Skipped", MANAGEMENT_SKIP_REASON)
        ),
    )


def test_writers() -> None:
    assert report_formats()[:3] == ("table", "json", "csv")
    with pytest.raises(UsageError, match="unknown output format 'xml'"):
        writer_for("xml")
    report = sample_report()
    out = io.StringIO()
    writer_for("json").write(report, out)
    data = json.loads(out.getvalue())
    assert data["summary"] == {
        "accounts": 4,
        "with_root_credentials": 1,
        "without_root_credentials": 1,
        "errors": 1,
        "skipped": 1,
    }
    first = data["accounts"][0]
    assert first["root"]["password"] == {
        "present": True,
        "created": "2024-01-01T00:00:00Z",
        "last_used": "2024-01-02T00:00:00Z",
    }
    assert first["root"]["mfa_devices"][1] == {
        "serial_number": "GAHT12345678",
        "type": "hardware",
        "enabled": "2024-01-07T00:00:00Z",
    }
    out = io.StringIO()
    writer_for("csv").write(report, out)
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert [r["status"] for r in rows] == ["ok", "ok", "error", "skipped"]
    assert rows[0]["mfa_serial_numbers"].endswith("GAHT12345678 (hardware)")
    assert rows[2]["error_code"] == "AccessDenied" and rows[2]["password_present"] == ""
    out = io.StringIO()
    writer_for("table").write(report, out)
    text = out.getvalue()
    assert "FINDING" in text and "AccessDenied: no" in text and MANAGEMENT_SKIP_REASON in text
    assert "4 accounts: 1 with root credentials, 1 without, 1 errors, 1 skipped" in text


class FakeIam:
    """A root user's IAM as a delete session sees it, with chosen failures."""

    def __init__(self, fail: dict[str, str]) -> None:
        self.fail = fail
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> Any:
        def call(**kwargs: Any) -> dict[str, Any]:
            from botocore.exceptions import ClientError

            self.calls.append(name)
            if name in self.fail:
                raise ClientError({"Error": {"Code": self.fail[name], "Message": "no"}}, name)
            return {}

        return call


class FakeBroker:
    def __init__(self, iam: FakeIam, remaining: RootCredentials) -> None:
        self.iam = iam
        self.remaining = remaining
        self.evicted: list[tuple[str, Task]] = []

    def credentials(self, account_id: str, task: Task) -> None:
        """The session opens (delete_account opens it before the first step)."""

    def call(self, account_id: str, task: Task, service: str, fn: Any) -> Any:
        return fn(self.iam)

    def run(self, account_id: str, task: Task, fn: Any) -> Any:
        assert task is Task.AUDIT  # the verification read
        return self.remaining

    def evict(self, account_id: str, task: Task) -> None:
        self.evicted.append((account_id, task))


def test_delete_account_outcomes(tmp_path: Path) -> None:
    from rootctl.credentials.delete import delete_account

    plan = plan_deletion(report_with(ok(A, ROOT))).accounts[0]
    iam = FakeIam(
        {
            "deactivate_mfa_device": "EntityTemporarilyUnmodifiable",
            "delete_access_key": "NoSuchEntity",
        }
    )
    broker = FakeBroker(iam, RootCredentials(mfa_devices=ROOT.mfa_devices))
    with Journal(tmp_path / "j.db") as journal:
        result = delete_account(broker, plan, Recorder(journal, "delete-credentials", "op"))  # type: ignore[arg-type]
        outcomes = [(r.step.action, r.outcome) for r in result.steps]
        assert outcomes == [
            ("delete-login-profile", "deleted"),
            ("delete-access-key", "already-gone"),
            ("delete-signing-certificate", "deleted"),
            ("deactivate-mfa-device", "failed"),
            ("delete-virtual-mfa-device", "not-attempted"),
            ("deactivate-mfa-device", "failed"),
        ]
        assert "delete_virtual_mfa_device" not in iam.calls
        assert broker.evicted == [(A, Task.AUDIT)]  # verified with a fresh audit session
        assert result.outcome == "error" and result.verified is False
        assert result.error is not None and result.error.code == "VerificationFailed"
        verify = journal.list(action="verify")[0]
        assert verify.outcome == "error" and "GAHT12345678" in (verify.error or "")
        assert journal.verify().ok
