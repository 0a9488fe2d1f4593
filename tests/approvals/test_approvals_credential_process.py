"""`rootctl credential-process`: the JSON the SDKs read, the AWS CLI using it, no secret kept."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from approval_helpers import CONFIG, People, assume_roots, one_line_error

from rootctl.journal import Journal
from rootctl.sandbox import Sandbox
from rootctl.tasks import Task

from support import MANAGEMENT, PAYMENTS_PROD, enabled_fixture

AWS = Path(sys.executable).with_name("aws")
# The audit task needs approval too here, so the AWS CLI runs under an approved request.
GATED_AUDIT = CONFIG.replace("tasks: [s3-unlock,", "tasks: [audit, s3-unlock,")


@pytest.fixture
def people(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[People]:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "rootctl.yaml").write_text(CONFIG)
    with Sandbox.start(enabled_fixture()) as sb:
        yield People(sb, tmp_path)


def test_prints_version_1_json_and_journals_the_session_without_its_secret(
    people: People,
) -> None:
    args = ("credential-process", "--account", PAYMENTS_PROD, "--task", "audit", "--reason",
            "OPS-7 audit keys", "--duration", "600")  # fmt: skip
    result = people.requester(*args)
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    document = json.loads(result.stdout)
    assert set(document) == {
        "Version",
        "AccessKeyId",
        "SecretAccessKey",
        "SessionToken",
        "Expiration",
    }
    assert document["Version"] == 1
    expires = datetime.fromisoformat(document["Expiration"].replace("Z", "+00:00"))
    assert expires.tzinfo is not None and expires > datetime.now(UTC)

    [session] = people.entries(action="assume-root")
    assert session.command == "credential-process" and session.reason == "OPS-7 audit keys"
    assert session.after == {
        "access_key_id": document["AccessKeyId"],
        "expiration": document["Expiration"],
        "duration_seconds": 600,
        "source_identity": None,  # the sandbox's IAM user has no SourceIdentity
        "request_id": None,
    }
    raw = people.journal_path.read_bytes()
    for name in ("-wal", "-shm"):  # whatever sqlite left beside the file, too
        extra = people.journal_path.with_name(people.journal_path.name + name)
        raw += extra.read_bytes() if extra.exists() else b""
    for secret in (document["SecretAccessKey"], document["SessionToken"]):
        assert secret.encode() not in raw


def test_a_task_needing_approval_is_refused_without_or_with_a_wrong_request(
    people: People,
) -> None:
    base = ("credential-process", "--account", PAYMENTS_PROD, "--task", "s3-unlock")
    line = one_line_error(people.requester(*base, "--reason", "OPS-8 x"))
    assert "needs an approved break-glass request" in line
    line = one_line_error(people.requester(*base, "--request", "req-00000000"))
    assert "no request 'req-00000000'" in line
    assert not assume_roots(people.sb)


def _aws_config(tmp: Path, people: People, extra: str) -> dict[str, str]:
    """An ~/.aws/config whose profile runs rootctl as the requester (profile operator)."""
    creds = people.sb.operators["requester"]
    (tmp / "credentials").write_text(
        f"[operator]\naws_access_key_id = {creds.access_key_id}\n"
        f"aws_secret_access_key = {creds.secret_access_key}\n"
    )
    command = (
        f"{sys.executable} -m rootctl --profile operator credential-process "
        f"--account {PAYMENTS_PROD} --task audit {extra}"
    )
    (tmp / "config").write_text(
        f"[profile operator]\nregion = {people.sb.region}\n\n"
        f"[profile root-audit]\nregion = {people.sb.region}\ncredential_process = {command}\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "ROOTCTL_"))}
    env.update(
        AWS_CONFIG_FILE=str(tmp / "config"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp / "credentials"),
        AWS_ENDPOINT_URL=people.sb.endpoint_url,
        ROOTCTL_JOURNAL=str(people.journal_path),
    )
    return env


def _list_root_keys(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(AWS), "--profile", "root-audit", "iam", "list-access-keys", "--output", "json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_aws_cli_lists_root_access_keys_through_an_approved_request(
    people: People, tmp_path: Path
) -> None:
    (tmp_path / "rootctl.yaml").write_text(GATED_AUDIT)
    made = people.requester("request", "audit", "--account", PAYMENTS_PROD, "--reason",
                            "OPS-9 review root keys")  # fmt: skip
    assert made.exit_code == 0, made.output
    rid = made.stdout.strip()
    env = _aws_config(tmp_path, people, f"--request {rid}")

    refused = _list_root_keys(env)  # not approved yet: rootctl exits 2, the CLI fails
    assert refused.returncode != 0 and "not approved yet" in refused.stderr
    assert people.approver("approve", rid).exit_code == 0

    listed = _list_root_keys(env)
    assert listed.returncode == 0, listed.stderr
    # botocore refreshes credentials that expire within 15 minutes (AssumeRoot's maximum)
    # once, "advisory": rootctl refuses the spent request and the CLI keeps the first session.
    advisory = [e for e in people.refusals() if e.command == "credential-process"]
    assert ["not approved yet" in (e.error or "") for e in advisory] == [True, False]
    assert "was used" in (advisory[-1].error or "")
    keys = {k["AccessKeyId"] for k in json.loads(listed.stdout)["AccessKeyMetadata"]}
    expected = {k["access_key_id"] for k in people.sb.root_state()[PAYMENTS_PROD]["access_keys"]}
    assert keys == expected and "AKIAROOTPAYMENTS0001" in keys

    again = _list_root_keys(env)  # the request is spent: the next process is refused
    assert again.returncode != 0 and "was used" in again.stderr

    [session] = people.entries(action="assume-root")
    assert session.operator == f"arn:aws:iam::{MANAGEMENT}:user/rootctl-operator"
    assert session.after["request_id"] == rid and session.after["duration_seconds"] == 900
    with Journal(people.journal_path) as journal:
        assert journal.verify().ok
    assert b"SecretAccessKey" not in people.journal_path.read_bytes()


def test_the_callers_source_identity_is_journaled(
    people: People, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sandbox's IAM users carry no SourceIdentity, so AssumeRoot's answer is stubbed
    (a botocore Stubber) for the one call; the precheck and the journal are real."""
    from botocore.stub import Stubber

    from rootctl import connect
    from rootctl.approvals.process import open_session

    for name, value in people.env(people.sb.operators["requester"]).items():
        monkeypatch.setenv(name, value)
    rc = connect(journal=people.journal_path)
    run = rc.run("credential-process", "OPS-13 source identity", 1)
    run.precheck(PAYMENTS_PROD)
    sts = run.factory.client("sts")
    expires = datetime(2030, 1, 1, tzinfo=UTC)
    answer = {
        "Credentials": {
            "AccessKeyId": "ASIASTUBBED000000001",
            "SecretAccessKey": "s" * 40,
            "SessionToken": "t" * 200,
            "Expiration": expires,
        },
        "SourceIdentity": "alice@example.com",
    }
    with Stubber(sts) as stub:
        stub.add_response("assume_root", answer)
        original = run.factory.client
        monkeypatch.setattr(
            rc.factory, "client", lambda name, **kw: sts if name == "sts" else original(name, **kw)
        )
        opened = open_session(run, PAYMENTS_PROD, Task.AUDIT, 900, None)
    assert opened.source_identity == "alice@example.com"
    [session] = people.entries(action="assume-root")
    assert session.after["source_identity"] == "alice@example.com"
    assert "s" * 40 not in json.dumps(session.to_dict())
    rc.close()
