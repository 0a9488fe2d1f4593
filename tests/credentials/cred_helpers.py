"""Helpers shared by the credential tests: run the CLI against a sandbox, read ground truth."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from rootctl.sandbox import Sandbox

from support import MANAGEMENT, SUSPENDED

DELETE_ACTIONS = {
    "DeleteLoginProfile",
    "DeleteAccessKey",
    "DeleteSigningCertificate",
    "DeactivateMFADevice",
    "DeleteVirtualMFADevice",
    "CreateLoginProfile",
}


def cli_env(sb: Sandbox, journal: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(sb.env())
    env["ROOTCTL_JOURNAL"] = str(journal)
    env["COLUMNS"] = "200"
    return env


def run_cli(
    sb: Sandbox, journal: Path, *args: str, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    """`python -m rootctl ...` in a subprocess, stdin not a TTY."""
    return subprocess.run(
        [sys.executable, "-m", "rootctl", *args],
        env=cli_env(sb, journal),
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=timeout,
        check=False,
    )


def invoke(sb: Sandbox, journal: Path, *args: str) -> Result:
    """The CLI in-process (faster; for flag handling)."""
    from rootctl.cli.main import cli

    return CliRunner().invoke(cli, list(args), env=cli_env(sb, journal), catch_exceptions=False)


def audit_json(sb: Sandbox, journal: Path, *args: str) -> dict[str, Any]:
    proc = run_cli(sb, journal, "audit", "-o", "json", *args)
    assert proc.returncode in (0, 1, 3), proc.stderr
    data: dict[str, Any] = json.loads(proc.stdout)
    return data


def mutating(sb: Sandbox) -> list[dict[str, Any]]:
    return [call for call in sb.calls() if call["mutating"]]


def changes(sb: Sandbox) -> list[dict[str, Any]]:
    """Calls that change root credentials (AssumeRoot excluded)."""
    return [call for call in sb.calls() if call["action"] in DELETE_ACTIONS]


def targets(sb: Sandbox) -> set[str]:
    """ACTIVE member accounts: everything AssumeRoot may target."""
    return {a for a in sb.root_state() if a not in (MANAGEMENT, SUSPENDED)}


def when(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value.replace("Z", "+00:00"))


def expected_root(state: dict[str, Any]) -> dict[str, Any]:
    """The sandbox's ground truth in the audit JSON's shape (dates parsed)."""
    password = state["password"]
    return {
        "password": {
            "present": password is not None,
            "created": when(password["created"]) if password else None,
            "last_used": when(password["last_used"]) if password else None,
        },
        "access_keys": [
            {**key, "created": when(key["created"]), "last_used_date": when(key["last_used_date"])}
            for key in state["access_keys"]
        ],
        "signing_certificates": [
            {**cert, "uploaded": when(cert["uploaded"])} for cert in state["signing_certificates"]
        ],
        "mfa_devices": [
            {"serial_number": d["serial_number"], "type": d["kind"], "enabled": when(d["enabled"])}
            for d in state["mfa_devices"]
            if d["assigned"]
        ],
    }


def parsed_root(root: dict[str, Any]) -> dict[str, Any]:
    """An audit JSON `root` with its dates parsed, comparable with `expected_root`."""
    password = root["password"]
    return {
        "password": {
            **password,
            "created": when(password["created"]),
            "last_used": when(password["last_used"]),
        },
        "access_keys": [
            {**key, "created": when(key["created"]), "last_used_date": when(key["last_used_date"])}
            for key in root["access_keys"]
        ],
        "signing_certificates": [
            {**cert, "uploaded": when(cert["uploaded"])} for cert in root["signing_certificates"]
        ],
        "mfa_devices": [{**d, "enabled": when(d["enabled"])} for d in root["mfa_devices"]],
    }


def is_clean(state: dict[str, Any]) -> bool:
    """No credential at all, not even a deactivated virtual MFA device."""
    return (
        state["password"] is None
        and not state["access_keys"]
        and not state["signing_certificates"]
        and not state["mfa_devices"]
    )


def journal_entries(sb: Sandbox, journal: Path, *args: str) -> list[dict[str, Any]]:
    proc = run_cli(sb, journal, "journal", "list", "-o", "json", *args)
    assert proc.returncode == 0, proc.stderr
    entries: list[dict[str, Any]] = json.loads(proc.stdout)
    return entries
