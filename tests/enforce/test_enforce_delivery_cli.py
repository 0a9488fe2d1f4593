"""`enforce --security-hub --notify-topic` sends through the library's delivery
(rootctl.integrations.deliver, the Lambda handler's path): what a dry run, a failed import
and a failed publish do to stderr, the exit code and the calls made (sandbox: a failed
import is `fail_actions`, the same error on every call; a failed publish is a topic that
does not exist)."""

from __future__ import annotations

from pathlib import Path

import pytest
from enforce_helpers import _client, invoke, write_config

from rootctl.sandbox import Sandbox
from rootctl.sandbox.model import FaultConfig

from support import checked_document

SENDS = {"BatchImportFindings", "Publish"}


def _topic(sb: Sandbox) -> str:
    arn: str = _client(sb, "sns").create_topic(Name="rootctl-enforce-delivery")["TopicArn"]
    return arn


def _sends(sb: Sandbox) -> list[str]:
    return [c["action"] for c in sb.calls() if c["action"] in SENDS]


def _run(sb: Sandbox, tmp_path: Path, topic: str, *extra: str) -> tuple[int, str, str]:
    config = write_config(tmp_path, "report")
    result = invoke(
        sb, "enforce", "-c", str(config), "--security-hub", "--notify-topic", topic,
        "-o", "json", *extra, journal=tmp_path / "journal.db",
    )  # fmt: skip
    return result.exit_code, result.stdout, result.stderr


def test_a_dry_run_sends_nothing_and_says_so(enabled_sandbox: Sandbox, tmp_path: Path) -> None:
    sb = enabled_sandbox
    topic = _topic(sb)
    sb.reset_calls()
    code, _, stderr = _run(sb, tmp_path, topic, "--dry-run")
    assert code == 3, stderr
    assert "note: dry run: nothing sent to Security Hub or SNS" in stderr
    assert _sends(sb) == []


def test_a_failed_publish_is_one_error_line_and_exit_1(
    enabled_sandbox: Sandbox, tmp_path: Path
) -> None:
    sb = enabled_sandbox
    sb.reset_calls()
    missing = "arn:aws:sns:us-east-1:111111111111:no-such-topic"  # SNS answers NotFound
    code, stdout, stderr = _run(sb, tmp_path, missing, "--yes")
    assert code == 1, stderr
    errors = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and errors[0].startswith("error: sns: NotFound"), stderr
    assert "summary published" not in stderr
    assert "imported" in stderr  # the import before it went through
    assert checked_document("enforce", stdout)["exit_code"] == 3  # the pass's own code
    assert _sends(sb) == ["BatchImportFindings", "Publish"]


def test_an_unreachable_endpoint_is_one_error_line_not_a_traceback(
    enabled_sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A publish that gets no answer at all (the sandbox always answers, so the connection
    failure is raised by a monkeypatched publish)."""
    from botocore.exceptions import EndpointConnectionError

    from rootctl.integrations import sns

    def unreachable(*_args: object, **_kwargs: object) -> str:
        raise EndpointConnectionError(endpoint_url="https://sns.us-east-1.amazonaws.com/")

    monkeypatch.setattr(sns, "publish", unreachable)
    code, stdout, stderr = _run(enabled_sandbox, tmp_path, _topic(enabled_sandbox), "--yes")
    assert code == 1, stderr
    errors = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and errors[0].startswith("error: sns: EndpointConnectionError: ")
    assert "Traceback" not in stderr
    assert checked_document("enforce", stdout)["exit_code"] == 3


def test_a_failed_import_sends_no_summary_and_exits_1(
    enabled_sandbox: Sandbox, tmp_path: Path
) -> None:
    sb = enabled_sandbox
    topic = _topic(sb)
    sb.set_faults(FaultConfig(fail_actions={"BatchImportFindings": "InvalidAccessException"}))
    sb.reset_calls()
    code, stdout, stderr = _run(sb, tmp_path, topic, "--yes")
    assert code == 1, stderr
    errors = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and errors[0].startswith("error: security hub: InvalidAccess")
    assert "sns:" not in stderr and "Publish" not in _sends(sb)
    assert checked_document("enforce", stdout)["exit_code"] == 3
