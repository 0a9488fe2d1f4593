"""`rootctl plan --from-terraform DIR`: drift of the live organization against Terraform/NTC files."""

from __future__ import annotations

import json
from pathlib import Path

from rootctl.sandbox import Sandbox

from support import run_cli

NTC = """
module "ntc_organizations" {
  source = "github.com/nuvibit-terraform-collection/terraform-aws-ntc-organizations?ref=2.1.0"

  service_access_principals = ["iam.amazonaws.com", "sso.amazonaws.com"]

  centralize_root_access = {
    enabled = true
    features = [
      "RootCredentialsManagement",
      "RootSessions",
    ]
  }
}
"""


def test_plan_reports_drift_against_ntc_files(sandbox: Sandbox, tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(NTC)
    proc = run_cli(sandbox, "plan", "--from-terraform", str(tmp_path), "--output", "json")
    assert proc.returncode == 2, proc.stderr
    kinds = [c["kind"] for c in json.loads(proc.stdout)["changes"]]
    assert kinds == ["enable-trusted-access", "enable-feature", "enable-feature"]
    assert "module.ntc_organizations.centralize_root_access" in proc.stderr  # where it came from


def test_from_terraform_and_config_together_is_bad_input(sandbox: Sandbox, tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(NTC)
    config = tmp_path / "rootctl.yaml"
    config.write_text("centralize_root_access: {enabled: true}\n")
    sandbox.reset_calls()
    proc = run_cli(sandbox, "plan", "--from-terraform", str(tmp_path), "-c", str(config))
    assert proc.returncode == 2 and "not both" in proc.stderr
    assert sandbox.calls() == []


def test_unresolvable_terraform_never_reaches_aws(sandbox: Sandbox, tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(NTC.replace("enabled = true", "enabled = var.enabled"))
    sandbox.reset_calls()
    proc = run_cli(sandbox, "plan", "--from-terraform", str(tmp_path))
    assert proc.returncode == 2 and "var.enabled" in proc.stderr
    assert proc.stderr.strip().count("\n") == 0
    assert sandbox.calls() == []
