"""The facade alone (no CLI) keeps every rule: the documented snippet, refusals journaled,
saved deletion plans applied exactly or refused."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from rootctl import SelectionSpec, Task, UsageError, connect
from rootctl.config import config_from_text
from rootctl.journal import Journal
from rootctl.sandbox import Sandbox
from rootctl.sessions.rules import SessionRefused

from support import DATA_PROD, EXPERIMENTS, PAYMENTS_PROD, enabled_fixture

DOC = Path(__file__).resolve().parents[2] / "docs" / "python-api.md"


@pytest.fixture
def sb(monkeypatch: pytest.MonkeyPatch) -> Iterator[Sandbox]:
    with Sandbox.start(enabled_fixture()) as sandbox:
        for key in list(os.environ):
            if key.startswith(("AWS_", "ROOTCTL_")):
                monkeypatch.delenv(key)
        monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
        monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
        for key, value in sandbox.env().items():
            monkeypatch.setenv(key, value)
        yield sandbox


def _snippet() -> str:
    match = re.search(
        r"```python\n(from rootctl import SelectionSpec.*?)```", DOC.read_text(), re.S
    )
    assert match, "docs/python-api.md lost its audit-then-delete snippet"
    return match.group(1)


def test_the_documented_snippet_audits_then_deletes(
    sb: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "rootctl.yaml").write_text("root_sessions:\n  reason_pattern: 'SEC-[0-9]+ .+'\n")
    code = _snippet()
    assert len([line for line in code.splitlines() if line.strip()]) <= 12
    exec(compile(code, str(DOC), "exec"), {})
    out = capsys.readouterr().out
    assert re.search(r"^\d+ accounts with root credentials$", out, re.M)
    assert out.strip().endswith(tuple("0123456789abcdef")) and "\nok " in out
    state = sb.root_state()
    workloads = [a for a in state if sb.ou_path_of(a).startswith("/root/workloads")]
    assert workloads and all(not state[a]["access_keys"] for a in workloads)
    assert Journal(tmp_path / "rootctl-journal.db").verify().ok


def test_rules_hold_through_the_library_and_refusals_are_journaled(
    sb: Sandbox, tmp_path: Path
) -> None:
    journal = tmp_path / "j.db"
    config = config_from_text(
        "root_sessions:\n  reason_pattern: 'SEC-[0-9]+.*'\n  allowed_tasks: [audit]\n", "test"
    )
    with connect(config=config, journal=journal) as rc:
        with pytest.raises(SessionRefused, match="allowed_tasks"):
            rc.plan_deletion(reason="SEC-1 cleanup")
        with pytest.raises(SessionRefused, match="allowed_tasks"):
            rc.plan_password_recovery(EXPERIMENTS, reason="SEC-2")
        with pytest.raises(UsageError, match="reason"):
            rc.plan_deletion(reason="   ")
    allowed = config_from_text("root_sessions:\n  reason_pattern: 'SEC-[0-9]+.*'\n", "test")
    with connect(config=allowed, journal=journal) as rc:
        with pytest.raises(SessionRefused, match="reason_pattern"):
            rc.plan_deletion(reason="cleanup without a ticket")
        with (
            pytest.raises(SessionRefused, match="reason_pattern"),
            rc.session(PAYMENTS_PROD, Task.AUDIT, reason="no ticket"),
        ):
            pass
    assert not [c for c in sb.calls() if c["action"] == "AssumeRoot"]
    refusals = Journal(journal).list(outcome="refused")
    assert [e.command for e in refusals] == [
        "delete-credentials",
        "allow-password-recovery",
        "delete-credentials",
        "session",
    ]
    assert all("[root_sessions." in (e.error or "") for e in refusals)
    assert Journal(journal).verify().ok


def test_an_expired_exception_is_noted_and_planned(sb: Sandbox, tmp_path: Path) -> None:
    config = config_from_text(
        f"""root_credentials:
  exceptions:
    - account_id: "{DATA_PROD}"
      reason: token held by the data team
      expires: 2020-01-31
""",
        "test",
    )
    with connect(config=config, journal=tmp_path / "j.db") as rc:
        planned = rc.plan_deletion(SelectionSpec(accounts=(DATA_PROD,)), dry_run=True)
    assert any(DATA_PROD in n and "expired" in n for n in planned.notes)
    assert [a.account_id for a in planned.plan.changes] == [DATA_PROD]


def test_root_session_boundary(sb: Sandbox, tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from rootctl.aws.session import NoRootSessionError

    with connect(journal=tmp_path / "j.db") as rc:
        with rc.session(PAYMENTS_PROD, Task.AUDIT, reason="OPS-1 look") as s:
            keys = s.iam.list_access_keys()["AccessKeyMetadata"]
            with ThreadPoolExecutor(2) as pool:
                listed = s.map(pool, lambda _: s.iam.list_access_keys(), range(2))
            iam = s.iam
        with pytest.raises(NoRootSessionError):
            iam.list_access_keys()  # outside the block it refuses to sign
    assert all(r["AccessKeyMetadata"] == keys for r in listed)
    [opened] = Journal(tmp_path / "j.db").list(action="assume-root")
    assert (opened.account_id, opened.task_policy) == (PAYMENTS_PROD, Task.AUDIT.value)


def _saved(rc: object, tmp_path: Path) -> Path:
    from rootctl.api import Rootctl
    from rootctl.documents.base import dump

    assert isinstance(rc, Rootctl)
    planned = rc.plan_deletion(SelectionSpec(accounts=(PAYMENTS_PROD,)), dry_run=True)
    path = tmp_path / "plan.json"
    path.write_text(dump(rc.deletion_plan_document(planned)))
    return path


def test_saved_deletion_plan_applies_exactly(sb: Sandbox, tmp_path: Path) -> None:
    with connect(journal=tmp_path / "j.db") as rc:
        path = _saved(rc, tmp_path)
        planned = rc.saved_deletion_plan(path, reason="SEC-9 reviewed in PR 12")
        done = rc.delete(planned)
    assert not done.failed and [r.plan.account_id for r in done.results] == [PAYMENTS_PROD]
    assert sb.root_state()[PAYMENTS_PROD]["access_keys"] == []


@pytest.mark.parametrize("change", ["new key", "edited", "old", "other config"])
def test_saved_deletion_plan_refused_when_stale(sb: Sandbox, tmp_path: Path, change: str) -> None:
    from datetime import timedelta

    from rootctl.documents.saved import StalePlanError

    with connect(journal=tmp_path / "j.db") as rc:
        path = _saved(rc, tmp_path)
    max_age = None
    config = None
    if change == "new key":  # someone deleted a key by hand since the plan was made
        from support import root_client

        iam = root_client(sb, PAYMENTS_PROD, Task.DELETE, "iam")
        key = sb.root_state()[PAYMENTS_PROD]["access_keys"][0]
        iam.delete_access_key(AccessKeyId=key["access_key_id"])
    elif change == "edited":
        data = json.loads(path.read_text())
        data["accounts"][0]["steps"] = data["accounts"][0]["steps"][:1]
        path.write_text(json.dumps(data))
    elif change == "old":
        max_age = timedelta(seconds=0)
    else:
        config = config_from_text(
            f"""root_credentials:
  exceptions:
    - account_id: "{PAYMENTS_PROD}"
      reason: migration
      expires: 2099-12-31
      keep: [password]
""",
            "test",
        )
    before = sb.root_state()[PAYMENTS_PROD]
    sb.reset_calls()
    with connect(config=config, journal=tmp_path / "j.db") as rc, pytest.raises(StalePlanError):
        rc.saved_deletion_plan(path, reason="SEC-9", max_age=max_age)
    assert sb.root_state()[PAYMENTS_PROD] == before
    deletes = [c for c in sb.calls() if c["action"].startswith(("Delete", "Deactivate"))]
    assert not deletes
