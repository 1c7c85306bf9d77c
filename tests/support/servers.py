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
from contextlib import contextmanager
from pathlib import Path

import pytest


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


class _Server(http.server.ThreadingHTTPServer):
    #: the listen backlog of a real server (socketserver's default is 5: eight downloads opening
    #: their connections at once lost a SYN, retried by the kernel a second later)
    request_queue_size = 128


@contextlib.contextmanager
def handling(handler: Callable[..., http.server.BaseHTTPRequestHandler]) -> Iterator[str]:
    """A threaded HTTP server on 127.0.0.1 answering with ``handler``, for as long as inside;
    its origin (``http://127.0.0.1:PORT``)."""
    server = _Server(("127.0.0.1", 0), handler)
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


@contextmanager
def devpi(files: Path | None, tmp_path: Path, password: str = "") -> Iterator[tuple[str, str]]:
    """A real devpi-server (PEP 691 JSON pages, relative `../../+f/…` file URLs) with an index
    `root/dev` holding ``files`` (uploaded with devpi-client; None: empty), its root user's
    password ``password``; yields (its simple API root, its upload URL). Skips the test where
    devpi is not installed or does not start."""
    bin_dir = Path(sys.executable).parent
    server, client = bin_dir / "devpi-server", bin_dir / "devpi"
    if not server.exists() or not client.exists():
        pytest.skip("devpi-server and devpi-client are not installed")
    serverdir = tmp_path / "devpi-server"
    init = subprocess.run(
        [str(bin_dir / "devpi-init"), "--serverdir", str(serverdir), "--no-root-pypi"],
        capture_output=True,
        text=True,
    )
    assert init.returncode == 0, init.stderr
    port = free_port()
    process = subprocess.Popen(
        [
            str(server),
            "--serverdir",
            str(serverdir),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--offline-mode",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        try:
            wait_for(port, process, 60, "devpi-server")
        except ServerUnavailable as error:
            pytest.skip(str(error))
        from .uvenv import isolated_env

        env = {
            **isolated_env(tmp_path / "devpi-env", keep_home=True),
            "DEVPI_CLIENTDIR": str(tmp_path / "client"),
        }
        for args in (
            ["use", url],
            ["login", "root", "--password", ""],
            ["index", "-c", "dev", "volatile=True"],
            ["use", "root/dev"],
            *([["upload", "--from-dir", str(files)]] if files is not None else []),
            *([["user", "-m", "root", f"password={password}"]] if password else []),
        ):
            step = subprocess.run([str(client), *args], env=env, capture_output=True, text=True)
            assert step.returncode == 0, (args, step.stdout + step.stderr)
        yield f"{url}/root/dev/+simple/", f"{url}/root/dev/"
    finally:
        process.terminate()
        process.wait(20)
