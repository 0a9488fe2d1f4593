"""The watch reads member trails on the fan-out: same findings, in the same order, at any
concurrency; an account whose trail cannot be read is one failure, never the others' loss."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from enforce_helpers import document, invoke, write_config

from rootctl import connect
from rootctl.org.selection import SelectionSpec
from rootctl.sandbox import Sandbox

from support import DATA_PROD, EXPERIMENTS, PAYMENTS_DEV, PAYMENTS_PROD, SECURITY, client

SIGNED_IN = (PAYMENTS_PROD, PAYMENTS_DEV, DATA_PROD, EXPERIMENTS, SECURITY)
READER = "WatchReader"


def _sign_ins(sb: Sandbox, accounts: tuple[str, ...]) -> dict[str, str]:
    """One simulated root console sign-in per account: account -> CloudTrail event id."""
    found = {}
    for account in accounts:
        status, answer = sb.control("root-sign-in", "POST", {"account_id": account})
        assert status == 200, answer
        found[account] = answer["event_id"]
    return found


def _findings(sb: Sandbox, tmp_path: Path, concurrency: int, monkeypatch: Any) -> list[str]:
    for key, value in sb.env().items():
        monkeypatch.setenv(key, value)
    config = write_config(tmp_path, "report")
    journal = tmp_path / f"journal-{concurrency}.db"
    with connect(config=config, journal=journal, concurrency=concurrency) as rc:
        report = rc.watch(
            SelectionSpec(), since=datetime.now(UTC) - timedelta(hours=1), dry_run=True
        )
    assert report.failed == []
    return [f.id for f in report.findings]


def test_the_same_findings_in_the_same_order_at_any_concurrency(
    enabled_sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sb = enabled_sandbox
    events = _sign_ins(sb, SIGNED_IN)
    one = _findings(sb, tmp_path, 1, monkeypatch)  # what the one-by-one read gave
    many = _findings(sb, tmp_path, 8, monkeypatch)
    assert one == many
    assert set(one) == {f"root-sign-in:{a}:{e}" for a, e in events.items()}
    again = _findings(sb, tmp_path, 8, monkeypatch)
    assert again == many  # deterministic: the accounts' order, not completion order


def _add_reader_role(sb: Sandbox, account_id: str) -> None:
    """The member role the watch reads through, made in one account (via its admin role)."""
    import json

    from support import keyed_client

    creds = client(sb, "sts").assume_role(
        RoleArn=f"arn:aws:iam::{account_id}:role/OrganizationAccountAccessRole",
        RoleSessionName="setup",
    )["Credentials"]
    iam = keyed_client(
        sb,
        "iam",
        creds["AccessKeyId"],
        creds["SecretAccessKey"],
        creds["SessionToken"],
        retries=True,
    )
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{sb.management_account_id}:root"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    iam.create_role(RoleName=READER, AssumeRolePolicyDocument=json.dumps(trust))


def test_an_account_whose_trail_cannot_be_read_does_not_hide_the_others(
    enabled_sandbox: Sandbox, tmp_path: Path
) -> None:
    sb, journal = enabled_sandbox, tmp_path / "journal.db"
    readable = (PAYMENTS_PROD, PAYMENTS_DEV, EXPERIMENTS)
    for account in readable:
        _add_reader_role(sb, account)  # DATA_PROD has no such role: AssumeRole is refused
    events = _sign_ins(sb, (*readable, DATA_PROD))
    selected = ",".join((*readable, DATA_PROD))
    config = write_config(tmp_path, "report")
    result = invoke(
        sb,
        "watch",
        "-c",
        str(config),
        "--since",
        "1h",
        "--accounts",
        selected,
        "--member-role",
        READER,
        "-o",
        "json",
        journal=journal,
    )
    doc = document(result)
    assert result.exit_code == 1, doc  # one trail unreadable
    assert [f["account_id"] for f in doc["failed"]] == [DATA_PROD]
    assert "AccessDenied" in doc["failed"][0]["error"]
    usage = {f["id"] for f in doc["findings"] if f["type"] == "root-sign-in"}
    assert usage == {f"root-sign-in:{a}:{events[a]}" for a in readable}
    assert doc["scope"]["watch"]["accounts"] == 4
