"""A PEP 503 simple index on 127.0.0.1, served from a folder, with faults on demand.

    with LoopbackIndex(folder) as index:
        uv lock --index-url {index.url}
        index.drop_after("alpha-1.0-py3-none-any.whl", 100)   # next download is cut short
        index.requests                                        # every path asked for

Files added to the folder while it runs are served too. A client that asks for PEP 691 JSON
(uv does) gets it, with PEP 700 ``size`` and ``upload-time``, so its locks carry ``size`` and
``upload-time`` like PyPI's; ``json_api=False`` serves HTML only (locks then hold only url and hash,
like those from many mirrors). Every response carries
``Cache-Control: max-age=31536000``, so a real pip (run with ``--trusted-host 127.0.0.1``)
writes its http cache.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import html
import http.server
import json
import socket
import ssl
import sys
import tarfile
import threading
import time
import zipfile
from dataclasses import dataclass, field
from email.parser import HeaderParser
from pathlib import Path
from types import TracebackType
from urllib.parse import quote, unquote, urlsplit

from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    parse_sdist_filename,
    parse_wheel_filename,
)

from .wheels import normalize

CACHE_CONTROL = "max-age=31536000"
HOST = "127.0.0.1"
JSON_TYPE = "application/vnd.pypi.simple.v1+json"
#: The upload time every file is said to have (PEP 700), so that locks are reproducible.
UPLOAD_TIME = "2024-01-01T00:00:00.000000Z"


def project_of(filename: str) -> str | None:
    """Normalized project name of a wheel or sdist filename; None for anything else."""
    try:
        if filename.endswith(".whl"):
            return str(parse_wheel_filename(filename)[0])
        if filename.endswith((".tar.gz", ".zip")):
            return str(parse_sdist_filename(filename)[0])
    except (InvalidWheelFilename, InvalidSdistFilename):
        return None
    return None


def _version_of(filename: str) -> str:
    if filename.endswith(".whl"):
        return str(parse_wheel_filename(filename)[1])
    return str(parse_sdist_filename(filename)[1])


def requires_python_of(path: Path) -> str | None:
    """Requires-Python from a wheel's METADATA or an sdist's PKG-INFO (None if absent)."""
    text = None
    try:
        if path.name.endswith(".whl"):
            with zipfile.ZipFile(path) as archive:
                name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
                text = archive.read(name).decode()
        elif path.name.endswith(".tar.gz"):
            with tarfile.open(path) as archive:
                member = next(
                    m
                    for m in archive.getmembers()
                    if m.name.count("/") == 1 and m.name.endswith("/PKG-INFO")
                )
                extracted = archive.extractfile(member)
                text = extracted.read().decode() if extracted else None
    except (OSError, StopIteration, zipfile.BadZipFile, tarfile.TarError):
        return None
    if text is None:
        return None
    return HeaderParser().parsestr(text).get("Requires-Python")


@dataclass
class _Fault:
    kind: str  # "drop", "stall", "corrupt" or "status"
    remaining: int | None  # None: every request
    nbytes: int = 0
    status: int = 503
    data: bytes | None = None
    seconds: float = 0.0
    #: a stall also ends when this (file name, User-Agent prefix) is asked for
    until: tuple[str, str] | None = None
    released: threading.Event = field(default_factory=threading.Event)


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = False  # server_close() joins every handler thread
    block_on_close = True
    #: a real server's listen backlog (socketserver's 5 lost SYNs when 16 downloads opened
    #: their connections at once; the kernel retried each a second later)
    request_queue_size = 128

    def handle_error(self, request: object, client_address: object) -> None:
        if isinstance(sys.exc_info()[1], ssl.SSLError | ConnectionError):
            return  # a client that does not trust the certificate hung up: said by the client
        super().handle_error(request, client_address)  # type: ignore[arg-type]


class LoopbackIndex:
    """Serve ``folder`` as a simple index at :attr:`url` (only ever bound to 127.0.0.1)."""

    def __init__(
        self,
        folder: Path,
        *,
        json_api: bool = True,
        algorithm: str = "sha256",
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.folder = Path(folder)
        #: Served over https with this server context (:mod:`.tls`), else plain http.
        self.tls = tls
        #: Connections accepted (with ``tls``: TLS handshakes completed).
        self.connections = 0
        #: Whether PEP 691 JSON is served to clients that ask for it.
        self.json_api = json_api
        #: The digest the pages give for each file (sha256; sha384 or sha512 as some company
        #: indexes do, which uv then pins in the lock).
        self.algorithm = algorithm
        self.folder.mkdir(parents=True, exist_ok=True)
        #: Every request path, in arrival order (the query string included).
        self.requests: list[str] = []
        #: The User-Agent of each of :attr:`requests` ("lockshim", uv's, pip's).
        self.agents: list[str] = []
        self._faults: dict[str, list[_Fault]] = {}
        self._auth: str | None = None
        self._hashes: dict[tuple[str, int, int], tuple[str, str | None]] = {}
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        #: Where file requests are redirected (302 to ``{redirect_files}/files/NAME``), if set.
        self.redirect_files: str | None = None
        #: The Authorization header of every file request (None where there was none).
        self.authorizations: list[str | None] = []
        self._closing = threading.Event()  # ends a stall at once when the index stops
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._port: int | None = None

    # --- addresses ------------------------------------------------------------------------------

    @property
    def port(self) -> int:
        """The port it listens on (still known after it stopped, for assertions)."""
        if self._port is None:
            raise RuntimeError("the index was never started")
        return self._port

    @property
    def root(self) -> str:
        return f"{'https' if self.tls else 'http'}://{HOST}:{self.port}"

    @property
    def url(self) -> str:
        """The index URL for ``--index-url`` (no trailing slash)."""
        return f"{self.root}/simple"

    @property
    def files_url(self) -> str:
        """Where the files are: ``{files_url}/{filename}``."""
        return f"{self.root}/files"

    def file_url(self, filename: str) -> str:
        return f"{self.files_url}/{quote(filename)}"

    def url_with_auth(self, user: str, password: str) -> str:
        scheme, rest = self.url.split("://", 1)
        return f"{scheme}://{quote(user, safe='')}:{quote(password, safe='')}@{rest}"

    # --- assertions -----------------------------------------------------------------------------

    def downloads(self, filename: str) -> int:
        """How many times ``filename`` was asked for (GET or HEAD)."""
        path = urlsplit(self.file_url(filename)).path
        with self._lock:
            return sum(1 for r in self.requests if r.split("?")[0] == path)

    # --- faults ---------------------------------------------------------------------------------

    def _add(self, filename: str, fault: _Fault) -> None:
        with self._lock:
            self._faults.setdefault(filename, []).append(fault)

    def drop_after(self, filename: str, nbytes: int, *, always: bool = False) -> None:
        """Next download of ``filename`` (every one if ``always``): the full Content-Length is
        announced, ``nbytes`` are sent, then the connection is closed."""
        self._add(filename, _Fault("drop", None if always else 1, nbytes=nbytes))

    def corrupt(
        self, filename: str, data: bytes | None = None, *, times: int | None = None
    ) -> None:
        """Serve other bytes for ``filename``: ``data``, or the file with every byte inverted
        (same length). Every request unless ``times`` is given."""
        self._add(filename, _Fault("corrupt", times, data=data))

    def stall_after(
        self,
        filename: str,
        nbytes: int,
        seconds: float = 20.0,
        *,
        until: str | None = None,
        agent: str = "",
    ) -> None:
        """Next download of ``filename``: the full Content-Length, ``nbytes``, then nothing
        for ``seconds`` (a server that hangs mid-file), or until ``until`` is asked for by a
        client whose User-Agent begins with ``agent``; then it hangs up."""
        ends = (until, agent) if until is not None else None
        self._add(filename, _Fault("stall", 1, nbytes=nbytes, seconds=seconds, until=ends))

    def pending_faults(self, filename: str) -> int:
        """How many of the faults set for ``filename`` have not been met yet."""
        with self._lock:
            return sum(
                1 for f in self._faults.get(filename, []) if f.remaining is None or f.remaining
            )

    def fail_times(self, filename: str, n: int, status: int = 503) -> None:
        """Answer the next ``n`` requests for ``filename`` with ``status``."""
        self._add(filename, _Fault("status", n, status=status))

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def require_auth(self, user: str, password: str) -> None:
        """From now on every request needs these Basic credentials (401 otherwise)."""
        self._auth = base64.b64encode(f"{user}:{password}".encode()).decode()

    def clear_auth(self) -> None:
        self._auth = None

    def _next_fault(self, filename: str) -> _Fault | None:
        with self._lock:
            for fault in self._faults.get(filename, []):
                if fault.remaining is None:
                    return fault
                if fault.remaining > 0:
                    fault.remaining -= 1
                    return fault
        return None

    # --- content --------------------------------------------------------------------------------

    def _describe(self, path: Path) -> tuple[str, str | None]:
        """(sha256, Requires-Python) of a file, cached by size and mtime."""
        stat = path.stat()
        key = (path.name, stat.st_size, stat.st_mtime_ns)
        with self._lock:
            known = self._hashes.get(key)
        if known is None:
            digest = hashlib.new(self.algorithm, path.read_bytes()).hexdigest()
            known = (digest, requires_python_of(path))
            with self._lock:
                self._hashes[key] = known
        return known

    def _projects(self) -> dict[str, list[Path]]:
        projects: dict[str, list[Path]] = {}
        for path in sorted(self.folder.iterdir()):
            project = project_of(path.name)
            if project is not None and path.is_file():
                projects.setdefault(project, []).append(path)
        return projects

    def _root_page(self) -> bytes:
        links = "".join(f'<a href="{self.url}/{name}/">{name}</a>\n' for name in self._projects())
        return _page("Simple index", links)

    def _root_json(self) -> bytes:
        projects = [{"name": name} for name in self._projects()]
        return json.dumps({"meta": {"api-version": "1.1"}, "projects": projects}).encode()

    def _project_json(self, project: str) -> bytes | None:
        name = normalize(project)
        files = self._projects().get(name)
        if not files:
            return None
        entries = []
        for path in files:
            digest, requires_python = self._describe(path)
            entry: dict[str, object] = {
                "filename": path.name,
                "url": self.file_url(path.name),
                "hashes": {self.algorithm: digest},
                "size": path.stat().st_size,
                "upload-time": UPLOAD_TIME,
            }
            if requires_python:
                entry["requires-python"] = requires_python
            entries.append(entry)
        versions = sorted({_version_of(p.name) for p in files})
        page = {
            "meta": {"api-version": "1.1"},
            "name": name,
            "files": entries,
            "versions": versions,
        }
        return json.dumps(page).encode()

    def _project_page(self, project: str) -> bytes | None:
        files = self._projects().get(normalize(project))
        if not files:
            return None
        links = []
        for path in files:
            digest, requires_python = self._describe(path)
            attrs = f'href="{self.file_url(path.name)}#{self.algorithm}={digest}"'
            if requires_python:
                attrs += f' data-requires-python="{html.escape(requires_python)}"'
            links.append(f"<a {attrs}>{html.escape(path.name)}</a>\n")
        return _page(f"Links for {project}", "".join(links))

    # --- lifecycle ------------------------------------------------------------------------------

    def __enter__(self) -> LoopbackIndex:
        self._server = _Server((HOST, 0), _handler(self))
        if self.tls is not None:  # each handler thread does its own handshake
            self._server.socket = self.tls.wrap_socket(
                self._server.socket, server_side=True, do_handshake_on_connect=False
            )
        self._port = int(self._server.server_address[1])
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Stop serving, cut open connections, join every thread."""
        if self._server is None:
            return
        self._closing.set()  # a stalled answer ends now
        self._server.shutdown()
        with self._lock:
            sockets = list(self._sockets)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        self._server.server_close()
        if self._thread is not None:
            self._thread.join()
        self._server = None


def _page(title: str, body: str) -> bytes:
    return (
        '<!DOCTYPE html>\n<html><head><meta name="pypi:repository-version" content="1.0">'
        f"<title>{title}</title></head><body>\n{body}</body></html>\n"
    ).encode()


def _handler(index: LoopbackIndex) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"  # one request per connection: nothing lingers
        timeout = 10
        server_version = "LoopbackIndex"
        head_only = False

        def setup(self) -> None:
            if index.tls is not None:
                self.request.settimeout(self.timeout)
                self.request.do_handshake()  # a client that does not trust it ends here
            super().setup()
            with index._lock:
                index._sockets.add(self.request)
                index.connections += 1

        def finish(self) -> None:
            with index._lock:
                index._sockets.discard(self.request)
            with contextlib.suppress(OSError):
                super().finish()

        def log_message(self, format: str, *args: object) -> None:
            pass

        def _headers(self, status: int, length: int, content_type: str, **extra: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(length))
            self.send_header("Cache-Control", CACHE_CONTROL)
            for key, value in extra.items():
                self.send_header(key.replace("_", "-"), value)
            self.end_headers()

        def _send(self, body: bytes, content_type: str = "text/html; charset=utf-8") -> None:
            self._headers(200, len(body), content_type)
            if not self.head_only:
                self.wfile.write(body)

        def _status(self, status: int, **extra: str) -> None:
            body = f"{status} {self.responses.get(status, ('',))[0]}\n".encode()
            self._headers(status, len(body), "text/plain", **extra)
            if not self.head_only:
                self.wfile.write(body)

        def do_HEAD(self) -> None:
            self.head_only = True
            self.do_GET()

        def do_GET(self) -> None:
            with index._lock:
                index.requests.append(self.path)
                index.agents.append(self.headers.get("User-Agent", ""))
                name = unquote(urlsplit(self.path).path.rsplit("/", 1)[-1])
                for fault in [f for faults in index._faults.values() for f in faults]:
                    until = fault.until
                    if until is not None and until == (name, index.agents[-1][: len(until[1])]):
                        fault.released.set()
                if urlsplit(self.path).path.startswith("/files/"):
                    index.authorizations.append(self.headers.get("Authorization"))
            if index._auth and self.headers.get("Authorization") != f"Basic {index._auth}":
                self._status(401, WWW_Authenticate='Basic realm="loopback"')
                return
            parts = [unquote(p) for p in urlsplit(self.path).path.split("/") if p]
            as_json = index.json_api and JSON_TYPE in self.headers.get("Accept", "")
            if parts == ["simple"]:
                if as_json:
                    self._send(index._root_json(), JSON_TYPE)
                else:
                    self._send(index._root_page())
            elif len(parts) == 2 and parts[0] == "simple":
                if as_json:
                    page, content_type = index._project_json(parts[1]), JSON_TYPE
                else:
                    page, content_type = index._project_page(parts[1]), "text/html; charset=utf-8"
                self._send(page, content_type) if page is not None else self._status(404)
            elif len(parts) == 2 and parts[0] == "files" and "/" not in parts[1]:
                if index.redirect_files is not None:
                    target = f"{index.redirect_files}/files/{quote(parts[1])}"
                    self._status(302, Location=target)
                    return
                self._file(parts[1])
            else:
                self._status(404)

        def _file(self, filename: str) -> None:
            path = index.folder / filename
            if not path.is_file() or filename.startswith("."):
                self._status(404)
                return
            body = path.read_bytes()
            fault = None if self.head_only else index._next_fault(filename)
            content_type = "application/octet-stream"
            if fault is None:
                self._send(body, content_type)
            elif fault.kind == "status":
                self._status(fault.status)
            elif fault.kind == "corrupt":
                self._send(
                    fault.data if fault.data is not None else bytes(b ^ 0xFF for b in body),
                    content_type,
                )
            else:  # drop or stall: promise everything, send the first nbytes, then hang up
                self._headers(200, len(body), content_type)
                if not self.head_only:
                    self.wfile.write(body[: fault.nbytes])
                    self.wfile.flush()
                if fault.kind == "stall":
                    deadline = time.monotonic() + fault.seconds
                    while not index._closing.is_set() and time.monotonic() < deadline:
                        if fault.released.wait(0.05):
                            break
                self.close_connection = True
                with contextlib.suppress(OSError):
                    self.request.shutdown(socket.SHUT_RDWR)

    return Handler
