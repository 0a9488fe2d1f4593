"""Shared helpers of the enforce tests: the CLI in-process, configs, journal reads."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from rootctl.journal import Journal
from rootctl.sandbox import Sandbox


def invoke(sb: Sandbox, *args: str, journal: Path, stdin: str | None = None) -> Result:
    """`rootctl ARGS` in-process against the sandbox (Click's runner: stdin is not a TTY)."""
    env: dict[str, str | None] = {k: None for k in os.environ if k.startswith(("AWS_", "ROOTCTL_"))}
    env.update(sb.env())
    env.update({"AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull})
    env.update({"NO_COLOR": "1", "COLUMNS": "200", "ROOTCTL_JOURNAL": str(journal)})
    from rootctl.cli.main import cli

    return CliRunner().invoke(cli, list(args), env=env, input=stdin, catch_exceptions=False)


def write_config(tmp_path: Path, policy: str, extra: str = "") -> Path:
    path = tmp_path / "rootctl.yaml"
    path.write_text(f"root_credentials:\n  policy: {policy}\n{extra}")
    return path


def document(result: Result) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def entries(journal: Path, run_id: str) -> list[str]:
    """The actions one run journaled, in order."""
    with Journal(journal, create=False) as j:
        return [e.action for e in j.list(run_id=run_id)]


def verifies(journal: Path) -> bool:
    with Journal(journal, create=False) as j:
        return j.verify().ok


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


def invite_and_accept(sb: Sandbox, account_id: str) -> None:
    """The management account invites a standalone account; its root access key accepts."""
    import boto3
    from botocore.config import Config

    from rootctl.sandbox.joins import root_access_key

    org = _client(sb, "organizations")
    handshake = org.invite_account_to_organization(Target={"Type": "ACCOUNT", "Id": account_id})
    key = root_access_key(sb.state, account_id)
    assert key is not None
    boto3.Session(
        aws_access_key_id=key[0], aws_secret_access_key=key[1], region_name=sb.region
    ).client(
        "organizations", endpoint_url=sb.endpoint_url, config=Config(retries={"max_attempts": 1})
    ).accept_handshake(HandshakeId=handshake["Handshake"]["Id"])


def sandbox_event(sb: Sandbox, name: str) -> dict[str, Any]:
    """The latest management-account event of this name, wrapped as EventBridge delivers it
    (CloudTrail service events arrive as "AWS Service Event via CloudTrail")."""
    found = _client(sb, "cloudtrail").lookup_events(
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


def _client(sb: Sandbox, service: str) -> Any:
    import boto3
    from botocore.config import Config

    assert sb.operator is not None
    return boto3.Session(
        aws_access_key_id=sb.operator.access_key_id,
        aws_secret_access_key=sb.operator.secret_access_key,
        region_name=sb.region,
    ).client(service, endpoint_url=sb.endpoint_url, config=Config(retries={"max_attempts": 1}))
