"""A real enforcement pass journals its checkpoint and the next pass uses it, on both
journal backends (sqlite file; DynamoDB table in the sandbox): a window opened after a
checkpoint keeps its password while open and loses it on the first pass after it ends."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from enforce_helpers import invoke, write_config

from rootctl import connect
from rootctl.journal.backend import open_journal
from rootctl.journal.dynamodb import TABLE_SPEC
from rootctl.sandbox import Sandbox

from support import EXPERIMENTS, client


@pytest.fixture
def env(enabled_sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> Iterator[Sandbox]:
    for key in [k for k in os.environ if k.startswith(("AWS_", "ROOTCTL_"))]:
        monkeypatch.delenv(key)
    for key, value in enabled_sandbox.env().items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
    yield enabled_sandbox


@pytest.mark.parametrize("kind", ["sqlite", "dynamodb"])
def test_passes_chain_their_checkpoints_and_a_later_window_is_seen(
    env: Sandbox, tmp_path: Path, kind: str
) -> None:
    sb = env
    journal: Path | str = tmp_path / "journal.db"
    if kind == "dynamodb":
        client(sb, "dynamodb").create_table(TableName="journal", **TABLE_SPEC)
        journal = "dynamodb://journal"
    config = write_config(tmp_path, "delete")
    with connect(config=config, journal=journal) as rc:
        rc.enforce()
    allowed = invoke(
        sb, "allow-password-recovery", EXPERIMENTS, "--for", "4h", "--reason", "INC-7",
        "--yes", journal=journal,  # type: ignore[arg-type]
    )  # fmt: skip
    assert allowed.exit_code == 0, allowed.output
    with connect(config=config, journal=journal) as rc:
        kept = rc.enforce()
    assert sb.root_state()[EXPERIMENTS]["password"] is not None
    assert any(r.account_id == EXPERIMENTS and r.kind == "password" for r in kept.refused)
    later = datetime.now(UTC) + timedelta(hours=5)
    with connect(config=config, journal=journal) as rc:
        closed = rc.enforce(now=later)
    assert sb.root_state()[EXPERIMENTS]["password"] is None
    assert next(c.why for c in closed.changed if c.account_id == EXPERIMENTS).startswith(
        "password recovery window ended"
    )
    with open_journal(journal) as j:
        assert j.verify().ok
        passes = j.list(action="enforce")
        window = j.list(action="recovery-window")[0]
    assert len(passes) == 3
    first, second, third = (p.after["checkpoint"] for p in passes)
    assert first["windows"] == {}
    # The second pass read from the first checkpoint on and found the window after it.
    assert first["through"] < passes[0].id < window.id <= second["through"] < passes[1].id
    assert second["windows"][EXPERIMENTS]["entry_id"] == window.id
    assert third["windows"][EXPERIMENTS] == second["windows"][EXPERIMENTS]
    assert second["through"] < third["through"] < passes[2].id
