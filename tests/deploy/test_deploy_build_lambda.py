"""scripts/build-lambda: the zip builds reproducibly, holds no sandbox or dev package, and
its handler imports and runs a pass against the sandbox from a clean venv."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest
from deploy_helpers import TABLE, lambda_env

from rootctl.sandbox import Sandbox

from support import enabled_fixture

ROOT = Path(__file__).resolve().parents[2]
PYTHON = f"{sys.version_info.major}.{sys.version_info.minor}"  # this machine's, to import it
RUN_HANDLER = """
import json, sys
from rootctl.lambda_handler import handler
print(json.dumps(handler(json.loads(sys.argv[3]), None)))
"""


def _build(out: Path, *extra: str) -> str:
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "build-lambda"), "--python", PYTHON, "--out", str(out), *extra],
        capture_output=True, text=True, check=False, timeout=900,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert "bytes" in done.stdout and "sha256" in done.stdout
    return hashlib.sha256(out.read_bytes()).hexdigest()


def test_the_zip_is_reproducible_and_its_handler_runs_in_a_clean_venv(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = _build(tmp_path / "a.zip")
    again = _build(tmp_path / "b.zip", "--lock", str(tmp_path / "a.lock"))
    assert first == again  # same lock, same bytes
    with zipfile.ZipFile(tmp_path / "a.zip") as archive:
        names = archive.namelist()
        assert names == sorted(names)
        assert {i.date_time for i in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}
        archive.extractall(tmp_path / "task")
    tops = {n.split("/")[0] for n in names}
    assert "rootctl" in tops and "boto3" in tops
    assert not {t for t in tops if t.startswith(("moto", "pytest", "hypothesis", "mypy", "ruff"))}
    assert not any(n.startswith("rootctl/sandbox/") for n in names)
    assert (tmp_path / "a.zip").stat().st_size < 50 * 1024 * 1024

    venv.create(tmp_path / "venv", with_pip=False)  # the stdlib alone, like the runtime
    python = tmp_path / "venv" / "bin" / "python"
    with Sandbox.start(enabled_fixture()) as sb:
        lambda_env(sb, monkeypatch)
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        env["PYTHONPATH"] = str(tmp_path / "task")  # LAMBDA_TASK_ROOT is on sys.path
        event = json.dumps({"shard": "1/1"})
        done = subprocess.run(
            [str(python), "-I", "-c", "import sys; sys.path.insert(0, sys.argv[2]); exec(sys.argv[1])", RUN_HANDLER, str(tmp_path / "task"), event],
            capture_output=True, text=True, env=env, check=False, timeout=300,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr[-2000:]
        result = json.loads(done.stdout.splitlines()[-1])
        assert result["summary"]["changed"] > 0 and result["exit_code"] == 0
        assert TABLE in os.environ["ROOTCTL_JOURNAL"]
