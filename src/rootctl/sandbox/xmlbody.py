"""XML bodies of the sandbox's own answers, written as moto writes them, in a fraction of the time.

moto's query serialiser (IAM, STS: every root-user read and every AssumeRoot the sandbox answers)
builds a dict from the botocore model, then writes it with `xmltodict.unparse(full_document=False,
short_empty_elements=True)`: a SAX generator that re-validates every element name with a
character-by-character scan, on every answer. `unparse` here is the same algorithm (xmltodict's
`_emit` and the standard library's XMLGenerator, the subset moto's serialiser uses: no pretty
printing, namespaces, comments or preprocessor) writing strings directly, with each name
validated once. The output is byte-identical: tests/sandbox/test_sandbox_xml_body.py compares
both for every operation the sandbox answers and for generated hostile values.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

_TEXT = "#text"
_ATTR = "@"
_COMMENT = "#comment"


@lru_cache(maxsize=4096)
def _check_name(value: str, kind: str) -> None:
    """xmltodict's `_validate_name` (remembered: the names are the model's, a few hundred)."""
    if value.startswith(("?", "!")):
        raise ValueError(f'Invalid {kind} name: cannot start with "?" or "!"')
    if "<" in value or ">" in value:
        raise ValueError(f'Invalid {kind} name: "<" or ">" not allowed')
    if "/" in value:
        raise ValueError(f'Invalid {kind} name: "/" not allowed')
    if '"' in value or "'" in value:
        raise ValueError(f"Invalid {kind} name: quotes not allowed")
    if "=" in value:
        raise ValueError(f'Invalid {kind} name: "=" not allowed')
    if any(ch.isspace() for ch in value):
        raise ValueError(f"Invalid {kind} name: whitespace not allowed")


def _name(value: object, kind: str) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{kind} name must be a string")
    _check_name(value, kind)
    return value


def _text(value: object) -> str:
    """xmltodict's `_convert_value_to_string` (utf-8, errors replaced)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).decode("utf-8", errors="replace")
    return str(value)


def _escape(data: str) -> str:
    """xml.sax.saxutils.escape."""
    return data.replace("&", "&amp;").replace(">", "&gt;").replace("<", "&lt;")


def _quoteattr(data: str) -> str:
    """xml.sax.saxutils.quoteattr."""
    data = _escape(data).replace("\n", "&#10;").replace("\r", "&#13;").replace("\t", "&#9;")
    if '"' in data:
        if "'" in data:
            return '"{}"'.format(data.replace('"', "&quot;"))
        return f"'{data}'"
    return f'"{data}"'


_SCALARS = (str, bytes, bytearray, memoryview, dict)


def _emit(key: Any, value: Any, out: list[str]) -> None:
    """xmltodict's `_emit` with its defaults (attr_prefix "@", cdata_key "#text").

    XMLGenerator(short_empty_elements=True) leaves a start tag open until content or a child
    comes: `<a/>` for an element with neither. Here the start tag is closed by a ">" put in
    place first and turned into "/>" when nothing followed it.
    """
    if isinstance(key, str) and key == _COMMENT:
        raise ValueError("comments are not written by the sandbox's XML bodies")
    name = _name(key, "element")
    if isinstance(value, _SCALARS) or not hasattr(value, "__iter__"):
        value = [value]
    for item in value:
        if item is None:
            item = {}
        elif not isinstance(item, dict | str):
            item = _text(item)
        if isinstance(item, str):
            out.append("<" + name)
            if item:
                out.append(">" + _escape(item) + "</" + name + ">")
            else:
                out.append("/>")
            continue
        cdata: str | None = None
        children: list[tuple[Any, Any]] = []
        attrs: dict[str, str] = {}
        for child_key, child in item.items():
            if child_key == _TEXT:
                cdata = None if child is None else _text(child)
                continue
            if isinstance(child_key, str) and child_key.startswith(_ATTR):
                if child_key == "@xmlns" and isinstance(child, dict):
                    for prefix, uri in child.items():
                        _name(prefix, "attribute")
                        attr = "xmlns{}".format(f":{prefix}" if prefix else "")
                        attrs[attr] = "" if uri is None else _text(uri)
                    continue
                attr_name = _name(child_key[len(_ATTR) :], "attribute")
                attrs[attr_name] = "" if child is None else _text(child)
                continue
            if isinstance(child, list) and not child:
                continue  # xmltodict skips empty lists: no element at all
            children.append((child_key, child))
        out.append("<" + name)
        for attr, text in attrs.items():
            out.append(f" {attr}={_quoteattr(text)}")
        out.append(">")
        opened = len(out)
        for child_key, child in children:
            _emit(child_key, child, out)
        if cdata:
            out.append(_escape(cdata))
        if len(out) == opened:
            out[-1] = "/>"
        else:
            out.append("</" + name + ">")


def unparse(body: dict[str, Any]) -> str:
    """`xmltodict.unparse(body, full_document=False, short_empty_elements=True)`."""
    out: list[str] = []
    for key, value in body.items():
        _emit(key, value, out)
    return "".join(out)
