"""Desired state from Terraform files (NTC's modules, the AWS provider's resources)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from rootctl.config import Feature
from rootctl.errors import UsageError
from rootctl.org.terraform import TerraformDesired, load_terraform_desired
from rootctl.sandbox import Sandbox

from support import SECURITY, enabled_fixture, sample_fixture

# In the spirit of Nuvibit's reference consumer (nuvibit-c2/aws-c2-mgmt-organizations):
# ntc_organizations.tf and ntc_organizations_guardrails.tf.
NTC_ORGANIZATIONS = """
# NOTE: you can import an existing organization:
# import {
#   to = module.ntc_organizations.aws_organizations_organization.ntc_org
#   id = "o-xxxxxxxx"
# }
module "ntc_organizations" {
  source = "github.com/nuvibit-terraform-collection/terraform-aws-ntc-organizations?ref=2.1.0"

  region = "eu-central-1"
  # Enable trusted access for AWS services to perform actions across your organization
  service_access_principals = [
    "iam.amazonaws.com",                      # IAM - Identity and Access Management
    "account.amazonaws.com",                  # AWS Account Management
    "cloudtrail.amazonaws.com",               # CloudTrail - Organization-wide audit logging
    "config-multiaccountsetup.amazonaws.com", # AWS Config - Multi-account setup
    "sso.amazonaws.com",                      # IAM Identity Center (SSO)
  ]

  organizational_unit_paths = [
    "/root/core",
    "/root/sandbox",
    "/root/workloads",
    "/root/workloads/prod",
    "/root/workloads/dev",
  ]

  organization_policies = [
    module.ntc_guardrail_templates.service_control_policies["scp_root_ou"],
    module.ntc_guardrail_templates.service_control_policies["scp_workloads_root"],
    module.ntc_guardrail_templates.resource_control_policies["rcp_enforce_confused_deputy_protection"],
    {
      policy_name        = "OptOutFromAllAIServices"
      policy_type        = "AISERVICES_OPT_OUT_POLICY"
      target_ou_paths    = ["/root"]
      target_account_ids = []
      policy_json = jsonencode({
        services = { default = { opt_out_policy = { "@@assign" = "optOut" } } }
      })
    }
  ]

  organization_trail = {
    kms_key_arn    = local.ntc_parameters["log-archive"]["log_bucket_kms_key_arns"]["org_cloudtrail"]
    s3_bucket_name = local.ntc_parameters["log-archive"]["log_bucket_ids"]["org_cloudtrail"]
  }

  # CENTRALIZED ROOT ACCESS MANAGEMENT
  centralize_root_access = {
    enabled = true
    features = [
      "RootCredentialsManagement", # Centrally manage root credentials (delete, audit, recovery)
      "RootSessions",              # Perform emergency root actions from management account
    ]
  }

  delegated_administrators = [
    {
      service_principal = "securityhub.amazonaws.com"
      admin_account_id  = local.security_account_id
      regions           = ["eu-central-1", "eu-central-2", "us-east-1"]
    },
  ]

  providers = {
    aws.global_service_region = aws.use1
  }
}
"""

NTC_GUARDRAILS = """
module "ntc_guardrail_templates" {
  source = "github.com/nuvibit-terraform-collection/terraform-aws-ntc-guardrail-templates?ref=2.0.0"

  service_control_policy_templates = [
    {
      policy_name        = "scp_root_ou"
      policy_description = "Deny member accounts from leaving the organization and any root user actions except for centralized root privilege tasks"
      target_ou_paths    = ["/root"]
      template_names = [
        "deny_leaving_organizations",
        "deny_actions_as_root_except_centralized_root",
        "deny_iam_user_and_access_key_creation"
      ]
      exclude_principal_arns = ["arn:aws:iam::*:role/OrganizationAccountAccessRole"]
    },
    {
      # root actions in workloads only through centralized root access
      policy_name        = "scp_workloads_root"
      policy_description = <<-EOT
        Deny root user actions in workloads
        except centralized root privileged tasks ($${aws:AssumedRoot})
      EOT
      target_ou_paths        = ["/root/workloads/prod", "/root/workloads/dev"]
      template_names         = ["deny_actions_as_root_except_centralized_root"]
      exclude_principal_arns = ["arn:aws:iam::*:role/OrganizationAccountAccessRole"]
      minify_policy          = true
    },
    {
      # defined but not referenced by organization_policies: Terraform does not attach it
      policy_name     = "scp_sandbox_root"
      target_ou_paths = ["/root/sandbox"]
      template_names  = ["deny_actions_as_root_except_centralized_root"]
    },
    {
      policy_name     = "scp_workloads_ou"
      target_ou_paths = ["/root/workloads"]
      template_names  = ["deny_outside_allowed_regions"]
      allowed_regions = var.allowed_regions
      whitelist_for_other_regions = ["iam:*", "organizations:*", "sts:*"]
    },
  ]

  resource_control_policy_templates = [
    {
      policy_name     = "rcp_enforce_confused_deputy_protection"
      policy_type     = "RESOURCE_CONTROL_POLICY"
      target_ou_paths = ["/root"]
      template_names  = ["enforce_confused_deputy_protection"]
      org_id          = local.ntc_parameters["mgmt-organizations"]["org_id"]
    },
  ]
}
"""

# The AWS provider's own example (terraform-provider-aws, iam_organizations_features docs).
PROVIDER = """
resource "aws_organizations_organization" "example" {
  aws_service_access_principals = ["iam.amazonaws.com"]
  feature_set                   = "ALL"
}

resource "aws_iam_organizations_features" "this" {
  enabled_features = ["RootCredentialsManagement", "RootSessions"]
}
"""


def tf_dir(tmp_path: Path, **files: str) -> Path:
    """A fresh directory with `files` (`main__tf` is written as main.tf)."""
    folder = tmp_path / f"tf{len(list(tmp_path.glob('tf*')))}"
    folder.mkdir()
    for name, text in files.items():
        (folder / name.replace("__", ".")).write_text(text)
    return folder


def load(tmp_path: Path, **files: str) -> TerraformDesired:
    return load_terraform_desired(tf_dir(tmp_path, **files))


def fails(tmp_path: Path, **files: str) -> str:
    with pytest.raises(UsageError) as exc:
        load(tmp_path, **files)
    message = str(exc.value)
    assert "\n" not in message
    return message


def test_ntc_consumer(tmp_path: Path) -> None:
    desired = load(
        tmp_path,
        ntc_organizations__tf=NTC_ORGANIZATIONS,
        ntc_organizations_guardrails__tf=NTC_GUARDRAILS,
    )
    config = desired.config
    assert config.centralize_root_access is not None
    assert config.centralize_root_access.enabled is True
    assert config.centralize_root_access.features == (
        Feature.ROOT_CREDENTIALS_MANAGEMENT,
        Feature.ROOT_SESSIONS,
    )
    assert config.delegated_administrator is None  # only securityhub is delegated
    [guardrail] = config.guardrails
    assert guardrail.policy_name == "scp_workloads_root"
    assert guardrail.target_ou_paths == ("/root/workloads/prod", "/root/workloads/dev")
    assert guardrail.template_names == ("deny_actions_as_root_except_centralized_root",)
    assert guardrail.exclude_principal_arns == (
        "arn:aws:iam::*:role/OrganizationAccountAccessRole",
    )
    assert guardrail.description == (
        "Deny root user actions in workloads\n"
        "except centralized root privileged tasks (${aws:AssumedRoot})\n"
    )
    assert desired.iam_trusted_access is True
    assert config.source is not None and config.source.endswith("(Terraform)")

    sources = {s.setting: s for s in desired.sources}
    assert sources["centralize_root_access"].address == (
        "module.ntc_organizations.centralize_root_access"
    )
    assert sources["centralize_root_access"].file.endswith("ntc_organizations.tf")
    assert sources["iam_trusted_access"].address == (
        "module.ntc_organizations.service_access_principals"
    )
    assert sources["guardrails.scp_workloads_root"].address == (
        "module.ntc_guardrail_templates.service_control_policy_templates[1]"
    )
    assert str(sources["guardrails.scp_workloads_root"]).startswith(
        "guardrails.scp_workloads_root <- "
    )

    warnings = "\n".join(desired.warnings)
    assert "(scp_root_ou) mixes rootctl's templates with deny_leaving_organizations" in warnings
    assert "(scp_sandbox_root) is not referenced by any organization_policies" in warnings
    assert "scp_workloads_ou" not in warnings  # not ours: ignored, its var not read
    assert "rendering difference" in warnings
    assert "iam.amazonaws.com" not in warnings  # declared: no trusted-access warning


def test_provider_resources(tmp_path: Path) -> None:
    desired = load(tmp_path, main__tf=PROVIDER)
    access = desired.config.centralize_root_access
    assert access is not None and access.enabled
    assert set(access.features) == set(Feature)
    assert desired.config.guardrails == ()
    assert desired.iam_trusted_access is True
    assert desired.warnings == ()
    assert {s.address for s in desired.sources} == {
        "aws_iam_organizations_features.this.enabled_features",
        "aws_organizations_organization.example.aws_service_access_principals",
    }


def test_features_without_iam_principal_warn_that_terraform_would_fail(tmp_path: Path) -> None:
    text = PROVIDER.replace('["iam.amazonaws.com"]', '["sso.amazonaws.com"]')
    desired = load(tmp_path, main__tf=text)
    assert desired.iam_trusted_access is False
    [warning] = desired.warnings
    assert "Terraform would fail" in warning and "iam.amazonaws.com" in warning
    assert "aws_organizations_organization.example.aws_service_access_principals" in warning
    # The same in NTC's input.
    ntc = NTC_ORGANIZATIONS.replace('"iam.amazonaws.com", ', "")
    desired = load(tmp_path, ntc_organizations__tf=ntc)
    assert any("Terraform would fail" in w for w in desired.warnings)


def test_features_alone_warn_that_trusted_access_is_not_declared(tmp_path: Path) -> None:
    text = 'resource "aws_iam_organizations_features" "this" {\n  enabled_features = toset(["RootSessions"])\n}\n'
    desired = load(tmp_path, features__tf=text)
    access = desired.config.centralize_root_access
    assert access is not None and access.features == (Feature.ROOT_SESSIONS,)
    assert desired.iam_trusted_access is None
    [warning] = desired.warnings
    assert "no service access principals are declared" in warning


def test_disabled_features_need_no_principal(tmp_path: Path) -> None:
    text = NTC_ORGANIZATIONS.replace("enabled = true", "enabled = false").replace(
        '"iam.amazonaws.com", ', ""
    )
    desired = load(tmp_path, main__tf=text)
    access = desired.config.centralize_root_access
    assert access is not None and access.desired_features() == frozenset()
    assert desired.warnings == ()


def test_iam_delegated_administrator(tmp_path: Path) -> None:
    resource = f"""
resource "aws_organizations_delegated_administrator" "iam" {{
  account_id        = "{SECURITY}"
  service_principal = "iam.amazonaws.com"
}}
resource "aws_organizations_delegated_administrator" "guardduty" {{
  account_id        = aws_organizations_account.security.id
  service_principal = "guardduty.amazonaws.com"
}}
"""
    desired = load(tmp_path, main__tf=PROVIDER, delegation__tf=resource)
    assert desired.config.delegated_administrator == SECURITY
    ntc = NTC_ORGANIZATIONS.replace(
        "  delegated_administrators = [\n",
        f'  delegated_administrators = [\n    {{ service_principal = "iam.amazonaws.com", admin_account_id = "{SECURITY}" }},\n',
    )
    assert load(tmp_path, main__tf=ntc).config.delegated_administrator == SECURITY


@pytest.mark.parametrize(
    ("replace", "with_", "fragment"),
    [
        (
            "centralize_root_access = {\n    enabled = true",
            "centralize_root_access = {\n    enabled = var.root_access_enabled",
            "module.ntc_organizations.centralize_root_access.enabled = var.root_access_enabled:",
        ),
        (
            "  centralize_root_access = {",
            "  centralize_root_access = local.root_access\n  unused = {",
            "module.ntc_organizations.centralize_root_access = local.root_access:",
        ),
        (
            '"iam.amazonaws.com",                      # IAM',
            '"${var.iam_principal}",                   # IAM',
            'module.ntc_organizations.service_access_principals[0] = "${var.iam_principal}":',
        ),
    ],
)
def test_unresolvable_expressions_name_file_and_attribute(
    tmp_path: Path, replace: str, with_: str, fragment: str
) -> None:
    assert replace in NTC_ORGANIZATIONS
    message = fails(tmp_path, ntc_organizations__tf=NTC_ORGANIZATIONS.replace(replace, with_))
    assert "ntc_organizations.tf: " in message
    assert fragment in message
    assert "rootctl reads only literal values" in message


def test_unresolvable_in_provider_resource(tmp_path: Path) -> None:
    text = PROVIDER.replace('["RootCredentialsManagement", "RootSessions"]', "var.enabled_features")
    message = fails(tmp_path, main__tf=text)
    assert (
        "main.tf: aws_iam_organizations_features.this.enabled_features = var.enabled_features"
        in message
    )


def test_invalid_values_name_the_attribute(tmp_path: Path) -> None:
    text = NTC_ORGANIZATIONS.replace('"RootSessions",   ', '"RootSession",    ')
    message = fails(tmp_path, main__tf=text)
    assert "module.ntc_organizations.centralize_root_access.features[1]" in message
    assert "'RootSession' is not a feature" in message
    guardrails = NTC_GUARDRAILS.replace('["/root/workloads/prod", ', '["workloads/prod", ')
    message = fails(tmp_path, g__tf=guardrails)
    assert "service_control_policy_templates[1].target_ou_paths[0]" in message
    long = NTC_GUARDRAILS.replace("Deny root user actions in workloads", "x" * 600)
    message = fails(tmp_path, g__tf=long)
    assert "service_control_policy_templates[1].policy_description:" in message
    resource = PROVIDER.replace('"RootSessions"]', '"RootSession"]')
    message = fails(tmp_path, main__tf=resource)
    assert "main.tf: aws_iam_organizations_features.this.enabled_features[1]:" in message


def test_strings_are_decoded_as_terraform_does(tmp_path: Path) -> None:
    text = NTC_GUARDRAILS.replace(
        '"Deny member accounts from leaving',
        '"Caf\\u00e9 \\"quoted\\" $${literal} and %%{directive}\\n Deny member accounts from leaving',
    ).replace("deny_leaving_organizations", "deny_actions_as_root")
    text = text.replace(
        '"deny_actions_as_root_except_centralized_root",\n        "deny_iam_user_and_access_key_creation"',
        '"deny_actions_as_root_except_centralized_root"',
    )
    desired = load(tmp_path, g__tf=text)
    root = next(g for g in desired.config.guardrails if g.policy_name == "scp_root_ou")
    assert root.description.startswith(
        'Caf\u00e9 "quoted" ${literal} and %{directive}\n Deny member accounts'
    )
    interpolated = NTC_GUARDRAILS.replace(
        'policy_name     = "scp_sandbox_root"', 'policy_name = "scp_${var.env}"'
    )
    message = fails(tmp_path, g__tf=interpolated.replace("scp_sandbox_root", "x"))
    assert 'service_control_policy_templates[2].policy_name = "scp_${var.env}"' in message


def test_deny_actions_as_root_with_root_sessions_is_refused(tmp_path: Path) -> None:
    guardrails = NTC_GUARDRAILS.replace(
        'template_names         = ["deny_actions_as_root_except_centralized_root"]',
        'template_names         = ["deny_actions_as_root"]',
    )
    message = fails(tmp_path, a__tf=NTC_ORGANIZATIONS, b__tf=guardrails)
    assert "b.tf: module.ntc_guardrail_templates.service_control_policy_templates[1]" in message
    assert "template_names[0]" in message and "blocks the root sessions" in message


def test_conflicting_declarations(tmp_path: Path) -> None:
    resource = 'resource "aws_iam_organizations_features" "this" {\n  enabled_features = ["RootCredentialsManagement"]\n}\n'
    message = fails(tmp_path, a__tf=NTC_ORGANIZATIONS, b__tf=resource)
    assert "centralize_root_access is declared differently" in message
    assert "module.ntc_organizations.centralize_root_access" in message
    assert "aws_iam_organizations_features.this.enabled_features" in message
    # The same declaration twice is fine.
    same = resource.replace(
        '["RootCredentialsManagement"]', '["RootCredentialsManagement", "RootSessions"]'
    )
    desired = load(tmp_path, a__tf=NTC_ORGANIZATIONS, b__tf=same)
    assert [s.setting for s in desired.sources].count("centralize_root_access") == 2


def test_count_and_for_each(tmp_path: Path) -> None:
    off = PROVIDER.replace(
        'resource "aws_iam_organizations_features" "this" {',
        'resource "aws_iam_organizations_features" "this" {\n  count = 0',
    )
    message = fails(tmp_path, main__tf=off)
    assert "no centralized root access settings in 1 .tf file(s)" in message
    each = PROVIDER.replace(
        'resource "aws_iam_organizations_features" "this" {',
        'resource "aws_iam_organizations_features" "this" {\n  for_each = var.orgs',
    )
    assert "aws_iam_organizations_features.this.for_each" in fails(tmp_path, main__tf=each)


def test_files_and_directories(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    with pytest.raises(UsageError, match="does not exist"):
        load_terraform_desired(missing)
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "sub").mkdir()
    (empty / "sub" / "main.tf").write_text(PROVIDER)  # subdirectories are not read
    with pytest.raises(UsageError, match=r"no \.tf files"):
        load_terraform_desired(empty)
    message = fails(tmp_path, broken__tf='module "x" {\n  a = [\n}\n')
    assert "broken.tf:3:1: HCL syntax error" in message
    desired = load(
        tmp_path, broken__tf=PROVIDER, extra__tf__json='{"resource": {}}', variables__tf=""
    )
    assert any("extra.tf.json: not read" in w for w in desired.warnings)
    assert [Path(f).name for f in desired.files] == ["broken.tf", "variables.tf"]


# --------------------------------------------------------------------------- drift via plan


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[pytest.MonkeyPatch]:
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    for name in ("config", "credentials"):
        (tmp_path / name).write_text("")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    yield monkeypatch


def plan_against(sb: Sandbox, env: pytest.MonkeyPatch, desired: TerraformDesired) -> list[str]:
    from rootctl.aws.session import SessionFactory
    from rootctl.org.service import plan_org

    for name, value in sb.env().items():
        env.setenv(name, value)
    plan = plan_org(SessionFactory(), desired.config).plan
    assert plan.errors == []
    return [change.describe() for change in plan.changes]


def test_drift_of_the_sandbox_against_terraform(tmp_path: Path, env: pytest.MonkeyPatch) -> None:
    desired = load(
        tmp_path,
        ntc_organizations__tf=NTC_ORGANIZATIONS,
        ntc_organizations_guardrails__tf=NTC_GUARDRAILS,
    )
    with Sandbox.start(sample_fixture()) as sb:
        changes = plan_against(sb, env, desired)
    kinds = [change.split(" ")[0] for change in changes]
    assert kinds[:4] == [
        "enable-trusted-access",
        "enable-feature",
        "enable-feature",
        "create-scp",
    ]
    assert "attach-scp" in kinds and any("scp_workloads_root" in c for c in changes)
    with Sandbox.start(enabled_fixture()) as sb:
        assert plan_against(sb, env, load(tmp_path, main__tf=PROVIDER)) == []
