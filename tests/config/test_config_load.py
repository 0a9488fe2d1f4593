"""Loading rootctl.yaml: the shipped example, defaults, file problems, YAML syntax errors."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import yaml

from rootctl.config import (
    Feature,
    RootctlConfig,
    RootSessions,
    config_from_mapping,
    config_from_text,
    load_config,
)
from rootctl.errors import UsageError
from rootctl.tasks import Task

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "rootctl.yaml"
DEFAULTS = RootctlConfig().model_dump()


def test_example_loads_with_every_section() -> None:
    config = load_config(EXAMPLE)
    assert config.source == str(EXAMPLE)
    assert config.centralize_root_access is not None
    assert config.centralize_root_access.desired_features() == {
        Feature.ROOT_CREDENTIALS_MANAGEMENT,
        Feature.ROOT_SESSIONS,
    }
    assert config.delegated_administrator == "222222222222"
    assert len(config.root_credentials.exceptions) == 2
    assert [g.policy_name for g in config.guardrails] == ["scp_root_ou", "scp_workloads_prod"]
    assert config.root_sessions.reason_pattern is not None
    assert set(config.root_sessions.allowed_tasks) == set(Task)
    assert config.root_sessions.protected_resources


def test_example_documents_every_key() -> None:
    """The example is the complete reference file: it sets every key the models know."""
    data = yaml.safe_load(EXAMPLE.read_text())
    assert set(data) == set(RootctlConfig.model_fields)
    assert set(data["root_sessions"]) == set(RootSessions.model_fields)
    exception = data["root_credentials"]["exceptions"][0]
    assert set(exception) == {"account_id", "reason", "expires", "keep"}
    guardrail = data["guardrails"][0]
    assert set(guardrail) == {
        "policy_name",
        "description",
        "target_ou_paths",
        "template_names",
        "exclude_principal_arns",
    }
    resource = data["root_sessions"]["protected_resources"][1]
    assert set(resource) == {"account_id", "s3_buckets", "sqs_queues", "reason"}


def test_json_dump_loads_back_to_the_same_config() -> None:
    config = load_config(EXAMPLE)
    dumped = config.model_dump(mode="json")
    again = config_from_text(yaml.safe_dump(dumped))
    assert again.model_dump() == config.model_dump()


def test_none_without_file_gives_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    config = load_config(None)
    assert config.model_dump() == DEFAULTS
    assert config.source is None
    assert config.centralize_root_access is None
    assert config.root_sessions.max_session_seconds == 900
    assert config.root_sessions.allowed_tasks == tuple(Task)
    assert config.active_exceptions(date(2030, 1, 1)) == {}


def test_none_reads_rootctl_yaml_in_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "rootctl.yaml").write_text("delegated_administrator: '123456789012'\n")
    monkeypatch.chdir(tmp_path)
    config = load_config(None)
    assert config.delegated_administrator == "123456789012"
    assert config.source == "rootctl.yaml"


def test_none_reports_errors_of_cwd_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "rootctl.yaml").write_text("delegated_admin: x\n")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UsageError, match=r"^rootctl\.yaml: delegated_admin: "):
        load_config(None)


@pytest.mark.parametrize("text", ["", "\n", "# only a comment\n", "---\n"])
def test_empty_file_gives_defaults(tmp_path: Path, text: str) -> None:
    path = tmp_path / "rootctl.yaml"
    path.write_text(text)
    config = load_config(path)
    assert config.model_dump() == DEFAULTS
    assert config.source == str(path)


def test_empty_sections_mean_defaults() -> None:
    config = config_from_text(
        "guardrails:\nroot_credentials:\nroot_sessions:\ncentralize_root_access:\n"
    )
    assert config.model_dump() == DEFAULTS


def test_missing_file_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "nope.yaml"
    with pytest.raises(UsageError) as info:
        load_config(path)
    assert str(info.value) == f"{path}: file not found"
    assert info.value.exit_code == 2


def test_directory_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="is a directory"):
        load_config(tmp_path)


def test_not_utf8_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "rootctl.yaml"
    path.write_bytes(b"version: 1\nguardrails: \xff\xfe\n")
    with pytest.raises(UsageError, match="not UTF-8"):
        load_config(path)


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("version: 1\nguardrails: [\n", "3:1"),
        ("root_sessions:\n  reason_pattern: 'abc\n", "3:1"),
        ("a: b\n  c: d\n", "2:4"),
        ("version: 1\nversion: 1\n", "2:1"),
        ("root_sessions:\n  max_session_seconds: !!int nine\n", "2:24"),
    ],
)
def test_yaml_syntax_error_has_line_and_column(tmp_path: Path, text: str, where: str) -> None:
    path = tmp_path / "rootctl.yaml"
    path.write_text(text)
    with pytest.raises(UsageError) as info:
        load_config(path)
    message = str(info.value)
    assert message.startswith(f"{path}:{where}: YAML syntax error: ")
    assert "\n" not in message


def test_duplicate_key_is_named() -> None:
    with pytest.raises(UsageError, match="duplicate key 'guardrails'"):
        config_from_text("guardrails: []\nguardrails: []\n")


def test_unsafe_tag_is_refused() -> None:
    with pytest.raises(UsageError, match="YAML syntax error"):
        config_from_text("version: !!python/object/apply:os.system ['true']\n")


def test_top_level_must_be_mapping() -> None:
    with pytest.raises(UsageError, match=r"^rootctl\.yaml: the top level must be a mapping"):
        config_from_text("- version: 1\n")


def test_unquoted_account_ids_stay_text() -> None:
    """YAML 1.1 would read 012345670123 as octal; rootctl keeps 12-digit numbers verbatim."""
    config = config_from_text("delegated_administrator: 012345670123\n")
    assert config.delegated_administrator == "012345670123"


def test_config_from_mapping_names_source() -> None:
    with pytest.raises(UsageError, match=r"^flags: version: "):
        config_from_mapping({"version": 3}, source="flags")


def test_config_is_frozen() -> None:
    config = load_config(EXAMPLE)
    with pytest.raises(ValueError, match="frozen"):
        config.delegated_administrator = "111111111111"  # type: ignore[misc]
