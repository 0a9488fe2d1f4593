"""Audit speed: `rootctl audit` vs a sequential one-account-at-a-time loop making the same calls.

    .venv/bin/python benchmarks/audit_speed.py                  # 1,000 accounts, 50 ms per call
    .venv/bin/python benchmarks/audit_speed.py --accounts 200 --baseline-sample 50

The sandbox runs as its own process (`rootctl sandbox serve`, every call delayed by
--latency-ms), so neither side shares a CPU-bound interpreter with the server. Prints wall
times, the speedup and the peak RSS of the rootctl process (memory should stay flat as the
number of accounts grows: compare the full run with the subset run). Figures only, never
assertions: docs/performance.md records them with the machine and date.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

AUDIT_ARN = "arn:aws:iam::aws:policy/root-task/IAMAuditRootUserCredentials"


def fixture(accounts: int) -> str:
    return json.dumps(
        {
            "organization": {
                "trusted_access": ["iam.amazonaws.com"],
                "centralized_root_access": ["RootCredentialsManagement", "RootSessions"],
            },
            "generate": {"accounts": accounts, "seed": 1},
        }
    )


@contextmanager
def sandbox(accounts: int, latency_ms: float) -> Iterator[tuple[dict[str, str], int]]:
    """`rootctl sandbox serve` in a child process; yields the environment it exports and its pid."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "org.json"  # JSON is YAML
        path.write_text(fixture(accounts))
        args = ["sandbox", "serve", "--fixture", str(path), "--port", "0"]
        args += ["--latency-ms", str(latency_ms)]
        proc = subprocess.Popen(
            [sys.executable, "-m", "rootctl", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            env: dict[str, str] = {}
            assert proc.stdout is not None
            for line in proc.stdout:
                if line.startswith("export "):
                    key, _, value = line[len("export ") :].strip().partition("=")
                    env[key] = value.strip("'")
                elif line.startswith("unset"):
                    break
            if "AWS_ENDPOINT_URL" not in env:
                raise SystemExit(
                    f"sandbox did not start: {proc.stderr.read() if proc.stderr else ''}"
                )
            yield env, proc.pid
        finally:
            proc.terminate()
            proc.wait(timeout=30)


@dataclass
class Run:
    seconds: float
    accounts: int
    peak_rss_mib: float
    summary: dict[str, int]
    cpu_s: float


def run_rootctl(env: dict[str, str], extra: list[str], journal_dir: str | None) -> Run:
    """`rootctl audit -o json` as a child process; wall time and its own peak RSS.

    The journal goes to a fresh file in `journal_dir` (default: a temporary directory on
    disk): every AssumeRoot session is one journal commit, so the disk's fsync time counts.
    """
    with tempfile.TemporaryDirectory() as tmp, tempfile.TemporaryDirectory(dir=journal_dir) as jd:
        child_env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        child_env.update(env, ROOTCTL_JOURNAL=str(Path(jd) / "journal.db"))
        out = Path(tmp) / "report.json"
        start = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-m", "rootctl", "audit", "-o", "json", "--out", str(out), *extra],
            env=child_env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode not in (0, 1):
            raise SystemExit(f"rootctl audit failed ({proc.returncode})")
        report = json.loads(out.read_text())
    # ru_maxrss is KiB on Linux.
    cpu = usage.ru_utime + usage.ru_stime
    return Run(
        seconds, report["summary"]["accounts"], usage.ru_maxrss / 1024, report["summary"], cpu
    )


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) a process has used so far (Linux /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def sequential_audit(env: dict[str, str], limit: int | None) -> tuple[float, float, int]:
    """The same calls, one account after the other; returns (walk s, accounts s, accounts).

    Written the way AWS's own example script does it: one boto3 session, a new IAM client
    per AssumeRoot session (as rootctl's factory does), no concurrency.
    """
    config = Config(retries={"mode": "standard", "max_attempts": 3})
    session = boto3.Session(
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        region_name=env["AWS_REGION"],
    )
    url = env["AWS_ENDPOINT_URL"]
    start = time.perf_counter()
    org = session.client("organizations", endpoint_url=url, config=config)
    sts = session.client("sts", endpoint_url=url, config=config)
    sts.get_caller_identity()
    management = org.describe_organization()["Organization"]["MasterAccountId"]
    members = [a for a in walk(org) if a["Id"] != management and a.get("Status") == "ACTIVE"]
    walked = time.perf_counter()
    for account in members[:limit] if limit else members:
        creds = sts.assume_root(TargetPrincipal=account["Id"], TaskPolicyArn={"arn": AUDIT_ARN})
        audit_one(
            session.client(
                "iam",
                endpoint_url=url,
                config=config,
                aws_access_key_id=creds["Credentials"]["AccessKeyId"],
                aws_secret_access_key=creds["Credentials"]["SecretAccessKey"],
                aws_session_token=creds["Credentials"]["SessionToken"],
            )
        )
    done = time.perf_counter()
    return walked - start, done - walked, min(len(members), limit or len(members))


def threaded_floor(env: dict[str, str], threads: int) -> float:
    """The same calls from bare boto3 threads, one account per thread: what this machine allows."""
    from concurrent.futures import ThreadPoolExecutor

    config = Config(
        retries={"mode": "standard", "max_attempts": 3}, max_pool_connections=threads + 4
    )
    session = boto3.Session(
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        region_name=env["AWS_REGION"],
    )
    url = env["AWS_ENDPOINT_URL"]
    start = time.perf_counter()
    org = session.client("organizations", endpoint_url=url, config=config)
    sts = session.client("sts", endpoint_url=url, config=config)
    management = org.describe_organization()["Organization"]["MasterAccountId"]
    members = [a for a in walk(org) if a["Id"] != management and a.get("Status") == "ACTIVE"]

    def one(account: dict[str, Any]) -> None:
        creds = sts.assume_root(TargetPrincipal=account["Id"], TaskPolicyArn={"arn": AUDIT_ARN})
        audit_one(
            session.client(
                "iam",
                endpoint_url=url,
                config=config,
                aws_access_key_id=creds["Credentials"]["AccessKeyId"],
                aws_secret_access_key=creds["Credentials"]["SecretAccessKey"],
                aws_session_token=creds["Credentials"]["SessionToken"],
            )
        )

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(one, members))
    return time.perf_counter() - start


def walk(org: Any) -> list[dict[str, Any]]:
    accounts: list[dict[str, Any]] = []
    parents = [root["Id"] for root in org.list_roots()["Roots"]]
    while parents:
        parent = parents.pop()
        for page in org.get_paginator("list_organizational_units_for_parent").paginate(
            ParentId=parent
        ):
            parents.extend(ou["Id"] for ou in page["OrganizationalUnits"])
        for page in org.get_paginator("list_accounts_for_parent").paginate(ParentId=parent):
            accounts.extend(page["Accounts"])
    return accounts


def audit_one(iam: Any) -> None:
    try:
        iam.get_login_profile()
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "NoSuchEntity":
            raise
    iam.get_user()
    for key in iam.list_access_keys()["AccessKeyMetadata"]:
        iam.get_access_key_last_used(AccessKeyId=key["AccessKeyId"])
    iam.list_signing_certificates()
    iam.list_mfa_devices()


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (
        f"{cpu}, {os.cpu_count()} CPUs, {memory:.0f} GiB RAM, {platform.system()} "
        f"{platform.release()}, Python {platform.python_version()}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=1000)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument(
        "--concurrency", type=int, action="append", help="rootctl runs to time (repeatable)"
    )
    parser.add_argument(
        "--floor-threads",
        type=int,
        default=0,
        help="also time bare boto3 threads making the same calls (the machine's floor)",
    )
    parser.add_argument(
        "--baseline-sample",
        type=int,
        default=0,
        help="time the sequential loop on this many accounts and extrapolate (0: all)",
    )
    args = parser.parse_args()
    print(f"machine: {machine()}")
    print(f"date: {time.strftime('%Y-%m-%d %H:%M')}; load average {os.getloadavg()[0]:.2f}")
    print(f"sandbox: {args.accounts} accounts, {args.latency_ms:g} ms added to every call")
    runs: list[tuple[str, Run]] = []
    with sandbox(args.accounts, args.latency_ms) as (env, server):
        for concurrency in args.concurrency or [0]:
            extra = ["--concurrency", str(concurrency)] if concurrency else []
            label = f"--concurrency {concurrency}" if concurrency else "default concurrency (16)"
            for where in ("disk", "tmpfs") if Path("/dev/shm").is_dir() else ("disk",):
                before = cpu_seconds(server)
                run = run_rootctl(env, extra, "/dev/shm" if where == "tmpfs" else None)
                runs.append((f"{label}, journal on {where}", run))
                print(
                    f"rootctl audit, {label}, journal on {where}: {run.seconds:.1f} s for "
                    f"{run.accounts} accounts, peak RSS {run.peak_rss_mib:.0f} MiB, CPU "
                    f"{run.cpu_s:.1f} s (sandbox CPU {cpu_seconds(server) - before:.1f} s)"
                )
        subset = run_rootctl(env, ["--ou", "/root/sandbox"], None)
        print(
            f"rootctl audit of one OU: {subset.seconds:.1f} s for {subset.accounts} accounts, "
            f"peak RSS {subset.peak_rss_mib:.0f} MiB (memory stays flat: compare with above)"
        )
        floor = threaded_floor(env, args.floor_threads) if args.floor_threads else None
        if floor is not None:
            print(f"bare boto3, {args.floor_threads} threads, same calls: {floor:.1f} s")
        walk_s, accounts_s, audited = sequential_audit(env, args.baseline_sample or None)
        targets = runs[0][1].summary["accounts"] - runs[0][1].summary["skipped"]
        estimate = walk_s + accounts_s * targets / audited
        how = "measured" if audited == targets else f"extrapolated from {audited} accounts"
        print(
            f"sequential loop: {estimate:.1f} s for {targets} accounts ({how}; "
            f"{accounts_s / audited * 1000:.0f} ms per account, walk {walk_s:.1f} s)"
        )
        for label, run in runs:
            print(f"speedup, {label}: {estimate / run.seconds:.1f}x")
        if floor is not None:
            print(f"speedup, bare boto3 threads: {estimate / floor:.1f}x")
    print(f"load average at the end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
