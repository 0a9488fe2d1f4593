"""A bulk delete killed (SIGKILL) at random points, several times, then run to the end.

tests/credentials kills one run at one point (after 25 deletions). Here each seed draws how
many runs are killed (1-3), the concurrency of each, the latency, and where each dies:
after a random number of deletions, or after a random delay (which may land before the
first AssumeRoot, in the audit, while plans are journaled, between a call and its journal
entry, or during verification). After every kill the journal must verify; the final run
must converge to exactly the plan made from the state before the first run, touching
nothing else; and the journal must account for every planned deletion exactly once.
"""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from rootctl.sandbox import FaultConfig, Sandbox

from support import (
    DATA_PROD,
    EXCEPTIONS_CONFIG,
    MANAGEMENT,
    PAYMENTS_PROD,
    SUSPENDED,
    enabled_fixture,
    run_cli,
)

CHANGES = {
    "DeleteLoginProfile",
    "DeleteAccessKey",
    "DeleteSigningCertificate",
    "DeactivateMFADevice",
    "DeleteVirtualMFADevice",
    "CreateLoginProfile",
}
DELETION_ACTIONS = (
    "delete-login-profile",
    "delete-access-key",
    "delete-signing-certificate",
    "deactivate-mfa-device",
    "delete-virtual-mfa-device",
)


def plan_of(before: dict[str, Any]) -> set[tuple[str, str]]:
    """(account, target) of every credential the plan must delete, from the first state."""
    planned: set[tuple[str, str]] = set()
    for account_id, root in before.items():
        if account_id in (MANAGEMENT, SUSPENDED, DATA_PROD):
            continue
        if root["password"] is not None and account_id != PAYMENTS_PROD:
            planned.add((account_id, "login-profile"))
        planned |= {(account_id, k["access_key_id"]) for k in root["access_keys"]}
        planned |= {(account_id, c["certificate_id"]) for c in root["signing_certificates"]}
        planned |= {(account_id, d["serial_number"]) for d in root["mfa_devices"]}
    return planned


def remaining(state: dict[str, Any]) -> set[tuple[str, str]]:
    """(account, target) of every credential still in the sandbox."""
    return plan_of(state) | {
        (a, "login-profile") for a in (PAYMENTS_PROD,) if state[a]["password"] is not None
    }


def changes(sb: Sandbox) -> list[dict[str, Any]]:
    return [c for c in sb.calls() if c["action"] in CHANGES]


def change_count(sb: Sandbox) -> int:
    """Cheap enough to poll: no copy of the call log."""
    with sb.state.lock:
        return sum(1 for c in sb.state.calls if c.action in CHANGES)


def env_for(sb: Sandbox, journal: Path) -> dict[str, str]:
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "ROOTCTL_"))}
    env.update(sb.env(), ROOTCTL_JOURNAL=str(journal), AWS_CONFIG_FILE=os.devnull)
    env["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
    return env


def kill_somewhere(
    sb: Sandbox,
    args: list[str],
    journal: Path,
    rng: random.Random,
    planned: int,
    mid_deletion: bool,
) -> str:
    """Start a delete run and SIGKILL it at a random point; say where it was."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "rootctl", *args],
        env=env_for(sb, journal),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    started = change_count(sb)
    if not mid_deletion and rng.random() < 0.5:
        delay = rng.uniform(0.3, 4.0)
        deadline = time.monotonic() + delay
        while time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.01)
        where = f"after {delay:.2f} s"
    else:
        target = started + rng.randint(1, max(1, planned // 2))
        deadline = time.monotonic() + 120
        while change_count(sb) < target and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        where = f"after change call {target}"
    finished = proc.poll() is not None
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    return f"{where} ({'had already finished' if finished else 'killed'})"


SEEDS = [
    pytest.param(1, 30, id="seed-1"),
    pytest.param(2, 30, id="seed-2"),
    *(pytest.param(s, 150, id=f"seed-{s}-150", marks=pytest.mark.slow) for s in range(3, 11)),
]


@pytest.mark.parametrize(("seed", "accounts"), SEEDS)
def test_killed_runs_converge_to_the_first_plan(seed: int, accounts: int, tmp_path: Path) -> None:
    rng = random.Random(seed)
    journal = tmp_path / "journal.db"
    config = tmp_path / "rootctl.yaml"
    config.write_text(EXCEPTIONS_CONFIG)
    with Sandbox.start(enabled_fixture(), accounts=accounts, seed=seed) as sb:
        before = sb.root_state()
        planned = plan_of(before)
        outside = {a: s for a, s in before.items() if a not in {p[0] for p in planned}}
        sb.set_faults(FaultConfig(latency_ms=rng.choice([5.0, 15.0, 30.0])))
        history: list[str] = []
        for kill in range(rng.randint(1, 3)):
            args = [
                "delete-credentials", "-c", str(config), "--reason", f"OPS-{seed}", "--yes",
                "--concurrency", str(rng.choice([1, 4, 16])),
            ]  # fmt: skip
            # The first kill always lands among the deletions; later ones anywhere.
            history.append(kill_somewhere(sb, args, journal, rng, len(planned), kill == 0))
            if kill == 0:
                made = change_count(sb)
                assert 0 < made < len(planned), (history, made, len(planned))
            if journal.exists():
                check = run_cli(sb, "journal", "verify", journal=journal)
                assert check.returncode == 0, (history, check.stderr)
        sb.set_faults(FaultConfig())

        final = run_cli(
            sb, "delete-credentials", "-c", str(config), "--reason", f"OPS-{seed}", "--yes",
            "-o", "json", journal=journal,
        )  # fmt: skip

        assert final.returncode == 0, (history, final.stderr[-3000:])
        after = sb.root_state()
        left = remaining(after)
        assert not (left & planned), (history, sorted(left & planned))
        for account_id, root in after.items():
            if account_id in outside:
                assert root == outside[account_id], (history, account_id)
        assert after[PAYMENTS_PROD]["password"] == before[PAYMENTS_PROD]["password"]
        detached = [
            (a, d["serial_number"])
            for a, root in after.items()
            for d in root["mfa_devices"]
            if (a, d["serial_number"]) in planned
        ]
        assert not detached, (history, detached)
        touched = {c["account_id"] for c in changes(sb)}
        assert touched <= {a for a, _ in planned}, (history, touched)

        assert run_cli(sb, "journal", "verify", journal=journal).returncode == 0
        listed = run_cli(sb, "journal", "list", "-o", "json", journal=journal)
        entries = json.loads(listed.stdout)
        done = [
            (e["account_id"], e["target"], e["action"])
            for e in entries
            if e["action"] in DELETION_ACTIONS and e["outcome"] == "ok"
        ]
        assert {(a, t) for a, t, _ in done} == planned, history
        repeated = {d for d in done if done.count(d) > 1}
        assert not repeated, (history, "journaled twice", sorted(repeated))
