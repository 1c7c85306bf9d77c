"""A wheelhouse: a folder of wheels and sdists (`pip download -d`, `lockshim fetch --dest`)."""

from __future__ import annotations

from pathlib import Path

from lockshim.hashindex import HashIndex
from lockshim.sources import WHEELHOUSE, LocalFile
from lockshim.sources.walk import OnSkip, walk


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

    @property
    def label(self) -> str:
        return str(self.root)

    @property
    def find_links(self) -> Path | None:
        return self.root

    def scan(self) -> list[LocalFile]:
        return [
            LocalFile(path, self, info.st_size, info.st_mtime_ns, info.st_ino, relative)
            for path, info, relative in walk(self.root, WHEELHOUSE, self._on_skip)
        ]

    def __repr__(self) -> str:
        return f"Wheelhouse({str(self.root)!r})"
