"""The shimmed lock in place for one uv run, and the original back in ``finally``.

The pattern is pre-commit's stash of unstaged changes: the journal is written and fsynced
before uv.lock changes; signals are held while the files move.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
from collections.abc import Iterator
from pathlib import Path

from lockshim.atomic import atomic_write
from lockshim.errors import Interrupted, LockshimError, RestoreConflict
from lockshim.shim.guard import signals_deferred
from lockshim.shim.journal import journal_path, unwritable, write_journal
from lockshim.shim.restore import restore

#: The last line of every lock lockshim shims (a TOML comment: uv reads past it): a lock left
#: shimmed is recognisable on its own, in a clone with no journal and no mirror configured.
MARKER = "# lockshim: shimmed for one run of `lockshim sync`"


def marked(shimmed: bytes, changed: int) -> bytes:
    """``shimmed`` with :data:`MARKER` as its last line, saying how many artifacts point
    elsewhere than the lock says (in the lock's own line endings)."""
    newline = b"\r\n" if b"\r\n" in shimmed[:4096] else b"\n"
    line = (
        f"{MARKER} ({changed} artifact{'s' if changed != 1 else ''} point at local files or a "
        "mirror); never commit it: `lockshim restore`, or `git checkout HEAD -- uv.lock`"
    ).encode()
    ending = b"" if shimmed.endswith(newline) or not shimmed else newline
    return shimmed + ending + line + newline


def marker_count(text: str) -> int | None:
    """The number of shimmed artifacts the marker in ``text`` names (None: no marker)."""

    found = re.search(re.escape(MARKER) + r" \((\d+) artifacts?", text[-600:])
    return int(found[1]) if found else None


@contextlib.contextmanager
def shimmed(
    lock_path: Path,
    original: bytes,
    shimmed_bytes: bytes,
    staging: tuple[Path | None, str | None] = (None, None),
) -> Iterator[None]:
    """Put ``shimmed_bytes`` in place of uv.lock while inside; the original is back afterwards.

    The journal is on disk before uv.lock changes, and is removed only after the original has
    been written back and read back by sha256. If uv.lock cannot be written, it is untouched
    and no journal is left behind.
    """
    info = os.lstat(lock_path)
    if stat.S_ISLNK(info.st_mode):
        raise LockshimError(
            f"{lock_path} is a symlink (to {os.readlink(lock_path)}); lockshim would replace the "
            "link with a file, so it does not shim it. Run lockshim on the project the link "
            "points into (--project), or use a plain uv.lock."
        )
    if lock_path.read_bytes() != original:
        raise RestoreConflict(
            f"{lock_path} changed while lockshim was looking for its files (a `git pull` or "
            "`uv lock` in another terminal?). It was left exactly as it is and nothing was "
            "shimmed; run lockshim again to serve the new lock."
        )
    mode = stat.S_IMODE(info.st_mode)
    try:
        journal = write_journal(lock_path, original, shimmed_bytes, mode, *staging, info=info)
    except OSError as error:
        raise unwritable(lock_path, journal_path(lock_path), error) from None
    try:
        atomic_write(lock_path, shimmed_bytes, mode, owner=(info.st_uid, info.st_gid))
    except BaseException as error:
        # uv.lock is most likely untouched; if the write got as far as the rename, this puts
        # the original back. Either way the journal (and any kept file) goes.
        with signals_deferred(), contextlib.suppress(OSError, LockshimError):
            restore(lock_path, own=journal)
        if isinstance(error, OSError):
            raise unwritable(lock_path, lock_path, error) from None
        raise
    pending: list[int] = []
    try:
        yield
    finally:
        with signals_deferred() as pending:
            restore(lock_path, own=journal)
    if pending:  # a signal came during the restore of a run that was otherwise done
        raise Interrupted(pending[0])
