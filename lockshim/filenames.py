"""Artifact file names are data: only a plain file name may become a path lockshim writes to,
and only a plain URL may stand in the shimmed uv.lock."""

from __future__ import annotations

import re

from lockshim.errors import LockshimError

_RESERVED = set('<>:"|?*')

#: A URL the shimmed uv.lock may carry as it is (a mirror's file URL): http(s), a host name and
#: port, no user or password, no query or fragment, none of the characters that would need
#: escaping in a TOML string or that uv would read otherwise.
PLAIN_URL = re.compile(r"https?://[A-Za-z0-9.\-]+(:[0-9]{1,5})?/[A-Za-z0-9\-._~/%+!$&'()*,;=:@]*\Z")


#: The name a file has while its bytes arrive or are linked into place (:func:`part_name`).
PART = re.compile(r"\..+\.[0-9a-f]{12}\.part")


def part_name(filename: str) -> str:
    """A new name for ``filename``'s bytes while they arrive (or are linked into place)."""
    import os

    return f".{filename}.{os.urandom(6).hex()}.part"


def unsafe(name: str) -> str | None:
    """Why ``name`` is not a plain file name, or None when it is one on every platform."""
    if not name or name in (".", ".."):
        return "it is empty or names a folder"
    if "/" in name or "\\" in name:
        return "it holds a path separator"
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        return "it holds a control character"
    if _RESERVED & set(name):
        return "it holds a character Windows reserves (drive letters, streams)"
    if name.endswith((" ", ".")):
        return "it ends with a space or dot"
    if len(name.encode("utf-8", "surrogateescape")) > 255:
        return "it is longer than 255 bytes"
    return None


def require_plain(name: str, package: str, where: str) -> str:
    """``name``, if plain; else a LockshimError naming the package, the file and the fix."""
    reason = unsafe(name)
    if reason is not None:
        raise LockshimError(
            f"{where}: {package}: the artifact file name {name!r} is not a plain file name "
            f"({reason}), so lockshim will not write it anywhere. Nothing was changed. Check "
            "where this lock came from, then re-create it with `uv lock`."
        )
    return name


_SEPARATORS = re.compile(r"[-_.]+")
SDIST_SUFFIXES = (".tar.gz", ".zip")


def project_head(filename: str) -> str | None:
    """The project part of a wheel or sdist file name as written (no version or tag
    parsing); None for a name that is neither (a renamed file, a pip cache body, a git
    bundle). Many files share one: normalize each head once (:func:`normalized`)."""
    if filename.endswith(".whl"):  # name-version(-build)-python-abi-platform.whl
        if not 4 <= filename.count("-") <= 5:
            return None  # not a wheel's name: a renamed file
        return filename.partition("-")[0] or None
    if filename.endswith(SDIST_SUFFIXES):  # name-version.tar.gz
        return filename.rpartition("-")[0] or None
    return None


def project_of(filename: str) -> str | None:
    """The normalized project a wheel or sdist file name is of (see :func:`project_head`)."""
    head = project_head(filename)
    return normalized(head) if head is not None else None


def normalized(name: str) -> str:
    return _SEPARATORS.sub("-", name).lower()
