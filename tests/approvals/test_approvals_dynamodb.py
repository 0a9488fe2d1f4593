"""Requester and approver on different machines: the same flow with the journal in a
DynamoDB table (the deployment's backend) instead of a local file."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest
from approval_helpers import ARTIFACTS, CONFIG, People, assume_roots

from rootctl.journal.dynamodb import TABLE_SPEC, DynamoJournal
from rootctl.sandbox import Sandbox, SandboxCredentials

from support import PAYMENTS_PROD, client, enabled_fixture

_names = itertools.count(1)


class TablePeople(People):
    """Both identities write to one DynamoDB table, as two machines would."""

    table: str = ""

    def env(self, creds: SandboxCredentials) -> dict[str, str]:
        env = super().env(creds)
        env["ROOTCTL_JOURNAL"] = f"dynamodb://{self.table}"
        return env


@pytest.fixture
def people(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TablePeople]:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "rootctl.yaml").write_text(CONFIG)
    with Sandbox.start(enabled_fixture()) as sb:
        found = TablePeople(sb, tmp_path)
        found.table = f"approvals-{next(_names)}"
        client(sb, "dynamodb").create_table(TableName=found.table, **TABLE_SPEC)
        yield found


def test_request_approve_use_once_through_a_dynamodb_journal(
    people: TablePeople, monkeypatch: pytest.MonkeyPatch
) -> None:
    made = people.requester(
        "request", "s3-unlock", "--account", PAYMENTS_PROD, "--bucket", ARTIFACTS,
        "--reason", "OPS-1 locked artifacts bucket",
    )  # fmt: skip
    assert made.exit_code == 0, made.output
    rid = made.stdout.strip()
    assert people.approver("approve", rid).exit_code == 0
    unlock = ("unlock", "s3", "--account", PAYMENTS_PROD, "--bucket", ARTIFACTS,
              "--request", rid, "--yes")  # fmt: skip
    first = people.requester(*unlock)
    assert first.exit_code == 0, first.output
    again = people.requester(*unlock)
    assert again.exit_code == 2 and "used" in again.stderr, again.output
    assert len([c for c in assume_roots(people.sb) if c.get("status", 200) == 200]) >= 1
    for key, value in people.sb.env().items():
        monkeypatch.setenv(key, value)
    journal = DynamoJournal(people.table, readonly=True)
    assert journal.verify().ok
    actions = [e.action for e in journal.list(command="approvals")]
    assert actions[:3] == ["request", "approve", "use"], actions
