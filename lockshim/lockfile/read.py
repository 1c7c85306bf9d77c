"""Reading uv.lock: the packages it pins and where each artifact ``url`` stands in the text.

uv writes its lock in one regular shape, so the common case is read by the fast scan
(:mod:`lockshim.lockfile.scan`: milliseconds for a 1.6 MB lock, where a TOML parser takes a
quarter of a second). A lock in any other shape (edited by hand or by another tool) is read
with a real TOML parser instead; it is then rewritten through tomlkit (see
:mod:`lockshim.lockfile.rewrite`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from lockshim._compat import tomllib
from lockshim.errors import LockError
from lockshim.lockfile.model import (
    Artifact,
    ArtifactKind,
    Keep,
    Lock,
    Package,
    Source,
    by_digest,
    filename_of,
)
from lockshim.lockfile.scan import package_places, scan_all, scan_only
from lockshim.lockfile.text import at_line_start, line_at

SUPPORTED_VERSIONS = (1,)


def read_lock(path: Path, *, strict: bool = False) -> Lock:
    """Read and check a lock file; :class:`LockError` names the file and the fix.

    ``strict``: parse the whole file as TOML, whatever its layout (the guard's way: slower,
    never fooled by a layout the fast scan does not expect)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise LockError(
            f"{path}: no such file. Run `uv lock` in the project to create it, "
            "or point lockshim at the project with --project."
        ) from None
    except OSError as error:
        raise LockError(f"{path}: cannot be read ({error.strerror}).") from None
    return parse_lock(data, path, strict=strict)


class Header(NamedTuple):
    """A lock's text, checked to be a uv lock lockshim can read (before any package is)."""

    text: str
    body: str  # without a byte-order mark
    version: int
    revision: int
    offset: int  # 1 when the text starts with a byte-order mark
    #: No package table hides before the first ``[[package]]`` line (``[[ package ]]``, quoted
    #: keys): the fast scans may read it. Otherwise only the TOML parser does.
    plain: bool = True


def read_header(data: bytes, path: Path) -> Header:
    """The checks every reading of a lock starts with; :class:`LockError` names the fix."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise LockError(
            f"{path}: not UTF-8 text (byte {error.start}). A uv.lock is always UTF-8: "
            "restore it from version control or run `uv lock` to write it anew."
        ) from None
    if not text or text.isspace():  # (strip would copy a big lock)
        raise LockError(
            f"{path}: the file is empty. Restore it from version control "
            "(`git checkout -- uv.lock`) or run `uv lock` to write it anew."
        )
    conflict = min(
        (
            at
            for marker in ("<<<<<<<", "=======", ">>>>>>>")
            for at in at_line_start(text, marker)
            if text[at + 7 : at + 8] in ("", " ", "\n", "\r")
        ),
        default=None,
    )
    if conflict is not None:
        line = text.count("\n", 0, conflict) + 1
        raise LockError(
            f"{path}:{line}: git merge-conflict markers. Resolve the conflict, then run "
            "`uv lock` to write a consistent lock "
            "(e.g. `git checkout --theirs uv.lock && uv lock`)."
        )
    body = text[1:] if text.startswith("\ufeff") else text
    header_end = _first_package(body)
    header = _loads(body[:header_end], path)
    if "distribution" in header or next(at_line_start(body, "[[distribution]]"), None) is not None:
        raise LockError(
            f"{path}: a pre-release uv lock (`[[distribution]]`), which current uv cannot read "
            "either. Run `uv lock` with a current uv to write it anew."
        )
    version = header.get("version")
    if version is None:
        raise LockError(
            f"{path}: no lock `version` at the top; this is not a uv lock. "
            "Run `uv lock` to write one."
        )
    if version not in SUPPORTED_VERSIONS:
        raise LockError(
            f"{path}: lock version {version!r} is not one lockshim knows "
            f"(it reads version {', '.join(map(str, SUPPORTED_VERSIONS))}). "
            "Upgrade lockshim (`pip install -U lockshim`), or re-lock with the uv you use."
        )
    revision = header.get("revision", 0)
    offset = 1 if text.startswith("\ufeff") else 0
    return Header(text, body, version, int(revision), offset, "package" not in header)


def parse_lock(
    data: bytes,
    path: Path,
    *,
    strict: bool = False,
    keep: Keep | None = None,
    header: Header | None = None,
    only: Mapping[str, Sequence[str]] | None = None,
) -> Lock:
    """Read a lock; ``header`` when :func:`read_header` was already called on ``data``.

    ``keep``: which wheel entries to read in full (the others are checked and counted).
    ``only``: the sha256 (lowercase hex) of every local file -> the names of the files holding
    it, when all are known. Then only the wheel entries pinning one of them are read at all,
    found by their hash in the text (a 16 MB lock has 59,000 entries; a wheelhouse serves a few
    thousand at most); a package named like a file whose sha256 the lock does not pin is read
    with ``keep`` (so that a stale file is reported). A lock where that is not safe is read as
    with ``keep`` alone.
    """
    text, body, version, revision, offset, plain = header or read_header(data, path)
    strict = strict or not plain
    read = None if strict else package_places(body, offset)  # each package's place and head, once
    packages = None
    if read is not None and only is not None:
        packages = scan_only(body, offset, read, only, keep)
        keep = keep or by_digest(frozenset(only))
    if read is not None and packages is None:
        packages = scan_all(body, offset, read, keep)
    if packages is not None:
        return Lock(path, text, version, revision, packages, fast=True, keep=keep)
    document = _loads(body, path)
    return Lock(path, text, version, revision, _from_document(document, body, offset), False)


def _loads(text: str, path: Path) -> dict[str, Any]:
    try:
        document: dict[str, Any] = tomllib.loads(text)
        return document
    except tomllib.TOMLDecodeError as error:
        raise LockError(
            f"{path}: not valid TOML: {error}. Restore it from version control "
            "or run `uv lock` to write it anew."
        ) from None


def _first_package(text: str) -> int:
    for at in at_line_start(text, "[[package]]"):
        if line_at(text, at) == "[[package]]":
            return at
    return len(text)


def _from_document(document: dict[str, Any], text: str, base: int) -> tuple[Package, ...]:
    raw_packages = document.get("package", [])
    if not isinstance(raw_packages, list):
        raise LockError("`package` must be an array of tables")
    packages = []
    cursor = 0
    for number, raw in enumerate(raw_packages):
        name = str(raw.get("name", ""))
        located = text.find(name, cursor) if name else -1
        offset = located if located >= 0 else cursor
        cursor = max(cursor, offset)
        source = None
        raw_source = raw.get("source")
        if isinstance(raw_source, dict) and raw_source:
            kind = next(iter(raw_source))
            source = Source(str(kind), str(raw_source[kind]), plain=len(raw_source) == 1)
        entries: list[tuple[ArtifactKind, dict[str, Any]]] = []
        if isinstance(raw.get("sdist"), dict):
            entries.append(("sdist", raw["sdist"]))
        entries.extend(("wheel", w) for w in raw.get("wheels", []) if isinstance(w, dict))
        artifacts = []
        for index, (kind, entry) in enumerate(entries):
            key: str | None = next((k for k in ("url", "path", "filename") if k in entry), None)
            if (
                key is None
                and isinstance(raw_source, dict)
                and (
                    "url" in raw_source or "path" in raw_source  # a URL source served as a path
                )
            ):
                key, value = "source", str(raw_source.get("url", raw_source.get("path")))
            elif key is None:
                continue
            else:
                value = str(entry[key])
            where = text.find(value, cursor)
            size = entry.get("size")
            artifacts.append(
                Artifact(
                    kind=kind,
                    filename=filename_of(key, value),
                    url=value if key == "url" else None,
                    path=value if key in ("path", "filename") else None,
                    hash=str(entry["hash"]) if "hash" in entry else None,
                    size=size if isinstance(size, int) else None,
                    offset=base + (where if where >= 0 else offset),
                    position=index,
                )
            )
        packages.append(
            Package(
                name=name,
                version=str(raw["version"]) if "version" in raw else None,
                source=source,
                artifacts=tuple(artifacts),
                offset=base + offset,
                position=number,
            )
        )
    return tuple(packages)
