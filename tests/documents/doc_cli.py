"""The CLI in-process against a sandbox (Click's runner), for the document tests."""

from __future__ import annotations

import os
from pathlib import Path

from click.testing import CliRunner, Result

from rootctl.sandbox import Sandbox


def invoke(sb: Sandbox, *args: str, journal: Path | None = None) -> Result:
    env: dict[str, str | None] = {k: None for k in os.environ if k.startswith(("AWS_", "ROOTCTL_"))}
    env.update(sb.env())
    env.update({"AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull})
    env.update({"NO_COLOR": "1", "COLUMNS": "200"})
    if journal is not None:
        env["ROOTCTL_JOURNAL"] = str(journal)
    from rootctl.cli.main import cli

    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)
