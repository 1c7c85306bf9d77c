"""Downloading files the lock pins: checked while they stream, never left half-written.

A file is written to ``.<name>.part`` in the destination, its sha256 and size checked as the
bytes arrive, and renamed to its real name only when both match what the lock pins. Transient
failures (connection errors, timeouts, HTTP 5xx and 429) are retried with backoff.
Credentials are taken the way uv takes them and never shown: URLs in messages carry no
user or password.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import http.client
import netrc
import os
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import NamedTuple
from urllib.parse import urlsplit, urlunsplit

_CHUNK = 1 << 16
RETRIES = 3
BACKOFF_SECONDS = 0.5


class Wanted(NamedTuple):
    """A file to have in the destination: its name, where it is, what its bytes must be."""

    name: str  # package name, for messages
    version: str | None
    filename: str
    url: str
    sha256: str
    size: int | None


class Outcome(NamedTuple):
    wanted: Wanted
    status: str  # downloaded, present, failed
    detail: str = ""
    size: int = 0


class Credentials(NamedTuple):
    """Basic-auth credentials by URL prefix (index URL) or host (netrc)."""

    by_prefix: Mapping[str, tuple[str, str]]
    use_netrc: bool = True

    def header_for(self, url: str) -> str | None:
        parts = urlsplit(url)
        if parts.username is not None:
            return _basic(parts.username or "", parts.password or "")
        for prefix, (user, password) in self.by_prefix.items():
            if url.startswith(prefix) or urlsplit(prefix).netloc == parts.netloc:
                return _basic(user, password)
        if self.use_netrc and parts.hostname:
            found = _netrc_for(parts.hostname)
            if found is not None:
                return _basic(*found)
        return None


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def _netrc_for(host: str) -> tuple[str, str] | None:
    path = os.environ.get("NETRC") or os.path.join(os.path.expanduser("~"), ".netrc")
    try:
        entry = netrc.netrc(path).authenticators(host)
    except (OSError, netrc.NetrcParseError):
        return None
    if entry is None:
        return None
    login, _, password = entry
    return login, password or ""


def redact(url: str) -> str:
    """The URL without user or password, for messages."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit(parts._replace(netloc=netloc))


def _strip_userinfo(url: str) -> str:
    return redact(url)


def fetch_one(wanted: Wanted, dest: Path, credentials: Credentials) -> Outcome:
    """Download one file into ``dest`` (retrying transient failures)."""
    last = ""
    for attempt in range(RETRIES + 1):
        if attempt:
            time.sleep(BACKOFF_SECONDS * 2 ** (attempt - 1))
        try:
            size = _download(wanted, dest, credentials)
            return Outcome(wanted, "downloaded", size=size)
        except _Refused as refused:
            return Outcome(wanted, "failed", str(refused))
        except (OSError, http.client.HTTPException, _Transient) as error:
            last = _describe(error)
    return Outcome(wanted, "failed", f"{last} (after {RETRIES + 1} tries)")


class _Transient(Exception):
    pass


class _Refused(Exception):
    pass


def _describe(error: BaseException) -> str:
    if isinstance(error, urllib.error.HTTPError):
        return f"HTTP {error.code} {error.reason}"
    if isinstance(error, urllib.error.URLError):
        return f"cannot connect ({error.reason})"
    return str(error) or type(error).__name__


def _download(wanted: Wanted, dest: Path, credentials: Credentials) -> int:
    request = urllib.request.Request(_strip_userinfo(wanted.url))
    header = credentials.header_for(wanted.url)
    if header:
        request.add_header("Authorization", header)
    request.add_header("User-Agent", "lockshim")
    part = dest / f".{wanted.filename}.part"
    digest = hashlib.sha256()
    received = 0
    try:
        with urllib.request.urlopen(request, timeout=60) as response, open(part, "wb") as out:
            announced = response.headers.get("Content-Length")
            while chunk := response.read(_CHUNK):
                digest.update(chunk)
                received += len(chunk)
                if wanted.size is not None and received > wanted.size:
                    raise _Refused(f"more bytes than the {wanted.size} uv.lock pins")
                out.write(chunk)
        expected = wanted.size if wanted.size is not None else _int(announced)
        if expected is not None and received < expected:
            raise _Transient(f"connection ended after {received} of {expected} bytes")
        if digest.hexdigest() != wanted.sha256:
            raise _Refused(
                f"sha256 {digest.hexdigest()}, but uv.lock pins {wanted.sha256}: refused"
            )
        os.replace(part, dest / wanted.filename)
        return received
    except urllib.error.HTTPError as error:
        if error.code >= 500 or error.code == 429:
            raise _Transient(_describe(error)) from None
        raise _Refused(_describe(error)) from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            part.unlink()


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def fetch_all(
    wanted: Sequence[Wanted],
    dest: Path,
    credentials: Credentials,
    jobs: int,
    on_done: Callable[[Outcome, int, int], None] | None = None,
) -> list[Outcome]:
    """Download every file, ``jobs`` at a time; the outcomes in the order given."""
    dest.mkdir(parents=True, exist_ok=True)
    if not wanted:
        return []
    with ThreadPoolExecutor(max_workers=max(1, min(jobs, len(wanted)))) as pool:
        outcomes = []
        for outcome in pool.map(lambda w: fetch_one(w, dest, credentials), wanted):
            outcomes.append(outcome)
            if on_done is not None:
                on_done(outcome, len(outcomes), len(wanted))
    return outcomes
