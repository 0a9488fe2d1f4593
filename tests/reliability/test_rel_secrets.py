"""No secret ever leaves rootctl: run every command, then scan everything it wrote.

A realistic session against the sandbox, as an operator would run it: status, plan,
apply, audit in every output format (stdout and --out files), delete-credentials (dry run,
then for real), allow-password-recovery (granted and refused), list-locked, unlock s3 and
sqs, restore, exec running `aws sts get-caller-identity`, events, guardrails check, and
journal list/show/verify/export. Then every byte it produced is searched for every secret
the sandbox issued (`sb.secrets_issued()`: the operator's secret key, every root session's
secret key and session token, the root users' access key secrets): stdout, stderr, report
files, the exported journal, the journal's sqlite files (raw bytes, WAL included) and any
file rootctl left under HOME or the XDG directories (rootctl writes no log file; this
would catch one).

Most commands run in-process (Click's runner: the same command code, stdout and stderr,
with HOME, XDG_* and the working directory of the process runs); the first run of each
command kind that starts threads, pools or writes files also runs as a real process, so
what only a process has (its start-up, logging set-up, the interpreter's exit) is scanned
too. All ~45 as processes cost ~35 s of CPU on the 2-core CI machine.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from rootctl.sandbox import Sandbox

from support import (
    DATA_PROD,
    EXPERIMENTS,
    PAYMENTS_DEV,
    PAYMENTS_PROD,
    sample_fixture,
)

CONFIG = f"""
centralize_root_access: {{enabled: true}}
guardrails:
  - policy_name: root-guardrail
    target_ou_paths: [/root/workloads]
    template_names: [deny_actions_as_root_except_centralized_root]
root_credentials:
  exceptions:
    - account_id: "{DATA_PROD}"
      reason: hardware token held by the data team
      expires: 2099-12-31
"""
# Shorter pieces of a secret that would still be a leak (a truncated token in a message).
PREFIX = 24


@pytest.fixture
def home(tmp_path: Path) -> Path:
    for name in ("home", "state", "cache", "config", "work"):
        (tmp_path / name).mkdir()
    return tmp_path


class Session:
    """Runs rootctl as the operator would and keeps everything it printed."""

    def __init__(self, sb: Sandbox, root: Path) -> None:
        self.sb = sb
        self.root = root
        self.work = root / "work"
        self.journal = root / "state" / "journal.db"
        self.outputs: list[tuple[str, str]] = []
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "ROOTCTL_"))}
        env.update(sb.env())
        bin_dir = str(Path(sys.executable).parent)
        env.update(
            HOME=str(root / "home"),
            XDG_STATE_HOME=str(root / "state"),
            XDG_CACHE_HOME=str(root / "cache"),
            XDG_CONFIG_HOME=str(root / "config"),
            AWS_CONFIG_FILE=str(root / "config" / "aws-config"),
            AWS_SHARED_CREDENTIALS_FILE=str(root / "config" / "aws-credentials"),
            ROOTCTL_JOURNAL=str(self.journal),
            PATH=bin_dir + os.pathsep + env.get("PATH", ""),
            COLUMNS="200",
        )
        self.env = env

    def run(
        self, *args: str, ok: tuple[int, ...] = (0,), process: bool = False
    ) -> subprocess.CompletedProcess[str]:
        """`rootctl ARGS` in-process, or as a process with `process=True`."""
        if process:
            proc = subprocess.run(
                [sys.executable, "-m", "rootctl", *args],
                env=self.env,
                cwd=self.work,
                capture_output=True,
                text=True,
                stdin=subprocess.DEVNULL,
                timeout=300,
                check=False,
            )
        else:
            proc = self._in_process(list(args))
        label = " ".join(args) + (" (process)" if process else "")
        self.outputs += [(f"stdout of {label}", proc.stdout), (f"stderr of {label}", proc.stderr)]
        assert proc.returncode in ok, f"{label}: exit {proc.returncode}\n{proc.stderr[-3000:]}"
        assert "Traceback" not in proc.stderr, f"{label}\n{proc.stderr[-3000:]}"
        return proc

    def _in_process(self, args: list[str]) -> subprocess.CompletedProcess[str]:
        from rootctl.cli.main import cli

        env: dict[str, str | None] = {k: None for k in os.environ if k not in self.env}
        env.update(self.env)
        previous = Path.cwd()
        os.chdir(self.work)
        try:
            result = CliRunner().invoke(cli, args, env=env, prog_name="rootctl")
        finally:
            os.chdir(previous)
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        return subprocess.CompletedProcess(args, result.exit_code, result.stdout, result.stderr)

    def files(self) -> Iterator[tuple[str, bytes]]:
        for path in sorted(self.root.rglob("*")):
            if path.is_file():
                yield str(path.relative_to(self.root)), path.read_bytes()


def audit_formats() -> tuple[str, ...]:
    from rootctl.cli.credentials import audit

    option = next(p for p in audit.params if p.name == "output")
    return tuple(option.type.choices)  # type: ignore[attr-defined]


def entry_id(text: str, pattern: str) -> str:
    match = re.search(pattern, text)
    assert match, f"{pattern!r} not in {text!r}"
    return match.group(1)


@pytest.fixture
def session(home: Path) -> Iterator[Session]:
    with Sandbox.start(sample_fixture()) as sb:
        yield Session(sb, home)


def test_no_secret_reaches_any_output(session: Session) -> None:
    s = session
    (s.work / "rootctl.yaml").write_text(CONFIG)
    (s.work / "open.json").write_text(
        '{"Version": "2012-10-17", "Statement": [{"Sid": "Read", "Effect": "Allow", '
        f'"Principal": {{"AWS": "arn:aws:iam::{PAYMENTS_PROD}:root"}}, "Action": "s3:GetObject", '
        '"Resource": "arn:aws:s3:::payments-prod-terraform-state/*"}]}'
    )
    s.run("status", ok=(0, 1), process=True)
    s.run("status", "-o", "json", ok=(0, 1))
    s.run("plan", ok=(2,))
    s.run("apply", "--yes", "--reason", "OPS-1 enable centralized root access", process=True)
    s.run("status", "-o", "json")
    s.run("guardrails", "check")
    s.run("guardrails", "check", "-o", "json")
    for fmt in audit_formats():
        s.run("audit", "-o", fmt, process=fmt == "json")
        s.run("audit", "-o", fmt, "--out", f"audit.{fmt}")
    s.run("audit", "--fail-on-findings", ok=(3,))
    s.run("delete-credentials", "--dry-run")
    s.run("delete-credentials", "--accounts", PAYMENTS_DEV, "--reason", "OPS-2", "--yes")
    s.run("delete-credentials", "--reason", "OPS-2", "--yes", "-o", "json", process=True)
    s.run("allow-password-recovery", EXPERIMENTS, "--reason", "OPS-3", "--yes")
    s.run("allow-password-recovery", EXPERIMENTS, "--reason", "OPS-3", "--yes", ok=(1,))
    s.run("list-locked", "s3", "--account", PAYMENTS_PROD, "--reason", "OPS-4")
    s.run("list-locked", "sqs", "--account", PAYMENTS_PROD, "-o", "json", "--reason", "OPS-4")
    unlocked = s.run(
        "unlock", "s3", "--account", PAYMENTS_PROD, "--bucket", "payments-prod-artifacts",
        "--reason", "OPS-4", "--yes", process=True,
    )  # fmt: skip
    backup = entry_id(unlocked.stdout, r"rootctl restore (\d+)")
    s.run(
        "unlock", "s3", "--account", PAYMENTS_PROD, "--bucket", "payments-prod-terraform-state",
        "--replace-with", "open.json", "--reason", "OPS-4", "--yes",
    )  # fmt: skip
    s.run(
        "unlock", "sqs", "--account", PAYMENTS_PROD, "--queue", "payments-events",
        "--reason", "OPS-4", "--yes",
    )  # fmt: skip
    s.run("restore", backup, "--reason", "OPS-4 undo", "--yes", "--allow-lockout")
    aws = shutil.which("aws", path=s.env["PATH"])
    assert aws is not None, "the AWS CLI (a dev dependency) is needed for exec"
    s.run(
        "exec", "--account", PAYMENTS_PROD, "--task", "s3-unlock", "--reason", "OPS-5", "--",
        aws, "sts", "get-caller-identity", process=True,
    )  # fmt: skip
    s.run(
        "exec", "--account", PAYMENTS_PROD, "--task", "audit", "--reason", "OPS-5", "--",
        aws, "s3api", "list-buckets", ok=(254, 255),
    )  # fmt: skip
    s.run("events", process=True)
    s.run("events", "-o", "json", "--account", PAYMENTS_PROD)
    s.run("journal", "list")
    listed = s.run("journal", "list", "-o", "json")
    s.run("journal", "show", "1")
    s.run("journal", "show", backup, "-o", "json")
    s.run("journal", "show", str(listed.stdout.count('"id":')), "-o", "json")
    s.run("journal", "verify")
    s.run("journal", "export")
    s.run("journal", "export", "--out", "journal.jsonl", process=True)

    secrets = s.sb.secrets_issued()
    operator = s.sb.operator
    assert operator is not None and operator.secret_access_key in secrets
    tokens = [x for x in secrets if len(x) > 100]
    assert len(tokens) > 20, "root sessions were opened (each issues a secret and a token)"
    produced = [(name, text.encode()) for name, text in s.outputs] + list(s.files())
    assert any(name.startswith("state/journal.db") for name, _ in produced)
    assert any(name == "work/journal.jsonl" for name, _ in produced)
    planted = [("planted", b"token=" + tokens[0][: PREFIX + 1].encode())]
    assert leaks(secrets, planted) == [("planted", f"first {PREFIX} characters")]
    found = leaks(secrets, produced)
    assert not found, f"secrets found in: {found[:10]}"


def leaks(secrets: list[str], produced: list[tuple[str, bytes]]) -> list[tuple[str, str]]:
    """(where, how much) for every secret, or its first PREFIX characters, found."""
    return [
        (name, "whole" if secret.encode() in data else f"first {PREFIX} characters")
        for secret in secrets
        for name, data in produced
        if secret[:PREFIX].encode() in data
    ]
