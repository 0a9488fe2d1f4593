"""Bounded waits: an endpoint that accepts the connection and never answers.

Every command must stop with one line ("error: no answer from URL within N s ...") and exit
1, after at most ROOTCTL_CONNECTION_ATTEMPTS connections, instead of waiting minutes and
printing a traceback. The timeouts are made small through the environment so the test does
not wait the production figures; nothing here asserts an elapsed time: the budget is
checked by counting the connections the stalled server accepted.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from stall import StalledEndpoint, stalled_endpoint

from rootctl.aws.errors import EndpointError
from rootctl.aws.retry import CONNECTION_ATTEMPTS, Timeouts, timeouts
from rootctl.aws.session import SessionFactory
from rootctl.cli.main import cli
from rootctl.errors import UsageError

ACCOUNT = "333333333333"
# Every command that calls AWS, with arguments that would otherwise go on to act.
COMMANDS: dict[str, tuple[str, ...]] = {
    "status": ("status",),
    "plan": ("plan", "-c", "{d}/org.yaml"),
    "apply": ("apply", "-c", "{d}/org.yaml", "--yes"),
    "audit": ("audit",),
    "audit json": ("audit", "-o", "json"),
    "delete-credentials": ("delete-credentials", "--reason", "OPS-1", "--yes"),
    "allow-password-recovery": ("allow-password-recovery", ACCOUNT, "--reason", "OPS-1", "--yes"),
    "unlock s3": (
        "unlock", "s3", "--account", ACCOUNT, "--bucket", "b-1", "--reason", "OPS-1", "--yes",
    ),
    "unlock sqs": (
        "unlock", "sqs", "--account", ACCOUNT, "--queue", "q", "--reason", "OPS-1", "--yes",
    ),
    "list-locked": ("list-locked", "s3", "--account", ACCOUNT),
    "exec": ("exec", "--account", ACCOUNT, "--task", "audit", "--reason", "OPS-1", "--", "true"),
    "events": ("events",),
    "guardrails check": ("guardrails", "check"),
}  # fmt: skip
ATTEMPTS = 2
READ = "0.2"


@pytest.fixture(scope="module")
def endpoint() -> Iterator[StalledEndpoint]:
    with stalled_endpoint() as stalled:
        yield stalled


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("stall")
    (d / "org.yaml").write_text("centralize_root_access: {enabled: true}\n")
    return d


def _env(endpoint: StalledEndpoint, workdir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "ROOTCTL_"))}
    env.update(
        AWS_ENDPOINT_URL=endpoint.url,
        AWS_ACCESS_KEY_ID="AKIAIOSFODNN7EXAMPLE",
        AWS_SECRET_ACCESS_KEY="x" * 40,
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        AWS_REGION="us-east-1",
        ROOTCTL_READ_TIMEOUT=READ,
        ROOTCTL_CONNECTION_ATTEMPTS=str(ATTEMPTS),
        ROOTCTL_JOURNAL=str(workdir / "journal.db"),
        NO_COLOR="1",
    )
    return env


def _expected(endpoint: StalledEndpoint) -> str:
    return (
        f"error: no answer from {endpoint.url}/ within {READ} s "
        "(check AWS_ENDPOINT_URL / the network)"
    )


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_a_stalled_endpoint_is_one_line_and_exit_1(
    name: str, endpoint: StalledEndpoint, workdir: Path
) -> None:
    args = [a.replace("{d}", str(workdir)) for a in COMMANDS[name]]
    before = endpoint.connections
    result = CliRunner().invoke(cli, args, env=_env(endpoint, workdir))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"{name}: uncaught {result.exception!r}") from result.exception
    assert "Traceback" not in result.output
    assert result.exit_code == 1, result.stderr
    assert result.stderr.strip().splitlines() == [_expected(endpoint)]
    # The budget: the first call gave up after ATTEMPTS connections and stopped the command.
    assert endpoint.connections - before == ATTEMPTS


def test_a_stalled_endpoint_in_a_real_process(endpoint: StalledEndpoint, workdir: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "rootctl", "audit"],
        env=_env(endpoint, workdir),
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [_expected(endpoint)]


@pytest.mark.parametrize("attempts", [1, 2, 3])
def test_the_library_raises_endpoint_error_after_the_budget(
    attempts: int, endpoint: StalledEndpoint, monkeypatch: pytest.MonkeyPatch, workdir: Path
) -> None:
    for key, value in _env(endpoint, workdir).items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("ROOTCTL_CONNECTION_ATTEMPTS", str(attempts))
    before = endpoint.connections
    with pytest.raises(EndpointError, match="no answer from"):
        SessionFactory().caller_identity()
    assert endpoint.connections - before == attempts


def test_defaults_bound_a_stalled_call_to_about_a_minute() -> None:
    limits = Timeouts()
    assert limits.connection_attempts == CONNECTION_ATTEMPTS == 3
    # accept-and-stall: 3 reads of 15 s and at most 1 + 2 s of backoff
    assert limits.connection_attempts * limits.read + 3 == 48
    assert limits.worst_case_seconds() <= 65


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("ROOTCTL_READ_TIMEOUT", "0"),
        ("ROOTCTL_READ_TIMEOUT", "-1"),
        ("ROOTCTL_READ_TIMEOUT", "soon"),
        ("ROOTCTL_READ_TIMEOUT", "nan"),
        ("ROOTCTL_READ_TIMEOUT", "inf"),
        ("ROOTCTL_READ_TIMEOUT", "601"),
        ("ROOTCTL_CONNECT_TIMEOUT", "0"),
        ("ROOTCTL_CONNECT_TIMEOUT", "1e9"),
        ("ROOTCTL_CONNECTION_ATTEMPTS", "0"),
        ("ROOTCTL_CONNECTION_ATTEMPTS", "1.5"),
        ("ROOTCTL_CONNECTION_ATTEMPTS", "11"),
        ("ROOTCTL_CONNECTION_ATTEMPTS", "three"),
    ],
)
def test_invalid_timeout_settings_are_usage_errors(
    name: str, value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(UsageError, match=name):
        timeouts()


def test_timeout_settings_are_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROOTCTL_READ_TIMEOUT", "2.5")
    monkeypatch.setenv("ROOTCTL_CONNECT_TIMEOUT", "1")
    monkeypatch.setenv("ROOTCTL_CONNECTION_ATTEMPTS", "4")
    assert timeouts() == Timeouts(connect=1.0, read=2.5, connection_attempts=4)
