"""`rootctl demo`: the whole story against the sample sandbox organization, no AWS account.

Starts the sandbox in this process, then runs real `rootctl` commands in subprocesses with the
sandbox's environment, exactly as a user would type them.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import click

DEMO_CONFIG = """\
# rootctl.yaml written by `rootctl demo` (format: docs/config.md)
centralize_root_access:
  enabled: true
  features: [RootCredentialsManagement, RootSessions]
delegated_administrator: "222222222222"
root_credentials:
  exceptions:
    - account_id: "444444444444"
      reason: "Vendor support contract needs root sign-in until migration (CHG-1042)"
      expires: "2099-12-31"
      keep: [password]
guardrails:
  - policy_name: scp_root_ou
    description: Deny root user actions except centralized root privileged tasks
    target_ou_paths: [/root]
    template_names: [deny_actions_as_root_except_centralized_root]
root_sessions:
  reason_pattern: "[A-Z]+-[0-9]+ .+"
  protected_resources:
    - account_id: "333333333333"
      s3_buckets: ["*-terraform-state"]
      reason: Terraform state is unlocked only by the platform team's break-glass runbook
"""


@dataclass(frozen=True)
class Step:
    """One command of the story and the one exit code it must end with.

    A title announces an exit code or a refusal only when the step really ends that way:
    the demo fails on any other code, and a test runs it (tests/sandbox/test_sandbox_serve.py).
    """

    title: str
    args: tuple[str, ...]
    expect: int = 0


def steps(config: Path, out: Path) -> list[Step]:
    c = str(config)
    return [
        Step("Where does the organization stand?", ("status",)),
        Step(
            "What would converge it to rootctl.yaml? (exit 2 = changes pending)",
            ("plan", "-c", c),
            2,
        ),
        Step(
            "Apply: trusted access, delegated admin, features, guardrail SCP",
            ("apply", "-c", c, "--yes"),
        ),
        Step("Status again", ("status",)),
        Step("Do our SCPs block any root session?", ("guardrails", "check")),
        Step("Audit root credentials of every member account", ("audit",)),
        Step(
            "Delete them: the plan first (dry run)",
            ("delete-credentials", "-c", c, "--dry-run"),
        ),
        Step(
            "Delete them for real",
            (
                "delete-credentials",
                "-c",
                c,
                "--yes",
                "--reason",
                "SEC-2211 remove leftover root credentials",
            ),
        ),
        Step("Audit again: only the exception keeps its password", ("audit",)),
        Step(
            "Which buckets deny everyone in payments-prod?",
            ("list-locked", "s3", "--account", "333333333333"),
        ),
        Step(
            "Unlock one: the old policy is backed up in the journal first",
            _unlock(
                c, "payments-prod-artifacts", "INC-7781 bucket policy locks out the deploy role"
            ),
        ),
        Step(
            "The Terraform state bucket is protected by the config: refused (exit 2), nothing changed",
            _unlock(c, "payments-prod-terraform-state", "INC-7781 try the protected bucket"),
            2,
        ),
        Step(
            "Every root session and change is in the journal", ("journal", "list", "--limit", "12")
        ),
        Step("And the journal's hash chain verifies", ("journal", "verify")),
        Step(
            "HTML report",
            ("audit", "--output", "html", "--out", str(out / "rootctl-report.html")),
        ),
        Step(
            "OCSF findings for a SIEM",
            ("audit", "--output", "ocsf", "--out", str(out / "rootctl-findings.ocsf.json")),
        ),
    ]


def _unlock(config: str, bucket: str, reason: str) -> tuple[str, ...]:
    return (
        "unlock", "s3", "-c", config, "--account", "333333333333", "--bucket", bucket,
        "--reason", reason, "--yes",
    )  # fmt: skip


def _available(args: tuple[str, ...]) -> bool:
    """True when `rootctl ARGS` names an existing command (and subcommand, for groups)."""
    from rootctl.cli.main import COMMANDS, cli

    if args[0] not in COMMANDS:
        return False
    ctx = click.Context(cli)
    command = cli.get_command(ctx, args[0])
    if isinstance(command, click.Group) and len(args) > 1 and not args[1].startswith("-"):
        return command.get_command(ctx, args[1]) is not None
    return command is not None


@click.command()
@click.option(
    "--out-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("out"),
    show_default=True,
    help="Where the reports are written.",
)
def demo(out_dir: Path) -> None:
    """Walk through status, plan, apply, audit, delete and reports against the sandbox."""
    from rootctl.cli.sandbox import require_moto

    require_moto()
    from rootctl.sandbox import Sandbox, sample_fixture_path

    out_dir.mkdir(parents=True, exist_ok=True)
    with (
        tempfile.TemporaryDirectory(prefix="rootctl-demo-") as tmp,
        Sandbox.start(sample_fixture_path()) as sb,
    ):
        config = Path(tmp) / "rootctl.yaml"
        config.write_text(DEMO_CONFIG)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "ROOTCTL_"))}
        env.update(sb.env())
        env.update(
            {
                "ROOTCTL_JOURNAL": str(Path(tmp) / "journal.sqlite3"),
                "AWS_CONFIG_FILE": os.devnull,
                "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            }
        )
        click.secho(
            f"rootctl demo: sandbox organization {sb.organization_id} at {sb.endpoint_url}",
            bold=True,
        )
        click.echo(f"config: {config}\n{DEMO_CONFIG}")
        failures = 0
        for number, step in enumerate(steps(config, out_dir.resolve()), 1):
            if not _available(step.args):
                continue  # a command this build does not have yet
            click.secho(f"\n[{number}] {step.title}", bold=True, fg="cyan")
            click.secho(f"$ rootctl {shlex.join(step.args)}", fg="bright_black")
            code = subprocess.call([sys.executable, "-m", "rootctl", *step.args], env=env)
            if code != step.expect:
                failures += 1
                click.secho(
                    f"  unexpected exit code {code} (expected {step.expect})", fg="red", err=True
                )
        click.secho(
            f"\nDone. Reports in {out_dir.resolve()}"
            if not failures
            else f"\n{failures} step(s) failed",
            bold=True,
        )
        if failures:
            raise SystemExit(1)
