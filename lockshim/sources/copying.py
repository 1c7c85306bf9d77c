"""A local file's bytes as a file of its own: a bundle's member, a pip cache body, a wheel."""

from __future__ import annotations

import contextlib
import hashlib
import os
from pathlib import Path

from lockshim.atomic import new_file
from lockshim.sources.base import LocalFile

_CHUNK = 1 << 20


def copy_bytes(source: LocalFile, target: Path, algorithm: str | None = None) -> str:
    """Copy ``source.size`` bytes from ``source.offset`` into ``target`` (a new file); the
    sha256 (hex) of what was copied, or with ``algorithm`` its ``"<algorithm>:<hex>"``."""
    return copy_range(source.path, source.offset, source.size, target, algorithm)


def copy_out(source: LocalFile, target: Path, sha256: str | None = None) -> bool:
    """``target`` holding the file's bytes (a member of a bundle, a pip cache body) as a file
    of its own, replaced in one rename; with ``sha256``, only when the bytes copied have it
    (False, and nothing left behind, otherwise)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = target.with_name(f".{target.name}.{os.getpid()}.part")
    with contextlib.suppress(FileNotFoundError):
        temp.unlink()
    try:
        digest = copy_bytes(source, temp)
        if sha256 is not None and digest != sha256:
            return False
        os.replace(temp, target)
        return True
    finally:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()


def copy_range(
    source: Path, offset: int, size: int, target: Path, algorithm: str | None = None
) -> str:
    digest = hashlib.new(algorithm or "sha256")
    with open(source, "rb") as stream, new_file(target) as out:
        stream.seek(offset)
        left = size
        while left > 0 and (chunk := stream.read(min(_CHUNK, left))):
            digest.update(chunk)
            out.write(chunk)
            left -= len(chunk)
    return f"{algorithm}:{digest.hexdigest()}" if algorithm else digest.hexdigest()
