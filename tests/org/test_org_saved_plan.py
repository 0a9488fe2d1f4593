"""Saved plans end to end against the sandbox: `plan --out PLAN`, `apply PLAN`, and every refusal
(changed organization, edited file, old plan, other organization, changed config, malformed file).
A refusal is one line, exit 2, and no mutating call."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from org_cli import invoke

from rootctl.documents.base import parse
from rootctl.documents.org import PlanDocument
from rootctl.documents.saved import content_digest
from rootctl.sandbox import Sandbox

from support import SECURITY, client, mutating_calls, sample_fixture

CONFIG = f"""
centralize_root_access:
  enabled: true
  features: [RootCredentialsManagement, RootSessions]
delegated_administrator: "{SECURITY}"
"""


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path, Path]:
    config = tmp_path / "rootctl.yaml"
    config.write_text(CONFIG)
    return config, tmp_path / "org.plan.json", tmp_path / "journal.sqlite3"


def saved(sb: Sandbox, config: Path, plan: Path) -> dict[str, Any]:
    result = invoke(sb, "plan", "-c", str(config), "--out", str(plan))
    assert result.exit_code == 2, result.output  # changes pending
    assert plan.stat().st_mode & 0o777 == 0o600
    data: dict[str, Any] = json.loads(plan.read_text())
    return data


def reseal(plan: Path, data: dict[str, Any]) -> None:
    """Rewrite the plan with a digest that matches its (edited) content."""
    data["digest"] = ""
    data["digest"] = content_digest(parse(PlanDocument, json.dumps(data)))
    plan.write_text(json.dumps(data))


def refused(sb: Sandbox, plan: Path, journal: Path, fragment: str, *extra: str) -> None:
    sb.reset_calls()
    result = invoke(sb, "apply", str(plan), "--yes", *extra, journal=journal)
    assert result.exit_code == 2, result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and fragment in errors[0], result.stderr
    assert "Traceback" not in result.output
    assert mutating_calls(sb) == []


def test_apply_a_saved_plan_applies_exactly_it(files: tuple[Path, Path, Path]) -> None:
    config, plan, journal = files
    with Sandbox.start(sample_fixture()) as sb:
        data = saved(sb, config, plan)
        assert data["schema"] == "rootctl.plan/v1"
        assert data["organization_id"] == sb.organization_id
        assert data["config_source"] == {"kind": "file", "path": str(config)}
        kinds = [c["kind"] for c in data["changes"]]
        assert kinds == [
            "enable-trusted-access",
            "register-delegated-administrator",
            "enable-feature",
            "enable-feature",
        ]
        applied = invoke(sb, "apply", str(plan), "--yes", journal=journal)
        assert applied.exit_code == 0, applied.output
        assert "Verified" in applied.stdout
        assert sb.features() == ["RootCredentialsManagement", "RootSessions"]
        listed = invoke(sb, "journal", "--journal", str(journal), "list", "--output", "json")
        entries = json.loads(listed.stdout)
        assert [e["action"] for e in entries] == kinds
        assert {e["command"] for e in entries} == {"apply"}
        assert len({e["run_id"] for e in entries}) == 1
        # The same plan again: the organization it was made from is gone.
        refused(sb, plan, journal, "the organization changed since the plan was made")


def test_a_plan_is_refused_when_the_organization_changed(files: tuple[Path, Path, Path]) -> None:
    config, plan, journal = files
    with Sandbox.start(sample_fixture()) as sb:
        saved(sb, config, plan)
        client(sb, "organizations").enable_aws_service_access(ServicePrincipal="iam.amazonaws.com")
        refused(sb, plan, journal, "the organization changed since the plan was made")


def test_an_edited_plan_is_refused(files: tuple[Path, Path, Path]) -> None:
    config, plan, journal = files
    with Sandbox.start(sample_fixture()) as sb:
        data = saved(sb, config, plan)
        original = plan.read_text()
        data["changes"] = data["changes"][:1]  # an edit without a new digest
        plan.write_text(json.dumps(data))
        refused(sb, plan, journal, "edited after it was saved")
        reseal(plan, data)  # an edit with a matching digest: the changes are re-derived
        refused(sb, plan, journal, "not what this config and organization give")
        plan.write_text(original[: len(original) // 2])
        refused(sb, plan, journal, "not a JSON document")
        plan.write_text(json.dumps({"schema": "rootctl.audit/v1"}))
        refused(sb, plan, journal, "not a rootctl.plan/v1 document")
        plan.write_text(json.dumps({**data, "changes": [{"kind": "drop-table", "target": "x"}]}))
        refused(sb, plan, journal, "changes.0.kind")


def test_an_old_plan_is_refused(files: tuple[Path, Path, Path]) -> None:
    config, plan, journal = files
    with Sandbox.start(sample_fixture()) as sb:
        data = saved(sb, config, plan)
        made = datetime.now(UTC) - timedelta(hours=25)
        reseal(plan, {**data, "created_at": made.isoformat().replace("+00:00", "Z")})
        refused(sb, plan, journal, "older than the limit of 24 h")
        ok = invoke(sb, "apply", str(plan), "--yes", "--max-age", "2d", journal=journal)
        assert ok.exit_code == 0, ok.output
        refused(sb, plan, journal, "--max-age", "--max-age", "soon")


def test_a_plan_of_another_organization_or_config_is_refused(
    files: tuple[Path, Path, Path],
) -> None:
    config, plan, journal = files
    with Sandbox.start(sample_fixture()) as sb:
        saved(sb, config, plan)
    with Sandbox.start(sample_fixture()) as other:
        refused(other, plan, journal, "made for organization")
    with Sandbox.start(sample_fixture()) as sb:
        saved(sb, config, plan)
        config.write_text(CONFIG.replace(", RootSessions", ""))
        refused(sb, plan, journal, "the configuration changed since the plan was made")
        changed = config.parent / "other.yaml"
        changed.write_text(CONFIG)
        config.write_text(CONFIG)
        # A comment or a reordering is not a change of meaning.
        changed.write_text("# reviewed in PR 12\n" + CONFIG)
        ok = invoke(sb, "apply", str(plan), "-c", str(changed), "--yes", journal=journal)
        assert ok.exit_code == 0, ok.output


def test_plan_refuses_a_delegated_administrator_outside_the_organization(
    tmp_path: Path, sandbox: Sandbox
) -> None:
    config = tmp_path / "rootctl.yaml"
    config.write_text('delegated_administrator: "999999999999"\n')
    planned = invoke(sandbox, "plan", "-c", str(config))
    assert planned.exit_code == 1, planned.output
    assert "No changes" not in planned.output
    assert "999999999999 is not a member of organization" in planned.stderr
    sandbox.reset_calls()
    applied = invoke(sandbox, "apply", "-c", str(config), "--yes", journal=tmp_path / "j")
    assert applied.exit_code == 2
    assert mutating_calls(sandbox) == []
    out = tmp_path / "p.json"
    invoke(sandbox, "plan", "-c", str(config), "--out", str(out))
    assert not out.exists()


def test_plan_without_a_config_file_says_so(
    tmp_path: Path, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for command in ("plan", "apply"):
        result = invoke(sandbox, command)
        assert result.exit_code == 2
        assert result.stderr.strip() == (
            "error: no config file: ./rootctl.yaml not found; pass -c FILE (docs/config.md)"
        )
