"""Real package index servers started on 127.0.0.1 (pypiserver), for the tests and the bench.

Nothing here reaches the network beyond 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import http.server
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path


class ServerUnavailable(RuntimeError):
    """The server is not installed here, or did not start."""


def free_port() -> int:
    """A port on 127.0.0.1 nothing listens on (now)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for(port: int, process: subprocess.Popen[bytes], seconds: float, what: str) -> None:
    """Until ``port`` takes connections; ServerUnavailable if ``process`` ends or time runs out."""
    deadline = time.monotonic() + seconds
    while True:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
            return
        if time.monotonic() > deadline or process.poll() is not None:
            raise ServerUnavailable(f"{what} did not start")
        time.sleep(0.1)


@contextlib.contextmanager
def handling(handler: Callable[..., http.server.BaseHTTPRequestHandler]) -> Iterator[str]:
    """A threaded HTTP server on 127.0.0.1 answering with ``handler``, for as long as inside;
    its origin (``http://127.0.0.1:PORT``)."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@contextlib.contextmanager
def pypiserver(folder: Path, *extra: str) -> Iterator[str]:
    """A real pypiserver serving ``folder`` (``extra``: its options, e.g. ``-a . -P .``);
    yields its simple API root."""
    port = free_port()
    command = [sys.executable, "-m", "pypiserver", "run", "-i", "127.0.0.1", "-p", str(port)]
    process = subprocess.Popen(
        [*command, *extra, str(folder)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        wait_for(port, process, 30, "pypiserver (pip install pypiserver)")
        yield f"http://127.0.0.1:{port}/simple/"
    finally:
        process.terminate()
        process.wait(10)
