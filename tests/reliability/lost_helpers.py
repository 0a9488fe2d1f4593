"""Helpers of the lost-response suites: run the CLI with botocore's retries off, read calls."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from rootctl.sandbox import Sandbox

from support import run_cli

LOST_CODES = {"InternalFailure", "InternalError", "ServiceUnavailable", "ConnectionClosedError"}


def retries_off(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every client built from now on makes one attempt: a lost answer is the final answer.

    rootctl's own policy retries (11 attempts with backoff); exhausting it against a fault
    that hits every attempt takes botocore's backoff, tens of seconds per call.
    """
    from botocore.config import Config

    monkeypatch.setattr(
        "rootctl.aws.session.client_config",
        lambda max_pool_connections: Config(
            retries={"mode": "standard", "total_max_attempts": 1},
            max_pool_connections=max_pool_connections,
        ),
    )


def invoke_without_retries(
    monkeypatch: pytest.MonkeyPatch, sb: Sandbox, journal: Path, *args: str
) -> Result:
    """The CLI in-process with botocore's retries off."""
    from rootctl.cli.main import cli

    retries_off(monkeypatch)
    env: dict[str, str | None] = {k: None for k in os.environ if k.startswith(("AWS_", "ROOTCTL_"))}
    env.update(sb.env(), ROOTCTL_JOURNAL=str(journal), NO_COLOR="1", COLUMNS="200")
    env.update(AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull)
    result = CliRunner().invoke(cli, list(args), env=env)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def journal_entries(sb: Sandbox, journal: Path, *args: str) -> list[dict[str, Any]]:
    """Every entry (oldest first), after `journal verify` passed."""
    verify = run_cli(sb, "journal", "verify", journal=journal)
    assert verify.returncode == 0, verify.stderr
    listed = run_cli(sb, "journal", "list", "-o", "json", *args, journal=journal)
    assert listed.returncode == 0, listed.stderr
    entries: list[dict[str, Any]] = json.loads(listed.stdout)
    return entries


def lost(sb: Sandbox, *actions: str) -> list[dict[str, Any]]:
    """Calls of `actions` whose answer the sandbox lost (the change was applied)."""
    return [c for c in sb.calls() if c["fault"] == "lost-response" and c["action"] in actions]
