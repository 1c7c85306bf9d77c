"""Reading uv.lock: the packages it pins and where each artifact ``url`` stands in the text.

uv writes its lock in one regular shape, so the common case is read with a handful of regular
expressions (milliseconds for a 1.6 MB lock, where a TOML parser takes a quarter of a second).
The scan checks itself: every inline table that could be an artifact or a source must be one it
understood. A lock in any other shape (edited by hand or by another tool) is read with a real
TOML parser instead; it is then rewritten through tomlkit (see :mod:`lockshim.rewrite`).

Records here and across lockshim are immutable ``NamedTuple``s rather than frozen dataclasses:
on the `lockshim sync` path, importing dataclasses and building a dozen frozen classes cost
~50 ms of start-up on the reference machine, more than uv's whole no-op sync.
"""

from __future__ import annotations

import bisect
import functools
import itertools
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import unquote, urlsplit

from lockshim.errors import LockError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

SUPPORTED_VERSIONS = (1,)

#: Source kinds whose artifacts uv downloads, so that a local file can stand in: a registry's
#: artifacts by their own ``url``; a direct URL source (``foo @ https://...``) only by turning it
#: into a path source for the run (uv always downloads it from its *source* URL).
SERVABLE_SOURCES = frozenset({"registry", "url"})


class Source(NamedTuple):
    """A package's ``source``.

    ``kind`` is registry, url, git, path, directory, editable or virtual.
    """

    kind: str
    value: str
    plain: bool = True  # no other keys (such as a URL source's ``subdirectory``)

    @property
    def is_remote(self) -> bool:
        """True for a registry or URL on the network (not a local folder used as an index)."""
        return self.kind in SERVABLE_SOURCES and self.plain and _is_remote_url(self.value)


class Artifact(NamedTuple):
    """One ``sdist`` or ``wheels`` entry.

    ``span`` is where the ``url`` string's contents stand in the lock text (the characters
    between the quotes), or None when the lock was read by the slow path.
    """

    kind: str  # "sdist" or "wheel"
    filename: str
    url: str | None = None
    path: str | None = None
    hash: str | None = None
    size: int | None = None
    offset: int = 0
    span: tuple[int, int] | None = None
    position: int = 0  # among the package's artifacts (sdist first)

    @property
    def sha256(self) -> str | None:
        """The lowercase hex sha256 the lock pins, or None if it pins no sha256."""
        if self.hash is None:
            return None
        algorithm, _, digest = self.hash.partition(":")
        if algorithm.lower() != "sha256" or len(digest) != 64:
            return None
        return digest.lower()


class Package(NamedTuple):
    name: str
    version: str | None
    source: Source | None
    artifacts: tuple[Artifact, ...]
    offset: int = 0
    position: int = 0  # among the lock's packages

    @property
    def label(self) -> str:
        return f"{self.name} {self.version}" if self.version else self.name

    @property
    def servable(self) -> bool:
        """True when uv downloads this package's artifacts, so a local file may stand in."""
        return self.source is not None and self.source.is_remote

    @property
    def source_kind(self) -> str | None:
        return self.source.kind if self.source else None


class Lock(NamedTuple):
    path: Path
    text: str
    version: int
    revision: int
    packages: tuple[Package, ...]
    fast: bool  # read by the regular-expression scan (spans known)

    def line_of(self, offset: int) -> int:
        """1-based line number of a character offset."""
        return bisect.bisect_left(_newlines(self.text), offset) + 1

    def artifacts(self) -> Iterator[tuple[Package, Artifact]]:
        for package in self.packages:
            for artifact in package.artifacts:
                yield package, artifact

    def servable(self) -> Iterator[tuple[Package, Artifact]]:
        """The artifacts a local file may stand in for: those uv would download."""
        for package in self.packages:
            if not package.servable:
                continue
            for artifact in package.artifacts:
                # A URL source's one artifact may carry no url of its own (`sdist = { hash }`).
                if artifact.url is not None or package.source_kind == "url":
                    yield package, artifact


def read_lock(path: Path) -> Lock:
    """Read and check a lock file; :class:`LockError` names the file and the fix."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise LockError(
            f"{path}: no such file. Run `uv lock` in the project to create it, "
            "or point lockshim at the project with --project."
        ) from None
    except OSError as error:
        raise LockError(f"{path}: cannot be read ({error.strerror}).") from None
    return parse_lock(data, path)


def parse_lock(data: bytes, path: Path) -> Lock:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise LockError(
            f"{path}: not UTF-8 text (byte {error.start}). A uv.lock is always UTF-8: "
            "restore it from version control or run `uv lock` to write it anew."
        ) from None
    if not text.strip():
        raise LockError(
            f"{path}: the file is empty. Restore it from version control "
            "(`git checkout -- uv.lock`) or run `uv lock` to write it anew."
        )
    conflict = re.search(r"^(<{7}|>{7}|={7})( |\r?$)", text, re.M)
    if conflict:
        line = text.count("\n", 0, conflict.start()) + 1
        raise LockError(
            f"{path}:{line}: git merge-conflict markers. Resolve the conflict, then run "
            "`uv lock` to write a consistent lock "
            "(e.g. `git checkout --theirs uv.lock && uv lock`)."
        )
    body = text[1:] if text.startswith("\ufeff") else text
    header_end = _first_package(body)
    header = _loads(body[:header_end], path)
    if "distribution" in header or re.search(r"^\[\[distribution\]\]", body, re.M):
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
    packages = _scan(body, offset)
    if packages is not None:
        return Lock(path, text, version, int(revision), packages, fast=True)
    document = _loads(body, path)
    return Lock(path, text, version, int(revision), _from_document(document, body, offset), False)


@functools.lru_cache(maxsize=4)
def _newlines(text: str) -> list[int]:
    return [m.start() for m in re.finditer("\n", text)]


def _loads(text: str, path: Path) -> dict[str, Any]:
    try:
        document: dict[str, Any] = tomllib.loads(text)
        return document
    except tomllib.TOMLDecodeError as error:
        raise LockError(
            f"{path}: not valid TOML: {error}. Restore it from version control "
            "or run `uv lock` to write it anew."
        ) from None


_PACKAGE = re.compile(r"^\[\[package\]\][ \t]*\r?$", re.M)


def _first_package(text: str) -> int:
    match = _PACKAGE.search(text)
    return match.start() if match else len(text)


# --- the fast path: uv's own layout --------------------------------------------------------------

_STR = r'"([^"\\\r\n]*)"'
_FIELD = re.compile(r"^(name|version) = " + _STR, re.M)
_SOURCE = re.compile(r"^source = \{ (\w+) = " + _STR + r"( \}|,)", re.M)
_ARTIFACT_KEYS = r"(url|path|filename)"
_ENTRY = (
    r"\{ (?:"
    + _ARTIFACT_KEYS
    + r" = "
    + _STR
    + r')?(?:(?:, )?hash = "([^"\\\r\n]*)")?(?:, size = (\d+))?(?=[, ])[^\r\n]*\}'
)
_SDIST = re.compile(r"^sdist = " + _ENTRY, re.M)
_WHEELS = re.compile(r"^wheels = \[\r?\n((?:    [^\r\n]*\r?\n)*)\]", re.M)
_WHEEL = re.compile(r"^    " + _ENTRY + r",?\r?$", re.M)
_OTHER_TABLE = re.compile(r"^\[(?!\[package\]\]|package\.)", re.M)
#: Every inline table that opens with one of these keys is an artifact or a source.
_INLINE_OPENERS = ("{ url = ", "{ path = ", "{ filename = ", "{ url=", "{ path=", "{url")
_TRIPLE_QUOTES = ('"""', "'''")


def _scan(text: str, base: int) -> tuple[Package, ...] | None:
    """Read the packages of a lock in uv's own layout; None if the text is laid out otherwise."""
    if any(quotes in text for quotes in _TRIPLE_QUOTES):
        return None
    starts = [m.start() for m in _PACKAGE.finditer(text)]
    if starts and _OTHER_TABLE.search(text, starts[0]):
        return None
    starts.append(len(text))
    packages: list[Package] = []
    seen_inline = 0
    for number, (start, end) in enumerate(itertools.pairwise(starts)):
        section = text[start:end]
        top_end = section.find("\n[package.")
        top = section if top_end < 0 else section[:top_end]
        fields = {m.group(1): m.group(2) for m in _FIELD.finditer(top)}
        if "name" not in fields:
            return None
        source = None
        source_match = _SOURCE.search(top)
        if source_match:
            kind, value, closing = source_match.group(1, 2, 3)
            source = Source(kind, value, plain=closing == " }")
        elif "source = " in top:
            return None
        artifacts: list[Artifact] = []
        sdist = _SDIST.search(top)
        if sdist:
            artifact = _artifact("sdist", sdist, base + start, len(artifacts))
            if not artifact.filename and source is not None:  # `sdist = { hash = ... }`
                artifact = artifact._replace(filename=filename_of(source.kind, source.value))
            artifacts.append(artifact)
        elif "\nsdist = " in top:
            return None
        wheels = _WHEELS.search(top)
        if wheels:
            rows = wheels.group(1)
            offset = base + start + wheels.start(1)
            found = 0
            for wheel in _WHEEL.finditer(rows):
                artifacts.append(_artifact("wheel", wheel, offset, len(artifacts)))
                found += 1
            if found != rows.count("\n"):
                return None
        elif "\nwheels = " in top:
            return None
        seen_inline += sum(1 for a in artifacts if a.url is not None or a.path is not None)
        packages.append(
            Package(
                name=fields["name"],
                version=fields.get("version"),
                source=source,
                artifacts=tuple(artifacts),
                offset=base + start,
                position=number,
            )
        )
    openers = sum(text.count(opener) for opener in _INLINE_OPENERS)
    sources = sum(text.count(f"source = {opener}") for opener in _INLINE_OPENERS)
    if seen_inline != openers - sources:
        return None
    return tuple(packages)


def _artifact(kind: str, match: re.Match[str], offset: int, index: int) -> Artifact:
    key, value, digest, size = match.group(1, 2, 3, 4)
    if key is None:  # an entry with no location of its own: the source says where it is
        return Artifact(
            kind,
            "",
            hash=digest,
            size=int(size) if size else None,
            offset=offset + match.start(),
            position=index,
        )
    span = (offset + match.start(2), offset + match.end(2)) if key == "url" else None
    return Artifact(
        kind=kind,
        filename=filename_of(key, value),
        url=value if key == "url" else None,
        path=value if key != "url" else None,
        hash=digest,
        size=int(size) if size is not None else None,
        offset=offset + match.start(),
        span=span,
        position=index,
    )


# --- the slow path: any valid TOML ----------------------------------------------------------------


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
        entries: list[tuple[str, dict[str, Any]]] = []
        if isinstance(raw.get("sdist"), dict):
            entries.append(("sdist", raw["sdist"]))
        entries.extend(("wheel", w) for w in raw.get("wheels", []) if isinstance(w, dict))
        artifacts = []
        for index, (kind, entry) in enumerate(entries):
            key: str | None = next((k for k in ("url", "path", "filename") if k in entry), None)
            if key is None and isinstance(raw_source, dict) and "url" in raw_source:
                key, value = "source", str(raw_source["url"])
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


def filename_of(key: str, value: str) -> str:
    """The artifact's file name, from a URL (percent-decoded) or a path."""
    if key == "filename":
        return value
    if key in ("url", "source"):
        name = value.partition("#")[0].partition("?")[0].rpartition("/")[2]
        return unquote(name) if "%" in name else name
    return value.replace("\\", "/").rpartition("/")[2]


def _is_remote_url(value: str) -> bool:
    return urlsplit(value).scheme in ("http", "https")
