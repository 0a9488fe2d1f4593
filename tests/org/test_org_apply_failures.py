"""`rootctl apply` when a change fails in the middle, and when the read was partial.

- the endpoint dies after the first change (the sandbox is stopped once that change is
  journaled: a count, not a time): the next change fails with a connection error, is
  journaled as an error with its classified code, the later changes are not attempted and
  say so, exit 1 with one `error:` line and no traceback; the endpoint back, a rerun
  finishes the plan.
- an AWS error answer mid-apply (the sandbox's deterministic `fail_actions`): the same.
- SCPs unreadable while guardrails are configured: apply refuses the plan (one line, exit 1,
  nothing changed), as enforce does; without guardrails the unread SCPs do not matter.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from org_cli import invoke

from rootctl.journal import Journal, JournalEntry, StoredEntry
from rootctl.sandbox import Sandbox
from rootctl.sandbox.model import FaultConfig

from support import SECURITY, mutating_calls, sample_fixture

CONFIG = f"""
centralize_root_access:
  enabled: true
  features: [RootCredentialsManagement, RootSessions]
delegated_administrator: "{SECURITY}"
guardrails:
  - policy_name: scp_root_ou
    target_ou_paths: [/root]
    template_names: [deny_actions_as_root_except_centralized_root]
"""
NO_GUARDRAILS = """
centralize_root_access:
  enabled: true
  features: [RootCredentialsManagement, RootSessions]
"""
ORDER = [
    "enable-trusted-access",
    "register-delegated-administrator",
    "enable-feature",
    "enable-feature",
    "create-scp",
    "attach-scp",
]


@pytest.fixture
def sb() -> Iterator[Sandbox]:
    with Sandbox.start(sample_fixture()) as sandbox:
        yield sandbox


def _config(tmp_path: Path, text: str = CONFIG) -> Path:
    path = tmp_path / "rootctl.yaml"
    path.write_text(text)
    return path


def _entries(journal: Path) -> list[StoredEntry]:
    with Journal(journal, create=False) as j:
        assert j.verify().ok
        return [e for e in j.list() if e.command == "apply"]


def _errors(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("error:")]


class _StopAfterFirstChange:
    """Stops the sandbox once the first organization change is journaled ok.

    Installed over `Journal.append` (a wrapper: the real append runs first) because the CLI
    opens its own journal and the sandbox has no fault that takes the endpoint down after N
    calls: the trigger is a count (one entry), the failure is real (nothing listens)."""

    def __init__(self, sb: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
        self.sb = sb
        self.stopped = False
        real = Journal.append

        def append(journal: Journal, entry: JournalEntry) -> StoredEntry:
            stored = real(journal, entry)
            if entry.action == ORDER[0] and entry.outcome == "ok" and not self.stopped:
                self.stopped = True
                self.sb.stop()
            return stored

        monkeypatch.setattr(Journal, "append", append)


def test_endpoint_dies_mid_apply_the_rest_is_not_attempted_then_a_rerun_finishes(
    sb: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    journal, config = tmp_path / "journal.db", _config(tmp_path)
    stopper = _StopAfterFirstChange(sb, monkeypatch)
    result = invoke(sb, "apply", "-c", str(config), "--yes", journal=journal)
    monkeypatch.undo()
    assert stopper.stopped
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    errors = _errors(result.stderr)
    assert len(errors) == 1, result.stderr
    assert errors[0].startswith(
        f"error: register-delegated-administrator {SECURITY} (for iam.amazonaws.com) failed: "
        "EndpointError: cannot reach "
    )
    assert errors[0].endswith("; 4 later change(s) not attempted")
    lines = [line.split() for line in result.stdout.splitlines() if line.startswith("  ")]
    marks = [(parts[0], parts[1]) for parts in lines if parts[0] in ("done", "FAILED", "skipped")]
    assert marks == [("done", ORDER[0]), ("FAILED", ORDER[1])] + [("skipped", k) for k in ORDER[2:]]
    # The journal says what was tried: the change made, then the one that failed, with its
    # classified code; nothing for the changes not attempted.
    tried = [(e.action, e.outcome) for e in _entries(journal)]
    assert tried == [(ORDER[0], "ok"), (ORDER[1], "error")]
    failed = _entries(journal)[1]
    assert failed.error is not None and failed.error.startswith("EndpointError: ")

    # The endpoint comes back: apply again makes the rest, nothing twice.
    sb.serve_in_thread()
    sb.reset_calls()
    again = invoke(sb, "apply", "-c", str(config), "--yes", journal=journal)
    assert again.exit_code == 0, again.output
    assert "Verified" in again.stdout
    made = [c["action"] for c in mutating_calls(sb)]
    assert "EnableAWSServiceAccess" not in made
    assert "RegisterDelegatedAdministrator" in made


def test_an_aws_error_mid_apply_stops_the_run_with_one_line(sb: Sandbox, tmp_path: Path) -> None:
    journal, config = tmp_path / "journal.db", _config(tmp_path)
    sb.set_faults(
        FaultConfig(fail_actions={"EnableOrganizationsRootCredentialsManagement": "AccessDenied"})
    )
    result = invoke(sb, "apply", "-c", str(config), "--yes", journal=journal)
    assert result.exit_code == 1, result.output
    errors = _errors(result.stderr)
    assert errors == [
        "error: enable-feature RootCredentialsManagement failed: AccessDenied: "
        "Injected failure of EnableOrganizationsRootCredentialsManagement.; "
        "3 later change(s) not attempted"
    ]
    tried = [(e.action, e.outcome) for e in _entries(journal)]
    assert tried == [(ORDER[0], "ok"), (ORDER[1], "ok"), (ORDER[2], "error")]
    assert not [c for c in mutating_calls(sb) if c["action"] in ("CreatePolicy", "AttachPolicy")]


def test_apply_refuses_a_plan_made_from_a_partial_read(sb: Sandbox, tmp_path: Path) -> None:
    journal = tmp_path / "journal.db"
    # What a delegated administrator without organizations:ListPolicies meets.
    sb.set_faults(FaultConfig(fail_actions={"ListPolicies": "AccessDeniedException"}))
    sb.reset_calls()
    result = invoke(sb, "apply", "-c", str(_config(tmp_path)), "--yes", journal=journal)
    assert result.exit_code == 1, result.output
    assert _errors(result.stderr) == [
        "error: the organization could not be read in full (service control policies: "
        "AccessDeniedException): a plan made from a partial read is not applied, nothing "
        "changed (grant the read, or run with management-account credentials)"
    ]
    assert result.stderr.count("\n") == 1
    assert mutating_calls(sb) == []
    assert not journal.exists() or _entries(journal) == []

    # The same read without guardrails in the config: the SCPs are not needed, apply runs.
    other = tmp_path / "other"
    other.mkdir()
    applied = invoke(
        sb, "apply", "-c", str(_config(other, NO_GUARDRAILS)), "--yes", journal=journal
    )
    assert applied.exit_code == 0, applied.output
    assert "Verified" in applied.stdout


def test_the_library_reports_the_same_through_the_facade(
    sb: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`Rootctl.apply_org` (what scripts and the Lambda call): values, not exceptions."""
    from rootctl import connect
    from rootctl.org.service import PartialReadError

    for name in [k for k in os.environ if k.startswith(("AWS_", "ROOTCTL_"))]:
        monkeypatch.delenv(name)
    for name, value in sb.env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
    journal = tmp_path / "journal.db"
    sb.set_faults(FaultConfig(fail_actions={"ListPolicies": "AccessDenied"}))
    with connect(config=_config(tmp_path), journal=journal) as rc:
        run = rc.plan_org()
        with pytest.raises(PartialReadError) as refused:
            rc.apply_org(run)
        assert refused.value.exit_code == 1
    sb.set_faults(FaultConfig())
    _StopAfterFirstChange(sb, monkeypatch)
    with connect(config=_config(tmp_path), journal=journal) as rc:
        applied: Any = rc.apply_org(rc.plan_org())
    assert [r.outcome for r in applied.results] == ["ok", "error"] + ["skipped"] * 4
    assert applied.results[1].error.code == "EndpointError"
    assert applied.unverified is not None and not applied.ok
    assert [c.kind for c in applied.pending] == ORDER[1:]
