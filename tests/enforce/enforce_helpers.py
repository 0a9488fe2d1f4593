"""Shared helpers of the enforce tests: the CLI in-process, configs, journal reads."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from rootctl.journal import Journal
from rootctl.sandbox import Sandbox

from support import checked_document
from support import credential_holders as credential_holders
from support import invite_and_accept as invite_and_accept
from support import sandbox_event as sandbox_event


def invoke(sb: Sandbox, *args: str, journal: Path, stdin: str | None = None) -> Result:
    """`rootctl ARGS` in-process against the sandbox (Click's runner: stdin is not a TTY)."""
    env: dict[str, str | None] = {k: None for k in os.environ if k.startswith(("AWS_", "ROOTCTL_"))}
    env.update(sb.env())
    env.update({"AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull})
    env.update({"NO_COLOR": "1", "COLUMNS": "200", "ROOTCTL_JOURNAL": str(journal)})
    from rootctl.cli.main import cli

    return CliRunner().invoke(cli, list(args), env=env, input=stdin, catch_exceptions=False)


def write_config(tmp_path: Path, policy: str, extra: str = "") -> Path:
    path = tmp_path / "rootctl.yaml"
    path.write_text(f"root_credentials:\n  policy: {policy}\n{extra}")
    return path


def document(result: Result) -> dict[str, Any]:
    """The `rootctl.enforce/v1` document `enforce`/`watch -o json` printed, checked against
    the shipped schema and read back by its model."""
    return checked_document("enforce", result.stdout)


def entries(journal: Path, run_id: str) -> list[str]:
    """The actions one run journaled, in order."""
    with Journal(journal, create=False) as j:
        return [e.action for e in j.list(run_id=run_id)]


def verifies(journal: Path) -> bool:
    with Journal(journal, create=False) as j:
        return j.verify().ok


def _client(sb: Sandbox, service: str) -> Any:
    from support import client

    return client(sb, service)
