"""Time-boxed password recovery: `--for` records a window; enforce closes it once passed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from enforce_helpers import invoke, verifies, write_config

from rootctl import connect
from rootctl.sandbox import Sandbox

from support import EXPERIMENTS


def _has_password(sb: Sandbox, account: str) -> bool:
    return sb.root_state()[account]["password"] is not None


@pytest.mark.parametrize("policy", ["delete", "report"])
def test_a_window_is_left_open_then_closed_on_the_first_pass_after_it(
    enabled_sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, policy: str
) -> None:
    sb, journal = enabled_sandbox, tmp_path / "journal.db"
    config = write_config(tmp_path, policy)
    allowed = invoke(
        sb, "allow-password-recovery", EXPERIMENTS, "--for", "4h", "--reason", "INC-7 billing",
        "--yes", journal=journal,
    )  # fmt: skip
    assert allowed.exit_code == 0, allowed.output
    assert "Recovery window until" in allowed.stdout
    assert _has_password(sb, EXPERIMENTS)

    open_pass = invoke(sb, "enforce", "-c", str(config), "--yes", "-o", "json", journal=journal)
    assert open_pass.exit_code in (0, 3), open_pass.output
    assert _has_password(sb, EXPERIMENTS)  # the window is still open
    assert f'"account_id": "{EXPERIMENTS}",\n      "kind": "password"' in open_pass.stdout

    for key, value in sb.env().items():
        monkeypatch.setenv(key, value)
    later = datetime.now(UTC) + timedelta(hours=5)
    with connect(config=config, journal=journal) as rc:
        report = rc.enforce(now=later)
    assert not _has_password(sb, EXPERIMENTS)
    closed = [c for c in report.changed if c.account_id == EXPERIMENTS]
    assert len(closed) == 1 and closed[0].why.startswith("password recovery window ended")
    assert closed[0].verified
    assert not [f for f in report.findings if f.account_id == EXPERIMENTS]
    with connect(config=config, journal=journal) as rc:
        again = rc.enforce(now=later)
    assert not [c for c in again.changed if c.account_id == EXPERIMENTS]
    assert verifies(journal)


def test_an_exception_keeping_the_password_outlives_the_window(
    enabled_sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sb, journal = enabled_sandbox, tmp_path / "journal.db"
    exception = (
        f"  exceptions:\n    - account_id: '{EXPERIMENTS}'\n      reason: vendor portal\n"
        "      expires: 2099-12-31\n      keep: [password]\n"
    )
    config = write_config(tmp_path, "delete", exception)
    args = ("--for", "30m", "--reason", "INC-8", "--yes")
    assert invoke(sb, "allow-password-recovery", EXPERIMENTS, *args, journal=journal).exit_code == 0
    for key, value in sb.env().items():
        monkeypatch.setenv(key, value)
    with connect(config=config, journal=journal) as rc:
        report = rc.enforce(now=datetime.now(UTC) + timedelta(days=1))
    assert _has_password(sb, EXPERIMENTS)
    kept = [r for r in report.refused if r.account_id == EXPERIMENTS]
    assert kept and kept[0].reason.startswith("exception until 2099-12-31")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("8d", "longer than 7d, the maximum"),
        ("soon", "is not a duration"),
        ("0m", "too short"),
        ("4 hours", "is not a duration"),
        ("-1h", "is not a duration"),
    ],
)
def test_a_nonsense_duration_is_one_line_and_no_call(
    enabled_sandbox: Sandbox, tmp_path: Path, value: str, message: str
) -> None:
    sb = enabled_sandbox
    sb.reset_calls()
    args = ("--for", value, "--reason", "INC-9", "--yes")
    result = invoke(sb, "allow-password-recovery", EXPERIMENTS, *args, journal=tmp_path / "j.db")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: --for: ") and message in result.stderr
    assert result.stderr.count("\n") == 1
    assert sb.calls() == []
