"""Whose a file is: the two questions lockshim asks before it believes or removes anything.

Used by the journal check (:mod:`lockshim.shim.journal`), staging removal, hash indexes, build
records, sync's memo of what is missing, and sync's warning about shared folders.
``lockshim/commands/resync.py`` asks the same of its memo inline: its fast path imports nothing
of lockshim.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path


def yours(info: os.stat_result) -> bool:
    """Owned by the user running lockshim (always true where the platform has no owners)."""
    return not hasattr(os, "getuid") or info.st_uid == os.getuid()


def others_can_write(info: os.stat_result) -> bool:
    """Its group or everyone may write it (POSIX permission bits)."""
    return bool(info.st_mode & (stat.S_IWGRP | stat.S_IWOTH))


def private(path: Path) -> bool:
    """Nobody but you (or root) can change what is there: not a symlink, owned by you or root,
    not writable by group or others."""
    try:
        info = os.lstat(path)
    except OSError:
        return False
    if stat.S_ISLNK(info.st_mode) or _shared(info):
        return False
    return yours(info) or info.st_uid == 0


def tightened(folder: Path) -> bool:
    """``folder`` is yours, a real folder, and open to your group at most: its mode is set to
    0700 (True). Else False: a folder everyone may write (1777) may hold what others planted,
    whatever its mode becomes."""
    try:
        info = os.lstat(folder)
        if stat.S_ISLNK(info.st_mode) or not stat.S_ISDIR(info.st_mode) or not yours(info):
            return False
        if info.st_mode & stat.S_IWOTH:
            return False
        if not hasattr(os, "getuid"):
            return True  # no owners, no modes to tighten (Windows: see README)
        os.chmod(folder, 0o700)
    except OSError:
        return False
    return private(folder)


def _shared(info: os.stat_result) -> bool:
    """Writable by others, where permission bits say so (Windows reports 0o666 for every
    writable file: its access lists are not read here)."""
    return os.name == "posix" and others_can_write(info)


def read_private(path: Path) -> bytes:
    """The bytes of a file lockshim wrote for itself, when nobody else can have written it:
    a regular file with one name, yours and closed to others, in a folder that is private
    too; OSError otherwise. (Where its cache folder is shared, another user could plant a
    file, or a symlink to one of yours, under the name lockshim reads.)"""
    if not private(path.parent):
        raise OSError(0, "its folder can be written by others", str(path.parent))
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    with open(os.open(path, flags | getattr(os, "O_BINARY", 0)), "rb") as stream:
        info = os.fstat(stream.fileno())
        if not stat.S_ISREG(info.st_mode) or info.st_nlink != 1:
            raise OSError(0, "not a regular file of one name", str(path))
        if _shared(info) or not (yours(info) or info.st_uid == 0):
            raise OSError(0, "not yours, or writable by others", str(path))
        return stream.read()


def private_folder(folder: Path) -> Path:
    """``folder`` made (0700) if missing; OSError when it is there and not private."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    if not private(folder):
        raise OSError(
            0, "can be written by others: lockshim keeps nothing of its own there", str(folder)
        )
    return folder


def open_to_others(path: Path) -> bool:
    """Another user can change what is at ``path`` (followed through symlinks): writable by
    group or others, or owned by someone else than you or root."""
    try:
        info = os.stat(path)
    except OSError:
        return False
    return _shared(info) or not (yours(info) or info.st_uid == 0)
