"""The shipped example and the README's commands stay true on the day the tests run."""

from __future__ import annotations

import re
import shlex
from datetime import UTC, datetime
from pathlib import Path

from rootctl.config import load_config

ROOT = Path(__file__).resolve().parents[2]


def test_the_example_config_is_valid_today() -> None:
    config = load_config(ROOT / "examples" / "rootctl.yaml")
    today = datetime.now(UTC).date()
    exceptions = config.root_credentials.exceptions
    assert exceptions, "the example shows credential exceptions"
    assert not config.root_credentials.expired_exceptions(today), (
        "an example exception has expired: move its date forward"
    )


def test_readme_reasons_match_the_example_reason_pattern() -> None:
    config = load_config(ROOT / "examples" / "rootctl.yaml")
    reasons = []
    for line in (ROOT / "README.md").read_text().splitlines():
        if "--reason" in line and line.strip().startswith("rootctl"):
            words = shlex.split(line.split("#")[0])
            reasons.append(words[words.index("--reason") + 1])
    assert reasons, "the README shows a --reason example"
    for reason in reasons:
        config.root_sessions.check_reason(reason)  # raises UsageError if it does not match


def test_every_command_has_a_docs_page_or_a_readme_row() -> None:
    from rootctl.cli.main import COMMANDS

    readme = (ROOT / "README.md").read_text()
    pages = {p.stem for p in (ROOT / "docs" / "commands").glob("*.md")}
    missing = [
        name
        for name in COMMANDS
        if name not in pages and not re.search(rf"`rootctl {re.escape(name)}[ `]", readme)
    ]
    assert not missing, f"undocumented commands: {missing}"
