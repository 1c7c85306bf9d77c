"""A wheelhouse: a folder of wheels and sdists (`pip download -d`, `lockshim fetch --dest`)."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Collection, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from lockshim.filenames import normalized
from lockshim.sources.base import WHEELHOUSE, LocalFile
from lockshim.sources.hashindex import HashIndex
from lockshim.sources.walk import OnSkip, walk

if TYPE_CHECKING:
    from lockshim.sources.download import Outcome, Wanted


class Wheelhouse:
    """Every file under ``root``, recursively: any of them may hold an artifact's bytes.

    Files keep their own names here, so the folder also serves uv as ``--find-links`` for
    build requirements.
    """

    kind = WHEELHOUSE
    rank = 0

    def __init__(self, root: Path, on_skip: OnSkip) -> None:
        self.root = root
        self.index = HashIndex.for_folder(root)
        self._on_skip = on_skip
        #: files of other projects, listed by name only: the project part of the file name as
        #: written -> their paths
        self.deferred: dict[str, list[str]] = {}
        self._projects: dict[str, str] = {}  # head -> its normalized project

    @property
    def label(self) -> str:
        return str(self.root)

    @property
    def find_links(self) -> Path | None:
        return self.root

    def scan(self, defer: Callable[[str], str | None] | None = None) -> list[LocalFile]:
        """Every file, but those for whose names ``defer`` gives a key: listed by name only, in
        :attr:`deferred` (see :func:`lockshim.sources.walk.walk`)."""
        self.deferred, self._projects = {}, {}
        self.index.also_listed = self._deferred_relatives
        return [
            LocalFile(path, self, info.st_size, info.st_mtime_ns, info.st_ino, relative)
            for path, info, relative in walk(
                self.root, WHEELHOUSE, self._on_skip, defer=defer, deferred=self.deferred
            )
        ]

    def _relative(self, path: str) -> str:
        """A listed path as the hash index keys it (under the root, forward slashes)."""
        return path[len(os.path.join(str(self.root), "")) :].replace(os.sep, "/")

    def _deferred_relatives(self) -> list[str]:
        return [self._relative(p) for paths in self.deferred.values() for p in paths]

    @property
    def listed(self) -> int:
        """How many files were listed by name only."""
        return sum(len(paths) for paths in self.deferred.values())

    def more(self, projects: Collection[str]) -> list[LocalFile]:
        """The deferred files of these (normalized) projects, looked at now."""
        if len(self._projects) != len(self.deferred):  # each head normalized once a run
            self._projects = {head: normalized(head) for head in self.deferred}
        found = []
        for head, paths in self.deferred.items():
            if self._projects[head] not in projects:
                continue
            for path in paths:
                try:
                    info = os.stat(path, follow_symlinks=False)
                except OSError:
                    continue
                if stat.S_ISREG(info.st_mode):
                    relative = self._relative(path)
                    size, mtime, inode = info.st_size, info.st_mtime_ns, info.st_ino
                    found.append(LocalFile(Path(path), self, size, mtime, inode, relative))
        return found

    def __repr__(self) -> str:
        return f"Wheelhouse({str(self.root)!r})"


def remember_downloads(dest: Path, downloaded: Sequence[Outcome]) -> None:
    """Each file just downloaded was checked by sha256 as it arrived: the wheelhouse's hash
    index keeps that digest, so a sync or plan over a fetched wheelhouse hashes nothing."""
    from lockshim.trust import open_to_others

    if not downloaded or not dest.is_dir() or open_to_others(dest):
        return  # where others can swap a file meanwhile, it is hashed when it is read
    written = {o.wanted.filename: (o.wanted.digest, o.size) for o in downloaded}
    house = Wheelhouse(dest, lambda path, reason: None)
    for file in house.scan():
        digest, size = written.get(file.name, ("", -1))
        if digest and file.path.parent == dest and file.size == size:
            house.index.remember(file, digest)
    house.index.save()


def present(wanted: Sequence[Wanted], dest: Path) -> set[str]:
    """Filenames already in ``dest`` with the pinned bytes (hashed once, via the index)."""
    if not dest.is_dir():
        return set()
    house = Wheelhouse(dest, lambda path, reason: None)
    files = {f.name: f for f in house.scan() if f.path.parent == dest}
    candidates = [files[w.filename] for w in wanted if w.filename in files]
    algorithms = {w.digest.algorithm for w in wanted}
    digests = house.index.digest_all(candidates, sorted(algorithms))
    house.index.save()
    return {
        w.filename for w in wanted if w.digest in digests.get((dest / w.filename, 0), {}).values()
    }


def bundles_in(dest: Path) -> list[LocalFile]:
    from lockshim.sources import git as gitsources

    if not dest.is_dir():
        return []
    house = Wheelhouse(dest, lambda path, reason: None)
    return [f for f in house.scan() if f.name.endswith(gitsources.BUNDLE_SUFFIX)]
