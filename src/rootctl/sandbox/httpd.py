"""The sandbox's HTTP layer: werkzeug's threaded server and moto's dispatcher, minus their waste.

The test suite runs the sandbox in the test process, so its CPU is taken from the client under
test. Three costs per request that change nothing on the wire (benchmarks/bench_sandbox.py):

- moto's dispatcher looks its backend up by host name with a directory listing of moto's
  package and a stat() per entry, then a scan of every service's URL patterns: a pure
  function of the host string, so it is remembered (`CachedDispatcher`);
- werkzeug formats an access-log line for every request although its logger is at ERROR, and
  moto walks every header to keep the spelling of S3 metadata names with an underscore, also
  when no header has one (`QuietRequestHandler`);
- socketserver starts a thread per connection, and werkzeug closes every connection after one
  answer (`Connection: close`), so every request paid a thread start: finished threads wait
  for the next connection instead (`PooledThreadsServer`).
"""

from __future__ import annotations

import queue
import threading
from typing import Any

from moto.core.request import PRESERVED_HEADER_NAMES_ENVIRON_KEY
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler
from werkzeug.serving import ThreadedWSGIServer, WSGIRequestHandler

# Distinct host names the dispatcher remembers: the inferred host is built from the signed
# service and region, so a hostile client could make up many; past this, look-ups are not kept.
MAX_CACHED_HOSTS = 1024
# A pooled thread with no connection to serve for this long ends.
IDLE_SECONDS = 30.0


class CachedDispatcher(DomainDispatcherApplication):  # type: ignore[misc]
    """moto's DomainDispatcherApplication with the backend of each host name remembered."""

    def __init__(self, create_app: Any) -> None:
        super().__init__(create_app)
        self._backends: dict[str | None, Any] = {}

    def get_backend_for_host(self, host: str | None) -> Any:
        try:
            return self._backends[host]
        except KeyError:
            pass  # not remembered yet: ask moto below
        backend = super().get_backend_for_host(host)
        if len(self._backends) < MAX_CACHED_HOSTS:
            self._backends[host] = backend
        return backend


class QuietRequestHandler(MotoRequestHandler):  # type: ignore[misc]
    """moto's request handler without the access log (werkzeug's logger is at ERROR anyway),
    and without moto's header bookkeeping when there is nothing for it to keep."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return None

    def make_environ(self) -> dict[str, Any]:
        """moto's environ: it keeps the spelling of S3 metadata headers with an underscore
        (`x-amz-meta-my_key`), which WSGI would fold into dashes. Without an underscore in any
        header name it keeps nothing, so the header-by-header pass is skipped (same environ)."""
        if any("_" in name for name in self.headers):
            moto_environ: dict[str, Any] = super().make_environ()
            return moto_environ
        environ: dict[str, Any] = WSGIRequestHandler.make_environ(self)
        environ[PRESERVED_HEADER_NAMES_ENVIRON_KEY] = {}
        return environ


class PooledThreadsServer(ThreadedWSGIServer):  # type: ignore[misc]
    """werkzeug's threaded server whose connection threads are reused, not started anew.

    A connection goes to an idle thread if there is one, else to a new thread (no limit: the
    concurrency a client gets is what it was with a thread per connection). A thread idle for
    IDLE_SECONDS ends. Each connection is still served by exactly one thread, start to close.
    """

    daemon_threads = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._jobs: queue.SimpleQueue[tuple[Any, Any] | None] = queue.SimpleQueue()
        self._idle = 0  # threads waiting for a job, minus jobs queued for them
        self._closed = False
        self._pool_lock = threading.Lock()

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._pool_lock:
            if self._idle > 0:
                self._idle -= 1
                self._jobs.put((request, client_address))
                return
        thread = threading.Thread(
            target=self._work, args=(request, client_address), name="rootctl-sandbox-conn"
        )
        thread.daemon = True
        thread.start()

    def _work(self, request: Any, client_address: Any) -> None:
        job: tuple[Any, Any] | None = (request, client_address)
        while job is not None:
            self.process_request_thread(*job)
            job = self._next_job()

    def server_close(self) -> None:
        """Close the socket and end the idle threads (a busy one ends after its connection)."""
        super().server_close()
        with self._pool_lock:
            self._closed = True
            for _ in range(self._idle):
                self._jobs.put(None)
            self._idle = 0

    def _next_job(self) -> tuple[Any, Any] | None:
        with self._pool_lock:
            if self._closed:
                return None
            self._idle += 1
        try:
            return self._jobs.get(timeout=IDLE_SECONDS)
        except queue.Empty:
            pass  # idle too long: end this thread, unless a job arrived just now (below)
        with self._pool_lock:
            # A job may have been queued for this thread just as it timed out: take it.
            try:
                return self._jobs.get_nowait()
            except queue.Empty:
                self._idle -= 1
                return None
