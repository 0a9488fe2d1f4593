"""Real passes against the sandbox, on both journal backends: a deletion interrupted before
a pass's checkpoint is finished by a later pass (or by `delete-credentials` outside enforce)
that reads only the entries after that checkpoint, and the watch cursor journaled before a
checkpoint still sets the next watch's window."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from enforce_helpers import invoke, write_config

from rootctl import connect
from rootctl.credentials.delete import record_plans
from rootctl.credentials.plan import COMMAND, plan_deletion
from rootctl.enforce.checkpoint import read_since_checkpoint
from rootctl.journal.backend import open_journal
from rootctl.journal.dynamodb import TABLE_SPEC
from rootctl.org.selection import SelectionSpec
from rootctl.results import iso
from rootctl.sandbox import Sandbox
from rootctl.tasks import Task

from support import PAYMENTS_PROD, client, root_client

SERIAL = f"arn:aws:iam::{PAYMENTS_PROD}:mfa/root-account-mfa-device"


@pytest.fixture
def env(enabled_sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> Iterator[Sandbox]:
    for key in [k for k in os.environ if k.startswith(("AWS_", "ROOTCTL_"))]:
        monkeypatch.delenv(key)
    for key, value in enabled_sandbox.env().items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
    yield enabled_sandbox


def _journal(sb: Sandbox, tmp_path: Path, kind: str) -> Path | str:
    if kind == "dynamodb":
        client(sb, "dynamodb").create_table(TableName="journal", **TABLE_SPEC)
        return "dynamodb://journal"
    return tmp_path / "journal.db"


def _interrupted(sb: Sandbox, journal: Path | str, config: Path) -> int:
    """A delete-credentials run killed between deactivating the virtual MFA device and
    deleting it (ListMFADevices no longer shows it); the id of its plan entry."""
    with connect(config=config, journal=journal) as rc:
        run = rc.run(COMMAND, "OPS-1")
        report = run.audit(run.select(SelectionSpec(accounts=(PAYMENTS_PROD,))))
        record_plans(plan_deletion(report, only=("mfa-devices",)), run.recorder)
        iam = root_client(sb, PAYMENTS_PROD, Task.DELETE, "iam")
        iam.deactivate_mfa_device(SerialNumber=SERIAL)
        run.recorder.append(
            action="deactivate-mfa-device",
            outcome="ok",
            account_id=PAYMENTS_PROD,
            task=Task.DELETE,
            target=SERIAL,
        )
    with open_journal(journal) as j:
        return j.list(action="plan")[-1].id


def _device(sb: Sandbox) -> list[tuple[str, bool]]:
    devices = sb.root_state()[PAYMENTS_PROD]["mfa_devices"]
    return [(d["serial_number"], d["assigned"]) for d in devices]  # type: ignore[attr-defined]


@pytest.mark.parametrize("kind", ["sqlite", "dynamodb"])
def test_a_pass_finishes_a_deletion_planned_before_the_previous_checkpoint(
    env: Sandbox, tmp_path: Path, kind: str
) -> None:
    sb = env
    journal = _journal(sb, tmp_path, kind)
    plan_id = _interrupted(sb, journal, write_config(tmp_path, "delete"))
    assert _device(sb) == [(SERIAL, False)]
    # A pass under `report` deletes nothing; its checkpoint carries the unfinished step.
    with connect(config=write_config(tmp_path, "report"), journal=journal) as rc:
        rc.enforce()
    with open_journal(journal) as j:
        checkpoint = j.list(action="enforce")[-1].after["checkpoint"]
        pending = checkpoint["steps"]["pending"][PAYMENTS_PROD]
        since = read_since_checkpoint(j)
    assert [(s["action"], s["target"], s["plan_id"]) for s in pending] == [
        ("delete-virtual-mfa-device", SERIAL, plan_id)
    ]
    assert since.first_read > plan_id  # the next pass does not read the plan entry itself
    with connect(config=write_config(tmp_path, "delete"), journal=journal) as rc:
        report = rc.enforce()
    assert _device(sb) == []
    assert any(c.account_id == PAYMENTS_PROD and SERIAL in c.deleted for c in report.changed), (
        report.changed
    )
    with connect(config=write_config(tmp_path, "delete"), journal=journal) as rc:
        again = rc.enforce()
    assert again.changed == [] and again.failed == []
    with open_journal(journal) as j:
        assert j.verify().ok
        last = j.list(action="enforce")[-1].after["checkpoint"]
    assert last["steps"] == {"pending": {}, "unreadable": {}}


@pytest.mark.parametrize("kind", ["sqlite", "dynamodb"])
def test_delete_credentials_outside_enforce_trusts_the_checkpoint_too(
    env: Sandbox, tmp_path: Path, kind: str
) -> None:
    sb = env
    journal = _journal(sb, tmp_path, kind)
    config = write_config(tmp_path, "report")
    plan_id = _interrupted(sb, journal, config)
    with connect(config=config, journal=journal) as rc:
        rc.enforce()
    with open_journal(journal) as j:
        assert read_since_checkpoint(j).first_read > plan_id
    dry = invoke(
        sb, "delete-credentials", "-c", str(config), "--accounts", PAYMENTS_PROD, "--dry-run",
        journal=journal,  # type: ignore[arg-type]
    )  # fmt: skip
    assert dry.exit_code == 0, dry.output
    assert f"delete virtual MFA {SERIAL}" in dry.output.replace("\n│", "")
    done = invoke(
        sb, "delete-credentials", "-c", str(config), "--accounts", PAYMENTS_PROD,
        "--only", "mfa-devices", "--reason", "OPS-2", "--yes",
        journal=journal,  # type: ignore[arg-type]
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    assert _device(sb) == []
    with open_journal(journal) as j:
        assert j.verify().ok


@pytest.mark.parametrize("kind", ["sqlite", "dynamodb"])
def test_the_watch_window_starts_at_a_cursor_journaled_before_the_checkpoint(
    env: Sandbox, tmp_path: Path, kind: str
) -> None:
    sb = env
    journal = _journal(sb, tmp_path, kind)
    config = write_config(tmp_path, "report")
    now = datetime.now(UTC).replace(microsecond=0)
    with connect(config=config, journal=journal) as rc:
        rc.enforce(watch_since=now - timedelta(hours=1), now=now)  # journals the cursor
        rc.enforce(now=now + timedelta(minutes=1))  # no watch: its checkpoint carries it
    with open_journal(journal) as j:
        cursor_entry = j.list(action="watch-cursor")[-1]
        carried = j.list(action="enforce")[-1].after["checkpoint"]["cursor"]
        assert read_since_checkpoint(j).first_read > cursor_entry.id
    assert carried["entry_id"] == cursor_entry.id
    with connect(config=config, journal=journal) as rc:
        later = rc.enforce(watch_since=now - timedelta(days=1), now=now + timedelta(minutes=30))
    # From the cursor (minus CloudTrail's 15-minute delivery lag), not from watch_since.
    assert later.scope["watch"]["start"] == iso(now - timedelta(minutes=15))
