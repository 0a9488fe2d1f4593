"""The plain AWS CLI (awscli from PyPI) against the sandbox: the first check of its wire format."""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from rootctl.sandbox import Sandbox
from rootctl.tasks import Task

from support import PAYMENTS_PROD, sample_fixture

AWS = shutil.which("aws", path=str(Path(sys.executable).parent)) or shutil.which("aws")
pytestmark = pytest.mark.skipif(AWS is None, reason="awscli is a dev dependency")


def aws(env: dict[str, str], *args: str, check: bool = True, process: bool = False) -> Any:
    """`aws ARGS --output json` with exactly `env`: the AWS CLI's own code in this process
    (its driver, botocore and wire format are what a process runs; a process costs ~0.6 s
    of start-up each), or as a process with `process=True`."""
    assert AWS is not None
    if process:
        proc = subprocess.run(
            [AWS, *args, "--output", "json"], env=env, capture_output=True, text=True, timeout=60
        )
    else:
        proc = _in_process(env, [*args, "--output", "json"])
    if check:
        assert proc.returncode == 0, proc.stderr
        return json.loads(proc.stdout) if proc.stdout.strip() else None
    return proc


def _in_process(env: dict[str, str], args: list[str]) -> subprocess.CompletedProcess[str]:
    saved = dict(os.environ)  # before awscli's import, which sets AWS_DATA_PATH in it
    import awscli
    from awscli.clidriver import create_clidriver

    out, err = io.StringIO(), io.StringIO()
    os.environ.clear()
    os.environ.update(env)
    # What the `aws` process's import of awscli adds to its environment: its own models.
    os.environ["AWS_DATA_PATH"] = str(Path(awscli.__file__).parent / "data")
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = create_clidriver().main(args)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return subprocess.CompletedProcess(args, code, out.getvalue(), err.getvalue())


def base_env(sb: Sandbox) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(sb.env())
    env["AWS_CONFIG_FILE"] = os.devnull
    env["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
    return env


def root_env(env: dict[str, str], creds: dict[str, str]) -> dict[str, str]:
    return {
        **env,
        "AWS_ACCESS_KEY_ID": creds["AccessKeyId"],
        "AWS_SECRET_ACCESS_KEY": creds["SecretAccessKey"],
        "AWS_SESSION_TOKEN": creds["SessionToken"],
    }


def assume_root(env: dict[str, str], task: Task) -> dict[str, str]:
    out = aws(
        env,
        "sts",
        "assume-root",
        "--target-principal",
        PAYMENTS_PROD,
        "--task-policy-arn",
        f"arn={task.arn}",
        "--duration-seconds",
        "900",
    )
    creds: dict[str, str] = out["Credentials"]
    return creds


def test_main_flow_with_the_aws_cli() -> None:
    with Sandbox.start(sample_fixture()) as sb:
        env = base_env(sb)
        # enable trusted access and both features
        aws(  # one call as the `aws` process a user runs; the rest in-process
            env,
            "organizations",
            "enable-aws-service-access",
            "--service-principal",
            "iam.amazonaws.com",
            process=True,
        )
        aws(env, "iam", "enable-organizations-root-credentials-management")
        out = aws(env, "iam", "enable-organizations-root-sessions")
        assert out["EnabledFeatures"] == ["RootCredentialsManagement", "RootSessions"]
        assert (
            aws(env, "iam", "list-organizations-features")["OrganizationId"] == sb.organization_id
        )

        # assume root with the audit task and audit
        audit = root_env(env, assume_root(env, Task.AUDIT))
        assert (
            aws(audit, "sts", "get-caller-identity")["Arn"] == f"arn:aws:iam::{PAYMENTS_PROD}:root"
        )
        keys = aws(audit, "iam", "list-access-keys")["AccessKeyMetadata"]
        assert [k["AccessKeyId"] for k in keys] == ["AKIAROOTPAYMENTS0001"]
        assert aws(audit, "iam", "get-login-profile")["LoginProfile"]
        serials = [d["SerialNumber"] for d in aws(audit, "iam", "list-mfa-devices")["MFADevices"]]
        summary = aws(audit, "iam", "get-account-summary")["SummaryMap"]
        assert summary["AccountPasswordPresent"] == 1

        # delete the root credentials
        delete = root_env(env, assume_root(env, Task.DELETE))
        aws(delete, "iam", "delete-login-profile")
        aws(delete, "iam", "delete-access-key", "--access-key-id", "AKIAROOTPAYMENTS0001")
        for serial in serials:
            aws(delete, "iam", "deactivate-mfa-device", "--serial-number", serial)
            aws(delete, "iam", "delete-virtual-mfa-device", "--serial-number", serial)
        denied = aws(delete, "iam", "get-account-summary", check=False)
        assert denied.returncode != 0 and "AccessDenied" in denied.stderr

        # audit again: clean
        audit = root_env(env, assume_root(env, Task.AUDIT))
        assert aws(audit, "iam", "list-access-keys")["AccessKeyMetadata"] == []
        missing = aws(audit, "iam", "get-login-profile", check=False)
        assert missing.returncode != 0 and "NoSuchEntity" in missing.stderr
        assert sb.root_state()[PAYMENTS_PROD]["mfa_devices"] == []

        # unlock a bucket that denies everyone
        s3 = root_env(env, assume_root(env, Task.S3_UNLOCK))
        policy = aws(s3, "s3api", "get-bucket-policy", "--bucket", "payments-prod-artifacts")
        assert "DenyEveryone" in policy["Policy"]
        aws(s3, "s3api", "delete-bucket-policy", "--bucket", "payments-prod-artifacts")
        gone = aws(
            s3, "s3api", "get-bucket-policy", "--bucket", "payments-prod-artifacts", check=False
        )
        assert gone.returncode != 0 and "NoSuchBucketPolicy" in gone.stderr

        # and the SQS queue
        # awscli v1 ignores AWS_ENDPOINT_URL for SQS (it keeps the legacy queue.amazonaws.com
        # host), so SQS calls name the endpoint explicitly; the wire format is still the CLI's.
        sqs = root_env(env, assume_root(env, Task.SQS_UNLOCK))
        sqs_endpoint = ("--endpoint-url", sb.endpoint_url)
        url = aws(sqs, "sqs", "get-queue-url", "--queue-name", "payments-events", *sqs_endpoint)[
            "QueueUrl"
        ]
        policy = '{"Policy": ""}'
        aws(
            sqs,
            "sqs",
            "set-queue-attributes",
            "--queue-url",
            url,
            "--attributes",
            policy,
            *sqs_endpoint,
        )
        attrs = aws(
            sqs,
            "sqs",
            "get-queue-attributes",
            "--queue-url",
            url,
            "--attribute-names",
            "Policy",
            *sqs_endpoint,
        )
        assert not (attrs or {}).get("Attributes", {}).get("Policy")
        denied = aws(
            sqs,
            "sqs",
            "remove-permission",
            "--queue-url",
            url,
            "--label",
            "x",
            *sqs_endpoint,
            check=False,
        )
        assert denied.returncode != 0 and "AccessDenied" in denied.stderr


def test_aws_cli_gets_aws_errors_not_html(sandbox: Sandbox) -> None:
    env = base_env(sandbox)
    proc = aws(env, "iam", "list-organizations-features", check=False, process=True)
    assert proc.returncode != 0
    assert "ServiceAccessNotEnabledException" in proc.stderr
    assert "<html" not in proc.stderr.lower()
    proc = aws(
        env,
        "sts",
        "assume-root",
        "--target-principal",
        PAYMENTS_PROD,
        "--task-policy-arn",
        f"arn={Task.AUDIT.arn}",
        "--duration-seconds",
        "3600",
        check=False,
    )
    assert proc.returncode != 0 and "ValidationError" in proc.stderr
