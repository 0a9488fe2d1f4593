"""Test utilities shared by every test module: the sample organization's ids and fixtures,
clients pointed at a sandbox, and the CLI runner.

Import from here (`from support import ...`); conftest.py holds only pytest fixtures.
`run_cli` runs the CLI in-process with Click's runner (fast, deterministic); `run_process`
runs `python -m rootctl` as a process, for the tests that are about the process itself
(exit status under signals, closed pipes, TTY detection, shell completion).
"""

from __future__ import annotations

import copy
import threading
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import boto3
import yaml

from rootctl.sandbox import Sandbox, SandboxCredentials, sample_fixture_path
from rootctl.tasks import Task

MANAGEMENT = "111111111111"
SECURITY = "222222222222"
PAYMENTS_PROD = "333333333333"
PAYMENTS_DEV = "444444444444"
DATA_PROD = "555555555555"
EXPERIMENTS = "666666666666"
SUSPENDED = "777777777777"

# rootctl.yaml with two credential exceptions: PAYMENTS_PROD keeps its password, DATA_PROD
# keeps everything (the reliability tests' end state must honour both).
EXCEPTIONS_CONFIG = f"""
root_credentials:
  exceptions:
    - account_id: "{PAYMENTS_PROD}"
      reason: break-glass password during a migration
      expires: 2099-12-31
      keep: [password]
    - account_id: "{DATA_PROD}"
      reason: hardware token held by the data team
      expires: 2099-12-31
"""


@cache
def _sample() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(Path(sample_fixture_path()).read_text())
    return data


def sample_fixture(**organization: Any) -> dict[str, Any]:
    """The sample fixture as a dict, with `organization` keys overridden."""
    data = copy.deepcopy(_sample())
    data["organization"].update(organization)
    return data


def enabled_fixture(**organization: Any) -> dict[str, Any]:
    """The sample with IAM trusted access and both features enabled."""
    settings: dict[str, Any] = {
        "trusted_access": ["iam.amazonaws.com"],
        "centralized_root_access": ["RootCredentialsManagement", "RootSessions"],
    }
    settings.update(organization)
    return sample_fixture(**settings)


def session_for(sb: Sandbox, creds: SandboxCredentials | None = None) -> boto3.Session:
    creds = creds or sb.operator
    assert creds is not None
    return boto3.Session(
        aws_access_key_id=creds.access_key_id,
        aws_secret_access_key=creds.secret_access_key,
        region_name=sb.region,
    )


_THREAD = threading.local()


def _botocore_session() -> Any:
    """This thread's botocore session for the test helpers' clients.

    A `boto3.Session(...)` per client builds a new loader that reads the service models from
    disk again (~40 ms of CPU for IAM); one session per thread keeps them loaded (a client is
    then ~6 ms). Credentials go to each `create_client`, never into the session, so clients
    of different identities never share any.
    """
    import os

    # A session reads AWS_* variables and the config file once: a test that changes them
    # (a profile, a config file) gets a new one.
    environment = tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith("AWS_")))
    cached = getattr(_THREAD, "session", None)
    if cached is None or cached[0] != environment:
        from rootctl.aws.session import new_botocore_session, shared_loader

        # rootctl's template of botocore's built-in handlers and its process-wide loader: the
        # handlers are registered and the models and endpoint data read once per process, not
        # once per test (each sandbox's AWS_ENDPOINT_URL makes a new session).
        core = new_botocore_session()
        core.register_component("data_loader", shared_loader(core.get_config_variable("data_path")))
        cached = _THREAD.session = (environment, core)
    return cached[1]


def keyed_client(
    sb: Sandbox,
    service: str,
    key_id: str,
    secret: str,
    token: str | None = None,
    *,
    retries: bool = False,
    config: Any = None,
) -> Any:
    """A sandbox client signed with these keys: `config`, else `retries={"max_attempts": 1}`
    (as the helpers always had), or botocore's default retries with `retries`."""
    from botocore.config import Config

    if config is None and not retries:
        config = Config(retries={"max_attempts": 1})
    return _botocore_session().create_client(
        service,
        region_name=sb.region,
        endpoint_url=sb.endpoint_url,
        aws_access_key_id=key_id,
        aws_secret_access_key=secret,
        aws_session_token=token,
        config=config,
    )


def client(sb: Sandbox, service: str, creds: SandboxCredentials | None = None) -> Any:
    creds = creds or sb.operator
    assert creds is not None
    return keyed_client(sb, service, creds.access_key_id, creds.secret_access_key)


def root_client(sb: Sandbox, account_id: str, task: Task, service: str, **assume: Any) -> Any:
    """A client acting as `account_id`'s root user through an AssumeRoot session."""
    creds = client(sb, "sts").assume_root(
        TargetPrincipal=account_id, TaskPolicyArn={"arn": task.arn}, **assume
    )["Credentials"]
    return keyed_client(
        sb, service, creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"]
    )


def error_code(exc_info: Any) -> str:
    return str(exc_info.value.response["Error"]["Code"])


def run_process(
    sb: Sandbox | None,
    *args: str,
    env: dict[str, str] | None = None,
    journal: Path | None = None,
    input: str | None = None,
    timeout: float = 300,
) -> Any:
    """Run `python -m rootctl ARGS` as a process against the sandbox (real HTTP, real exit
    status): only for tests about the process itself; the others use `run_cli`."""
    import os
    import subprocess
    import sys

    changes = cli_env(sb, env, journal)
    full = {k: v for k, v in os.environ.items() if k not in changes}
    full.update({k: v for k, v in changes.items() if v is not None})
    return subprocess.run(
        [sys.executable, "-m", "rootctl", *args],
        env=full,
        capture_output=True,
        text=True,
        input=input,
        timeout=timeout,
    )


def mutating_calls(sb: Sandbox) -> list[dict[str, Any]]:
    """Calls that changed something (or opened a root session) in the sandbox."""
    return [c for c in sb.calls() if c["mutating"]]


@dataclass(frozen=True)
class CliResult:
    """What `run_cli` returns: the fields of subprocess.CompletedProcess the tests read."""

    args: list[str]
    returncode: int
    stdout: str
    stderr: str


def cli_env(
    sb: Sandbox | None, env: dict[str, str] | None = None, journal: Path | None = None
) -> dict[str, str | None]:
    """The environment of one CLI run: no AWS_/ROOTCTL_ variables of the machine's, the
    sandbox's, no shared AWS config files, plain wide output."""
    import os

    full: dict[str, str | None] = {
        k: None for k in os.environ if k.startswith(("AWS_", "ROOTCTL_"))
    }
    full["AWS_CONFIG_FILE"] = os.devnull
    full["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
    full["NO_COLOR"] = "1"
    full["COLUMNS"] = "200"
    if sb is not None:
        full.update(sb.env())
    if journal is not None:
        full["ROOTCTL_JOURNAL"] = str(journal)
    full.update(env or {})
    return full


def run_cli(
    sb: Sandbox | None,
    *args: str,
    env: dict[str, str] | None = None,
    journal: Path | None = None,
    input: str | None = None,
    timeout: float = 300,
) -> CliResult:
    """Run `rootctl ARGS` in-process with Click's runner against the sandbox: the same
    command code, exit codes and output as the process, without a Python start-up each."""
    from click.testing import CliRunner

    from rootctl.cli.main import cli

    del timeout  # in-process: a hang is a test failure by pytest's own means
    result = CliRunner().invoke(
        cli, list(args), env=cli_env(sb, env, journal), input=input, prog_name="rootctl"
    )
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return CliResult(list(args), result.exit_code, result.stdout, result.stderr)


def credential_holders(sb: Sandbox) -> set[str]:
    """Accounts whose root user still has any credential, as the sandbox holds them."""
    return {
        account
        for account, root in sb.root_state().items()
        if root["password"]
        or root["access_keys"]
        or root["signing_certificates"]
        or any(d["assigned"] for d in root["mfa_devices"])
    }


def invite_and_accept(sb: Sandbox, account_id: str) -> tuple[str, str]:
    """The management account invites a standalone account; its root access key accepts.
    Returns the root access key (id, secret) the account had."""

    from rootctl.sandbox.joins import root_access_key

    handshake = client(sb, "organizations").invite_account_to_organization(
        Target={"Type": "ACCOUNT", "Id": account_id}
    )
    key = root_access_key(sb.state, account_id)
    assert key is not None
    keyed_client(sb, "organizations", key[0], key[1]).accept_handshake(
        HandshakeId=handshake["Handshake"]["Id"]
    )
    return key


def sandbox_event(sb: Sandbox, name: str) -> dict[str, Any]:
    """The sandbox's latest management-account event of this name, as EventBridge delivers
    CloudTrail service events ("AWS Service Event via CloudTrail")."""
    import json

    found = client(sb, "cloudtrail").lookup_events(
        LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": name}]
    )["Events"]
    detail: dict[str, Any] = json.loads(found[0]["CloudTrailEvent"])
    return {
        "version": "0",
        "id": "0d0c2a8e-4f4f-4e7c-9c3e-3c1f4b7f9a10",
        "detail-type": "AWS Service Event via CloudTrail",
        "source": "aws.organizations",
        "account": detail["recipientAccountId"],
        "time": detail["eventTime"],
        "region": detail["awsRegion"],
        "resources": [],
        "detail": detail,
    }


def checked_document(name: str, text: str) -> dict[str, Any]:
    """A command's JSON stdout, validated against the shipped JSON Schema of document `name`
    and read back by its model to the same data (tests/documents has the why)."""
    import json

    import jsonschema

    from rootctl.documents import model_for, parse, shipped_schema

    data: dict[str, Any] = json.loads(text)
    jsonschema.validate(data, shipped_schema(name), cls=jsonschema.Draft202012Validator)
    assert parse(model_for(name), text).model_dump(mode="json", by_alias=True) == data
    return data
