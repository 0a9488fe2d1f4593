"""Read rootctl.yaml and turn every failure into one line naming the file, the key and the fix.

Nothing here talks to AWS: a config is validated completely before any command acts on it.
"""

from __future__ import annotations

import types
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from rootctl.config.fields import FieldProblem, show
from rootctl.config.models import RootctlConfig
from rootctl.errors import UsageError

DEFAULT_CONFIG_NAME = "rootctl.yaml"


# A real rootctl.yaml is a few KiB (even with hundreds of exceptions); a cap keeps a wrong
# path (a log, a disk image, /dev/zero) from being read into memory and parsed.
MAX_CONFIG_BYTES = 1024 * 1024


def load_config(path: str | Path | None = None) -> RootctlConfig:
    """Load and validate rootctl.yaml; raise UsageError (one line) on any problem.

    `None` means `./rootctl.yaml` if it exists, else the defaults (an absent file is not an
    error unless it was named explicitly). An empty file also gives the defaults.
    """
    if path is None:
        default = Path(DEFAULT_CONFIG_NAME)
        if not default.is_file():
            return RootctlConfig()
        path = default
    name = str(path)
    try:
        with Path(path).open("rb") as handle:
            raw = handle.read(MAX_CONFIG_BYTES + 1)
        if len(raw) > MAX_CONFIG_BYTES:
            raise UsageError(
                f"{name}: larger than {MAX_CONFIG_BYTES // 1024} KiB: rootctl.yaml is a short "
                "settings file (is this the right file?)"
            )
        text = raw.decode("utf-8-sig")
    except FileNotFoundError:
        raise UsageError(f"{name}: file not found") from None
    except IsADirectoryError:
        raise UsageError(f"{name}: is a directory, expected a YAML file") from None
    except UnicodeDecodeError as exc:
        raise UsageError(f"{name}: not UTF-8 text (bad byte at offset {exc.start})") from None
    except OSError as exc:
        raise UsageError(f"{name}: cannot read: {exc.strerror or exc}") from None
    return config_from_text(text, source=name)


def config_from_text(text: str, source: str = DEFAULT_CONFIG_NAME) -> RootctlConfig:
    """Parse YAML text and validate it; `source` names the file in error messages."""
    from rootctl.config.yaml_text import parse_yaml  # PyYAML only when there is a file

    data = parse_yaml(text, source)
    if data is None:
        return _with_source(RootctlConfig(), source)
    if not isinstance(data, Mapping):
        raise UsageError(
            f"{source}: the top level must be a mapping of keys ({', '.join(RootctlConfig.model_fields)}), got {show(data)}"
        )
    return config_from_mapping(data, source=source)


def config_from_mapping(
    data: Mapping[Any, Any], source: str = DEFAULT_CONFIG_NAME
) -> RootctlConfig:
    """Validate already-parsed data (e.g. from a test or a JSON document)."""
    try:
        config = RootctlConfig.model_validate(dict(data))
    except ValidationError as exc:
        raise UsageError(format_validation_error(exc, source)) from None
    except RecursionError:
        raise UsageError(f"{source}: data is nested too deeply (or refers to itself)") from None
    return _with_source(config, source)


def _with_source(config: RootctlConfig, source: str) -> RootctlConfig:
    config._source = source
    return config


def _one_line(text: str) -> str:
    return " ".join(text.split())


def format_validation_error(exc: ValidationError, source: str) -> str:
    """The first error as `source: dotted.path[0]: what is wrong; what is allowed (+N more)`."""
    errors = exc.errors()
    loc, message = describe_error(errors[0])
    path = format_loc(loc)
    more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
    head = f"{source}: {path}: " if path else f"{source}: "
    return _one_line(head + message) + more


def format_loc(loc: tuple[int | str, ...]) -> str:
    """('guardrails', 0, 'template_names', 1) -> 'guardrails[0].template_names[1]'."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


_TYPE_WORDS = {
    "bool_type": "expected true or false",
    "bool_parsing": "expected true or false",
    "int_type": "expected a whole number",
    "int_parsing": "expected a whole number",
    "int_from_float": "expected a whole number",
    "string_type": "expected a string (quote it in YAML)",
    "tuple_type": "expected a list",
    "list_type": "expected a list",
    "model_type": "expected a mapping of keys",
    "model_attributes_type": "expected a mapping of keys",
    "dict_type": "expected a mapping of keys",
}


def describe_error(error: ErrorDetails) -> tuple[tuple[int | str, ...], str]:
    """The location and a one-line description of one pydantic error."""
    loc = tuple(error["loc"])
    kind = error["type"]
    value = error.get("input")
    cause = error.get("ctx", {}).get("error")
    if isinstance(cause, FieldProblem):
        return loc + cause.loc, cause.message
    if kind == "extra_forbidden":
        allowed = ", ".join(_keys_at(loc[:-1])) or "none"
        return loc, f"{show(loc[-1])} is not a known key; allowed: {allowed}"
    if kind == "invalid_key":
        return loc[:-1], f"keys must be strings, got {show(loc[-1])}"
    if kind == "missing":
        return loc, "required key is missing"
    if kind in _TYPE_WORDS:
        return loc, f"{_TYPE_WORDS[kind]}, got {show(value)}"
    if kind == "too_short" and isinstance(value, list | tuple):
        return loc, "needs at least one item, got an empty list"
    message = _lower(error["msg"]).removeprefix("value error, ")
    return loc, message if value is None else f"{message}, got {show(value)}"


def _lower(text: str) -> str:
    return text[:1].lower() + text[1:]


def _keys_at(loc: tuple[int | str, ...]) -> list[str]:
    """The keys a mapping at `loc` accepts, by walking the model's field annotations."""
    annotation: Any = RootctlConfig
    for part in loc:
        model = _model_in(annotation)
        if isinstance(part, int):
            annotation = _item_type(annotation)
        elif model is not None and part in model.model_fields:
            annotation = model.model_fields[part].annotation
        else:
            return []
    model = _model_in(annotation)
    return list(model.model_fields) if model is not None else []


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if get_origin(annotation) in (Union, types.UnionType):
        for arg in get_args(annotation):
            found = _model_in(arg)
            if found is not None:
                return found
    return None


def _item_type(annotation: Any) -> Any:
    if get_origin(annotation) in (Union, types.UnionType):
        annotation = next((a for a in get_args(annotation) if a is not type(None)), annotation)
    args = get_args(annotation)
    return args[0] if args else None
