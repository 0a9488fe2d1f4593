"""Every JSON document a command prints, run against the sandbox, validates against the schema
shipped in the package, and reads back with the document's own model."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import jsonschema
import pytest
from doc_cli import invoke

from rootctl.documents import model_for, parse, shipped_schema
from rootctl.sandbox import Sandbox

from support import PAYMENTS_PROD, SECURITY, enabled_fixture

BUCKET = "payments-prod-artifacts"
DRY_JSON = ("--dry-run", "-o", "json")
APPLY_JSON = ("--yes", "--reason", "OPS-1", "-o", "json")

CONFIG = f"""
centralize_root_access:
  enabled: true
  features: [RootCredentialsManagement, RootSessions]
delegated_administrator: "{SECURITY}"
guardrails:
  - policy_name: scp_root_ou
    target_ou_paths: [/root]
    template_names: [deny_actions_as_root_except_centralized_root]
"""


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, list[str]]]:
    """The JSON stdout of each command, grouped by document (one sandbox for all)."""
    tmp = tmp_path_factory.mktemp("outputs")
    config, journal, plan = tmp / "rootctl.yaml", tmp / "journal.sqlite3", tmp / "plan.json"
    deletion_plan = tmp / "deletion-plan.json"
    config.write_text(CONFIG)
    enforce_config = tmp / "enforce.yaml"  # the organization part and a delete policy
    enforce_config.write_text(CONFIG + "root_credentials:\n  policy: delete\n")
    runs: list[tuple[str, tuple[str, ...]]] = [
        ("status", ("status", "-o", "json")),
        ("plan", ("plan", "-c", str(config), "-o", "json", "--out", str(plan))),
        ("audit", ("audit", "-o", "json")),
        ("delete-credentials", ("delete-credentials", "--dry-run", "-o", "json")),
        ("events", ("events", "-o", "json")),
        ("locked", ("list-locked", "sqs", "--account", PAYMENTS_PROD, "-o", "json")),
        (
            "unlock",
            ("unlock", "s3", "--account", PAYMENTS_PROD, "--bucket", BUCKET, *DRY_JSON),
        ),
        (
            "unlock",
            ("unlock", "s3", "--account", PAYMENTS_PROD, "--bucket", BUCKET, *APPLY_JSON),
        ),
        ("journal-entry", ("journal", "show", "1", "-o", "json")),
        ("requests", ("requests", "-o", "json")),  # empty here: tests/approvals has every state
        ("guardrails-check", ("guardrails", "check", "-o", "json")),
        (
            "delete-credentials",  # stdout: the dry-run report; the file: the deletion plan
            ("delete-credentials", "--plan-out", str(deletion_plan), "-o", "json"),
        ),
        # Last: these change the organization. watch prints rootctl.enforce/v1 as well.
        ("enforce", ("enforce", "-c", str(enforce_config), *DRY_JSON)),
        ("enforce", ("watch", "--since", "1d", "-o", "json")),
        (
            "enforce",  # organization changes, deletions, and scope.watch
            ("enforce", "-c", str(enforce_config), "--watch-since", "1d", *APPLY_JSON),
        ),
    ]
    found: dict[str, list[str]] = {}
    with Sandbox.start(enabled_fixture()) as sb:
        for name, args in runs:
            result = invoke(sb, *args, journal=journal)
            assert result.exit_code in (0, 1, 2, 3), result.output  # 3: enforce findings
            found.setdefault(name, []).append(result.stdout)
        found["plan"].append(plan.read_text())
        found["deletion-plan"] = [deletion_plan.read_text()]
    yield found


@pytest.mark.parametrize(
    "name",
    [
        "status",
        "plan",
        "audit",
        "delete-credentials",
        "events",
        "locked",
        "unlock",
        "journal-entry",
        "deletion-plan",
        "enforce",
        "guardrails-check",
        "requests",
    ],
)
def test_command_json_validates_against_the_shipped_schema(
    outputs: dict[str, list[str]], name: str
) -> None:
    schema = shipped_schema(name)
    for text in outputs[name]:
        data: Any = json.loads(text)
        jsonschema.validate(data, schema, cls=jsonschema.Draft202012Validator)
        assert parse(model_for(name), text).model_dump(mode="json", by_alias=True) == data


def test_enforce_outputs_carry_every_part_of_the_document(
    outputs: dict[str, list[str]],
) -> None:
    """The enforce runs above are not vacuous: the schema saw organization changes, findings,
    deletions and both scopes (a pass's, and watch's window)."""
    dry, watched, applied = (json.loads(text) for text in outputs["enforce"])
    assert dry["dry_run"] and dry["findings"] and dry["organization"]["pending"]
    assert dry["scope"] == {"event": None}  # no `watch` key when the watch did not run
    assert set(watched["scope"]["watch"]) == {"start", "until", "accounts", "events", "errors"}
    assert applied["changed"] and applied["organization"]["changed"]
    assert applied["scope"]["watch"]["accounts"] > 0 and applied["scope"]["event"] is None


def test_a_document_that_breaks_its_schema_is_caught(outputs: dict[str, list[str]]) -> None:
    data = json.loads(outputs["status"][0])
    data["caller"]["role"] = "owner"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(data, shipped_schema("status"), cls=jsonschema.Draft202012Validator)


def test_every_document_is_exercised(outputs: dict[str, list[str]]) -> None:
    from rootctl.documents import DOCUMENTS

    assert set(DOCUMENTS) <= set(outputs), set(DOCUMENTS) - set(outputs)
