"""A TCP server that accepts connections and never answers: the stalled endpoint."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class StalledEndpoint:
    """Accepts every connection, reads nothing, answers nothing; counts connections."""

    def __init__(self) -> None:
        self._server = socket.create_server(("127.0.0.1", 0))
        self._held: list[socket.socket] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.getsockname()[1]}"

    @property
    def connections(self) -> int:
        with self._lock:
            return len(self._held)

    def _accept(self) -> None:
        self._server.settimeout(0.1)
        while not self._stop.is_set():
            try:
                conn, _ = self._server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                self._held.append(conn)

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self._server.close()
        for conn in self._held:
            conn.close()


@contextmanager
def stalled_endpoint() -> Iterator[StalledEndpoint]:
    endpoint = StalledEndpoint()
    endpoint._thread.start()
    try:
        yield endpoint
    finally:
        endpoint.close()
