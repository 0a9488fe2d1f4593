"""`rootctl sandbox serve` and `rootctl demo` as a user runs them: real processes, real shells.

Subprocesses here on purpose: what is tested is the process (a missing extra, a busy port,
a shell's `eval "$(...)"` that must return, a server left running in the background).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rootctl.cli.demo import steps
from rootctl.cli.sandbox import MOTO_MISSING

WITHOUT_MOTO = (
    "import sys; sys.modules['moto'] = None; sys.argv = ['rootctl', *sys.argv[1:]]; "
    "from rootctl.cli.main import main; main()"
)


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "ROOTCTL_"))}
    env["NO_COLOR"] = "1"
    return env


@pytest.mark.parametrize(
    "args",
    [
        ["sandbox", "serve"],
        ["sandbox", "serve", "--sample", "--port", "0"],
        ["sandbox", "serve", "--detach"],
        ["demo"],
        ["demo", "--out-dir", "never-written"],
    ],
)
def test_without_the_sandbox_extra_one_line_and_exit_2(args: list[str], tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", WITHOUT_MOTO, *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env=_env(),
    )
    assert (proc.returncode, proc.stderr, proc.stdout) == (2, f"error: {MOTO_MISSING}\n", "")
    assert not list(tmp_path.iterdir()), "nothing written"


def test_a_busy_port_says_to_pick_another_or_port_0() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = subprocess.run(
            [sys.executable, "-m", "rootctl", "sandbox", "serve", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=120,
            env=_env(),
        )
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("error: cannot listen on")
    assert "--port 0" in proc.stderr


DETACHED = """
set -eu
eval "$("$PYTHON" -m rootctl sandbox serve --detach --port 0 --accounts 3 --error-calls 1)"
trap 'kill "$ROOTCTL_SANDBOX_PID"' EXIT
echo "pid=$ROOTCTL_SANDBOX_PID"
"$PYTHON" - <<'PY'
import json, os, urllib.request, boto3, botocore.exceptions
url = os.environ["AWS_ENDPOINT_URL"]
def control(route, token=os.environ["ROOTCTL_SANDBOX_TOKEN"]):
    request = urllib.request.Request(f"{url}/_rootctl/{route}", headers={"X-Rootctl-Token": token})
    try:
        with urllib.request.urlopen(request) as answer:
            return answer.status, json.load(answer)
    except urllib.error.HTTPError as exc:
        return exc.code, json.load(exc)
sts = boto3.client("sts", config=botocore.config.Config(retries={"total_max_attempts": 1}))
try:
    sts.get_caller_identity()
    first = "ok"
except botocore.exceptions.ClientError as exc:
    first = exc.response["Error"]["Code"]
second = sts.get_caller_identity()["Account"]
print(json.dumps({"first": first, "second": second, "faults": control("faults")[1],
                  "without_token": control("faults", "")[0]}))
PY
"""


@pytest.mark.skipif(not hasattr(os, "fork") or not shutil.which("bash"), reason="POSIX shell")
def test_eval_of_a_detached_serve_returns_and_the_sandbox_answers() -> None:
    """The docs' `eval "$(rootctl sandbox serve --detach ...)"`: returns, serves, stops."""
    env = {**_env(), "PYTHON": sys.executable, "AWS_CONFIG_FILE": os.devnull}
    proc = subprocess.run(
        ["bash", "-c", DETACHED], capture_output=True, text=True, timeout=180, env=env
    )
    assert proc.returncode == 0, proc.stderr
    pid = int(re.search(r"pid=(\d+)", proc.stdout).group(1))  # type: ignore[union-attr]
    result = json.loads(proc.stdout.splitlines()[-1])
    assert result["first"] == "InternalFailure", "--error-calls 1: the first call fails"
    assert result["second"] == "111111111111"
    assert result["faults"]["error_calls"] == [1]
    assert result["without_token"] == 401
    _wait_gone(pid)


def _wait_gone(pid: int) -> None:
    """The trap's kill stopped the detached server (not our child: poll its state)."""
    status = Path(f"/proc/{pid}/status")
    for _ in range(600):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        if status.exists() and "\nState:\tZ" in status.read_text():
            return  # exited; only its parent (init in a container) has not reaped it yet
        time.sleep(0.05)  # a poll, not a timed assertion: 30 s before failing
    os.kill(pid, signal.SIGKILL)
    pytest.fail(f"the detached sandbox {pid} did not stop on SIGTERM")


def test_demo_titles_announce_only_the_exit_codes_their_steps_expect(tmp_path: Path) -> None:
    for step in steps(tmp_path / "rootctl.yaml", tmp_path):
        announced = re.findall(r"exit (\d)", step.title)
        assert [int(code) for code in announced] in ([], [step.expect]), step
        if "refused" in step.title:
            assert step.expect == 2, step


def test_the_demo_runs_every_step_with_the_announced_exit_code(tmp_path: Path) -> None:
    """The demo fails on any exit code other than the one its step expects."""
    proc = subprocess.run(
        [sys.executable, "-m", "rootctl", "demo", "--out-dir", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        timeout=600,
        env=_env(),
        cwd=tmp_path,
    )
    assert proc.returncode == 0, (proc.stdout[-3000:], proc.stderr[-3000:])
    assert "unexpected exit code" not in proc.stderr
    assert "is protected" in proc.stderr, "the refusal the demo announces happens"
    assert (tmp_path / "out" / "rootctl-report.html").exists()
