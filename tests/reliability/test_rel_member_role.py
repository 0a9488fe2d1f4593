"""`rootctl events` when the member role is missing: one clear line per account, exit 1.

The sandbox answers sts:AssumeRole into a role that does not exist with AWS's AccessDenied
("is not authorized to perform: sts:AssumeRole on resource"). Accounts whose trail could
be read are still reported in full.
"""

from __future__ import annotations

import json
from pathlib import Path

from rootctl.sandbox import Sandbox
from rootctl.tasks import Task

from support import PAYMENTS_DEV, PAYMENTS_PROD, client, root_client, run_cli

DEFAULT_ROLE = "OrganizationAccountAccessRole"


def _sessions_into_two_accounts(sb: Sandbox) -> None:
    for account_id in (PAYMENTS_DEV, PAYMENTS_PROD):
        root_client(sb, account_id, Task.AUDIT, "iam").get_account_summary()


def _error_lines(stderr: str) -> list[str]:
    lines = stderr.strip().splitlines()
    assert all(line.startswith("error: ") for line in lines), stderr
    return lines


def test_a_member_account_without_the_role_is_one_error_line(
    enabled_sandbox: Sandbox, tmp_path: Path
) -> None:
    sb = enabled_sandbox
    _sessions_into_two_accounts(sb)
    client(sb, "iam", sb.credentials_for(PAYMENTS_PROD)).delete_role(RoleName=DEFAULT_ROLE)

    proc = run_cli(sb, "events", "--since", "1h", "-o", "json", journal=tmp_path / "j.db")

    assert "Traceback" not in proc.stderr
    assert proc.returncode == 1, proc.stderr
    (line,) = _error_lines(proc.stderr)
    assert line.startswith(
        f"error: cannot read CloudTrail in {PAYMENTS_PROD}: role {DEFAULT_ROLE} cannot be "
        "assumed there (AccessDenied: "
    ), line
    assert f"sts:AssumeRole on resource: arn:aws:iam::{PAYMENTS_PROD}:role/{DEFAULT_ROLE}" in line
    assert "the role must exist in that account" in line and "--member-role" in line
    assert "An error occurred" not in line, "AWS's message, not botocore's wrapper"
    doc = json.loads(proc.stdout)
    assert set(doc["errors"]) == {PAYMENTS_PROD}
    actions = [i for i in doc["timeline"] if i["type"] == "action"]
    assert {a["account_id"] for a in actions} == {PAYMENTS_DEV}, "the readable account is kept"
    sessions = [i for i in doc["timeline"] if i["type"] == "session"]
    assert {s["account_id"] for s in sessions} == {PAYMENTS_DEV, PAYMENTS_PROD}


def test_a_member_role_that_exists_nowhere_names_each_account(
    enabled_sandbox: Sandbox, tmp_path: Path
) -> None:
    sb = enabled_sandbox
    _sessions_into_two_accounts(sb)
    sb.reset_calls()

    proc = run_cli(
        sb, "events", "--since", "1h", "--member-role", "AuditReader", journal=tmp_path / "j.db"
    )

    assert "Traceback" not in proc.stderr
    assert proc.returncode == 1, proc.stderr
    lines = _error_lines(proc.stderr)
    assert [line.split(":", 2)[1].strip() for line in lines] == [
        f"cannot read CloudTrail in {account}" for account in sorted((PAYMENTS_DEV, PAYMENTS_PROD))
    ]
    assert all("role AuditReader cannot be assumed there (AccessDenied" in x for x in lines)
    assert "2 sessions, 0 actions" in proc.stdout, "the table still lists the sessions"
    refused = [c for c in sb.calls() if c["action"] == "AssumeRole"]
    assert [c["status"] for c in refused] == [403, 403], "AccessDenied is not retried"
    assert not [c for c in sb.calls() if c["action"] == "AssumeRoot"]
