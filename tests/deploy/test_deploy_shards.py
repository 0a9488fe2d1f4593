"""`--shard K/N`: the shards of a partition are disjoint and cover every account; bad specs
are one line, exit 2, before any AWS call."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rootctl.errors import UsageError
from rootctl.sandbox import Sandbox
from rootctl.shards import MAX_SHARDS, Shard, parse_shard, partition, shard_of

from support import checked_document, run_cli

account_ids = st.lists(st.from_regex(r"[0-9]{12}", fullmatch=True), unique=True, max_size=300)


@given(ids=account_ids, count=st.integers(min_value=1, max_value=64))
def test_shards_are_disjoint_and_cover_every_account(ids: list[str], count: int) -> None:
    shards = partition(ids, count)
    assert sorted(shards) == list(range(1, count + 1))
    members = [a for k in shards for a in shards[k]]
    assert sorted(members) == sorted(ids)  # covered, and none twice (disjoint)
    for k, accounts in shards.items():
        assert all(Shard(k, count).holds(a) for a in accounts)
        assert not any(Shard(j, count).holds(a) for a in accounts for j in shards if j != k)


@given(ids=account_ids, count=st.integers(min_value=1, max_value=64))
def test_the_partition_does_not_depend_on_order(ids: list[str], count: int) -> None:
    assert {a: shard_of(a, count) for a in ids} == {a: shard_of(a, count) for a in reversed(ids)}


def test_the_partition_is_sha256_of_the_id_and_stable_across_releases() -> None:
    # A change here would move accounts between the shards of a running deployment.
    import hashlib

    for account in ("111111111111", "999999999999", "000000000001"):
        assert shard_of(account, 7) == int(hashlib.sha256(account.encode()).hexdigest(), 16) % 7 + 1


def test_200_accounts_spread_over_8_shards() -> None:
    ids = [f"{100000000000 + i * 7919:012d}" for i in range(200)]
    sizes = sorted(len(v) for v in partition(ids, 8).values())
    assert sum(sizes) == 200 and sizes[0] >= 10  # no starved shard at this size


@pytest.mark.parametrize("spec", ["1/1", "3/8", " 2 / 2 ", f"{MAX_SHARDS}/{MAX_SHARDS}"])
def test_good_specs(spec: str) -> None:
    shard = parse_shard(spec)
    assert 1 <= shard.index <= shard.count


@pytest.mark.parametrize(
    "spec", ["3/2", "0/0", "0/4", "x", "", "1/", "/2", "-1/2", "1/2/3", "1.0/2", "1/1001", "१/२"]
)
def test_bad_specs_are_usage_errors(spec: str) -> None:
    with pytest.raises(UsageError, match="shard"):
        parse_shard(spec)


@pytest.mark.parametrize("spec", ["3/2", "0/0", "x"])
def test_cli_bad_shard_is_one_line_exit_2_without_aws_calls(
    enabled_sandbox: Sandbox, tmp_path: Path, spec: str
) -> None:
    enabled_sandbox.reset_calls()
    result = run_cli(
        enabled_sandbox, "enforce", "--shard", spec, "--yes", journal=tmp_path / "j.sqlite3"
    )
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1 and "shard" in result.stderr
    assert enabled_sandbox.calls() == []


def test_cli_shards_cover_the_organization_once(enabled_sandbox: Sandbox, tmp_path: Path) -> None:
    """3 dry-run passes, one per shard, audit as many accounts as one full pass, and each
    account with credentials is found by exactly one of them."""

    def dry_run(*extra: str) -> dict[str, Any]:
        result = run_cli(
            enabled_sandbox,
            "enforce",
            *extra,
            "--dry-run",
            "-o",
            "json",
            journal=tmp_path / "j.sqlite3",
        )
        if result.returncode == 0 and not result.stdout:
            return {"summary": {"accounts": 0}, "found": []}  # an empty shard
        assert result.returncode in (0, 3), result.stderr
        document = checked_document("enforce", result.stdout)
        return document

    full = dry_run()
    shards = [dry_run("--shard", f"{k}/3") for k in (1, 2, 3)]
    # The full pass also counts the accounts it skips (the management account, SUSPENDED):
    # a shard names only AssumeRoot targets, so those two are in no shard.
    skipped = 2
    assert sum(d["summary"]["accounts"] for d in shards) == full["summary"]["accounts"] - skipped
    found = [f["account_id"] for d in shards for f in d["found"]]
    assert sorted(found) == sorted(f["account_id"] for f in full["found"])
