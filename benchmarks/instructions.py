"""CPU per call as instructions, not seconds: rootctl audit against the bare-boto3 floor.

    .venv/bin/python benchmarks/instructions.py [--members 300] [--small 100] [--large 300]

Why instructions: on a shared 2-core machine the CPU seconds of the same run vary by 30%
or more (other engineers' jobs share the caches and cores), while the number of
instructions a process executes is nearly deterministic. `perf stat -e instructions` is
not available in this VM, so each client runs under valgrind (`cachegrind
--cache-sim=no`, which only counts; 20-50x slower, so the runs are small).

Start-up is taken out by difference: each client audits `--small` and then `--large`
accounts of the same `--members`-account sandbox (latency 0: valgrind makes the client
slow enough), and the cost of one call is
(instructions(large) - instructions(small)) / (calls(large) - calls(small)), calls counted
by the sandbox. The OU walk is the same in both runs, so it cancels out too.

- rootctl: `rootctl audit --output json --accounts <first K ids>` (journal in a new file);
- floor: `benchmarks/_plain.py floor-shared --threads 64 --limit K` (one shared IAM client,
  the fastest bare boto3 of benchmarks/bench.py).

Prints the instructions of each run, the per-call figure of each client and their ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _sandbox import SandboxProcess, write_fixture

HERE = Path(__file__).resolve().parent
_IREFS = re.compile(r"I\s+refs:\s+([\d,]+)")


def instructions(argv: list[str], env: dict[str, str]) -> tuple[int, str]:
    """(instructions executed by `argv`, its stdout) under valgrind's cachegrind."""
    valgrind = [
        "valgrind", "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null",
    ]  # fmt: skip
    done = subprocess.run(
        [*valgrind, *argv], env=env, capture_output=True, text=True, check=False, timeout=3600
    )
    found = _IREFS.search(done.stderr)
    if done.returncode not in (0, 1, 3) or found is None:
        raise SystemExit(f"{' '.join(argv[:5])} failed ({done.returncode}): {done.stderr[-2000:]}")
    return int(found.group(1).replace(",", "")), done.stdout


def member_ids(sb: SandboxProcess, workdir: Path) -> list[str]:
    """The auditable accounts, in the order rootctl reports them (one plain run)."""
    env = sb.client_env(ROOTCTL_JOURNAL=str(workdir / "ids.db"))
    argv = [sys.executable, "-m", "rootctl", "audit", "--output", "json"]
    out = subprocess.run(argv, env=env, capture_output=True, text=True, check=False).stdout
    return [a["account_id"] for a in json.loads(out)["accounts"] if a["status"] == "ok"]


def measure(sb: SandboxProcess, argv: list[str], env: dict[str, str]) -> tuple[int, int]:
    """(instructions, calls answered) of one client run."""
    sb.reset_calls()
    count, _ = instructions(argv, env)
    return count, len(sb.calls())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--members", type=int, default=300)
    parser.add_argument("--small", type=int, default=100)
    parser.add_argument("--large", type=int, default=300)
    parser.add_argument("--skip", default="", help="rootctl or floor")
    args = parser.parse_args()
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="rootctl-instr-") as tmp:
        workdir = Path(tmp)
        fixture = write_fixture(workdir / f"org-{args.members}.yaml", args.members)
        with SandboxProcess(fixture) as sb:
            ids = member_ids(sb, workdir)
            for client in ("rootctl", "floor"):
                if client in args.skip:
                    continue
                runs = []
                for k in (args.small, args.large):
                    if client == "rootctl":
                        journal = workdir / f"journal-{k}-{time.monotonic_ns()}.db"
                        env = sb.client_env(ROOTCTL_JOURNAL=str(journal))
                        argv = [sys.executable, "-m", "rootctl", "audit", "--output", "json",
                                "--accounts", ",".join(ids[:k])]  # fmt: skip
                    else:
                        env = sb.client_env()
                        argv = [sys.executable, str(HERE / "_plain.py"), "floor-shared",
                                "--threads", "64", "--limit", str(k)]  # fmt: skip
                    count, calls = measure(sb, argv, env)
                    runs.append((count, calls))
                    print(f"{client} {k} accounts: {count:,} instructions, {calls} calls",
                          file=sys.stderr, flush=True)  # fmt: skip
                (i1, c1), (i2, c2) = runs
                results[client] = {
                    "startup_and_walk": i1 - (i2 - i1) / (c2 - c1) * c1,
                    "per_call": (i2 - i1) / (c2 - c1),
                    "small": i1,
                    "large": i2,
                }
    for client, figures in results.items():
        print(
            f"{client}: {figures['per_call'] / 1e6:.3f} M instructions per call; "
            f"{args.small} accounts {figures['small'] / 1e9:.2f} G, "
            f"{args.large} accounts {figures['large'] / 1e9:.2f} G"
        )
    if len(results) == 2:
        ratio = results["rootctl"]["per_call"] / results["floor"]["per_call"]
        print(f"rootctl / floor, per call: {ratio:.2f}")
    print(f"load average {' / '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
