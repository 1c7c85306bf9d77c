"""Putting the original uv.lock back: after this run's uv, or the journal an interrupted run left
(``kill -9``, a power cut) at the start of the next run or by ``lockshim restore``.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path
from typing import Literal, NamedTuple

from lockshim.atomic import atomic_write, fsync_dir, replace
from lockshim.errors import LockshimError, RestoreConflict
from lockshim.shim.journal import Journal, foreign, free_name, journal_path, saved_path

Action = Literal["restored", "unchanged", "forced"]


class RestoreOutcome(NamedTuple):
    """What :func:`restore` did; ``note`` says what was left alone."""

    action: Action
    saved_as: Path | None = None
    note: str | None = None


def restore(
    lock_path: Path, *, force: bool = False, own: Journal | None = None
) -> RestoreOutcome | None:
    """Finish an interrupted shim of ``lock_path`` (see :func:`_restore`); errors explained.

    ``own``: the journal this very run wrote (no need to ask whose it is, nor to read it back).
    """
    try:
        return _restore(lock_path, force=force, own=own)
    except OSError as error:
        raise LockshimError(
            f"{lock_path}: could not be restored ({error.strerror or error}). Its original bytes "
            f"are safe in {journal_path(lock_path)} (or the file {saved_path(lock_path).name} "
            "it names); fix the cause (disk space, permissions), "
            "then run `lockshim restore`."
        ) from None


def _restore(
    lock_path: Path, *, force: bool = False, own: Journal | None = None
) -> RestoreOutcome | None:
    """Finish an interrupted shim of ``lock_path``; None when there is nothing to finish.

    uv.lock is written back only when it still holds exactly the shimmed bytes (or is gone). If
    someone changed it meanwhile, nothing is overwritten: the original is saved beside it and
    :class:`RestoreConflict` explains; with ``force`` the current file is saved aside instead and
    the original written back.
    """
    path = journal_path(lock_path)
    if not os.path.lexists(path):
        return None
    reason = None if own is not None else foreign(path)
    if reason is not None and not force:
        raise LockshimError(
            f"{path}: a lockshim journal {reason}. lockshim did not write it, so it does not act "
            f"on it: {lock_path} was not changed. If it came with the repository, remove it "
            f"(`git rm --cached {path.name}`, then delete it); if it is the journal of your own "
            "interrupted run, `lockshim restore --force` finishes it."
        )
    journal = own if own is not None else Journal.read(path, lock_path)
    try:
        current: bytes | None = lock_path.read_bytes()
        owner: tuple[int, int] | None = tuple(os.stat(lock_path)[4:6])  # type: ignore[assignment]
    except FileNotFoundError:
        current, owner = None, None
    saved_as = None
    action: Action
    original = current is not None and journal.holds(current, "original")
    shimmed = current is not None and not original and journal.holds(current, "shimmed")
    if original:
        action = "unchanged"
        info = os.lstat(lock_path)
        if not stat.S_ISLNK(info.st_mode) and stat.S_IMODE(info.st_mode) != journal.mode:
            os.chmod(lock_path, journal.mode)
    elif current is None or shimmed or force:
        if current is not None and not shimmed:
            saved_as = free_name(lock_path.with_name(f"{lock_path.name}.lockshim-replaced"))
            atomic_write(saved_as, current, journal.mode, owner=owner)
            action = "forced"
        else:
            action = "restored"
        _put_back(journal, owner)
    else:
        saved_as = lock_path.with_name(f"{lock_path.name}.lockshim-original")
        atomic_write(saved_as, journal.original_bytes(), journal.mode)
        raise RestoreConflict(
            f"{lock_path} was changed while lockshim had it shimmed: it matches neither the "
            f"original nor the shimmed lock, so it was left as it is. The original is saved as "
            f"{saved_as} (and kept by {path}). Keep the version you want: "
            "`lockshim restore --force` writes the original back (saving the current file as "
            "uv.lock.lockshim-replaced); or delete the journal (and "
            f"{saved_path(lock_path).name}, if there) to keep the current file."
        )
    note = None
    if journal.staging is not None:
        from lockshim.shim import staging

        why = staging.remove(journal.staging, journal.staging_token or "")
        if why is not None:
            note = f"the journal named {journal.staging} as its staging folder; left alone: {why}."
    if journal.kept and os.path.lexists(saved_path(lock_path)):
        with contextlib.suppress(OSError):  # the original is in place: not needed any more
            os.unlink(saved_path(lock_path))
        fsync_dir(path.parent)  # gone before the journal that names it
    os.unlink(path)
    fsync_dir(path.parent)
    return RestoreOutcome(action, saved_as, note)


def _put_back(journal: Journal, owner: tuple[int, int] | None) -> None:
    """The original in place of uv.lock: the file this run kept, renamed back when it is
    untouched; else the original bytes (this run's own, or the kept file's once its sha256 is
    checked) written and read back."""
    lock_path = journal.lock_path
    if journal.kept and journal.saved_untouched():
        replace(saved_path(lock_path), lock_path)
        fsync_dir(lock_path.parent)
        return
    original = journal.original_bytes()
    atomic_write(lock_path, original, journal.mode, owner=owner)
    if lock_path.read_bytes() != original:
        raise LockshimError(
            f"{lock_path}: the restored file does not read back as the original "
            f"(sha256 {journal.original_sha256}); the journal {journal.path} is kept. "
            "Check the disk, then run `lockshim restore` again."
        )
