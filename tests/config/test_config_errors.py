"""Bad configs: each gives one UsageError line naming the file, the dotted path and the fix."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from rootctl.config import load_config
from rootctl.errors import UsageError

EXC = {"account_id": "333333333333", "reason": "PAY-1", "expires": "2026-01-31"}
GUARD = {
    "policy_name": "scp_root",
    "target_ou_paths": ["/root"],
    "template_names": ["deny_actions_as_root_except_centralized_root"],
}
PROTECT = {"account_id": "*", "s3_buckets": ["logs-*"], "reason": "audit evidence"}


def _g(**changes: Any) -> dict[str, Any]:
    return {"guardrails": [GUARD | changes]}


def _rs(**changes: Any) -> dict[str, Any]:
    return {"root_sessions": changes}


# (id, config, dotted path, fragment of the message)
CASES: list[tuple[str, Any, str, str]] = [
    (
        "unknown top key",
        {"guardrail": []},
        "guardrail",
        "'guardrail' is not a known key; allowed: version, centralize_root_access",
    ),
    (
        "unknown nested key",
        _rs(max_seconds=5),
        "root_sessions.max_seconds",
        "allowed: reason_pattern, max_session_seconds",
    ),
    (
        "unknown key in list item",
        {"root_credentials": {"exceptions": [EXC | {"note": "x"}]}},
        "root_credentials.exceptions[0].note",
        "allowed: account_id, reason, expires, keep",
    ),
    ("bad version", {"version": 2}, "version", "allowed: 1"),
    (
        "enabled wrong type",
        {"centralize_root_access": {"enabled": "yes"}},
        "centralize_root_access.enabled",
        "expected true or false, got 'yes'",
    ),
    (
        "enabled missing",
        {"centralize_root_access": {"features": ["RootSessions"]}},
        "centralize_root_access.enabled",
        "required key is missing",
    ),
    (
        "section wrong type",
        {"centralize_root_access": True},
        "centralize_root_access",
        "expected a mapping of keys, got true",
    ),
    (
        "features not a list",
        {"centralize_root_access": {"enabled": True, "features": "RootSessions"}},
        "centralize_root_access.features",
        "expected a list",
    ),
    (
        "unknown feature",
        {
            "centralize_root_access": {
                "enabled": True,
                "features": ["RootCredentialsManagement", "RootSession"],
            }
        },
        "centralize_root_access.features[1]",
        "'RootSession' is not a feature; allowed: RootCredentialsManagement, RootSessions",
    ),
    (
        "duplicate feature",
        {"centralize_root_access": {"enabled": True, "features": ["RootSessions", "RootSessions"]}},
        "centralize_root_access.features[1]",
        "listed twice",
    ),
    (
        "enabled without features",
        {"centralize_root_access": {"enabled": True, "features": []}},
        "centralize_root_access.features",
        "at least one feature",
    ),
    (
        "delegated admin short",
        {"delegated_administrator": "12345"},
        "delegated_administrator",
        "expected 12 digits",
    ),
    (
        "delegated admin letters",
        {"delegated_administrator": "12345678901a"},
        "delegated_administrator",
        "is not an account id",
    ),
    (
        "delegated admin unquoted short",
        {"delegated_administrator": 12345678901},
        "delegated_administrator",
        "quote it in YAML",
    ),
    (
        "exception bad account",
        {"root_credentials": {"exceptions": [EXC | {"account_id": "3333"}]}},
        "root_credentials.exceptions[0].account_id",
        "expected 12 digits",
    ),
    (
        "exception empty reason",
        {"root_credentials": {"exceptions": [EXC | {"reason": "  "}]}},
        "root_credentials.exceptions[0].reason",
        "must not be empty",
    ),
    (
        "exception missing expires",
        {"root_credentials": {"exceptions": [{k: v for k, v in EXC.items() if k != "expires"}]}},
        "root_credentials.exceptions[0].expires",
        "required key is missing",
    ),
    (
        "exception bad date",
        {"root_credentials": {"exceptions": [EXC | {"expires": "2026-02-30"}]}},
        "root_credentials.exceptions[0].expires",
        "expected a date like",
    ),
    (
        "exception unknown kind",
        {"root_credentials": {"exceptions": [EXC | {"keep": ["password", "root-keys"]}]}},
        "root_credentials.exceptions[0].keep[1]",
        "allowed: password, access-keys, signing-certificates, mfa-devices",
    ),
    (
        "exception keeps nothing",
        {"root_credentials": {"exceptions": [EXC | {"keep": []}]}},
        "root_credentials.exceptions[0].keep",
        "at least one credential kind",
    ),
    (
        "duplicate exception",
        {"root_credentials": {"exceptions": [EXC, EXC | {"reason": "again"}]}},
        "root_credentials.exceptions[1].account_id",
        "already has an exception at root_credentials.exceptions[0]",
    ),
    (
        "guardrails not a list",
        {"guardrails": GUARD},
        "guardrails",
        "expected a list, got a mapping",
    ),
    (
        "bad OU path",
        _g(target_ou_paths=["/workloads/prod"]),
        "guardrails[0].target_ou_paths[0]",
        "must start with /root",
    ),
    (
        "OU path empty segment",
        _g(target_ou_paths=["/root", "/root//prod"]),
        "guardrails[0].target_ou_paths[1]",
        "empty segment",
    ),
    (
        "OU path no slash",
        _g(target_ou_paths=["root/prod"]),
        "guardrails[0].target_ou_paths[0]",
        "did you mean '/root/prod'",
    ),
    (
        "duplicate OU path",
        _g(target_ou_paths=["/root/a", "/root/a/"]),
        "guardrails[0].target_ou_paths[1]",
        "listed twice",
    ),
    ("no OU paths", _g(target_ou_paths=[]), "guardrails[0].target_ou_paths", "at least one item"),
    (
        "unknown template",
        _g(template_names=["deny_root"]),
        "guardrails[0].template_names[0]",
        "allowed: deny_actions_as_root, deny_actions_as_root_except_centralized_root",
    ),
    (
        "bad ARN pattern",
        _g(exclude_principal_arns=["arn:aws:iam::12:role/x"]),
        "guardrails[0].exclude_principal_arns[0]",
        "arn:aws:iam::<account id or *>",
    ),
    (
        "not an IAM ARN",
        _g(exclude_principal_arns=["arn:aws:s3:::bucket"]),
        "guardrails[0].exclude_principal_arns[0]",
        "not an IAM principal ARN pattern",
    ),
    (
        "duplicate policy name",
        {"guardrails": [GUARD, GUARD]},
        "guardrails[1].policy_name",
        "already used by guardrails[0]",
    ),
    (
        "both description spellings",
        _g(description="a", policy_description="b"),
        "guardrails[0].policy_description",
        "not both",
    ),
    (
        "root template blocks sessions",
        {
            "centralize_root_access": {"enabled": True, "features": ["RootSessions"]},
            **_g(template_names=["deny_actions_as_root"]),
        },
        "guardrails[0].template_names[0]",
        "blocks the root sessions",
    ),
    (
        "bad regex",
        _rs(reason_pattern="^[A-Z+$"),
        "root_sessions.reason_pattern",
        "not a valid regular expression",
    ),
    (
        "max_session_seconds 901",
        _rs(max_session_seconds=901),
        "root_sessions.max_session_seconds",
        "from 1 to 900",
    ),
    (
        "max_session_seconds 0",
        _rs(max_session_seconds=0),
        "root_sessions.max_session_seconds",
        "from 1 to 900",
    ),
    (
        "max_session_seconds text",
        _rs(max_session_seconds="900"),
        "root_sessions.max_session_seconds",
        "got '900'",
    ),
    (
        "unknown task",
        _rs(allowed_tasks=["audit", "unlock"]),
        "root_sessions.allowed_tasks[1]",
        "allowed: audit, create-password, delete, s3-unlock, sqs-unlock",
    ),
    (
        "duplicate task",
        _rs(allowed_tasks=["delete", "IAMDeleteRootUserCredentials"]),
        "root_sessions.allowed_tasks[1]",
        "listed twice",
    ),
    ("no tasks", _rs(allowed_tasks=[]), "root_sessions.allowed_tasks", "at least one task"),
    (
        "protected bad account",
        _rs(protected_resources=[PROTECT | {"account_id": "any"}]),
        "root_sessions.protected_resources[0].account_id",
        'expected 12 digits or "*"',
    ),
    (
        "protected nothing",
        _rs(protected_resources=[{"account_id": "*", "reason": "x"}]),
        "root_sessions.protected_resources[0]",
        "at least one of s3_buckets or sqs_queues",
    ),
    (
        "protected bad bucket",
        _rs(protected_resources=[PROTECT | {"s3_buckets": ["Logs"]}]),
        "root_sessions.protected_resources[0].s3_buckets[0]",
        "lowercase",
    ),
    (
        "protected queue URL",
        _rs(
            protected_resources=[
                PROTECT | {"sqs_queues": ["https://sqs.eu-west-1.amazonaws.com/1/q"]}
            ]
        ),
        "root_sessions.protected_resources[0].sqs_queues[0]",
        "not the URL or ARN",
    ),
    (
        "protected missing reason",
        _rs(protected_resources=[{k: v for k, v in PROTECT.items() if k != "reason"}]),
        "root_sessions.protected_resources[0].reason",
        "required key is missing",
    ),
    (
        "number as text",
        _g(policy_name=12),
        "guardrails[0].policy_name",
        "expected a string, got 12; quote it in YAML",
    ),
]


@pytest.mark.parametrize(
    ("data", "path", "fragment"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_bad_config_is_one_precise_line(
    tmp_path: Path, data: Any, path: str, fragment: str
) -> None:
    file = tmp_path / "rootctl.yaml"
    file.write_text(yaml.safe_dump(data, sort_keys=False))
    with pytest.raises(UsageError) as info:
        load_config(file)
    message = str(info.value)
    assert info.value.exit_code == 2
    assert "\n" not in message
    assert message.startswith(f"{file}: {path}: "), message
    assert fragment in message, message


def test_several_errors_report_first_and_count(tmp_path: Path) -> None:
    file = tmp_path / "rootctl.yaml"
    file.write_text(
        "delegated_administrator: '1'\n"
        "root_sessions: {max_session_seconds: 901, reason_pattern: '('}\n"
    )
    with pytest.raises(UsageError) as info:
        load_config(file)
    message = str(info.value)
    assert message.startswith(f"{file}: delegated_administrator: ")
    assert message.endswith("(+2 more)")


def test_message_uses_the_given_file_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("rootctl.yaml").write_text(
        "centralize_root_access:\n  enabled: true\n  features: [RootCredentialsManagement, RootSession]\n"
    )
    with pytest.raises(UsageError) as info:
        load_config("rootctl.yaml")
    assert str(info.value) == (
        "rootctl.yaml: centralize_root_access.features[1]: 'RootSession' is not a feature; "
        "allowed: RootCredentialsManagement, RootSessions"
    )


def test_root_template_allowed_without_root_sessions(tmp_path: Path) -> None:
    file = tmp_path / "rootctl.yaml"
    data = {
        "centralize_root_access": {"enabled": True, "features": ["RootCredentialsManagement"]},
        **_g(template_names=["deny_actions_as_root"]),
    }
    file.write_text(yaml.safe_dump(data))
    assert load_config(file).guardrails[0].template_names == ("deny_actions_as_root",)
