"""What uv.lock holds, as lockshim reads it: packages, their sources and artifacts, and where
each artifact's location stands in the text.

Records here and across lockshim are immutable ``NamedTuple``s rather than frozen dataclasses:
on the `lockshim sync` path, importing dataclasses and building a dozen frozen classes cost
~50 ms of start-up on the reference machine, more than uv's whole no-op sync.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Collection, Iterator
from pathlib import Path
from typing import Literal, NamedTuple
from urllib.parse import unquote, urlsplit

from lockshim.digests import Digest, parse
from lockshim.lockfile.text import newlines

#: Source kinds whose artifacts uv downloads, so that a local file can stand in: a registry's
#: artifacts by their own ``url``; a direct URL source (``foo @ https://...``) only by turning it
#: into a path source for the run (uv always downloads it from its *source* URL).
SERVABLE_SOURCES = frozenset({"registry", "url"})
#: Source kinds of the packages uv builds from the project's own folders; uv.lock records
#: their requirements (lockshim.lockfile.freshness compares them with pyproject.toml).
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


ArtifactKind = Literal["sdist", "wheel"]


class Artifact(NamedTuple):
    """One ``sdist`` or ``wheels`` entry.

    ``span`` is where the ``url`` string's contents stand in the lock text (the characters
    between the quotes), or None when the lock was read by the slow path.
    """

    kind: ArtifactKind
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
        digest = self.digest
        return digest.hex if digest is not None and digest.algorithm == "sha256" else None

    @property
    def digest(self) -> Digest | None:
        """The digest the lock pins, ``"<algorithm>:<hex>"``, when it is one lockshim checks
        (sha256, sha384, sha512); None otherwise (none, or md5, blake2b, ...)."""
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
        return bisect.bisect_left(newlines(self.text), offset) + 1

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


NORMALIZE = re.compile(r"[-_.]+")


def named(names: Collection[str]) -> Keep:
    """Keep the entries whose file name is among ``names`` (and any entry without a location):
    a lock read again for the files a run looked up by name."""

    def keep(key: str | None, location: str | None, digest: str | None, size: str | None) -> bool:
        return location is None or filename_of(key or "url", location) in names

    return keep


def by_digest(digests: frozenset[str]) -> Keep:
    def keep(key: str | None, location: str | None, digest: str | None, size: str | None) -> bool:
        return digest is not None and digest[7:].lower() in digests

    return keep


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
