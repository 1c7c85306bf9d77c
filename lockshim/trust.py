"""Whose a file is: the two questions lockshim asks before it believes or removes anything.

Used by the journal check (:mod:`lockshim.shim`), staging removal, hash indexes, build records
and sync's warning about shared build-wheel folders. ``lockshim/resync.py`` asks the same of its
memo inline: its fast path imports nothing of lockshim.
"""

from __future__ import annotations

import os
import stat


def yours(info: os.stat_result) -> bool:
    """Owned by the user running lockshim (always true where the platform has no owners)."""
    return not hasattr(os, "getuid") or info.st_uid == os.getuid()


def others_can_write(info: os.stat_result) -> bool:
    """Its group or everyone may write it (POSIX permission bits)."""
    return bool(info.st_mode & (stat.S_IWGRP | stat.S_IWOTH))
