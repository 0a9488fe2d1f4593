"""Start-up of one-account runs: process start to the first AWS request, and to exit.

    .venv/bin/python benchmarks/startup.py [--runs 5] [--latencies 0,50]

What an event-driven remediation (one joined account) or a Lambda cold start pays on every
invocation. Each run is a new process against `rootctl sandbox serve` (its own process),
for each latency:

- `rootctl audit --output json --accounts ONE` (no rootctl.yaml: the defaults);
- `rootctl enforce --event FILE --yes --output json` with `policy: delete` and an
  `AccountJoinedOrganization` event naming a member that was not cleaned yet (a new
  account per run, so every run does the same work: list, AssumeRoot, audit, delete,
  verify, journal).

The child runs through `benchmarks/_first_request.py`, which notes the wall clock and the
process's CPU (user + sys) at its first outgoing connection, i.e. its first AWS request.
Printed per command and latency, median (min..max) over --runs: wall to the first request,
CPU to the first request, wall to exit, CPU to exit (`os.wait4`) and peak RSS. On a
shared machine the CPU figures are the stable ones; the load average is printed.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _measure import load_average, run_measured
from _sandbox import SandboxProcess, write_fixture

HERE = Path(__file__).resolve().parent


def joined_event(account_id: str) -> dict[str, Any]:
    """`AccountJoinedOrganization` as EventBridge delivers it (the fields rootctl reads)."""
    return {
        "version": "0",
        "id": f"startup-{account_id}",
        "detail-type": "AWS Service Event via CloudTrail",
        "source": "aws.organizations",
        "account": "111111111111",
        "time": "2026-12-02T00:00:00Z",
        "region": "us-east-1",
        "resources": [],
        "detail": {
            "eventName": "AccountJoinedOrganization",
            "eventSource": "organizations.amazonaws.com",
            "serviceEventDetails": {"accountId": account_id, "joinedMethod": "Invited"},
        },
    }


def member_ids(sb: SandboxProcess, workdir: Path) -> list[str]:
    """Member accounts with root credentials (enforce has something to delete in each)."""
    env = sb.client_env(ROOTCTL_JOURNAL=str(workdir / "ids.db"))
    argv = [sys.executable, "-m", "rootctl", "audit", "--output", "json"]
    result = run_measured(argv, env, timeout=600)
    accounts = json.loads(result.stdout)["accounts"]
    return [a["account_id"] for a in accounts if a["status"] == "ok" and a["has_root_credentials"]]


def one_run(
    sb: SandboxProcess, args: list[str], env: dict[str, str], mark: Path
) -> dict[str, float]:
    mark.unlink(missing_ok=True)
    argv = [sys.executable, str(HERE / "_first_request.py"), str(mark), *args]
    started = time.time()
    result = run_measured(argv, env, timeout=600)
    if result.returncode not in (0, 3):
        raise SystemExit(
            f"rootctl {' '.join(args[:3])} failed ({result.returncode}): {result.stderr[-2000:]}"
        )
    first = json.loads(mark.read_text())
    return {
        "first_wall_s": first["time"] - started,
        "first_cpu_s": first["cpu_s"],
        "wall_s": result.wall_s,
        "cpu_s": result.cpu_s,
        "rss_mb": result.max_rss_mb,
    }


def summary(runs: list[dict[str, float]]) -> str:
    def fig(key: str, unit: str = "s", digits: int = 3) -> str:
        values = [r[key] for r in runs]
        return (
            f"{statistics.median(values):.{digits}f} {unit} "
            f"({min(values):.{digits}f}..{max(values):.{digits}f})"
        )

    return (
        f"| {fig('first_wall_s')} | {fig('first_cpu_s')} | {fig('wall_s')} | {fig('cpu_s')} "
        f"| {fig('rss_mb', 'MB', 0)} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--latencies", default="0,50", help="ms per call, comma-separated")
    parser.add_argument("--members", type=int, default=30)
    args = parser.parse_args()
    latencies = [float(x) for x in args.latencies.split(",") if x.strip()]
    print(f"load average before: {load_average()}", file=sys.stderr)
    rows: list[str] = []
    with tempfile.TemporaryDirectory(prefix="rootctl-startup-") as tmp:
        workdir = Path(tmp)
        fixture = write_fixture(workdir / "org.yaml", args.members)
        config = workdir / "rootctl.yaml"
        config.write_text("root_credentials:\n  policy: delete\n")
        mark = workdir / "first-request.json"
        with SandboxProcess(fixture) as sb:
            ids = member_ids(sb, workdir)
            needed = args.runs * len(latencies)
            if len(ids) < needed:
                raise SystemExit(
                    f"{len(ids)} accounts with credentials, {needed} needed: raise --members"
                )
            fresh = iter(ids)
            for latency in latencies:
                sb.latency_ms = latency
                sb.set_faults()
                audits, enforces = [], []
                for run in range(args.runs):
                    env = sb.client_env(
                        ROOTCTL_JOURNAL=str(workdir / f"journal-{latency}-{run}.db")
                    )
                    audits.append(
                        one_run(sb, ["audit", "--output", "json", "--accounts", ids[0]], env, mark)
                    )
                    event = workdir / f"event-{latency}-{run}.json"
                    event.write_text(json.dumps(joined_event(next(fresh))))
                    enforce = ["enforce", "-c", str(config), "--event", str(event), "--yes",
                               "--output", "json"]  # fmt: skip
                    enforces.append(one_run(sb, enforce, env, mark))
                rows.append(f"| audit --accounts ONE | {latency:g} ms {summary(audits)}")
                rows.append(f"| enforce --event FILE | {latency:g} ms {summary(enforces)}")
                print(rows[-2], rows[-1], sep="\n", file=sys.stderr, flush=True)
    print(f"{args.runs} runs each, median (min..max); load average after: {load_average()}")
    print()
    print(
        "| command | latency | wall to first request | CPU to first request | wall | CPU | peak RSS |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    print("\n".join(rows))
    print(f"\nmachine: {os.cpu_count()} CPUs; Python {sys.version.split()[0]}")


if __name__ == "__main__":
    main()
