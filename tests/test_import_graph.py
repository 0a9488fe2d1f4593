"""Start-up paths, asserted by what they import (never by how long they take).

Why the import graph and not a time: on a shared machine the same start-up takes 0.4 to 1 s
of wall time, so a timed assertion is flaky; which modules a path imports (and which
botocore models it loads) is deterministic, and it is what the start-up time follows
(docs/performance.md, "Start-up"). Each case is a new interpreter: `sys.modules` of the
test process says nothing about a cold start.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from rootctl.sandbox import Sandbox

from support import cli_env

# Never on the way to a parsed command line: validation, models and AWS come later.
HEAVY_FOR_CLI = ("pydantic", "botocore", "boto3", "rich", "jinja2", "yaml", "hcl2", "sqlite3")
# Never in an audit or an enforce pass: other output formats, other commands, boto3 itself.
NEVER_FOR_AUDIT = (
    "boto3",
    "s3transfer",
    "jinja2",
    "hcl2",
    "moto",
    "rootctl.reports.html_report",
    "rootctl.reports.ocsf_report",
    "rootctl.reports.asff_report",
    "rootctl.reports.csv_report",
    "rootctl.org.hcl",
    "rootctl.org.terraform",
    "rootctl.guardrails",
    "rootctl.sessions.policy",
    "rootctl.sandbox",
)
MEMBER = "222222222222"

# Runs the CLI in this interpreter, then prints what it imported and which botocore service
# models the process loaded (the shared loader's cache: every session uses that loader).
_PROBE = """
import gc, json, sys
sys.argv = ["rootctl", *sys.argv[1:]]
code = 0
try:
    from rootctl.cli.main import main
    main()
except SystemExit as exc:
    code = exc.code or 0
models = []
if "rootctl.aws.session" in sys.modules:
    loader = sys.modules["rootctl.aws.session"].shared_loader()
    models = [key[1] for key in loader._cache
              if key[0] == "load_service_model" and key[2] == "service-2"]
sys.stdout.flush()
sys.stderr.write("\\nPROBE " + json.dumps({"code": code, "modules": sorted(sys.modules),
                                         "models": models,
                                         "frozen": gc.get_freeze_count()}) + "\\n")
"""


def _probe(
    sb: Sandbox | None, *args: str, journal: Path | None = None, cwd: Path | None = None
) -> dict[str, Any]:
    changes = cli_env(sb, None, journal)
    env = {k: v for k, v in os.environ.items() if k not in changes}
    env.update({k: v for k, v in changes.items() if v is not None})
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=cwd,
    )
    line = done.stderr.rsplit("PROBE ", 1)[-1]
    result: dict[str, Any] = json.loads(line)
    result["stdout"] = done.stdout
    return result


def _loaded(modules: list[str], roots: tuple[str, ...]) -> list[str]:
    return [m for m in modules if any(m == r or m.startswith(r + ".") for r in roots)]


def test_importing_the_cli_imports_no_heavy_library() -> None:
    code = "import json, sys, rootctl.cli.main; print(json.dumps(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert _loaded(json.loads(done.stdout), HEAVY_FOR_CLI) == []


def test_help_imports_no_heavy_library() -> None:
    found = _probe(None, "audit", "--help")
    assert found["code"] == 0
    assert _loaded(found["modules"], HEAVY_FOR_CLI) == []
    assert found["frozen"] == 0  # no root session, no gc.freeze()


def test_bad_flag_stops_before_aws() -> None:
    found = _probe(None, "audit", "--concurrency", "0")
    assert found["code"] == 2
    # botocore.exceptions (a few ms) is fine; sessions, clients and models are not.
    assert _loaded(found["modules"], ("botocore.session", "botocore.client", "boto3")) == []


def test_audit_of_one_account_imports_only_its_path(
    enabled_sandbox: Sandbox, tmp_path: Path
) -> None:
    args = ("audit", "-o", "json", "--accounts", MEMBER)
    found = _probe(enabled_sandbox, *args, journal=tmp_path / "j.db", cwd=tmp_path)
    assert found["code"] == 0, found["stdout"]
    assert json.loads(found["stdout"])["summary"]["accounts"] == 1
    assert _loaded(found["modules"], NEVER_FOR_AUDIT) == []
    assert _loaded(found["modules"], ("rich",)) == []  # JSON output draws nothing
    assert _loaded(found["modules"], ("yaml",)) == []  # no rootctl.yaml: no YAML parser
    # The models of the services the audit calls, each loaded once for every session.
    assert sorted(found["models"]) == ["iam", "organizations", "sts"]
    # The start-up heap is frozen once the first root-session client exists (full garbage
    # collections then skip it): docs/performance.md, "CPU per call".
    assert found["frozen"] > 0


@pytest.mark.parametrize("output", ["json", "table"])
def test_enforce_event_imports_only_its_path(
    enabled_sandbox: Sandbox, tmp_path: Path, output: str
) -> None:
    config = tmp_path / "rootctl.yaml"
    config.write_text("root_credentials:\n  policy: report\n")
    event = tmp_path / "event.json"
    event.write_text(
        json.dumps(
            {
                "version": "0",
                "id": "import-graph",
                "detail-type": "AWS Service Event via CloudTrail",
                "source": "aws.organizations",
                "account": "111111111111",
                "time": "2026-12-02T00:00:00Z",
                "region": "us-east-1",
                "resources": [],
                "detail": {
                    "eventName": "AccountJoinedOrganization",
                    "serviceEventDetails": {"accountId": MEMBER, "joinedMethod": "Invited"},
                },
            }
        )
    )
    args = ("enforce", "-c", str(config), "--event", str(event), "--yes", "-o", output)
    found = _probe(enabled_sandbox, *args, journal=tmp_path / "j.db")
    assert found["code"] in (0, 3), found["stdout"]
    assert _loaded(found["modules"], NEVER_FOR_AUDIT) == []
    assert sorted(found["models"]) == ["iam", "organizations", "sts"]
    assert found["frozen"] > 0
