"""Replacing a file atomically (a temp file beside it, fsync, ``os.replace``, fsync the folder),
and reading one of lockshim's own files without trusting what is there."""

from __future__ import annotations

import contextlib
import itertools
import os
import stat
from pathlib import Path
from typing import BinaryIO

_counter = itertools.count()
#: Windows errors of a file another process holds open (an antivirus scan, the search
#: indexer, an editor, OneDrive): access denied, sharing violation, lock violation.
_HELD_ELSEWHERE = (5, 32, 33)
#: How long a replace is retried while the file is held elsewhere (as uv and pip do).
RETRY_SECONDS = 2.5


def replace(source: Path, target: Path, *, patience: float = RETRY_SECONDS) -> None:
    """``os.replace``, retried with backoff for up to ``patience`` seconds while Windows says
    another process holds one of the files open; that error (or any other) is raised after."""
    import time

    waited, pause = 0.0, 0.05
    while True:
        try:
            os.replace(source, target)
            return
        except PermissionError as error:
            if getattr(error, "winerror", None) not in _HELD_ELSEWHERE or waited >= patience:
                raise
        time.sleep(pause)
        waited += pause
        pause = min(pause * 2, 0.5)


def new_file(path: Path, mode: int = 0o644) -> BinaryIO:
    """``path``, created now and open for writing bytes: never a file that was there, never
    through a symbolic link, and on Windows never in the C runtime's text mode (an ``os.open``
    without ``O_BINARY`` writes every LF as CRLF there)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
    flags |= getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
    return open(os.open(path, flags, mode), "wb")


def atomic_write(
    path: Path,
    data: bytes,
    mode: int,
    *,
    durable: bool = True,
    owner: tuple[int, int] | None = None,
) -> None:
    """Replace ``path`` with ``data`` (permission bits ``mode``); never a half-written file.

    The temp file is made in the same folder with an exclusive create (no ``tempfile``: it costs
    more to import than this whole write). ``durable`` fsyncs the file and the folder. ``owner``
    (uid, gid) is kept where this process may set it (a root run over a user's repository).
    """
    temp = path.with_name(f".{path.name}.{os.getpid()}.{next(_counter)}.lockshim-tmp")
    try:
        with new_file(temp, 0o600) as stream:
            stream.write(data)
            stream.flush()
            if owner is not None and hasattr(os, "fchown"):
                with contextlib.suppress(OSError):
                    if os.fstat(stream.fileno())[4:6] != owner:
                        os.fchown(stream.fileno(), *owner)
            if hasattr(os, "fchmod"):
                os.fchmod(stream.fileno(), mode & 0o777)
            if durable:
                os.fsync(stream.fileno())
        if not hasattr(os, "fchmod"):
            os.chmod(temp, mode & 0o777)
        replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    if durable:
        fsync_dir(path.parent)


def read_regular(path: Path) -> bytes:
    """The bytes of ``path`` if it is a regular file; OSError for anything else.

    Never follows a symlink and never blocks on a FIFO or device: a file lockshim wrote (a
    journal, an index) may have been replaced by anyone who can write the folder.
    """
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    with open(os.open(path, flags | getattr(os, "O_BINARY", 0)), "rb") as stream:
        if not stat.S_ISREG(os.fstat(stream.fileno()).st_mode):
            raise OSError(0, "not a regular file (a FIFO, socket or device)", str(path))
        return stream.read()


def fsync_dir(folder: Path) -> None:
    """Make a rename or unlink in ``folder`` durable (where the platform can)."""
    with contextlib.suppress(OSError):  # not every platform can open a folder
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
