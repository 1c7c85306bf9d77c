"""What `fetch`, `bundle` and a mirror downloaded, kept once by digest in lockshim's private
cache (``downloads/<algorithm>/<xx>/<hex>``), so the same file is never downloaded twice.

A kept file is data like any cache file: it is used only while it is a regular file of yours
that only you can write, of the size asked for, and — checked on every use — with the digest it
is kept under; anything else is removed and the file downloaded again. It reaches a folder as
a hard link where it can (no second copy on disk), else as a copy. The cache is capped
(``LOCKSHIM_DOWNLOAD_CACHE_MB``, default 10,000); past the cap the least recently used files
go, and `lockshim cache prune` empties it down to any size.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path
from typing import NamedTuple

from lockshim.atomic import new_file
from lockshim.digests import ALGORITHMS, Digest, of_file
from lockshim.filenames import part_name
from lockshim.paths import user_cache_dir
from lockshim.trust import private_folder, yours

LIMIT_ENV = "LOCKSHIM_DOWNLOAD_CACHE_MB"
DEFAULT_LIMIT_MB = 10_000


def folder() -> Path:
    return user_cache_dir() / "downloads"


def _entry(digest: Digest) -> Path | None:
    if digest.algorithm not in ALGORITHMS or len(digest.hex) != ALGORITHMS[digest.algorithm]:
        return None
    return folder() / digest.algorithm / digest.hex[:2] / digest.hex


def take(digest: Digest, size: int | None, target: Path) -> int | None:
    """``target`` made to hold the kept file of this digest (linked, else copied, through a
    temporary name); its size, or None when none is kept (or it failed its checks)."""
    entry = _entry(digest)
    if entry is None:
        return None
    try:
        info = os.lstat(entry)
    except OSError:
        return None
    trusted = stat.S_ISREG(info.st_mode) and yours(info) and not info.st_mode & 0o022
    if not trusted or (size is not None and info.st_size != size):
        _remove(entry)
        return None
    if of_file(entry, (digest.algorithm,))[digest.algorithm] != digest:
        _remove(entry)  # changed since it was kept: never served, downloaded again
        return None
    try:
        _place(entry, target)
    except OSError:
        return None
    with contextlib.suppress(OSError):
        os.utime(entry)  # recently used: pruned last
    return info.st_size


def keep(path: Path, digest: Digest) -> None:
    """Keep the file just downloaded (and checked) under its digest; never fails the run."""
    entry = _entry(digest)
    if entry is None:
        return
    with contextlib.suppress(OSError):
        private_folder(folder())
        entry.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        _place(path, entry, 0o644)


class Pruned(NamedTuple):
    removed: int
    freed: int  # bytes
    left: int  # bytes


def prune(limit: int) -> Pruned:
    """Remove the least recently used kept files until the cache holds ``limit`` bytes or less."""
    entries = []
    for path in folder().glob("*/*/*"):
        with contextlib.suppress(OSError):
            info = os.lstat(path)
            if stat.S_ISREG(info.st_mode):
                entries.append((info.st_mtime_ns, info.st_size, path))
    total = sum(size for _, size, _ in entries)
    removed = freed = 0
    for _, size, path in sorted(entries):
        if total <= limit:
            break
        if _remove(path):
            total -= size
            freed += size
            removed += 1
    return Pruned(removed, freed, total)


def limit_bytes() -> int:
    try:
        megabytes = float(os.environ.get(LIMIT_ENV, DEFAULT_LIMIT_MB))
    except ValueError:
        megabytes = DEFAULT_LIMIT_MB
    return max(0, int(megabytes * 1_000_000))


def within_limit() -> None:
    """Past the cap, the least recently used files go (after a run's downloads)."""
    with contextlib.suppress(OSError):
        if folder().is_dir():
            prune(limit_bytes())


def _remove(path: Path) -> bool:
    try:
        path.unlink()
    except OSError:
        return False
    return True


def _place(source: Path, target: Path, mode: int | None = None) -> None:
    """``target`` holding ``source``'s bytes: a hard link where it can be made, else a copy,
    through a temporary name renamed into place (``mode``: set on it first); OSError, and
    nothing left behind, otherwise."""
    temporary = target.with_name(part_name(target.name))
    try:
        try:
            os.link(source, temporary)
        except OSError:  # another file system, or no hard links here
            _copy(source, temporary)
        if mode is not None:
            os.chmod(temporary, mode)
        os.replace(temporary, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()


def _copy(source: Path, target: Path) -> None:
    """A plain copy (the file was checked against its digest just before: not hashed again)."""
    with open(source, "rb") as stream, new_file(target) as out:
        while chunk := stream.read(1 << 20):
            out.write(chunk)
