"""Where the bytes a lock pins may already be on this machine: the local file sources.

Every source (a wheelhouse folder, pip's HTTP cache, and later bundles) lists its files as
:class:`LocalFile` records and keeps one hash index. Matching, rewriting, the shim and the sync
never ask which kind of source a file came from beyond its ``kind`` label and ``rank``: a new
source plugs in here and nowhere else.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple, Protocol

if TYPE_CHECKING:
    from lockshim.sources.hashindex import HashIndex

WHEELHOUSE = "wheelhouse"
PIP_CACHE = "pip cache"


class FileSource(Protocol):
    """A place holding files that may carry an artifact's bytes."""

    #: What kind of place: WHEELHOUSE or PIP_CACHE (shown in messages and `plan --json`).
    kind: str
    #: The folder every file of this source lies under.
    root: Path
    #: When two sources hold the same bytes, the lower rank is served.
    rank: int
    #: The sha256 of its files, remembered across runs.
    index: HashIndex

    @property
    def label(self) -> str:
        """Where the files come from, for messages (a folder, or "pip's cache")."""
        ...

    @property
    def find_links(self) -> Path | None:
        """A folder uv may read with ``--find-links`` (build requirements), if any."""
        ...

    def scan(self) -> list[LocalFile]:
        """Every file that may hold an artifact's bytes; raises LockshimError if unreadable."""
        ...


class LocalFile(NamedTuple):
    """Bytes on this machine: ``size`` bytes of ``path`` from ``offset``.

    The stat fields key the hash index; ``relative`` (the path under the source's root, with
    forward slashes) is the index's key.
    """

    path: Path
    source: FileSource
    size: int
    mtime_ns: int
    inode: int
    relative: str
    offset: int = 0  # where the bytes start in ``path`` (old pip cache entries, bundles)
    member: str | None = None  # the file's own name inside ``path`` (a bundle's member)

    @property
    def name(self) -> str:
        return self.member if self.member is not None else self.path.name

    @property
    def key(self) -> tuple[Path, int]:
        """What tells two local files apart (members of one bundle share its path)."""
        return self.path, self.offset

    @property
    def where(self) -> str:
        """The file, for messages."""
        return f"{self.path}:{self.member}" if self.member is not None else str(self.path)

    @property
    def origin(self) -> str:
        return self.source.kind
