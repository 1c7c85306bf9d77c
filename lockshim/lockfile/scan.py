"""The fast path: uv.lock in uv's own layout, read with anchored regular expressions.

The scan checks itself: every inline table that could be an artifact or a source must be one it
understood; where it cannot be sure it answers None and the lock is read as TOML instead.
"""

from __future__ import annotations

import bisect
import itertools
import re
from collections.abc import Iterator, Mapping, Sequence

from lockshim.lockfile.model import (
    NORMALIZE,
    Artifact,
    ArtifactKind,
    Keep,
    Package,
    Source,
    filename_of,
)
from lockshim.lockfile.text import at_line_start, line_at

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


def scan_all(text: str, base: int, read: _Read, keep: Keep | None) -> tuple[Package, ...] | None:
    """Read the packages of a lock in uv's own layout; None if the text is laid out otherwise.

    It walks the text with ``str.find`` to each key uv writes at the start of a line and reads
    the value there with an anchored match, so that it never searches the text twice.
    ``read``: each package's place and head (:func:`package_places`).
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


def scan_only(
    text: str, base: int, read: _Read, digests: Mapping[str, Sequence[str]], keep: Keep | None
) -> tuple[Package, ...] | None:
    """Like :func:`scan_all`, reading only the wheel entries that pin one of ``digests``, and the
    wheels of packages named like a file whose digest the text lacks (read with ``keep``).

    Each package's name, version, source and sdist are read as :func:`scan_all` reads them. The
    wheel entries are not walked: every place a wanted digest stands in the text is found with
    one split, and its line must be a whole wheel entry inside its package's ``wheels`` array,
    every line above it one entry of its own (so the array stays open up to it and the count
    of lines is its position). Anything else, or a lock where some artifact ``url`` has no
    sha256 beside it (a file named like it is then reported, never served; :func:`scan_all` sees
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
        artifacts = list(sdist)  # the heads stay as read, for scan_all should this give up
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
        yield NORMALIZE.sub("-", "-".join(parts[:end])).lower()


#: A package's first fields as read: name, version, source, its sdist (a list the wheels are
#: added to), and where its wheels may start.
_Head = tuple[str, str | None, Source | None, list[Artifact], int]


#: Where each package starts, where its own table ends, and its head.
_Read = tuple[list[int], list[int], list[_Head]]


def package_places(text: str, base: int) -> _Read | None:
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
    for at in at_line_start(text, "["):
        if text.startswith("[[package]]", at):
            if line_at(text, at) != "[[package]]":
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


def _artifact(kind: ArtifactKind, match: re.Match[str], base: int, index: int) -> Artifact:
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
