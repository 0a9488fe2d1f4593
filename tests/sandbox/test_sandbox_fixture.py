"""Fixture files, the generator and `rootctl sandbox serve`."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from rootctl.errors import UsageError
from rootctl.sandbox import Sandbox, load_fixture, sample_fixture_path
from rootctl.sandbox.fixture import GenerateSpec, generated_accounts

from support import PAYMENTS_PROD


def test_sample_fixture_is_valid_and_builds_the_organization(sandbox: Sandbox) -> None:
    fixture = load_fixture(sample_fixture_path())
    assert fixture.organization.management_account.id == sandbox.management_account_id
    state = sandbox.root_state()
    assert len(state) == len(fixture.organization.accounts) + fixture.generate.accounts
    assert sandbox.ou_path_of(PAYMENTS_PROD) == "/root/workloads/prod"


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("organization:\n  accounts:\n    - {id: '12', name: x}\n", "organization.accounts.0.id"),
        ("organization:\n  bogus: 1\n", "organization.bogus"),
        ("generate:\n  accounts: -1\n", "generate.accounts"),
        ("organization: [unclosed\n", "not valid YAML at line"),
        (
            "organization:\n  centralized_root_access: [RootSession]\n",
            "organization.centralized_root_access.0",
        ),
    ],
)
def test_malformed_fixture_is_one_line_naming_the_field(
    tmp_path: Path, text: str, fragment: str
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(UsageError) as exc:
        load_fixture(path)
    message = str(exc.value)
    assert fragment in message and "\n" not in message


def test_generator_is_reproducible_and_mixes_credentials() -> None:
    spec = GenerateSpec(accounts=400, seed=7)
    first = generated_accounts(spec, set())
    again = generated_accounts(spec, set())
    assert [a.model_dump() for a in first] == [a.model_dump() for a in again]
    with_password = sum(1 for a in first if a.root.password)
    with_keys = sum(1 for a in first if a.root.access_keys)
    assert 0.2 * 400 < with_password < 0.4 * 400
    assert 0.1 * 400 < with_keys < 0.3 * 400
    assert len({a.id for a in first}) == 400


def test_serve_rejects_a_bad_fixture_with_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("organization:\n  bogus: 1\n")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "rootctl",
            "sandbox",
            "serve",
            "--fixture",
            str(path),
            "--port",
            "0",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "organization.bogus" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_serve_prints_exports_and_answers() -> None:
    import boto3

    serve = ["sandbox", "serve", "--accounts", "5", "--port", "0", "--lost-response-rate", "0.25"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "rootctl", *serve],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        exports: dict[str, str] = {}
        deadline = time.time() + 60
        assert proc.stdout is not None
        while "ROOTCTL_SANDBOX_TOKEN" not in exports and time.time() < deadline:
            line = proc.stdout.readline()
            if line.startswith("export "):
                key, _, value = line[len("export ") :].strip().partition("=")
                exports[key] = value
        assert {
            "AWS_ENDPOINT_URL",
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_DEFAULT_REGION",
        } <= set(exports)
        org = boto3.client(
            "organizations",
            endpoint_url=exports["AWS_ENDPOINT_URL"],
            aws_access_key_id=exports["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=exports["AWS_SECRET_ACCESS_KEY"],
            region_name=exports["AWS_DEFAULT_REGION"],
        )
        assert len(org.list_accounts()["Accounts"]) == 6  # management + 5 generated
        faults = urllib.request.Request(
            f"{exports['AWS_ENDPOINT_URL']}/_rootctl/faults",
            headers={"X-Rootctl-Token": exports["ROOTCTL_SANDBOX_TOKEN"]},
        )
        with urllib.request.urlopen(faults) as answer:
            assert json.load(answer)["lost_response_rate"] == 0.25
    finally:
        proc.terminate()
        proc.wait(timeout=10)
