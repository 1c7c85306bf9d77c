"""Downloading files the lock pins: checked while they stream, never left half-written.

A file is written to a new, randomly named ``.<name>.<random>.part`` in the destination
(exclusive create, symlinks never followed), its digest (the algorithm the lock pins) and size
checked as the bytes arrive,
and renamed to its real name only when both match what the lock pins. Transient failures
(connection errors, stalls, HTTP 5xx and 429) are retried with backoff. Connections are reused
(urllib3's pool), and every https connection shares one TLS context (:mod:`lockshim.sources.tls`).

What a server answers is data. Credentials go only to the origin (scheme, host, port) they are
configured for; a redirect to another origin is followed without them, and one from https to
http is refused. A download is never longer than the lock (or the server) says. URLs in messages
carry no user or password.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Literal, NamedTuple
from urllib.parse import urljoin, urlsplit

from lockshim import __version__
from lockshim.atomic import new_file
from lockshim.digests import Digest
from lockshim.filenames import PART, part_name, unsafe
from lockshim.sources import tls

if TYPE_CHECKING:
    import urllib3

from lockshim.sources.credentials import Credentials, origin, redact

_CHUNK = 1 << 16
#: What lockshim says it is to a server (an index's logs tell its downloads from uv's and pip's).
USER_AGENT = f"lockshim/{__version__}"
#: Downloads at once, by default. Each small file from PyPI waits 60-90 ms for its first byte:
#: sixteen shortened a lock's downloads against eight (34 files: 0.31 -> 0.21 s), at no
#: measurable cost on a loopback index; 32 at once met a network that drops connection bursts.
AT_ONCE = 16
RETRIES = 3
BACKOFF_SECONDS = 0.5
MAX_REDIRECTS = 10
#: No byte for this long is a stall: the try fails (and is retried).
STALL_SECONDS = 30.0
#: The most a file of unknown size (no size in the lock, no Content-Length) may be.
UNKNOWN_SIZE_LIMIT = 8 << 30


class Wanted(NamedTuple):
    """A file to have in the destination: its name, where it is, what its bytes must be."""

    name: str  # package name, for messages
    version: str | None
    filename: str
    url: str
    digest: Digest  # sha256, sha384 or sha512, as the lock pins it
    size: int | None


#: What became of a download.
#: ("cached": taken from what lockshim downloaded before, :mod:`lockshim.sources.kept`)
Status = Literal["downloaded", "cached", "present", "failed"]


class Outcome(NamedTuple):
    wanted: Wanted
    status: Status
    detail: str = ""
    size: int = 0


class Redirect(NamedTuple):
    url: str
    same_origin: bool


def follow(start: str, current: str, location: str) -> Redirect:
    """Where a redirect from ``current`` to ``location`` leads, judged against the first URL.

    Raises _Refused for a redirect from https to http or to anything but http(s).
    """
    target = urljoin(current, location)
    scheme = urlsplit(target).scheme.lower()
    if scheme not in ("http", "https"):
        raise _Refused(f"redirected to a {scheme or 'relative'}: URL ({redact(target)}): refused")
    if urlsplit(current).scheme.lower() == "https" and scheme == "http":
        raise _Refused(f"redirected from https to plain http ({redact(target)}): refused")
    return Redirect(target, origin(target) == origin(start))


class _Transient(Exception):
    pass


class _Refused(Exception):
    pass


class PageFailure(Exception):
    """An index page could not be read; the message says why (no secrets in it)."""


class Stopped(Exception):
    """The run is being stopped (Ctrl-C): downloads end and their .part files go."""


class Downloader:
    """Downloads into one folder over a shared connection pool."""

    def __init__(
        self, dest: Path, credentials: Credentials, jobs: int, *, keep: bool = True
    ) -> None:
        import urllib3

        self.dest = dest
        #: files are taken from, and kept in, lockshim's download cache (by digest)
        self.keep = keep
        self.credentials = credentials
        self.stop = threading.Event()
        #: Origins found unreachable (no route, no name, refused): their files fail at once.
        self.down: dict[tuple[str, str, int | None], str] = {}
        self._active: set[urllib3.BaseHTTPResponse] = set()
        self._lock = threading.Lock()
        self.pool = urllib3.PoolManager(
            num_pools=16,
            maxsize=max(1, jobs),
            block=False,
            retries=False,
            timeout=urllib3.Timeout(connect=STALL_SECONDS, read=STALL_SECONDS),
        )

    def fetch(self, wanted: Wanted) -> Outcome:
        """Download one file into the folder (retrying transient failures)."""
        reason = unsafe(wanted.filename)
        if reason is not None:
            return Outcome(wanted, "failed", f"not a plain file name ({reason}): refused")
        if self.keep:
            from lockshim.sources import kept

            size = kept.take(wanted.digest, wanted.size, self.dest / wanted.filename)
            if size is not None:
                return Outcome(wanted, "cached", size=size)
        last = ""
        where = origin(wanted.url)
        for attempt in range(RETRIES + 1):
            if where in self.down:  # one host that cannot be reached is said once, not per file
                return Outcome(wanted, "failed", self.down[where])
            if attempt and self.stop.wait(BACKOFF_SECONDS * 2 ** (attempt - 1)):
                break
            try:
                return Outcome(wanted, "downloaded", size=self._download(wanted))
            except _Refused as refused:
                return Outcome(wanted, "failed", str(refused))
            except Stopped:
                return Outcome(wanted, "failed", "stopped")
            except Exception as error:  # urllib3's and the OS's errors: worth a retry, but
                untrusted = _untrusted(error, wanted.url)  # refused for good, for every file
                if untrusted is not None:
                    self.down.setdefault(where, untrusted)
                    return Outcome(wanted, "failed", untrusted)
                last = _describe(error)
                if last == "cannot connect" and not _reachable(where):
                    self.down.setdefault(
                        where, f"cannot connect to {where[1]} (no network, or the host is down)"
                    )
        if self.stop.is_set():
            return Outcome(wanted, "failed", "stopped")
        return Outcome(wanted, "failed", f"{last} (after {RETRIES + 1} tries)")

    def _open(
        self, wanted: Wanted, extra: Mapping[str, str] | None = None
    ) -> tuple[urllib3.BaseHTTPResponse, str]:
        """The final response (after redirects) and the URL it came from."""
        start = url = redact(wanted.url)
        header = self.credentials.header_for(wanted.url)
        for _ in range(MAX_REDIRECTS + 1):
            if self.stop.is_set():
                raise Stopped
            headers = {"User-Agent": USER_AGENT, **(extra or {})}  # a request's replace the pool's
            if header:
                headers["Authorization"] = header
            if url[:6].lower() == "https:" and "ssl_context" not in self.pool.connection_pool_kw:
                self.pool.connection_pool_kw["ssl_context"] = tls.context()  # one for the run
            try:
                response = self.pool.request(
                    "GET", url, headers=headers, redirect=False, preload_content=False
                )
            except Exception as error:
                if url == start:
                    raise
                untrusted = _untrusted(error, url)  # no retry will do: refused
                if untrusted is not None:
                    said = f"it redirects to {url}, which cannot be reached ({untrusted})"
                    raise _Refused(said) from None
                raise _Unreachable(url, error) from None  # name where it was sent
            with self._lock:
                self._active.add(response)
            location = response.headers.get("Location")
            if response.status not in (301, 302, 303, 307, 308) or not location:
                return response, url
            with self._lock:
                self._active.discard(response)
            response.close()  # a redirect's body is never read
            hop = follow(start, url, location)
            url = hop.url
            # Credentials never leave their origin: another origin gets only its own.
            header = (
                self.credentials.header_for(wanted.url)
                if hop.same_origin
                else self.credentials.header_for(redact(url))
            )
        raise _Refused(f"more than {MAX_REDIRECTS} redirects: refused")

    def read_page(self, url: str, accept: str, limit: int) -> tuple[str, str, bytes]:
        """(the URL it came from after redirects, Content-Type, body) of an index page, with
        the same credential and redirect rules as a download; the body is decoded as the
        server compressed it and never longer than ``limit`` bytes. Raises PageFailure."""
        wanted = Wanted("", None, "", url, Digest(""), None)  # a page: no digest to check
        try:
            response, final = self._open(wanted, {"Accept": accept})
        except _Refused as refused:
            raise PageFailure(str(refused)) from None
        except Exception as error:
            raise PageFailure(_untrusted(error, url) or _describe(error)) from None
        try:
            if response.status >= 400:
                raise PageFailure(f"HTTP {response.status} {response.reason or ''}".strip())
            body = bytearray()
            try:
                for chunk in response.stream(_CHUNK, decode_content=True):
                    body += chunk
                    if len(body) > limit:
                        raise PageFailure(f"the page is longer than {limit} bytes: refused")
            except PageFailure:
                raise
            except Exception as error:
                raise PageFailure(_describe(error)) from None
            return final, str(response.headers.get("Content-Type", "")), bytes(body)
        finally:
            with self._lock:
                self._active.discard(response)
            response.release_conn()

    def halt(self) -> None:
        """Stop every download now: a read blocked on a stalled server ends at once."""
        self.stop.set()
        with self._lock:
            active = list(self._active)
        for response in active:
            with contextlib.suppress(Exception):
                response.shutdown()

    def _download(self, wanted: Wanted) -> int:
        response, _ = self._open(wanted)  # registered in _active, for halt()
        if self.stop.is_set():
            response.shutdown()
        try:
            if response.status >= 500 or response.status == 429:
                raise _Transient(f"HTTP {response.status} {response.reason or ''}".strip())
            if response.status >= 400:
                raise _Refused(f"HTTP {response.status} {response.reason or ''}".strip())
            announced = _int(response.headers.get("Content-Length"))
            if wanted.size is not None and announced is not None and announced != wanted.size:
                raise _Refused(
                    f"the server sends {announced} bytes (Content-Length), but uv.lock pins "
                    f"{wanted.size}: refused"
                )
            limit = wanted.size if wanted.size is not None else announced
            return self._save(wanted, response, limit)
        finally:
            with self._lock:
                self._active.discard(response)
            response.release_conn()

    def _save(self, wanted: Wanted, response: urllib3.BaseHTTPResponse, limit: int | None) -> int:
        part = self.dest / part_name(wanted.filename)
        algorithm, pinned = wanted.digest.algorithm, wanted.digest.hex
        digest = hashlib.new(algorithm)
        received = 0
        cap = limit if limit is not None else UNKNOWN_SIZE_LIMIT
        try:
            with new_file(part) as out:
                for chunk in response.stream(_CHUNK, decode_content=False):
                    if self.stop.is_set():
                        raise Stopped
                    digest.update(chunk)
                    received += len(chunk)
                    if received > cap:
                        raise _Refused(
                            f"more bytes than the {cap} "
                            + ("uv.lock pins" if wanted.size is not None else "expected")
                            + ": refused"
                        )
                    out.write(chunk)
            if limit is not None and received < limit:
                raise _Transient(f"connection ended after {received} of {limit} bytes")
            if digest.hexdigest() != pinned:
                raise _Refused(
                    f"{algorithm} {digest.hexdigest()}, but uv.lock pins {pinned}: refused"
                )
            if self.keep:
                from lockshim.sources import kept

                kept.keep(part, wanted.digest)  # the same file is never downloaded twice
            os.replace(part, self.dest / wanted.filename)
            return received
        finally:
            with contextlib.suppress(FileNotFoundError):
                part.unlink()


def sweep_parts(folder: Path, now: float) -> None:
    """Remove what a killed run left half-written in ``folder``: files named by
    :func:`part_name` untouched for twice the stall limit (a download in progress writes at
    least that often, or gives up and removes its own)."""
    import stat

    with contextlib.suppress(OSError), os.scandir(folder) as entries:
        for entry in entries:
            if entry.name.startswith(".") and PART.fullmatch(entry.name):
                with contextlib.suppress(OSError):
                    info = entry.stat(follow_symlinks=False)
                    if stat.S_ISREG(info.st_mode) and now - info.st_mtime > 2 * STALL_SECONDS:
                        os.unlink(entry.path)


def _reachable(where: tuple[str, str, int | None]) -> bool:
    """A TCP connection to the origin can be opened now (a second look after a failure)."""
    import socket

    _, host, port = where
    try:
        socket.create_connection((host, port or 443), timeout=5).close()
    except OSError:
        return False
    return True


class _Unreachable(Exception):
    """A redirect's target that cannot be reached (the server asked is not the one that
    failed: say which did)."""

    def __init__(self, url: str, error: BaseException) -> None:
        super().__init__(f"it redirects to {url}, which cannot be reached ({_describe(error)})")


#: How a failure that holds for every file of a host begins (said once for all of them).
HOST_FAILURES = ("cannot connect to ", "the TLS certificate of ")
#: OpenSSL's verify codes for a certificate whose authority is not among those trusted here
#: (self-signed, self-signed in the chain, issuer unknown locally, leaf not verifiable).
_UNKNOWN_AUTHORITY = frozenset({18, 19, 20, 21})


def _untrusted(error: BaseException, url: str) -> str | None:
    """Why the certificate of ``url``'s host is refused, if ``error`` (asking for ``url``) is
    its failing verification."""
    import ssl

    host = urlsplit(url).netloc.rpartition("@")[2]  # with a port, where the URL names one
    seen: list[BaseException] = [error]
    looked: set[int] = set()
    while seen:
        cause = seen.pop()
        if id(cause) in looked:
            continue
        looked.add(id(cause))
        if isinstance(cause, ssl.SSLCertVerificationError):
            said = f"the TLS certificate of {host} is not trusted here ({cause.verify_message})"
            if cause.verify_code in _UNKNOWN_AUTHORITY:
                said += (
                    ": an index behind your organisation's own certificate authority needs "
                    "that CA's certificate named in SSL_CERT_FILE (as uv takes it)"
                )
            return said
        seen += [c for c in (cause.__cause__, cause.__context__) if c is not None]
        seen += [a for a in cause.args if isinstance(a, BaseException)]
    return None


def _describe(error: BaseException) -> str:
    import urllib3.exceptions as errors

    if isinstance(error, errors.ReadTimeoutError):
        return f"no data for {STALL_SECONDS:.0f} s"
    if isinstance(error, errors.ProtocolError):
        return "the connection broke"
    if isinstance(error, errors.NewConnectionError | errors.ConnectTimeoutError):
        return "cannot connect"
    return str(error) or type(error).__name__


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None
