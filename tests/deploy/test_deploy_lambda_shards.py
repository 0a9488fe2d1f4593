"""A scheduled pass fanned out over shards cleans a 200-account organization: each shard's
invocation takes its accounts, together they take every account once."""

from __future__ import annotations

import pytest
from deploy_helpers import ANCHOR, TABLE, Context, holders, lambda_env, log_lines

from rootctl.lambda_handler import handler
from rootctl.sandbox import Sandbox

from support import SUSPENDED, enabled_fixture, run_cli

SHARDS = 4


def test_sharded_invocations_clean_a_200_account_organization(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with Sandbox.start(enabled_fixture(), accounts=200) as sb:
        lambda_env(sb, monkeypatch)
        before = holders(sb)
        assert len(before) > 100
        results = [handler({"shard": f"{k}/{SHARDS}"}, Context()) for k in range(1, SHARDS + 1)]
        lines = log_lines(capsys.readouterr().out)
        audited = sum(r["summary"]["accounts"] for r in results)
        changed = [line["account_id"] for line in lines if line.get("outcome") == "changed"]
        failed = [line for line in lines if line.get("outcome") == "failed"]
        assert failed == [] and all(r["exit_code"] == 0 for r in results)
        assert sorted(changed) == sorted(set(changed))  # no account in two shards
        unreachable = {sb.management_account_id, SUSPENDED}  # AssumeRoot cannot target them
        assert set(changed) == before - unreachable
        assert holders(sb) <= unreachable
        assert audited >= len(changed) and all(r["summary"]["accounts"] > 0 for r in results)
        verified = run_cli(
            sb, "journal", "verify", "--anchor", ANCHOR, "--journal", f"dynamodb://{TABLE}"
        )
        assert verified.returncode == 0, verified.stderr
