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
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import unquote, urlsplit

from lockshim._compat import tomllib
from lockshim.errors import LockError

SUPPORTED_VERSIONS = (1,)

#: Source kinds whose artifacts uv downloads, so that a local file can stand in: a registry's
#: artifacts by their own ``url``; a direct URL source (``foo @ https://...``) only by turning it
#: into a path source for the run (uv always downloads it from its *source* URL).
SERVABLE_SOURCES = frozenset({"registry", "url"})
#: Source kinds of the packages uv builds from the project's own folders; uv.lock records
#: their requirements (lockshim.freshness compares them with pyproject.toml).
PROJECT_SOURCES = frozenset({"editable", "virtual", "directory"})


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

    @property
    def digest(self) -> str | None:
        """The digest the lock pins, ``"<algorithm>:<hex>"``, when it is one lockshim checks
        (sha256, sha384, sha512); None otherwise (none, or md5, blake2b, ...)."""
        from lockshim.digests import parse

        return parse(self.hash)


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


#: Which wheel entries to read in full: (key, location, hash, size) as written -> keep it?
Keep = Callable[[str | None, str | None, str | None, str | None], bool]


class Lock(NamedTuple):
    path: Path
    text: str
    version: int
    revision: int
    packages: tuple[Package, ...]
    fast: bool  # read by the regular-expression scan (spans known)
    #: When set, the fast scan read in full only the wheel entries this accepts (the others are
    #: checked for layout and counted, never built): a big lock read for a small wheelhouse.
    keep: Keep | None = None

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
            for at in _at_line_start(text, marker)
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
    if "distribution" in header or next(_at_line_start(body, "[[distribution]]"), None) is not None:
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
    read = None if strict else _packages(body, offset)  # each package's place and head, once
    packages = None
    if read is not None and only is not None:
        packages = _scan_only(body, offset, read, only, keep)
        keep = keep or _by_digest(frozenset(only))
    if read is not None and packages is None:
        packages = _scan(body, offset, read, keep)
    if packages is not None:
        return Lock(path, text, version, revision, packages, fast=True, keep=keep)
    document = _loads(body, path)
    return Lock(path, text, version, revision, _from_document(document, body, offset), False)


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


def _at_line_start(text: str, prefix: str, start: int = 0) -> Iterator[int]:
    """Positions of ``prefix`` at the start of a line, from ``start`` (``str.find``: fast)."""
    if start == 0 and text.startswith(prefix):
        yield 0
    needle = "\n" + prefix
    at = text.find(needle, start)
    while at >= 0:
        yield at + 1
        at = text.find(needle, at + 1)


def _line(text: str, at: int) -> str:
    """The line that starts at ``at``, without trailing blanks or line ending."""
    end = text.find("\n", at)
    return text[at : end if end >= 0 else len(text)].rstrip(" \t\r")


def _first_package(text: str) -> int:
    for at in _at_line_start(text, "[[package]]"):
        if _line(text, at) == "[[package]]":
            return at
    return len(text)


# --- the fast path: uv's own layout --------------------------------------------------------------

_STR = r'"([^"\\\r\n]*)"'
_VALUE = re.compile(_STR + r"[ \t]*\r?$", re.M)
_SOURCE = re.compile(r"\{ (\w+) = " + _STR + r"( \}|,)")
_NEXT = r"(?:, |(?= \}))"  # each field is followed by another or by the closing brace
#: An artifact entry exactly as uv writes it: these fields, in this order, each optional.
_ENTRY = (
    r"\{ "
    r'(?:(url|path|filename) = "([^"\\\r\n]*)"' + _NEXT + ")?"
    r'(?:hash = "([^"\\\r\n]*)"' + _NEXT + ")?"
    r"(?:size = (\d+)" + _NEXT + ")?"
    r'(?:upload-time = "[^"\\\r\n]*"' + _NEXT + ")?"
    r'(?:zstd = \{ hash = "[^"\\\r\n]*", size = \d+ \}' + _NEXT + ")?"
    r" \}"
)
_SDIST = re.compile(_ENTRY + r"[ \t]*\r?$", re.M)
#: A package's first lines as uv writes them: name, version, source.
_HEAD = re.compile(
    r"\[\[package\]\][ \t]*\r?\n"
    + r"name = "
    + _STR
    + r"[ \t]*\r?\n"
    + r"version = "
    + _STR
    + r"[ \t]*\r?\n"
    + r"source = \{ (\w+) = "
    + _STR
    + r"( \}|,)"
)
_WHEEL = re.compile(r"    " + _ENTRY + r",?\r?\n")
#: Inline tables that open with these keys, with any spacing: each must be an artifact the scan
#: read, or a source (``source = { url = ...``); otherwise the lock is laid out unlike uv's own.
_OPENER = re.compile(r"\{[ \t]*(?:url|path|filename)[ \t]*=")
_SOURCE_OPENER = re.compile(r"source[ \t]*=[ \t]*\{[ \t]*(?:url|path|filename)[ \t]*=")


def _scan(text: str, base: int, read: _Read, keep: Keep | None) -> tuple[Package, ...] | None:
    """Read the packages of a lock in uv's own layout; None if the text is laid out otherwise.

    It walks the text with ``str.find`` to each key uv writes at the start of a line and reads
    the value there with an anchored match, so that it never searches the text twice.
    ``read``: each package's place and head (:func:`_packages`).
    """
    starts, tops, heads = read
    packages: list[Package] = []
    seen = 0
    for number, (name, version, source, artifacts, after) in enumerate(heads):
        skipped = _read_wheels(text, after, tops[number], base, keep, artifacts)
        if skipped is None:
            return None
        seen += skipped + sum(1 for a in artifacts if a.url is not None or a.path is not None)
        packages.append(
            Package(name, version, source, tuple(artifacts), base + starts[number], number)
        )
    if seen != len(_OPENER.findall(text)) - len(_SOURCE_OPENER.findall(text)):
        return None
    return tuple(packages)


def _scan_only(
    text: str, base: int, read: _Read, digests: Mapping[str, Sequence[str]], keep: Keep | None
) -> tuple[Package, ...] | None:
    """Like :func:`_scan`, reading only the wheel entries that pin one of ``digests``, and the
    wheels of packages named like a file whose digest the text lacks (read with ``keep``).

    Each package's name, version, source and sdist are read as :func:`_scan` reads them. The
    wheel entries are not walked: every place a wanted digest stands in the text is found with
    one split, and its line must be a whole wheel entry inside its package's ``wheels`` array,
    every line above it one entry of its own (so the array stays open up to it and the count
    of lines is its position). Anything else, or a lock where some artifact ``url`` has no
    sha256 beside it (a file named like it is then reported, never served; :func:`_scan` sees
    those), gives None. Digests are looked for as uv writes them, lowercase: one written
    otherwise is found through its file's name (the package is then read in full), not its
    bytes.
    """
    pieces = text.split("sha256:")
    urls = text.count("{ url = ")
    if len(pieces) - 1 < urls and len(pieces) - 1 < urls - text.count("source = { url = "):
        return None  # some artifact url has no sha256
    starts, tops, heads = read
    lines: dict[int, set[int]] = {}  # package number -> starts of lines holding a wanted digest
    digest_at = [piece[:64] for piece in pieces]
    hits = [number for number in range(1, len(pieces)) if digest_at[number] in digests]
    if hits:
        ends = list(itertools.accumulate(map(len, pieces)))  # each piece's end, less the seps
        for number in hits:
            at = ends[number - 1] + 7 * number  # where the digest after the separator starts
            line = text.rfind("\n", 0, at) + 1
            package = bisect.bisect_right(starts, line) - 1
            if package < 0:
                return None  # in the header: not an artifact
            lines.setdefault(package, set()).add(line)
    # First every package's head and its wanted rows, each checked where it stands; then the
    # packages named like a file whose digest no row (nor sdist) turned out to pin.
    found: set[str] = set()
    served: list[list[Artifact]] = []
    for number, (_, _, _, artifacts, after) in enumerate(heads):
        top = tops[number]
        found.update(a.sha256 for a in artifacts if a.sha256 is not None and a.sha256 in digests)
        wheels: list[Artifact] = []
        wanted = lines.get(number)
        if wanted:
            rows, close = _wheel_rows(text, after, top)
            for line in sorted(wanted):
                if text.startswith("sdist = ", line):
                    continue  # read with the package's head
                if not rows < line <= close or not _rows_above(text, rows, line):
                    return None  # a digest outside the wheel rows, or rows not one a line
                match = _WHEEL.match(text, line)
                if match is None:
                    return None
                algorithm, _, digest = (match.group(3) or "").partition(":")
                if algorithm.lower() != "sha256" or digest.lower() not in digests:
                    continue  # the digest stands in the url: not this entry's own
                found.add(digest.lower())
                index = len(artifacts) + text.count("\n", rows, line) - 1
                wheels.append(_artifact("wheel", match, base, index))
        served.append(wheels)
    named = {
        project
        for digest, names in digests.items()
        if digest not in found
        for name in names
        for project in _projects_named(name)
    }
    packages: list[Package] = []
    for number, (name, version, source, sdist, after) in enumerate(heads):
        artifacts = list(sdist)  # the heads stay as read, for _scan should this give up
        if name in named:  # a file named like it holds other bytes: read all its wheels
            if _read_wheels(text, after, tops[number], base, keep, artifacts) is None:
                return None
        else:
            artifacts += served[number]
        packages.append(
            Package(name, version, source, tuple(artifacts), base + starts[number], number)
        )
    return tuple(packages)


def _rows_above(text: str, rows: int, line: int) -> bool:
    """Every line from the array's opening to ``line`` is one inline table of its own (starts
    like a row, one brace each but a row's ``zstd`` table, no bracket): ``line`` is then the
    array's element number (lines above), whatever those rows hold."""
    above = text.count("\n", rows, line) - 1
    return (
        text.count("\n    { ", rows, line + 6) == above + 1
        and text.count("{", rows, line) == above + text.count("zstd = {", rows, line)
        and text.find("[", rows + 1, line) < 0
        and text.find("]", rows, line) < 0
    )


def _projects_named(filename: str) -> Iterator[str]:
    """The project names a file's name may start with (``a-b-1.0.tar.gz``: a, a-b, a-b-1.0),
    normalized as uv writes them."""
    parts = filename.split("-")
    for end in range(1, len(parts)):
        yield _NORMALIZE.sub("-", "-".join(parts[:end])).lower()


_NORMALIZE = re.compile(r"[-_.]+")


def named(names: Collection[str]) -> Keep:
    """Keep the entries whose file name is among ``names`` (and any entry without a location):
    a lock read again for the files a run looked up by name."""

    def keep(key: str | None, location: str | None, digest: str | None, size: str | None) -> bool:
        return location is None or filename_of(key or "url", location) in names

    return keep


def _by_digest(digests: frozenset[str]) -> Keep:
    def keep(key: str | None, location: str | None, digest: str | None, size: str | None) -> bool:
        return digest is not None and digest[7:].lower() in digests

    return keep


#: A package's first fields as read: name, version, source, its sdist (a list the wheels are
#: added to), and where its wheels may start.
_Head = tuple[str, str | None, Source | None, list[Artifact], int]


#: Where each package starts, where its own table ends, and its head.
_Read = tuple[list[int], list[int], list[_Head]]


def _packages(text: str, base: int) -> _Read | None:
    """Where each package starts and its own table ends (see :func:`_layout`), and its head;
    None when the fast scans cannot read the text."""
    layout = _layout(text)
    if layout is None:
        return None
    starts, tops = layout
    heads = []
    for start, top in zip(starts, tops, strict=True):
        head = _head(text, start, top, base)
        if head is None:
            return None
        heads.append(head)
    return starts, tops, heads


def _layout(text: str) -> tuple[list[int], list[int]] | None:
    """Where each package starts, and where its own table ends (its first ``[package.*]``
    sub-table, or the next package); None when the text holds what the fast scans do not read:
    multi-line strings, a ``[[package]]`` line with more on it, or tables other than a
    package's after the first package."""
    if '"""' in text or "'''" in text:
        return None
    starts: list[int] = []
    tops: list[int] = []
    for at in _at_line_start(text, "["):
        if text.startswith("[[package]]", at):
            if _line(text, at) != "[[package]]":
                return None
            if len(tops) < len(starts):
                tops.append(at)
            starts.append(at)
        elif not starts:
            continue  # the lock's own tables, before any package
        elif not text.startswith("[package.", at):
            return None
        elif len(tops) < len(starts):
            tops.append(at)
    if len(tops) < len(starts):
        tops.append(len(text))
    return starts, tops


def _head(text: str, start: int, top: int, base: int) -> _Head | None:
    """A package's name, version, source and sdist (its table runs from ``start`` to ``top``),
    and where its wheels may start (after these lines)."""
    match = _HEAD.match(text, start, top)
    if match is not None and match.group(1):  # name, version, source where uv writes them
        name, version, kind, value, closing = match.group(1, 2, 3, 4, 5)
        source: Source | None = Source(kind, value, closing == " }")
        after = match.end()
    else:
        name = _field(text, "\nname = ", start, top)
        if not name:
            return None
        version = _field(text, "\nversion = ", start, top)
        source = None
        at = text.find("\nsource = ", start, top)
        if at >= 0:
            found = _SOURCE.match(text, at + 10)
            if found is None:
                return None
            kind, value, closing = found.group(1, 2, 3)
            source = Source(kind, value, closing == " }")
        after = start
    artifacts: list[Artifact] = []
    at = text.find("\nsdist = ", after, top)
    if at >= 0:
        match = _SDIST.match(text, at + 9)
        if match is None:
            return None
        artifact = _artifact("sdist", match, base, 0)
        if not artifact.filename and source is not None:  # `sdist = { hash = ... }`
            artifact = artifact._replace(filename=filename_of(source.kind, source.value))
        artifacts.append(artifact)
        after = match.end()
    return name, version, source, artifacts, after


def _read_wheels(
    text: str, start: int, top: int, base: int, keep: Keep | None, artifacts: list[Artifact]
) -> int | None:
    """Append the package's wheel entries ``keep`` accepts to ``artifacts``, checking every
    row's layout; the number of entries with a location left out, or None if not uv's layout."""
    rows, close = _wheel_rows(text, start, top)
    if rows < 0:
        return None
    skipped = 0
    position = rows + 1
    index = len(artifacts)
    while position <= close:
        match = _WHEEL.match(text, position)
        if match is None:
            return None
        if keep is None or keep(*match.group(1, 2, 3, 4)):
            artifacts.append(_artifact("wheel", match, base, index))
        elif match.group(1) is not None:
            skipped += 1  # read for its layout, not built
        index += 1
        position = match.end()
    return skipped


def _wheel_rows(text: str, start: int, top: int) -> tuple[int, int]:
    """Where a package's ``wheels = [`` line ends and where its closing ``]`` line starts (each
    at a newline): (0, -1) when it has no wheels, (-1, -1) when they are not in uv's layout."""
    at = text.find("\nwheels = [", start, top)
    if at < 0:
        return 0, -1
    rows = at + 11  # just after `wheels = [`
    if text.startswith("\r\n", rows):
        rows += 1
    if not text.startswith("\n", rows):
        return -1, -1  # an inline array: not uv's layout
    close = text.find("\n]", rows, top)
    return (rows, close) if close >= 0 else (-1, -1)


def _field(text: str, key: str, start: int, end: int) -> str | None:
    """The basic-string value of ``key`` (a line start) between ``start`` and ``end``."""
    at = text.find(key, start, end)
    if at < 0:
        return None
    match = _VALUE.match(text, at + len(key))
    return match.group(1) if match else None


def _artifact(kind: str, match: re.Match[str], base: int, index: int) -> Artifact:
    key, value, digest, size = match.group(1, 2, 3, 4)
    offset = base + match.start()
    if key is None:  # an entry with no location of its own: the source says where it is
        return Artifact(
            kind, "", None, None, digest, int(size) if size else None, offset, None, index
        )
    if key == "url":
        span = (base + match.start(2), base + match.end(2))
        return Artifact(
            kind,
            filename_of(key, value),
            value,
            None,
            digest,
            int(size) if size else None,
            offset,
            span,
            index,
        )
    return Artifact(
        kind,
        filename_of(key, value),
        None,
        value,
        digest,
        int(size) if size else None,
        offset,
        None,
        index,
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
