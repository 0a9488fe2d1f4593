"""Run rootctl's CLI and note the moment of its first AWS request (for benchmarks/startup.py).

    python benchmarks/_first_request.py OUT_FILE rootctl-args...

The first outgoing TCP connection is the first AWS request (botocore connects lazily, on
the first call). `socket.socket.connect` is wrapped *before* rootctl is imported, without
importing botocore, so nothing here changes what rootctl imports or when; the wrapper itself
costs `socket`, `resource` and `runpy` (a few ms, part of the figure). At that moment it
writes to OUT_FILE: the wall clock (`time.time()`, compared by the parent with its own
clock before it started this process) and the process's user+sys CPU so far.
"""

from __future__ import annotations

import json
import resource
import runpy
import socket
import sys
import time

_out = sys.argv[1]
_original = socket.socket.connect
_seen = False


def _connect(self: socket.socket, address: object) -> None:
    global _seen
    if not _seen and self.family in (socket.AF_INET, socket.AF_INET6):
        _seen = True
        usage = resource.getrusage(resource.RUSAGE_SELF)
        with open(_out, "w") as handle:
            json.dump(
                {
                    "time": time.time(),
                    "cpu_s": usage.ru_utime + usage.ru_stime,
                    "modules": sorted(sys.modules),
                },
                handle,
            )
    _original(self, address)


socket.socket.connect = _connect  # type: ignore[method-assign]
sys.argv = ["rootctl", *sys.argv[2:]]
runpy.run_module("rootctl", run_name="__main__", alter_sys=True)
