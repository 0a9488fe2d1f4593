"""Every AWS call each command makes against the sandbox is covered by its generated policy."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest

from rootctl.permissions import (
    COMMAND_MODULES,
    module_requirements,
    policy_document,
    requirements_for,
)
from rootctl.sandbox import Sandbox
from rootctl.tasks import Task, allowed_actions

from support import EXPERIMENTS, PAYMENTS_PROD, SECURITY, enabled_fixture, run_cli

CONFIG = f"""
centralize_root_access: {{enabled: true, features: [RootCredentialsManagement, RootSessions]}}
delegated_administrator: "{SECURITY}"
guardrails:
  - policy_name: scp_root_ou
    target_ou_paths: [/root]
    template_names: [deny_actions_as_root_except_centralized_root]
"""
REASON = ("--reason", "SEC-1 permissions coverage test")


def _action(call: dict[str, Any]) -> str:
    if call["service"] == "s3" and call["action"] == "ListBuckets":
        return "s3:ListAllMyBuckets"
    return f"{call['service']}:{call['action']}"


def _scenario(config: Path) -> list[tuple[str, tuple[str, ...]]]:
    return [
        ("status", ("status", "--output", "json")),
        ("plan", ("plan", "-c", str(config))),
        ("apply", ("apply", "-c", str(config), "--yes")),
        ("guardrails check", ("guardrails", "check", "--output", "json")),
        ("audit", ("audit", "--output", "json")),
        ("delete-credentials", ("delete-credentials", "--yes", *REASON)),
        ("allow-password-recovery", ("allow-password-recovery", EXPERIMENTS, "--yes", *REASON)),
        ("list-locked", ("list-locked", "s3", "--account", PAYMENTS_PROD)),
        ("list-locked", ("list-locked", "sqs", "--account", PAYMENTS_PROD)),
        (
            "unlock",
            (
                "unlock",
                "s3",
                "--account",
                PAYMENTS_PROD,
                "--bucket",
                "payments-prod-artifacts",
                "--yes",
                *REASON,
            ),
        ),
        (
            "unlock",
            (
                "unlock",
                "sqs",
                "--account",
                PAYMENTS_PROD,
                "--queue",
                "payments-events",
                "--yes",
                *REASON,
            ),
        ),
        (
            "exec",
            (
                "exec",
                "--account",
                PAYMENTS_PROD,
                "--task",
                "audit",
                *REASON,
                "--",
                sys.executable,
                "-c",
                "pass",
            ),
        ),
        ("events", ("events", "--since", "1d", "--output", "json")),
    ]


def test_every_call_of_every_command_is_covered_by_its_policy(tmp_path: Path) -> None:
    config = tmp_path / "rootctl.yaml"
    config.write_text(CONFIG)
    journal = tmp_path / "journal.sqlite3"
    fixture = enabled_fixture(trusted_access=[], centralized_root_access=[])
    checked: dict[str, int] = {}
    with Sandbox.start(fixture) as sb:
        operator = sb.operator
        assert operator is not None
        for command, args in _scenario(config):
            sb.reset_calls()
            proc = run_cli(sb, *args, journal=journal)
            assert proc.returncode in (0, 1, 2) and "Traceback" not in proc.stderr, (
                args,
                proc.stderr,
            )
            if command == "plan":
                assert proc.returncode == 2  # changes pending: it really read everything
            else:
                assert proc.returncode == 0, (args, proc.stderr)
            needs = requirements_for([command])
            policy = policy_document(needs)
            granted = {
                a
                for s in policy["Statement"]
                for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
            }
            calls = sb.calls()
            assert calls, f"{command} made no call"
            for call in calls:
                if call["principal_kind"] == "root-session":
                    assert call["task"] in {t.value for t in needs.tasks}, (command, call)
                elif call["access_key_id"] == operator.access_key_id:
                    assert _action(call) in granted, (
                        f"{command}: {_action(call)} not in its generated policy"
                    )
                checked[command] = checked.get(command, 0) + 1
    assert set(checked) == {c for c, _ in _scenario(config)}


@pytest.mark.parametrize("command", sorted(c for c, m in COMMAND_MODULES.items() if m))
def test_actions_made_inside_root_sessions_are_allowed_by_the_declared_tasks(command: str) -> None:
    needs = requirements_for([command])
    allowed = {a for task in needs.tasks for a in allowed_actions(task)}
    assert needs.session_actions <= allowed, needs.session_actions - allowed


def test_modules_declare_only_real_action_names() -> None:
    pattern = re.compile(
        r"^(sts|iam|organizations|s3|sqs|cloudtrail|securityhub|sns):[A-Z][A-Za-z]+$"
    )
    for modules in COMMAND_MODULES.values():
        for name in modules:
            req = module_requirements(name)
            for action in req.actions | req.session_actions:
                assert pattern.match(action), f"{name}: {action}"


def test_cli_prints_a_policy_limited_to_the_tasks_used() -> None:
    proc = run_cli(None, "permissions", "audit")
    assert proc.returncode == 0, proc.stderr
    document = json.loads(proc.stdout)
    assume = next(s for s in document["Statement"] if s["Action"] == "sts:AssumeRoot")
    assert assume["Condition"]["StringEquals"]["sts:TaskPolicyArn"] == [Task.AUDIT.arn]
    operator = next(s for s in document["Statement"] if s["Sid"] == "RootctlOperatorCalls")
    assert not any(a.startswith("iam:List") for a in operator["Action"])  # those run as root
    bad = run_cli(None, "permissions", "bogus")
    assert bad.returncode == 2 and "unknown command" in bad.stderr


def test_commands_without_aws_calls_print_no_empty_policy() -> None:
    """An IAM policy needs a statement: a command that calls nothing gets a note, no policy."""
    from support import run_cli

    alone = run_cli(None, "permissions", "sandbox", "journal")
    assert alone.returncode == 0 and alone.stdout == ""
    assert "sandbox, journal make no AWS call" in alone.stderr
    mixed = run_cli(None, "permissions", "sandbox", "audit")
    assert mixed.returncode == 0 and json.loads(mixed.stdout)["Statement"]
    assert "sandbox makes no AWS call" in mixed.stderr
