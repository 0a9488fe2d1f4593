"""Desired state from Terraform files: NTC's modules and the AWS provider's resources.

Teams that keep their organization in Terraform (often with Nuvibit's NTC modules) should not
restate it in rootctl.yaml to see drift. `load_terraform_desired(DIR)` reads every `*.tf` file
in DIR (not subdirectories, not `*.tf.json`) with python-hcl2 and builds the `RootctlConfig`
that `rootctl plan` compares with the live organization:

- a module block with NTC's `centralize_root_access = { enabled, features }`, and the
  `service_access_principals` and `delegated_administrators` (entries for iam.amazonaws.com)
  of any module;
- NTC's `service_control_policy_templates` entries whose `template_names` are all rootctl's
  templates -> guardrails (an entry mixing in other templates is skipped with a warning: rootctl
  would render a different SCP under the same name);
- `aws_iam_organizations_features.enabled_features`,
  `aws_organizations_organization.aws_service_access_principals`, and
  `aws_organizations_delegated_administrator` for iam.amazonaws.com.

Only literal values are read. Terraform evaluates variables, locals, module outputs and
functions at plan time; rootctl cannot, so such a value in an attribute it reads is a one-line
UsageError naming the file and attribute (the two exceptions, `toset([...])` and
`tolist([...])` around a literal list, are unwrapped). Decoding those values is hcl.py's job;
this module decides which blocks and attributes mean what.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from rootctl.config.loading import describe_error, format_loc
from rootctl.config.models import KNOWN_TEMPLATES, CentralizeRootAccess, Guardrail, RootctlConfig
from rootctl.errors import UsageError
from rootctl.org.features import IAM_PRINCIPAL
from rootctl.org.hcl import BlockReader, blocks, parse_file, resources

__all__ = ["TerraformDesired", "TerraformSource", "load_terraform_desired"]

_FEATURES_RESOURCE = "aws_iam_organizations_features"
_ORG_RESOURCE = "aws_organizations_organization"
_DELEGATION_RESOURCE = "aws_organizations_delegated_administrator"
# Keys of an NTC template entry that rootctl reads (as Guardrail does), and those it may
# ignore without a word (rootctl always uploads minified SCPs).
_GUARDRAIL_KEYS = frozenset(
    {
        "policy_name",
        "policy_description",
        "description",
        "target_ou_paths",
        "template_names",
        "exclude_principal_arns",
    }
)
_QUIET_KEYS = frozenset({"policy_type", "minify_policy"})
_REFERENCE = re.compile(r"module\.([A-Za-z0-9_-]+)\.service_control_policies(?:\[\"([^\"]+)\"\])?")


@dataclass(frozen=True)
class TerraformSource:
    """Where one setting came from: the file and the block/attribute address."""

    setting: str  # centralize_root_access, iam_trusted_access, delegated_administrator, guardrails.<name>
    file: str
    address: str  # e.g. module.ntc_organizations.centralize_root_access

    def __str__(self) -> str:
        return f"{self.setting} <- {self.file}: {self.address}"


@dataclass(frozen=True)
class TerraformDesired:
    """The desired state read from Terraform, with what rootctl could not take over."""

    config: RootctlConfig
    warnings: tuple[str, ...]
    sources: tuple[TerraformSource, ...]
    # Whether the declared principals include iam.amazonaws.com; None when none are declared.
    iam_trusted_access: bool | None = None
    files: tuple[str, ...] = ()


@dataclass
class _Found:
    """What the files declare, before it becomes one RootctlConfig."""

    access: list[tuple[CentralizeRootAccess, TerraformSource]] = field(default_factory=list)
    admins: list[tuple[str, TerraformSource]] = field(default_factory=list)
    principals: list[tuple[list[str], TerraformSource]] = field(default_factory=list)
    templates: list[tuple[str, BlockReader]] = field(default_factory=list)  # (module name, entry)
    references: set[tuple[str, str | None]] = field(default_factory=set)
    has_policy_list: bool = False
    warnings: list[str] = field(default_factory=list)


def load_terraform_desired(directory: str | Path) -> TerraformDesired:
    """Read DIR/*.tf (not recursive) into a RootctlConfig; UsageError for what cannot be read."""
    folder = Path(directory)
    if not folder.is_dir():
        what = "does not exist" if not folder.exists() else "is not a directory"
        raise UsageError(
            f"{folder}: {what}; --from-terraform needs the directory of your .tf files"
        )
    paths = sorted(p for p in folder.glob("*.tf") if p.is_file())
    if not paths:
        raise UsageError(
            f"{folder}: no .tf files (rootctl reads DIR/*.tf only, not subdirectories or .tf.json)"
        )
    found = _Found()
    found.warnings.extend(
        f"{p}: not read (rootctl reads HCL .tf files only)"
        for p in sorted(folder.glob("*.tf.json"))
    )
    for path in paths:
        _read_file(path, parse_file(path), found)
    return _desired(folder, paths, found)


# --------------------------------------------------------------------------- reading blocks


def _source(reader: BlockReader, setting: str, attribute: str) -> TerraformSource:
    return TerraformSource(setting, str(reader.path), f"{reader.address}.{attribute}")


def _read_file(path: Path, data: Mapping[str, Any], found: _Found) -> None:
    for name, body in blocks(data, "module"):
        _read_module(BlockReader(path, f"module.{name}", body), name, found)
    for type_name, name, body in resources(data):
        reader = BlockReader(path, f"{type_name}.{name}", body)
        if type_name == _FEATURES_RESOURCE and reader.instances():
            _read_features_resource(reader, found)
        elif type_name == _ORG_RESOURCE and reader.instances():
            _read_org_resource(reader, found)
        elif type_name == _DELEGATION_RESOURCE and reader.instances():
            _read_delegation(reader, "service_principal", "account_id", found)


def _read_module(reader: BlockReader, name: str, found: _Found) -> None:
    body = reader.body
    wanted = ("centralize_root_access", "service_access_principals", "delegated_administrators")
    relevant = any(key in body for key in (*wanted, "service_control_policy_templates"))
    if not relevant or not reader.instances():
        _note_references(body, found)
        return
    if "centralize_root_access" in body:
        _read_access(reader, found)
    if "service_access_principals" in body:
        principals = reader.strings("service_access_principals")
        found.principals.append(
            (principals, _source(reader, "iam_trusted_access", "service_access_principals"))
        )
    if "delegated_administrators" in body:
        # NTC's entries: { service_principal, admin_account_id, regions }; only IAM's are read.
        for entry in reader.entries("delegated_administrators"):
            _read_delegation(entry, "service_principal", "admin_account_id", found)
    if "service_control_policy_templates" in body:
        found.templates.extend(
            (name, entry) for entry in reader.entries("service_control_policy_templates")
        )
    _note_references(body, found)


def _note_references(body: Mapping[str, Any], found: _Found) -> None:
    """Which template SCPs NTC's `organization_policies` attaches (module outputs it references)."""
    if "organization_policies" not in body:
        return
    found.has_policy_list = True
    for module, policy in _REFERENCE.findall(str(body["organization_policies"])):
        found.references.add((module, policy or None))


def _read_access(reader: BlockReader, found: _Found) -> None:
    value = reader.value("centralize_root_access")
    if not isinstance(value, dict):
        raise UsageError(
            f"{reader.path}: {reader.address}.centralize_root_access: expected {{ enabled = true, features = [...] }}"
        )
    extra = sorted(set(value) - {"enabled", "features"})
    if extra:
        found.warnings.append(
            f"{reader.path}: {reader.address}.centralize_root_access: ignored {', '.join(extra)} (rootctl reads enabled and features)"
        )
    data = {k: v for k, v in value.items() if k in ("enabled", "features")}
    access = reader.model(CentralizeRootAccess, data, prefix="centralize_root_access")
    found.access.append(
        (access, _source(reader, "centralize_root_access", "centralize_root_access"))
    )


def _read_features_resource(reader: BlockReader, found: _Found) -> None:
    features = reader.strings("enabled_features")
    data = {"enabled": bool(features), "features": features}
    rename = {"enabled": "enabled_features", "features": "enabled_features"}
    access = reader.model(CentralizeRootAccess, data, rename=rename)
    found.access.append((access, _source(reader, "centralize_root_access", "enabled_features")))


def _read_org_resource(reader: BlockReader, found: _Found) -> None:
    if "aws_service_access_principals" in reader.body:
        principals = reader.strings("aws_service_access_principals")
        found.principals.append(
            (principals, _source(reader, "iam_trusted_access", "aws_service_access_principals"))
        )
    else:
        found.principals.append(([], _source(reader, "iam_trusted_access", "(no principals)")))
    if "feature_set" in reader.body:
        feature_set = reader.value("feature_set")
        if feature_set != "ALL":
            found.warnings.append(
                f"{reader.path}: {reader.address}.feature_set = {feature_set!r}: centralized root access needs feature_set ALL"
            )


def _read_delegation(
    reader: BlockReader, principal_key: str, account_key: str, found: _Found
) -> None:
    if reader.value(principal_key) != IAM_PRINCIPAL:
        return
    account = reader.value(account_key)
    if not isinstance(account, str):
        raise UsageError(
            f"{reader.path}: {reader.address}.{account_key}: expected a 12-digit account id string"
        )
    found.admins.append((account, _source(reader, "delegated_administrator", account_key)))


# --------------------------------------------------------------------------- the result


def _desired(folder: Path, paths: list[Path], found: _Found) -> TerraformDesired:
    sources: list[TerraformSource] = []
    access = _one(found.access, "centralize_root_access", sources)
    admin = _one(found.admins, "delegated_administrator", sources)
    guardrails, guardrail_sources = _guardrails(found)
    sources.extend(guardrail_sources)
    principals = {p for listed, _ in found.principals for p in listed}
    sources.extend(source for _, source in found.principals)
    declared = bool(found.principals)
    trusted = (IAM_PRINCIPAL in principals) if declared else None
    warnings = list(found.warnings)
    if access is not None and access.desired_features():
        if trusted is False:
            where = ", ".join(f"{s.file}: {s.address}" for _, s in found.principals)
            warnings.append(
                f"Terraform declares centralized root access but not {IAM_PRINCIPAL} in its service access principals ({where}): Terraform would fail to enable the features (trusted access for IAM is a prerequisite) and would turn off IAM trusted access that rootctl enables"
            )
        elif trusted is None:
            warnings.append(
                f"no service access principals are declared in {folder} (aws_organizations_organization or NTC's service_access_principals): Terraform needs trusted access for {IAM_PRINCIPAL} enabled elsewhere before it can enable the features"
            )
    if guardrails:
        names = ", ".join(g.policy_name for g in guardrails)
        warnings.append(
            f"guardrails {names} are compared with rootctl's rendering of the templates; NTC's template JSON is not public and may differ, so an update-scp for them in the plan can be a rendering difference rather than drift"
        )
    if access is None and admin is None and not guardrails:
        raise UsageError(
            f"{folder}: no centralized root access settings in {len(paths)} .tf file(s): rootctl looks for a module's centralize_root_access, {_FEATURES_RESOURCE}, {_DELEGATION_RESOURCE} for {IAM_PRINCIPAL} and NTC's service_control_policy_templates with rootctl's template names"
        )
    config = _config(access, admin, guardrails, guardrail_sources)
    config._source = f"{folder} (Terraform)"
    return TerraformDesired(
        config=config,
        warnings=tuple(warnings),
        sources=tuple(sources),
        iam_trusted_access=trusted,
        files=tuple(str(p) for p in paths),
    )


def _one(
    items: list[tuple[Any, TerraformSource]], setting: str, sources: list[TerraformSource]
) -> Any:
    """The one value several blocks may declare; differing declarations are an error."""
    if not items:
        return None
    first, first_source = items[0]
    for value, source in items[1:]:
        if value != first:
            raise UsageError(
                f"{setting} is declared differently in {first_source.file}: {first_source.address} ({_show(first)}) and {source.file}: {source.address} ({_show(value)}); keep one"
            )
    sources.extend(source for _, source in items)
    return first


def _show(value: Any) -> str:
    if isinstance(value, CentralizeRootAccess):
        features = ", ".join(f.value for f in value.features)
        return f"enabled={str(value.enabled).lower()}, features=[{features}]"
    return str(value)


def _guardrails(found: _Found) -> tuple[list[Guardrail], list[TerraformSource]]:
    guardrails: list[Guardrail] = []
    sources: list[TerraformSource] = []
    for module, entry in found.templates:
        if "policy_type" in entry.body and entry.value("policy_type") != "SERVICE_CONTROL_POLICY":
            continue
        names = entry.strings("template_names")
        ours = [n for n in names if n in KNOWN_TEMPLATES]
        if not ours:
            continue
        policy = entry.value("policy_name")
        label = f"{entry.path}: {entry.address} ({policy})"
        if len(ours) < len(names):
            others = ", ".join(n for n in names if n not in KNOWN_TEMPLATES)
            found.warnings.append(
                f"{label} mixes rootctl's templates with {others}: not imported, because rootctl would render a different SCP under that name; rootctl status and guardrails check still evaluate the SCP as attached"
            )
            continue
        referenced = {(module, policy), (module, None)} & found.references
        if found.has_policy_list and not referenced:
            found.warnings.append(
                f"{label} is not referenced by any organization_policies: not imported (Terraform does not attach it)"
            )
            continue
        for key in entry.body:
            if key not in _GUARDRAIL_KEYS | _QUIET_KEYS and not key.startswith("__"):
                found.warnings.append(
                    f"{entry.path}: {entry.address}.{key}: ignored (not a parameter of rootctl's templates)"
                )
        data = {key: entry.value(key) for key in entry.body if key in _GUARDRAIL_KEYS}
        rename = {"description": "policy_description"} if "policy_description" in entry.body else {}
        guardrails.append(entry.model(Guardrail, data, rename=rename))
        sources.append(TerraformSource(f"guardrails.{policy}", str(entry.path), entry.address))
    return guardrails, sources


def _config(
    access: CentralizeRootAccess | None,
    admin: str | None,
    guardrails: list[Guardrail],
    guardrail_sources: list[TerraformSource],
) -> RootctlConfig:
    data: dict[str, Any] = {"guardrails": guardrails}
    if access is not None:
        data["centralize_root_access"] = access
    if admin is not None:
        data["delegated_administrator"] = admin
    try:
        return RootctlConfig.model_validate(data)
    except ValidationError as exc:
        loc, message = describe_error(exc.errors()[0])
        if len(loc) >= 2 and loc[0] == "guardrails" and isinstance(loc[1], int):
            source = guardrail_sources[loc[1]]
            rest = format_loc(loc[2:])
            raise UsageError(f"{source.file}: {source.address}.{rest}: {message}") from None
        raise UsageError(f"Terraform settings: {format_loc(loc)}: {message}") from None
