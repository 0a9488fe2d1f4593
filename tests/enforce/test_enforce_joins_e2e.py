"""End to end: the sandbox's own join events, as EventBridge delivers them, drive `enforce`."""

from __future__ import annotations

import json
from pathlib import Path

from enforce_helpers import (
    credential_holders,
    document,
    entries,
    invite_and_accept,
    invoke,
    sandbox_event,
    verifies,
    write_config,
)

from rootctl.sandbox import Sandbox

from support import client

INVITED = "777788889999"


def test_an_invited_account_is_cleaned_by_its_own_joined_event(
    enabled_sandbox: Sandbox, tmp_path: Path
) -> None:
    sb, journal = enabled_sandbox, tmp_path / "journal.db"
    invite_and_accept(sb, INVITED)
    assert INVITED in credential_holders(sb)
    others = credential_holders(sb) - {INVITED}
    event = sandbox_event(sb, "AccountJoinedOrganization")
    assert event["detail"]["serviceEventDetails"]["joinedMethod"] == "Invited"
    config = write_config(tmp_path, "delete")
    result = invoke(
        sb, "enforce", "-c", str(config), "--event", "-", "--yes", "-o", "json",
        journal=journal, stdin=json.dumps(event),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    doc = document(result)
    assert doc["scope"]["event"] == {
        "kind": "joined",
        "event_id": event["id"],
        "event_name": "AccountJoinedOrganization",
        "account_id": INVITED,
        "joined_method": "Invited",
    }
    assert [c["account_id"] for c in doc["changed"]] == [INVITED]
    assert doc["changed"][0]["verified"] is True
    assert INVITED not in credential_holders(sb)
    assert credential_holders(sb) == others  # the pass touched nothing else
    assert "enforce" in entries(journal, doc["run_id"])
    assert verifies(journal)


def test_a_created_account_is_audited_and_found_clean(
    enabled_sandbox: Sandbox, tmp_path: Path
) -> None:
    sb, journal = enabled_sandbox, tmp_path / "journal.db"
    status = client(sb, "organizations").create_account(
        AccountName="new-workload", Email="new-workload@example.com"
    )["CreateAccountStatus"]
    config = write_config(tmp_path, "delete")
    for name, kind in (("CreateAccountResult", "created"), ("AccountJoinedOrganization", "joined")):
        event = sandbox_event(sb, name)
        sb.reset_calls()
        result = invoke(
            sb, "enforce", "-c", str(config), "--event", "-", "--yes", "-o", "json",
            journal=journal, stdin=json.dumps(event),
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        doc = document(result)
        assert doc["scope"]["event"]["kind"] == kind
        assert doc["scope"]["event"]["account_id"] == status["AccountId"]
        assert doc["summary"]["accounts"] == 1
        assert doc["found"] == [] and doc["changed"] == [] and doc["findings"] == []
        # Audited, one account: one AssumeRoot, for the new account only, nothing deleted.
        assume = [c for c in sb.calls() if c["action"] == "AssumeRoot"]
        assert len(assume) == 1
        assert not [c for c in sb.calls() if c["action"].startswith("Delete")]
    assert verifies(journal)
