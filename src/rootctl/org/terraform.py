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
`tolist([...])` around a literal list, are unwrapped).
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from rootctl.config.loading import describe_error, format_loc
from rootctl.config.models import KNOWN_TEMPLATES, CentralizeRootAccess, Guardrail, RootctlConfig
from rootctl.errors import UsageError
from rootctl.org.features import IAM_PRINCIPAL

__all__ = ["TerraformDesired", "TerraformSource", "load_terraform_desired"]

M = TypeVar("M", bound=BaseModel)

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
_WRAPPERS = re.compile(r"^\$\{\s*(?:toset|tolist)\((.*)\)\s*\}$", re.DOTALL)
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


class _Unresolvable(Exception):
    """A value Terraform computes at plan time (variable, local, reference, function)."""

    def __init__(self, expression: str, where: str = "") -> None:
        super().__init__(expression)
        self.expression = expression
        self.where = where  # below the attribute: ".enabled", "[1]"

    def inside(self, step: str) -> _Unresolvable:
        return _Unresolvable(self.expression, step + self.where)


@dataclass
class _Found:
    """What the files declare, before it becomes one RootctlConfig."""

    access: list[tuple[CentralizeRootAccess, TerraformSource]] = field(default_factory=list)
    admins: list[tuple[str, TerraformSource]] = field(default_factory=list)
    principals: list[tuple[list[str], TerraformSource]] = field(default_factory=list)
    templates: list[tuple[str, _Reader]] = field(default_factory=list)  # (module name, entry)
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
        _read_file(path, _parse(path), found)
    return _desired(folder, paths, found)


# --------------------------------------------------------------------------- parsing


def _parse(path: Path) -> dict[str, Any]:
    import hcl2
    from lark.exceptions import LarkError, UnexpectedInput

    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UsageError(f"{path}: not UTF-8 text (bad byte at offset {exc.start})") from None
    except OSError as exc:
        raise UsageError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        options = hcl2.SerializationOptions(with_comments=False)
        data: dict[str, Any] = hcl2.loads(text, serialization_options=options)
    except UnexpectedInput as exc:
        first = str(exc).strip().splitlines()[0]
        raise UsageError(f"{path}:{exc.line}:{exc.column}: HCL syntax error: {first}") from None
    except LarkError as exc:
        raise UsageError(f"{path}: cannot parse HCL: {' '.join(str(exc).split())}") from None
    return data


def _label(raw: str) -> str:
    return raw[1:-1] if len(raw) >= 2 and raw[0] == raw[-1] == '"' else raw


def _blocks(data: Mapping[str, Any], kind: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """(label, body) of each `module "x" {}` block."""
    for entry in data.get(kind, []):
        for label, body in entry.items():
            if isinstance(body, dict):
                yield _label(label), body


def _resources(data: Mapping[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(type, name, body) of each `resource "type" "name" {}` block."""
    for type_label, named in _blocks(data, "resource"):
        for name, body in named.items():
            if isinstance(body, dict):
                yield type_label, _label(name), body


def _literal(raw: Any) -> Any:
    """The Python value of a literal HCL value; _Unresolvable for anything Terraform computes."""
    if raw is None or isinstance(raw, bool | int | float):
        return raw
    if isinstance(raw, list):
        items: list[Any] = []
        for index, item in enumerate(raw):
            try:
                items.append(_literal(item))
            except _Unresolvable as exc:
                raise exc.inside(f"[{index}]") from None
        return items
    if isinstance(raw, dict):
        values: dict[str, Any] = {}
        for key, value in raw.items():
            if key in ("__is_block__", "__comments__"):
                continue
            try:
                values[_label(key)] = _literal(value)
            except _Unresolvable as exc:
                raise exc.inside(f".{_label(key)}") from None
        return values
    text = str(raw)
    if len(text) >= 2 and text[0] == text[-1] == '"':
        return _string(text[1:-1], text)
    if text in _KEYWORDS:  # some python-hcl2 8.1 releases give keywords in objects as text
        return _KEYWORDS[text]
    if _NUMBER.match(text):
        return float(text) if any(c in text for c in ".eE") else int(text)
    wrapped = _WRAPPERS.match(text)
    if wrapped:
        import hcl2

        inner = hcl2.loads(
            f"v = {wrapped.group(1)}\n",
            serialization_options=hcl2.SerializationOptions(with_comments=False),
        )
        return _literal(inner["v"])
    raise _Unresolvable(text)


_KEYWORDS: dict[str, bool | None] = {"true": True, "false": False, "null": None}
_NUMBER = re.compile(r"^-?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?$")
_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", '"': '"', "\\": "\\"}


def _string(body: str, original: str) -> str:
    """Decode a quoted HCL string (or heredoc); interpolation makes it unresolvable."""
    heredoc = body.startswith("<<")
    if heredoc:
        body = _heredoc(body)
    out: list[str] = []
    i = 0
    while i < len(body):
        char = body[i]
        if char == "\\" and not heredoc and i + 1 < len(body):
            nxt = body[i + 1]
            width = {"u": 4, "U": 8}.get(nxt, 0)
            digits = body[i + 2 : i + 2 + width]
            if width and len(digits) == width and all(c in string.hexdigits for c in digits):
                out.append(chr(int(digits, 16)))
                i += 2 + width
                continue
            out.append(_ESCAPES.get(nxt, "\\" + nxt))
            i += 2
            continue
        if char in "$%" and body.startswith(char * 2 + "{", i):
            out.append(char + "{")  # $${ and %%{ are literal ${ and %{
            i += 3
            continue
        if char in "$%" and body.startswith(char + "{", i):
            raise _Unresolvable(original)
        out.append(char)
        i += 1
    return "".join(out)


def _heredoc(body: str) -> str:
    lines = body.split("\n")
    if len(lines) < 2:
        return ""
    content = lines[1:-1]
    if body.startswith("<<-"):
        indents = [len(line) - len(line.lstrip()) for line in content if line.strip()]
        cut = min(indents, default=0)
        content = [line[cut:] for line in content]
    return "\n".join(content) + ("\n" if content else "")


# --------------------------------------------------------------------------- reading blocks


class _Reader:
    """Reads attributes of one block, turning unresolvable values into one-line UsageErrors."""

    def __init__(self, path: Path, address: str, body: Mapping[str, Any]) -> None:
        self.path = path
        self.address = address
        self.body = body

    def source(self, setting: str, attribute: str) -> TerraformSource:
        return TerraformSource(setting, str(self.path), f"{self.address}.{attribute}")

    def value(self, attribute: str) -> Any:
        try:
            return _literal(self.body.get(attribute))
        except _Unresolvable as exc:
            shown = " ".join(exc.expression.split())
            if shown.startswith("${") and shown.endswith("}"):
                shown = shown[2:-1]  # hcl2 wraps expressions; show them as written
            shown = shown if len(shown) <= 80 else shown[:77] + "..."
            raise UsageError(
                f"{self.path}: {self.address}.{attribute}{exc.where} = {shown}: rootctl reads only literal values, not variables, locals or other expressions; write the value in the .tf file or use rootctl.yaml"
            ) from None

    def entries(self, attribute: str) -> list[_Reader]:
        """A list of objects (NTC's list inputs), one reader per entry; values are read lazily."""
        raw = self.body.get(attribute)
        if not isinstance(raw, list) or not all(isinstance(item, dict) for item in raw):
            self.value(attribute)  # raises the UsageError for an expression
            raise UsageError(
                f"{self.path}: {self.address}.{attribute}: expected a list of {{ ... }}"
            )
        return [
            _Reader(self.path, f"{self.address}.{attribute}[{index}]", item)
            for index, item in enumerate(raw)
        ]

    def strings(self, attribute: str) -> list[str]:
        value = self.value(attribute)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise UsageError(f"{self.path}: {self.address}.{attribute}: expected a list of strings")
        return list(value)

    def instances(self) -> int:
        """How many instances `count` makes (1 without it); for_each cannot be read."""
        if "for_each" in self.body:
            raise UsageError(
                f"{self.path}: {self.address}.for_each: rootctl cannot tell which instances exist; use one block without for_each, or rootctl.yaml"
            )
        if "count" not in self.body:
            return 1
        count = self.value("count")
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise UsageError(f"{self.path}: {self.address}.count: expected a whole number")
        return count

    def model(
        self,
        model: type[M],
        data: Mapping[str, Any],
        prefix: str = "",
        rename: Mapping[str, str] | None = None,
    ) -> M:
        """Validate with rootctl's model; an error names the Terraform attribute, not the key."""
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            loc, message = describe_error(exc.errors()[0])
            if loc and isinstance(loc[0], str):
                loc = ((rename or {}).get(loc[0], loc[0]), *loc[1:])
            path = ".".join(part for part in (prefix, format_loc(loc)) if part)
            where = f"{self.address}.{path}" if path else self.address
            raise UsageError(f"{self.path}: {where}: {message}") from None


def _read_file(path: Path, data: Mapping[str, Any], found: _Found) -> None:
    for name, body in _blocks(data, "module"):
        _read_module(_Reader(path, f"module.{name}", body), name, found)
    for type_name, name, body in _resources(data):
        reader = _Reader(path, f"{type_name}.{name}", body)
        if type_name == _FEATURES_RESOURCE and reader.instances():
            _read_features_resource(reader, found)
        elif type_name == _ORG_RESOURCE and reader.instances():
            _read_org_resource(reader, found)
        elif type_name == _DELEGATION_RESOURCE and reader.instances():
            _read_delegation(reader, "service_principal", "account_id", found)


def _read_module(reader: _Reader, name: str, found: _Found) -> None:
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
            (principals, reader.source("iam_trusted_access", "service_access_principals"))
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


def _read_access(reader: _Reader, found: _Found) -> None:
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
    found.access.append((access, reader.source("centralize_root_access", "centralize_root_access")))


def _read_features_resource(reader: _Reader, found: _Found) -> None:
    features = reader.strings("enabled_features")
    data = {"enabled": bool(features), "features": features}
    rename = {"enabled": "enabled_features", "features": "enabled_features"}
    access = reader.model(CentralizeRootAccess, data, rename=rename)
    found.access.append((access, reader.source("centralize_root_access", "enabled_features")))


def _read_org_resource(reader: _Reader, found: _Found) -> None:
    if "aws_service_access_principals" in reader.body:
        principals = reader.strings("aws_service_access_principals")
        found.principals.append(
            (principals, reader.source("iam_trusted_access", "aws_service_access_principals"))
        )
    else:
        found.principals.append(([], reader.source("iam_trusted_access", "(no principals)")))
    if "feature_set" in reader.body:
        feature_set = reader.value("feature_set")
        if feature_set != "ALL":
            found.warnings.append(
                f"{reader.path}: {reader.address}.feature_set = {feature_set!r}: centralized root access needs feature_set ALL"
            )


def _read_delegation(reader: _Reader, principal_key: str, account_key: str, found: _Found) -> None:
    if reader.value(principal_key) != IAM_PRINCIPAL:
        return
    account = reader.value(account_key)
    if not isinstance(account, str):
        raise UsageError(
            f"{reader.path}: {reader.address}.{account_key}: expected a 12-digit account id string"
        )
    found.admins.append((account, reader.source("delegated_administrator", account_key)))


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
