"""`rootctl audit` selection flags (--ou, --exclude-ou, --accounts, --exclude) end to end.

Its own module: the sandbox is one per process, and this one is smaller than
test_cred_audit's 80-account organization (each selection below is a whole audit).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from cred_helpers import audit_json

from rootctl.sandbox import Sandbox

from support import (
    DATA_PROD,
    EXPERIMENTS,
    PAYMENTS_DEV,
    PAYMENTS_PROD,
    SECURITY,
    enabled_fixture,
)


@pytest.fixture(scope="module")
def small() -> Iterator[Sandbox]:
    """The sample organization plus 12 generated accounts spread over its OUs: selection
    needs accounts in every OU, not volume (each selection below is a whole audit)."""
    with Sandbox.start(enabled_fixture(), accounts=12, seed=1) as sb:
        yield sb


def test_selection_flags(small: Sandbox, tmp_path: Path) -> None:
    journal = tmp_path / "j.db"

    def selected(*args: str) -> set[str]:
        report = audit_json(small, journal, *args)
        return {a["account_id"] for a in report["accounts"]}

    state = small.root_state()
    under_workloads = {a for a in state if small.ou_path_of(a).startswith("/root/workloads/")}
    assert selected("--ou", "/root/workloads") == under_workloads
    dev = {a for a in state if small.ou_path_of(a) == "/root/workloads/dev"}
    assert dev and under_workloads - dev and set(state) - under_workloads  # each flag matters
    assert selected("--ou", "/root/workloads", "--exclude-ou", "/root/workloads/dev") == (
        under_workloads - dev
    )
    assert selected("--accounts", f"{PAYMENTS_PROD},{DATA_PROD}", "--accounts", EXPERIMENTS) == {
        PAYMENTS_PROD,
        DATA_PROD,
        EXPERIMENTS,
    }
    assert selected("--ou", "/root/security", "--accounts", PAYMENTS_DEV) == {
        SECURITY,
        PAYMENTS_DEV,
    }
    everything = selected()
    assert selected("--exclude", f"{SECURITY} {EXPERIMENTS}") == everything - {
        SECURITY,
        EXPERIMENTS,
    }
