"""`rootctl allow-password-recovery` end to end."""

from __future__ import annotations

from pathlib import Path

from cred_helpers import changes, journal_entries, run_cli

from rootctl.sandbox import Sandbox

from support import EXPERIMENTS, PAYMENTS_PROD, SECURITY, enabled_fixture


def test_recovery_creates_a_login_profile_without_password(tmp_path: Path) -> None:
    journal = tmp_path / "j.db"
    with Sandbox.start(enabled_fixture()) as sb:
        proc = run_cli(
            sb,
            journal,
            "allow-password-recovery",
            EXPERIMENTS,
            "--reason",
            "OPS-9 console",
            "--yes",
        )
        assert proc.returncode == 0, proc.stderr
        assert "Password recovery allowed" in proc.stdout
        assert "the next delete-credentials run will delete the password again" in proc.stderr
        state = sb.root_state()[EXPERIMENTS]
        assert state["password"] is not None and state["access_keys"] == []
        calls = [(c["action"], c["task"]) for c in changes(sb)]
        assert calls == [("CreateLoginProfile", "IAMCreateRootUserPassword")]
        entries = journal_entries(sb, journal, "--account", EXPERIMENTS)
        assert [(e["action"], e["outcome"]) for e in entries] == [
            ("assume-root", "ok"),
            ("create-login-profile", "ok"),
        ]
        assert entries[1]["reason"] == "OPS-9 console"
        assert entries[1]["after"]["login_profile"]["created"]
        assert run_cli(sb, journal, "journal", "verify").returncode == 0

        again = run_cli(
            sb, journal, "allow-password-recovery", EXPERIMENTS, "--reason", "x", "--yes"
        )
        assert again.returncode == 1
        lines = again.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(
            f"error: account {EXPERIMENTS} already has a root password (created "
        )


def test_refused_when_a_password_exists(tmp_path: Path) -> None:
    journal = tmp_path / "j.db"
    with Sandbox.start(enabled_fixture()) as sb:
        before = sb.root_state()[PAYMENTS_PROD]
        proc = run_cli(
            sb, journal, "allow-password-recovery", PAYMENTS_PROD, "--reason", "x", "--yes"
        )
        assert proc.returncode == 1
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and "already has a root password" in lines[0], proc.stderr
        assert changes(sb) == [] and sb.root_state()[PAYMENTS_PROD] == before
        refused = journal_entries(sb, journal, "--outcome", "refused")
        assert [(e["account_id"], e["action"]) for e in refused] == [
            (PAYMENTS_PROD, "create-login-profile")
        ]


def test_dry_run_and_configured_exception(tmp_path: Path) -> None:
    journal = tmp_path / "j.db"
    config = tmp_path / "rootctl.yaml"
    config.write_text(
        "root_credentials:\n  exceptions:\n"
        f"    - account_id: '{SECURITY}'\n      reason: console access for the SOC\n"
        "      expires: 2099-01-01\n      keep: [password]\n"
    )
    with Sandbox.start(enabled_fixture()) as sb:
        dry = run_cli(
            sb, journal, "allow-password-recovery", SECURITY, "--dry-run", "-c", str(config)
        )
        assert dry.returncode == 0, dry.stderr
        assert "Plan: create a root login profile" in dry.stdout
        assert "Dry run: nothing changed." in dry.stderr and "warning" not in dry.stderr
        assert changes(sb) == [] and sb.root_state()[SECURITY]["password"] is None

        proc = run_cli(
            sb, journal, "allow-password-recovery", SECURITY, "--reason", "SOC", "--yes",
            "-c", str(config),
        )  # fmt: skip
        assert proc.returncode == 0 and "warning" not in proc.stderr
        # The exception keeps the recovered password out of the next bulk delete.
        delete = run_cli(
            sb, journal, "delete-credentials", "--accounts", SECURITY, "--reason", "x", "--yes",
            "-c", str(config),
        )  # fmt: skip
        assert delete.returncode == 0 and "Nothing to delete." in delete.stderr
        assert sb.root_state()[SECURITY]["password"] is not None
