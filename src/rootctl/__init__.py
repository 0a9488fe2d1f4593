"""rootctl: AWS Organizations centralized root access at organization scale.

The whole Python API is one call:

    from rootctl import connect

    with connect(config="rootctl.yaml") as rc:
        report = rc.audit()

`connect` returns a `rootctl.api.Rootctl`, the facade the CLI itself is a skin over: every
rule, refusal and journal entry is the same whoever calls. It is imported on first use, so
`import rootctl` (and `rootctl --help`) stays fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rootctl.errors import RootctlError, UsageError
from rootctl.tasks import Task

if TYPE_CHECKING:
    from rootctl.api import Rootctl, connect
    from rootctl.org.selection import SelectionSpec

__all__ = [
    "Rootctl",
    "RootctlError",
    "SelectionSpec",
    "Task",
    "UsageError",
    "__version__",
    "connect",
]

__version__ = "0.1.0"

_LAZY = {
    "connect": "rootctl.api",
    "Rootctl": "rootctl.api",
    "SelectionSpec": "rootctl.org.selection",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'rootctl' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
