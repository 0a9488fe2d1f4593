"""Literal values out of HCL files, for reading Terraform without running it.

python-hcl2 gives strings with their quotes and every expression as text (`${var.x}`); this
module parses a .tf file, walks its blocks, decodes the literals (strings with escapes and
heredocs, numbers, keywords, lists, objects, `toset`/`tolist` around a literal list) and turns
anything Terraform would compute at plan time into a one-line UsageError naming the file and
attribute. Which blocks and attributes matter, and what they mean for rootctl's settings, is
terraform.py's part; it reads them through a BlockReader.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from rootctl.config.loading import describe_error, format_loc
from rootctl.errors import UsageError

__all__ = ["BlockReader", "blocks", "parse_file", "resources"]

M = TypeVar("M", bound=BaseModel)

_WRAPPERS = re.compile(r"^\$\{\s*(?:toset|tolist)\((.*)\)\s*\}$", re.DOTALL)


class _Unresolvable(Exception):
    """A value Terraform computes at plan time (variable, local, reference, function)."""

    def __init__(self, expression: str, where: str = "") -> None:
        super().__init__(expression)
        self.expression = expression
        self.where = where  # below the attribute: ".enabled", "[1]"

    def inside(self, step: str) -> _Unresolvable:
        return _Unresolvable(self.expression, step + self.where)


# --------------------------------------------------------------------------- parsing


def parse_file(path: Path) -> dict[str, Any]:
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


def blocks(data: Mapping[str, Any], kind: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """(label, body) of each `module "x" {}` block."""
    for entry in data.get(kind, []):
        for label, body in entry.items():
            if isinstance(body, dict):
                yield _label(label), body


def resources(data: Mapping[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(type, name, body) of each `resource "type" "name" {}` block."""
    for type_label, named in blocks(data, "resource"):
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


class BlockReader:
    """Reads attributes of one block, turning unresolvable values into one-line UsageErrors."""

    def __init__(self, path: Path, address: str, body: Mapping[str, Any]) -> None:
        self.path = path
        self.address = address
        self.body = body

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

    def entries(self, attribute: str) -> list[BlockReader]:
        """A list of objects (NTC's list inputs), one reader per entry; values are read lazily."""
        raw = self.body.get(attribute)
        if not isinstance(raw, list) or not all(isinstance(item, dict) for item in raw):
            self.value(attribute)  # raises the UsageError for an expression
            raise UsageError(
                f"{self.path}: {self.address}.{attribute}: expected a list of {{ ... }}"
            )
        return [
            BlockReader(self.path, f"{self.address}.{attribute}[{index}]", item)
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
