"""Staging: served files that uv needs under another name, or as private copies.

uv reads an artifact through its ``file://`` URL, and the file name must be the lock's. A pip
cache body, a wheelhouse file saved under another name or the bytes inside an old pip cache
entry are linked (or copied) into a private staging folder under the lock's file name. A direct
URL package becomes a ``path`` source, whose hash uv does not check: its bytes are always copied
and verified here, so what uv installs is what the lock pins, whatever the folder or the hash
index say.

The staging folder lives in lockshim's cache (``staging/lockshim-staging-*``) and holds a marker
with a random token that the journal records. Only a folder passing every check (that place,
that name pattern, a real folder owned by this user, that marker with that token) is removed:
a journal is data, and naming another folder in it removes nothing.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import NamedTuple

from lockshim.errors import LockshimError
from lockshim.filenames import require_plain, unsafe
from lockshim.paths import user_cache_dir
from lockshim.sources.copying import copy_bytes, copy_range
from lockshim.sources.match import Served
from lockshim.trust import yours

PREFIX = "lockshim-staging-"
MARKER = ".lockshim-staging"
_NAME = re.compile(r"lockshim-staging-[A-Za-z0-9_]{6,64}\Z")


class Staged(NamedTuple):
    #: (package position, artifact position) -> the local path uv reads.
    paths: dict[tuple[int, int], Path]
    folder: Path | None
    token: str | None


def staging_root() -> Path:
    return user_cache_dir() / "staging"


@contextlib.contextmanager
def staged(
    served: Sequence[Served],
    lock_name: str,
    build: Sequence[tuple[str, int, int, str]] = (),
) -> Iterator[Staged]:
    """The local path of each served artifact, staging what must be; cleaned up afterwards.

    ``build``: wheels a build needs, as (path, offset, size, wheel file name), staged under
    their names too (the folder then goes to uv as ``--find-links``). One that is gone is
    left out: uv says what it lacks.
    """
    paths: dict[tuple[int, int], Path] = {}
    folder: Path | None = None
    token: str | None = None
    try:
        for item in served:
            path = item.file.path
            copy = item.package.source_kind == "url"  # a path source: uv checks no hash
            if item.renamed or item.file.offset or copy:
                name = require_plain(item.artifact.filename, item.package.label, lock_name)
                if folder is None:
                    folder, token = _make()
                path = folder / name
                if not path.exists():
                    try:
                        _stage(item, path, copy=copy)
                    except OSError as error:
                        raise LockshimError(
                            f"{item.file.path}: cannot be staged for {item.package.label} as "
                            f"{name} ({error.strerror or error}); uv.lock was not changed. Free "
                            f"some space in {staging_root()}, or set LOCKSHIM_CACHE_DIR."
                        ) from None
            paths[(item.package.position, item.artifact.position)] = path.absolute()
        for source, offset, size, filename in build:
            if unsafe(filename) is not None:
                continue
            if folder is None:
                folder, token = _make()
            target = folder / filename
            if not target.exists():
                with contextlib.suppress(OSError):
                    _place_bytes(Path(source), offset, size, target)
        yield Staged(paths, folder, token)
    finally:
        if folder is not None and token is not None:
            remove(folder, token)


def _make() -> tuple[Path, str]:
    import tempfile

    root = staging_root()
    root.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix=PREFIX, dir=root))
    token = os.urandom(16).hex()
    with open(folder / MARKER, "x", encoding="ascii") as marker:
        marker.write(token)
    return folder, token


def _stage(item: Served, target: Path, *, copy: bool) -> None:
    """``target`` holding the artifact's bytes: a hard link where it can, else a copy; a
    verified copy for ``copy``."""
    source = item.file
    if copy or source.offset:  # copied bytes are checked as they are copied
        pinned = item.artifact.digest
        digest = copy_bytes(source, target, pinned.algorithm if pinned else "sha256")
        if digest != pinned:
            raise LockshimError(
                f"{source.path}: its bytes changed after they were checked ({digest}, but "
                f"uv.lock pins {pinned} for {item.package.label}, "
                f"{item.artifact.filename}); it was not used and uv.lock was not changed. If a "
                "hash index beside the folder is wrong, delete it (.lockshim-index.json); then "
                "run lockshim again."
            )
        return
    try:
        os.link(source.path, target, follow_symlinks=True)
    except OSError:
        copy_bytes(source, target)


def _place_bytes(source: Path, offset: int, size: int, target: Path) -> None:
    if offset:
        copy_range(source, offset, size, target)
        return
    try:
        os.link(source, target)
    except OSError:
        copy_range(source, 0, size, target)


def remove(folder: Path, token: str) -> str | None:
    """Remove a staging folder lockshim made; None when removed (or already gone), else why it
    was left alone."""
    try:
        info = os.lstat(folder)
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as error:  # ValueError: a NUL in the name
        return f"cannot be inspected ({getattr(error, 'strerror', None) or error})"
    if not folder.is_absolute() or not _NAME.match(folder.name):
        return "it is not named like a lockshim staging folder"
    try:
        same_place = os.path.samefile(folder.parent, staging_root())
    except OSError:
        same_place = False
    if not same_place:
        return f"it is not in lockshim's staging folder ({staging_root()})"
    if not stat.S_ISDIR(info.st_mode):
        return "it is not a folder (a symlink or a file)"
    if not yours(info):
        return "it is not owned by you"
    try:
        marker = folder / MARKER
        if not stat.S_ISREG(os.lstat(marker).st_mode):
            return "its marker is not a regular file"
        with open(marker, encoding="ascii") as stream:
            written = stream.read(128)
    except (OSError, ValueError):
        return "it holds no lockshim marker"
    if written != token:
        return "its marker belongs to another run"
    import shutil

    shutil.rmtree(folder, ignore_errors=True)
    return None
