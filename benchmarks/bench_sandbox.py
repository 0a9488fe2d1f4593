"""The in-process sandbox's own CPU: per request of a representative mix, and per start.

The test suite runs the sandbox in the test process (a thread), so every millisecond it
spends answering competes with the client under test. The mix is what the suite sends most:
AssumeRoot, IAM root-user reads with an audit session, an Organizations listing, and an S3
bucket policy and an SQS queue policy read with their unlock sessions.

Server CPU is the process's CPU minus the main (client) thread's: the only other threads are
the sandbox's (its accept loop and one thread per connection). Start cost is
`Sandbox.start(...)` entered and left, at several generated-account counts.

    .venv/bin/python benchmarks/bench_sandbox.py [--rounds 40] [--sizes 0,50,200] [--starts 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from rootctl.sandbox import Sandbox
from rootctl.tasks import Task

from support import enabled_fixture

PAYMENTS = "333333333333"  # the sample's account with a password, a key, a bucket and a queue
CONFIG = Config(retries={"max_attempts": 1})


def _session_client(sb: Sandbox, base: boto3.Session, service: str, creds: dict[str, Any]) -> Any:
    return base.client(
        service,
        endpoint_url=sb.endpoint_url,
        region_name=sb.region,
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
        config=CONFIG,
    )


def one_round(sb: Sandbox, base: boto3.Session, sts: Any, org: Any) -> int:
    """One pass of the mix; returns the number of API requests sent."""

    def assume(task: Task) -> dict[str, Any]:
        answer = sts.assume_root(
            TargetPrincipal=PAYMENTS, TaskPolicyArn={"arn": task.arn}, DurationSeconds=900
        )
        creds: dict[str, Any] = answer["Credentials"]
        return creds

    iam = _session_client(sb, base, "iam", assume(Task.AUDIT))
    iam.get_user()
    iam.list_access_keys()
    iam.list_mfa_devices()
    iam.list_signing_certificates()
    iam.get_login_profile()
    iam.get_account_summary()
    try:
        iam.list_users()  # denied by the audit task policy: the denial path
    except ClientError as exc:
        assert exc.response["Error"]["Code"] == "AccessDenied", exc.response
    org.list_accounts()
    s3 = _session_client(sb, base, "s3", assume(Task.S3_UNLOCK))
    s3.get_bucket_policy(Bucket="payments-prod-artifacts")
    sqs = _session_client(sb, base, "sqs", assume(Task.SQS_UNLOCK))
    url = f"{sb.endpoint_url}/{PAYMENTS}/payments-events"
    sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"])
    return 13


def bench_requests(rounds: int) -> None:
    with Sandbox.start(enabled_fixture()) as sb:
        assert sb.operator is not None
        base = boto3.Session()
        keys = {
            "aws_access_key_id": sb.operator.access_key_id,
            "aws_secret_access_key": sb.operator.secret_access_key,
        }
        sts = base.client(
            "sts", endpoint_url=sb.endpoint_url, region_name=sb.region, config=CONFIG, **keys
        )
        org = base.client(
            "organizations",
            endpoint_url=sb.endpoint_url,
            region_name=sb.region,
            config=CONFIG,
            **keys,
        )
        one_round(sb, base, sts, org)  # warm: first imports, model loads, caches
        sb.reset_calls()
        wall0, cpu0, main0 = time.perf_counter(), time.process_time(), time.thread_time()
        sent = sum(one_round(sb, base, sts, org) for _ in range(rounds))
        wall = time.perf_counter() - wall0
        cpu = time.process_time() - cpu0
        main = time.thread_time() - main0
        answered = len(sb.calls())
    assert answered == sent, (answered, sent)
    server = cpu - main
    print(
        f"requests: {sent} ({rounds} rounds of 13), wall {wall:.2f} s, "
        f"process CPU {cpu * 1000 / sent:.2f} ms/request, "
        f"sandbox (server threads) {server * 1000 / sent:.2f} ms/request, "
        f"client (main thread) {main * 1000 / sent:.2f} ms/request"
    )


def bench_start(sizes: list[int], starts: int) -> None:
    fixture = enabled_fixture()
    with Sandbox.start(fixture, accounts=0):
        pass  # warm: moto's imports and model loads are paid once per process
    for size in sizes:
        walls: list[float] = []
        cpus: list[float] = []
        for _ in range(starts):
            wall0, cpu0 = time.perf_counter(), time.process_time()
            with Sandbox.start(fixture, accounts=size, seed=1) as sb:
                total = len(sb.root_state())
            walls.append(time.perf_counter() - wall0)
            cpus.append(time.process_time() - cpu0)
        print(
            f"start+stop accounts={size} ({total} accounts in all), {starts} runs: "
            f"CPU median {statistics.median(cpus) * 1000:.0f} ms, "
            f"wall median {statistics.median(walls) * 1000:.0f} ms "
            f"(min {min(walls) * 1000:.0f})"
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--sizes", default="0,50,200")
    parser.add_argument("--starts", type=int, default=3)
    args = parser.parse_args()
    bench_requests(args.rounds)
    bench_start([int(s) for s in args.sizes.split(",") if s], args.starts)


if __name__ == "__main__":
    main()
