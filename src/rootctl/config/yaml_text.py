"""Reading rootctl.yaml's YAML: a SafeLoader with rootctl's rules, errors as one line.

A module of its own so that PyYAML (about 30 ms of start-up) is imported only when a file is
read: `rootctl audit` without a rootctl.yaml, the commonest one-account run, never needs it.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from rootctl.config.fields import show
from rootctl.errors import UsageError


class _Loader(yaml.SafeLoader):
    """SafeLoader that rejects duplicate keys and keeps 12-digit numbers as strings.

    Unquoted account ids are the norm in hand-written YAML; YAML 1.1 would read
    `012345670123` as an octal number, silently changing the account.
    """

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            try:
                duplicate = key in seen
                seen.add(key)
            except TypeError:  # unhashable key: let SafeLoader report it with its position
                break
            if duplicate:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {show(key)}", key_node.start_mark
                )
        return super().construct_mapping(node, deep=deep)

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        # Explicit tags (`!!int abc`) make PyYAML raise plain ValueErrors; give them a position.
        try:
            return super().construct_object(node, deep=deep)
        except (ValueError, TypeError, OverflowError) as exc:
            raise yaml.constructor.ConstructorError(
                None, None, f"cannot read this value: {exc}", node.start_mark
            ) from None

    def construct_yaml_timestamp(self, node: yaml.ScalarNode) -> Any:
        # `2025-13-01` looks like a date but is not one: keep the text so validation can say
        # which key expected a date, instead of failing inside the YAML parser.
        try:
            return super().construct_yaml_timestamp(node)
        except ValueError:
            return self.construct_scalar(node)


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _Loader.construct_yaml_timestamp)
_Loader.yaml_implicit_resolvers = {
    first: list(resolvers) for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
for _digit in "0123456789":
    _Loader.yaml_implicit_resolvers.setdefault(_digit, []).insert(
        0, ("tag:yaml.org,2002:str", re.compile(r"^[0-9]{12}$"))
    )


def parse_yaml(text: str, source: str) -> Any:
    """The data of `text`; a UsageError naming `source` (and the line) if it is not YAML."""
    try:
        return yaml.load(text, Loader=_Loader)  # _Loader is a SafeLoader
    except yaml.MarkedYAMLError as exc:
        raise UsageError(_yaml_message(source, exc)) from None
    except yaml.YAMLError as exc:
        raise UsageError(f"{source}: YAML error: {_one_line(str(exc))}") from None
    except RecursionError:
        raise UsageError(f"{source}: YAML is nested too deeply") from None


def _yaml_message(source: str, exc: yaml.MarkedYAMLError) -> str:
    mark = exc.problem_mark or exc.context_mark
    where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source
    what = exc.problem or exc.context or "invalid YAML"
    return f"{where}: YAML syntax error: {_one_line(what)}"


def _one_line(text: str) -> str:
    return " ".join(text.split())
