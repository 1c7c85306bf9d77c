"""Passwords for an index, taken as uv takes them: netrc, ``UV_INDEX_<NAME>_USERNAME`` and
``_PASSWORD`` for an index named in ``[[tool.uv.index]]`` or ``UV_INDEX``, a user in the URL with
the keyring. Never written to any file, never printed: URLs are shown redacted.
"""

from __future__ import annotations

import base64
import netrc
import os
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, NamedTuple
from urllib.parse import urlsplit, urlunsplit

if TYPE_CHECKING:
    from lockshim.project import Project


def origin(url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) with the scheme's default port filled in."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    default = {"http": 80, "https": 443}.get(scheme)
    return scheme, (parts.hostname or "").lower(), port if port is not None else default


class Credentials(NamedTuple):
    """Basic-auth credentials for index URLs (``UV_INDEX_<NAME>_*``) and hosts (netrc).

    An index's credentials apply to URLs of the same origin as the index: the index's own pages
    and the files it serves from that origin (as uv does), never to another host, port or
    scheme. Where several indexes share an origin, the one whose path is a prefix of the URL
    (ending at a ``/``) wins.
    """

    by_prefix: Mapping[str, tuple[str, str]]
    use_netrc: bool = True

    def header_for(self, url: str) -> str | None:
        parts = urlsplit(url)
        if parts.username is not None:
            return _basic(parts.username or "", parts.password or "")
        best: tuple[int, tuple[str, str]] | None = None
        for prefix, pair in self.by_prefix.items():
            if origin(prefix) != origin(url):
                continue
            path = urlsplit(prefix).path.rstrip("/") + "/"
            score = len(path) if parts.path.startswith(path) else 0
            if best is None or score > best[0]:
                best = (score, pair)
        if best is not None:
            return _basic(*best[1])
        if self.use_netrc and parts.hostname and parts.scheme in ("http", "https"):
            found = _netrc_for(parts.hostname)
            if found is not None:
                return _basic(*found)
        return None


def credentials_for(project: Project) -> Credentials:
    """Index credentials the way uv takes them: ``UV_INDEX_<NAME>_USERNAME``/``_PASSWORD`` for
    each named index, from the project's ``[[tool.uv.index]]`` or from ``UV_INDEX`` /
    ``UV_DEFAULT_INDEX`` (``NAME=URL``) (netrc is read per host as a fallback)."""
    from lockshim._compat import tomllib

    try:
        data = tomllib.loads((project.root / "pyproject.toml").read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        data = {}
    indexes: list[tuple[object, object]] = [
        (index.get("name"), index.get("url"))
        for index in data.get("tool", {}).get("uv", {}).get("index", [])
        if isinstance(index, dict)
    ]
    return Credentials(_passwords([*indexes, *_named_in_environment()]))


def _named_in_environment() -> list[tuple[object, object]]:
    """(name, URL) of each index ``UV_INDEX`` / ``UV_DEFAULT_INDEX`` name (``[NAME=]URL``,
    space-separated)."""
    found: list[tuple[object, object]] = []
    for variable in ("UV_INDEX", "UV_DEFAULT_INDEX"):
        for entry in os.environ.get(variable, "").split():
            named, equals, address = entry.partition("=")
            if equals and re.fullmatch(r"[A-Za-z0-9_.-]+", named):
                found.append((named, address))
    return found


def _passwords(indexes: list[tuple[object, object]]) -> dict[str, tuple[str, str]]:
    """Index URL -> (user, password) from ``UV_INDEX_<NAME>_USERNAME``/``_PASSWORD``."""
    by_prefix: dict[str, tuple[str, str]] = {}
    for name, url in indexes:
        if not name or not url:
            continue
        key = re.sub(r"[^A-Z0-9]", "_", str(name).upper())
        user = os.environ.get(f"UV_INDEX_{key}_USERNAME")
        password = os.environ.get(f"UV_INDEX_{key}_PASSWORD")
        if user is not None or password is not None:
            by_prefix[str(url)] = (user or "", password or "")
    return by_prefix


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


def credentials_for_upload(url: str) -> Credentials:
    """An index's upload credentials as twine and uv take them: ``TWINE_USERNAME`` and
    ``TWINE_PASSWORD``, else ``UV_INDEX_<NAME>_*`` of an index ``UV_INDEX`` names at that URL's
    origin, else netrc (per host)."""
    user, password = os.environ.get("TWINE_USERNAME"), os.environ.get("TWINE_PASSWORD")
    if user is not None or password is not None:
        return Credentials({url: (user or "", password or "")})
    return Credentials(_passwords(_named_in_environment()))
