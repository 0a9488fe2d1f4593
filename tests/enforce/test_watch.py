"""`rootctl watch` end to end: real root use and disallowed sessions, each reported once."""

from __future__ import annotations

from pathlib import Path

from enforce_helpers import document, invite_and_accept, invoke, verifies, write_config

from rootctl.sandbox import Sandbox
from rootctl.tasks import Task

from support import PAYMENTS_DEV, PAYMENTS_PROD, client

INVITED = "777788889999"
ALLOWED = "root_sessions:\n  allowed_callers: ['arn:aws:iam::111111111111:role/rootctl-*']\n"


def watch(sb: Sandbox, journal: Path, config: Path, *extra: str) -> tuple[int, dict]:  # type: ignore[type-arg]
    result = invoke(
        sb, "watch", "-c", str(config), "--since", "1h", "-o", "json", *extra, journal=journal
    )
    return result.exit_code, document(result)


def test_root_sign_in_root_key_call_and_disallowed_caller_are_found_once(
    enabled_sandbox: Sandbox, tmp_path: Path
) -> None:
    sb, journal = enabled_sandbox, tmp_path / "journal.db"
    config = write_config(tmp_path, "report", ALLOWED)
    status, answer = sb.control("root-sign-in", "POST", {"account_id": PAYMENTS_PROD})
    assert status == 200
    invite_and_accept(sb, INVITED)  # AcceptHandshake signed with the invited root's key
    session = client(sb, "sts").assume_root(  # the operator IAM user: not an allowed caller
        TargetPrincipal=PAYMENTS_DEV, TaskPolicyArn={"arn": Task.AUDIT.arn}
    )["Credentials"]["AccessKeyId"]

    code, doc = watch(sb, journal, config)
    assert code == 3, doc
    ids = {f["id"] for f in doc["findings"]}
    assert f"root-sign-in:{PAYMENTS_PROD}:{answer['event_id']}" in ids
    assert f"assume-root-caller:{PAYMENTS_DEV}:{session}" in ids
    assert f"root-session-outside-rootctl:{PAYMENTS_DEV}:{session}" in ids
    used = [f for f in doc["findings"] if f["type"] == "root-credentials-used"]
    assert [(f["account_id"], f["detail"]["event_name"]) for f in used] == [
        (INVITED, "AcceptHandshake")
    ]
    assert doc["failed"] == []
    assert not [f for f in doc["findings"] if f["type"] == "assume-root-task"]

    # The cursor: the next run reads the overlap again but reports nothing twice.
    code, again = watch(sb, journal, config)
    assert code == 0, again
    assert again["findings"] == []
    status, second = sb.control("root-sign-in", "POST", {"account_id": PAYMENTS_PROD})
    code, third = watch(sb, journal, config)
    assert code == 3
    assert [f["id"] for f in third["findings"]] == [
        f"root-sign-in:{PAYMENTS_PROD}:{second['event_id']}"
    ]
    assert verifies(journal)


def test_a_dry_run_leaves_the_cursor_and_sessions_rootctl_opened_are_not_flagged(
    enabled_sandbox: Sandbox, tmp_path: Path
) -> None:
    sb, journal = enabled_sandbox, tmp_path / "journal.db"
    config = write_config(tmp_path, "report")  # no allowed_callers: no caller findings
    result = invoke(sb, "audit", "--accounts", PAYMENTS_DEV, "-o", "json", journal=journal)
    assert result.exit_code == 0, result.output
    sb.control("root-sign-in", "POST", {"account_id": PAYMENTS_DEV})
    for _ in range(2):  # a dry run moves no cursor: the same finding twice
        code, doc = watch(sb, journal, config, "--dry-run")
        assert code == 3
        assert [f["type"] for f in doc["findings"]] == ["root-sign-in"]
    assert verifies(journal)


def test_enforce_runs_the_watch_on_a_full_pass(enabled_sandbox: Sandbox, tmp_path: Path) -> None:
    sb, journal = enabled_sandbox, tmp_path / "journal.db"
    config = write_config(tmp_path, "delete")
    sb.control("root-sign-in", "POST", {"account_id": PAYMENTS_PROD})
    args = ("enforce", "-c", str(config), "--watch-since", "1h", "--yes", "-o", "json")
    first = invoke(sb, *args, journal=journal)
    assert first.exit_code == 3, first.output  # credentials deleted, the sign-in remains
    doc = document(first)
    assert doc["changed"] and [f["type"] for f in doc["findings"]] == ["root-sign-in"]
    assert 0 < doc["scope"]["watch"]["accounts"] <= doc["summary"]["accounts"]  # ACTIVE ones
    second = invoke(sb, *args, journal=journal)
    assert second.exit_code == 0, second.output
    assert document(second)["changed"] == [] and document(second)["findings"] == []
    assert verifies(journal)
