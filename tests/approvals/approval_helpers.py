"""Two people against one sandbox: the CLI in-process as the requester or the approver."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from rootctl.cli.main import cli
from rootctl.journal import Journal, StoredEntry
from rootctl.sandbox import Sandbox, SandboxCredentials

from support import MANAGEMENT

APPROVER_ARN = f"arn:aws:iam::{MANAGEMENT}:user/rootctl-approver"
REQUESTER_ARN = f"arn:aws:iam::{MANAGEMENT}:user/rootctl-operator"
ARTIFACTS = "payments-prod-artifacts"
STATE = "payments-prod-terraform-state"
CONFIG = f"""
root_sessions:
  reason_pattern: '^[A-Z]+-[0-9]+ .+$'
  approval:
    tasks: [s3-unlock, sqs-unlock, create-password]
    approvers: ["arn:aws:iam::{MANAGEMENT}:user/rootctl-approver"]
    valid_for: 1h
"""
Invoke = Callable[..., Result]


@dataclass
class People:
    """The CLI as each identity of the management account, sharing one journal and config."""

    sb: Sandbox
    tmp: Path

    @property
    def journal_path(self) -> Path:
        return self.tmp / "j.sqlite3"

    def env(self, creds: SandboxCredentials) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "ROOTCTL_"))}
        env.update(self.sb.env(creds))
        env["ROOTCTL_JOURNAL"] = str(self.journal_path)
        env["AWS_CONFIG_FILE"] = os.devnull
        env["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
        env["COLUMNS"] = "200"
        return env

    def as_(self, creds: SandboxCredentials, *args: str) -> Result:
        return CliRunner().invoke(cli, list(args), env=self.env(creds))

    def requester(self, *args: str) -> Result:
        return self.as_(self.sb.operators["requester"], *args)

    def approver(self, *args: str) -> Result:
        return self.as_(self.sb.operators["approver"], *args)

    def entries(self, **filters: Any) -> list[StoredEntry]:
        with Journal(self.journal_path) as journal:
            return journal.list(**filters)

    def refusals(self) -> list[StoredEntry]:
        return self.entries(outcome="refused")


def assume_roots(sb: Sandbox) -> list[dict[str, Any]]:
    return [c for c in sb.calls() if c["action"] == "AssumeRoot"]


def one_line_error(result: Result) -> str:
    """Exit 2, one `error:` line on stderr, nothing else, no traceback."""
    assert result.exit_code == 2, (result.exit_code, result.output)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.output
    return lines[0]
