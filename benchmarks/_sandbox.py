"""The sandbox in its own process (`python -m rootctl sandbox serve`), driven over HTTP.

The benchmark never runs the sandbox in its own interpreter: the server's threads would
share the GIL with the client being measured. Controls use the sandbox's HTTP API under
`/_rootctl/` (calls, faults, state).
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import IO, Any

import yaml
from _measure import proc_cpu_s, proc_rss_kb

# Both features on and IAM trusted access enabled: the state an audit needs.
ENABLED = {
    "trusted_access": ["iam.amazonaws.com"],
    "centralized_root_access": ["RootCredentialsManagement", "RootSessions"],
}


def write_fixture(path: Path, accounts: int, seed: int = 0) -> Path:
    path.write_text(
        yaml.safe_dump({"organization": ENABLED, "generate": {"accounts": accounts, "seed": seed}})
    )
    return path


class SandboxProcess:
    """`rootctl sandbox serve` on a free port; `env` points AWS clients at it."""

    def __init__(
        self, fixture: Path, *, latency_ms: float = 0.0, throttle_rps: float = 0.0
    ) -> None:
        self.fixture = fixture
        self.latency_ms = latency_ms
        self.throttle_rps = throttle_rps
        self.proc: subprocess.Popen[str] | None = None
        self.env: dict[str, str] = {}
        self.boot_s = 0.0
        self.stop_s = 0.0
        self.killed = False  # True when SIGINT did not stop it within 30 s
        self._stderr: IO[bytes] | None = None

    def start(self, timeout: float = 900.0) -> SandboxProcess:
        argv = [
            sys.executable, "-m", "rootctl", "sandbox", "serve", "--fixture", str(self.fixture),
            "--port", "0", "--latency-ms", str(self.latency_ms),
            "--throttle-rps", str(self.throttle_rps),
        ]  # fmt: skip
        self._stderr = open(self.fixture.with_suffix(".serve.log"), "wb")  # noqa: SIM115
        started = time.perf_counter()
        self.proc = subprocess.Popen(
            argv,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            stdin=subprocess.DEVNULL,
            text=True,
            env=_clean_env(),
            # A shell starting the benchmark in the background (`... &`) ignores SIGINT, and
            # children inherit that: restore it so that Ctrl-C (our stop) works.
            preexec_fn=_default_sigint,
        )
        assert self.proc.stdout is not None
        deadline = started + timeout
        for line in self.proc.stdout:
            if line.startswith("export "):
                key, _, value = line[len("export ") :].strip().partition("=")
                self.env[key] = shlex.split(value)[0]
            if line.startswith("unset ") or time.perf_counter() > deadline:
                break
        if "AWS_ENDPOINT_URL" not in self.env:
            self.stop()
            log = self.fixture.with_suffix(".serve.log").read_text(errors="replace")
            raise RuntimeError(f"the sandbox did not start: {log[-2000:]}")
        self.health()
        self.boot_s = time.perf_counter() - started
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    @property
    def url(self) -> str:
        return self.env["AWS_ENDPOINT_URL"]

    def client_env(self, **extra: str) -> dict[str, str]:
        """The environment of a child process talking to this sandbox."""
        return {**_clean_env(), **self.env, **extra}

    # -- control API ---------------------------------------------------------------------

    def control(self, route: str, method: str = "GET", body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        headers = {"X-Rootctl-Token": self.env["ROOTCTL_SANDBOX_TOKEN"]}
        if data is not None:
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(
            f"{self.url}/_rootctl/{route}", data=data, method=method, headers=headers
        )
        with urllib.request.urlopen(request, timeout=300) as response:
            return json.loads(response.read())

    def health(self) -> dict[str, Any]:
        result: dict[str, Any] = self.control("health")
        return result

    def calls(self) -> list[dict[str, Any]]:
        calls: list[dict[str, Any]] = self.control("calls")["calls"]
        return calls

    def reset_calls(self) -> None:
        self.control("calls", "DELETE")

    def set_faults(self, **faults: Any) -> None:
        """Replace the fault settings (latency included: it is one of them)."""
        self.control("faults", "POST", {"latency_ms": self.latency_ms, **faults})

    def cpu_s(self) -> float:
        return proc_cpu_s(self.pid)

    def rss_mb(self) -> tuple[float, float]:
        current, peak = proc_rss_kb(self.pid)
        return current / 1024.0, peak / 1024.0

    def stop(self) -> None:
        """Ctrl-C (SIGINT), as a user stops it; SIGKILL if that has not worked in 30 s."""
        started = time.perf_counter()
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.killed = True
                self.proc.kill()
                self.proc.wait()
        self.stop_s = time.perf_counter() - started
        if self.proc is not None and self.proc.stdout is not None:
            self.proc.stdout.close()
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None

    def __enter__(self) -> SandboxProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _clean_env() -> dict[str, str]:
    """This environment without AWS or rootctl settings, and without shared AWS config."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "ROOTCTL_"))}
    env["AWS_CONFIG_FILE"] = os.devnull
    env["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
    env["AWS_EC2_METADATA_DISABLED"] = "true"
    return env
