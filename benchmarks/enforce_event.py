"""`rootctl enforce --event` for one joined account: wall time from process start to exit.

What a Lambda cold start pays for the rootctl part: Python start, imports, config, one
organization listing, AssumeRoot, audit, delete, verify, journal. The sandbox runs in this
process (a thread): an invitation needs the invited root's access key, which only the
in-process sandbox hands out. Each run invites a fresh account, reads the sandbox's own
AccountJoinedOrganization event back and feeds it to a child process.

    .venv/bin/python benchmarks/enforce_event.py [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "enforce"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _measure import run_measured
from enforce_helpers import invite_and_accept, sandbox_event

from rootctl.sandbox import Sandbox

from conftest import enabled_fixture


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    walls: list[float] = []
    with tempfile.TemporaryDirectory() as tmp, Sandbox.start(enabled_fixture()) as sb:
        config = Path(tmp) / "rootctl.yaml"
        config.write_text("root_credentials:\n  policy: delete\n")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "ROOTCTL_"))}
        env.update(sb.env(), AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull)
        env["ROOTCTL_JOURNAL"] = str(Path(tmp) / "journal.db")
        for run in range(args.runs):
            account = f"8888000000{run:02d}"
            invite_and_accept(sb, account)
            event = Path(tmp) / f"event-{run}.json"
            event.write_text(json.dumps(sandbox_event(sb, "AccountJoinedOrganization")))
            argv = [sys.executable, "-m", "rootctl", "enforce", "-c", str(config),
                    "--event", str(event), "--yes", "-o", "json"]  # fmt: skip
            measured = run_measured(argv, env=env)
            assert measured.returncode == 0, measured
            assert not sb.root_state()[account]["access_keys"], "not cleaned"
            walls.append(measured.wall_s)
            print(f"run {run + 1}: {measured.wall_s:.2f} s wall, {measured.cpu_s:.2f} s CPU, "
                  f"{measured.max_rss_mb:.0f} MB peak")  # fmt: skip
    print(f"enforce --event (invited account cleaned), {len(walls)} runs: "
          f"median {statistics.median(walls):.2f} s, min {min(walls):.2f} s, "
          f"max {max(walls):.2f} s")  # fmt: skip


if __name__ == "__main__":
    main()
