"""The journal: everything needed to put uv.lock back, on disk before uv.lock changes.

The pattern is pre-commit's stash of unstaged changes: before uv.lock changes, everything needed to
undo the change is on disk (the journal, written and fsynced beside uv.lock); the original comes
back in ``finally``; and a journal found later (after ``kill -9`` or a power cut) is finished by the
next run or by ``lockshim restore``.

The journal ``.uv.lock.lockshim-journal`` holds one JSON header line, then the original bytes;
or, where hard links can be made, the original file itself is kept as ``.uv.lock.lockshim-saved``
(a second name for it, fsynced and made before uv.lock is replaced) and this run's restore is
one rename of that untouched file. Any other restore (after a crash, or of a file changed
since) writes the original bytes, once their sha256 is the journal's.

A journal is data: every field is checked before use, one this user did not write (owned by
someone else, or tracked by git, so it came with the repository) is not acted on without
``--force``, and the only thing it can get removed is a staging folder that passes every check
in :mod:`lockshim.shim.staging`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import stat
import subprocess
import time
from pathlib import Path
from typing import Any, NamedTuple

from lockshim.atomic import atomic_write, fsync_dir, read_regular
from lockshim.errors import LockshimError, RestoreConflict
from lockshim.trust import yours

JOURNAL_FORMAT = 1  # the original bytes follow the header
KEPT_FORMAT = 2  # the original file is kept at saved_path (an older lockshim refuses these)


def journal_path(lock_path: Path) -> Path:
    """Where the journal of an interrupted shim of ``lock_path`` lives."""
    return lock_path.with_name(f".{lock_path.name}{_JOURNAL_SUFFIX}")


def saved_path(lock_path: Path) -> Path:
    """Where a journal may keep the original uv.lock itself (a hard link to its file)."""
    return lock_path.with_name(f".{lock_path.name}.lockshim-saved")


_JOURNAL_SUFFIX = ".lockshim-journal"


def shimmed_locks(start: Path) -> list[Path]:
    """The locks with a journal in the nearest folder, from ``start`` upward, that holds a
    journal (uv.lock and script locks alike; the lock itself may be gone)."""
    for folder in (start, *start.parents):
        try:
            names = sorted(
                entry.name
                for entry in os.scandir(folder)
                if entry.name.startswith(".") and entry.name.endswith(_JOURNAL_SUFFIX)
            )
        except OSError:
            continue
        if names:
            return [folder / name[1 : -len(_JOURNAL_SUFFIX)] for name in names]
        if (folder / "uv.lock").exists() or (folder / "pyproject.toml").exists():
            return []
    return []


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


_SHA256 = re.compile(r"[0-9a-f]{64}\Z")


class Journal(NamedTuple):
    """What a journal says. The original bytes follow its header line, or (``kept``) the
    original file itself is kept under :func:`saved_path` (a hard link made before uv.lock was
    replaced, so restoring is a rename and no byte is written)."""

    path: Path
    lock_path: Path
    original: bytes | None  # None: kept as the saved file, not read (yet)
    original_sha256: str
    shimmed_sha256: str
    mode: int
    staging: Path | None
    staging_token: str | None
    pid: int
    #: The shimmed bytes, when this run wrote them (the journal on disk holds only a checksum).
    shimmed: bytes | None = None
    kept: bool = False  # the original is the file at saved_path(lock_path)
    #: (device, inode, size, mtime) of the saved file when this run made it.
    saved_id: tuple[int, int, int, int] | None = None

    def holds(self, current: bytes, which: str) -> bool:
        """Whether ``current`` is the ``original`` or the ``shimmed`` lock: compared byte for
        byte when the bytes are at hand, else by sha256."""
        known = self.original if which == "original" else self.shimmed
        if known is not None:
            return current == known
        digest = self.original_sha256 if which == "original" else self.shimmed_sha256
        return sha256_bytes(current) == digest

    def original_bytes(self) -> bytes:
        """The original lock: from the journal, or read from the saved file and checked."""
        if self.original is not None:
            return self.original
        saved = saved_path(self.lock_path)
        try:
            data = read_regular(saved)
        except OSError as error:
            data, reason = None, error.strerror or str(error)
        else:
            reason = "it does not match the journal's checksum"
        if data is None or sha256_bytes(data) != self.original_sha256:
            raise LockshimError(
                f"{saved}: the original uv.lock kept by an interrupted lockshim run cannot be "
                f"used ({reason}); {self.path} and it are kept as they are. Restore uv.lock "
                "from version control (`git checkout -- uv.lock`), then delete both."
            )
        return data

    def saved_untouched(self) -> bool:
        """The saved file is the very file this run kept (same inode, size and mtime), a
        regular file with no other name (nothing else can have written it)."""
        try:
            info = os.lstat(saved_path(self.lock_path))
        except OSError:
            return False
        return (
            self.saved_id is not None
            and stat.S_ISREG(info.st_mode)
            and info.st_nlink == 1
            and _identity(info) == self.saved_id
        )

    @classmethod
    def read(cls, path: Path, lock_path: Path) -> Journal:
        data = _read_regular(path)
        header, newline, original = data.partition(b"\n")
        try:
            meta = _checked(json.loads(header))
        except (ValueError, KeyError, TypeError) as error:
            raise LockshimError(
                f"{path}: the journal of an interrupted lockshim run cannot be read ({error}). "
                "It is kept as it is; compare it with uv.lock by hand, then delete it."
            ) from None
        kept = meta["format"] == KEPT_FORMAT
        if kept and newline and not original:
            original_or_none: bytes | None = None  # the original is the saved file
        elif kept or not newline or sha256_bytes(original) != meta["original_sha256"]:
            raise LockshimError(
                f"{path}: the journal of an interrupted lockshim run is damaged (its copy of "
                "uv.lock does not match its checksum). It is kept as it is; restore uv.lock from "
                "version control (`git checkout -- uv.lock`), then delete the journal."
            )
        else:
            original_or_none = original
        staging = meta.get("staging")
        return cls(
            path=path,
            lock_path=lock_path,
            original=original_or_none,
            original_sha256=meta["original_sha256"],
            shimmed_sha256=meta["shimmed_sha256"],
            mode=meta["mode"] & 0o777,  # permission bits only, never setuid or file type
            staging=Path(staging) if staging else None,
            staging_token=meta.get("staging_token"),
            pid=meta.get("pid", 0),
            kept=kept,
        )


def _identity(info: os.stat_result) -> tuple[int, int, int, int]:
    return info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns


def _checked(meta: Any) -> dict[str, Any]:
    """The header, every field of the right type and shape (else ValueError naming it)."""
    if not isinstance(meta, dict):
        raise ValueError("the header is not a JSON object")
    if meta.get("format") not in (JOURNAL_FORMAT, KEPT_FORMAT):
        raise ValueError(f"journal format {meta.get('format')!r}")
    for key in ("original_sha256", "shimmed_sha256"):
        if not isinstance(meta.get(key), str) or not _SHA256.match(meta[key]):
            raise ValueError(f"{key} is not a sha256")
    mode = meta.get("mode")
    if not isinstance(mode, int) or isinstance(mode, bool) or not 0 <= mode <= 0o7777:
        raise ValueError("mode is not a permission mode")
    for key in ("staging", "staging_token"):
        value = meta.get(key)
        if value is not None and (not isinstance(value, str) or "\0" in value):
            raise ValueError(f"{key} is not a string")
    pid = meta.get("pid", 0)
    if not isinstance(pid, int) or isinstance(pid, bool):
        raise ValueError("pid is not a number")
    return meta


def _read_regular(path: Path) -> bytes:
    """The journal's bytes (never through a symlink, never blocking on a FIFO or device)."""
    try:
        return read_regular(path)
    except OSError as error:
        raise LockshimError(
            f"{path}: the journal of an interrupted lockshim run cannot be read "
            f"({error.strerror}); it is left alone. Look at it, then delete it."
        ) from None


def foreign(path: Path) -> str | None:
    """Why the journal at ``path`` is not this user's own, or None when it is.

    lockshim writes a journal only for the length of a run, owned by whoever ran it; one owned
    by someone else, or one git tracks (it came with a clone), was not written by this user.
    """
    try:
        info = os.lstat(path)
    except OSError:
        return None
    if not yours(info):
        return f"owned by another user (uid {info.st_uid})"
    try:
        tracked = subprocess.run(
            ["git", "ls-files", "--error-unmatch", "--", path.name],
            cwd=path.parent,
            capture_output=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None  # no git here: nothing to tell
    return "tracked by git (it came with the repository)" if tracked.returncode == 0 else None


def free_name(path: Path) -> Path:
    """``path``, or ``path.1``, ``path.2``, ...: a copy saved earlier is never overwritten."""
    candidate, number = path, 0
    while os.path.lexists(candidate):
        number += 1
        candidate = path.with_name(f"{path.name}.{number}")
    return candidate


def unwritable(lock_path: Path, target: Path, error: OSError) -> LockshimError:
    journal = journal_path(lock_path)
    if os.path.lexists(journal):  # the undo itself failed: the next run (or restore) finishes
        return LockshimError(
            f"{target}: cannot be written ({error.strerror or error}), and putting things back "
            f"failed too: {journal} is kept. Free some space or fix the folder's permissions, "
            "then run `lockshim restore`."
        )
    return LockshimError(
        f"{target}: cannot be written ({error.strerror or error}); {lock_path} was not changed "
        "and no journal is left behind. Free some space or fix the folder's permissions, "
        "then run lockshim again."
    )


def write_journal(
    lock_path: Path,
    original: bytes,
    shimmed: bytes,
    mode: int,
    staging: Path | None,
    staging_token: str | None = None,
    info: os.stat_result | None = None,
) -> Journal:
    """Write the journal; what it says, with both versions' bytes, for this run's own restore.

    ``lock_path`` holds ``original`` (:func:`shimmed` reads it again just before; ``info`` is
    its ``lstat`` from then). The original file itself is kept under :func:`saved_path` (a hard
    link, its data fsynced) where the platform and filesystem allow, the file is writable and
    has no other name, and nothing is in the way; else its bytes follow the journal's header.
    A lock replaced meanwhile is a :class:`RestoreConflict`, with nothing left behind.
    """
    journal = Journal(
        path=journal_path(lock_path),
        lock_path=lock_path,
        original=original,
        original_sha256=sha256_bytes(original),
        shimmed_sha256=sha256_bytes(shimmed),
        mode=mode,
        staging=staging,
        staging_token=staging_token,
        pid=os.getpid(),
        shimmed=shimmed,
    )
    header = {
        "format": JOURNAL_FORMAT,
        "lock": lock_path.name,
        "original_sha256": journal.original_sha256,
        "shimmed_sha256": journal.shimmed_sha256,
        "mode": mode,
        "staging": str(staging) if staging else None,
        "staging_token": staging_token,
        "pid": journal.pid,
        "created": time.time(),
    }
    info = info or os.lstat(lock_path)
    saved = saved_path(lock_path)
    if (
        hasattr(os, "link")
        and info.st_nlink == 1  # no other name could write the kept file
        and mode & stat.S_IWUSR  # (Windows cannot delete a read-only file's second name)
        and not os.path.lexists(saved)  # never over a file already there
    ):
        kept_header = json.dumps({**header, "format": KEPT_FORMAT}).encode() + b"\n"
        atomic_write(journal.path, kept_header, 0o600)
        try:
            kept = _keep(lock_path, saved, info, len(original))
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(journal.path)
            raise
        if kept is not None:
            return journal._replace(kept=True, saved_id=kept)
    try:
        atomic_write(journal.path, json.dumps(header).encode() + b"\n" + original, 0o600)
    except BaseException:
        with contextlib.suppress(OSError):  # a header-only journal from just above
            os.unlink(journal.path)
        raise
    return journal


def _keep(
    lock_path: Path, saved: Path, info: os.stat_result, size: int
) -> tuple[int, int, int, int] | None:
    """Give uv.lock's file a second name ``saved``, durably; its identity, or None where hard
    links cannot be made. RestoreConflict if uv.lock is no longer the file that was read."""
    try:
        os.link(lock_path, saved)
    except OSError:
        return None  # no hard links here (FAT, some shares)
    try:
        fd = os.open(saved, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0))
        try:
            kept = os.fstat(fd)
            if _identity(kept) != _identity(info) or kept.st_size != size or kept.st_nlink != 2:
                raise RestoreConflict(
                    f"{lock_path} changed while lockshim was about to shim it (another program "
                    "wrote it). It was left exactly as it is and nothing was shimmed; run "
                    "lockshim again to serve the new lock."
                )
            try:
                os.fsync(fd)  # the original's own bytes on disk (`uv lock`, git do not fsync)
            except OSError:  # Windows flushes only files open for writing
                durable = False
            else:
                durable = True
        finally:
            os.close(fd)
        if durable:
            fsync_dir(lock_path.parent)  # and its second name, before uv.lock is replaced
            return _identity(kept)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(saved)
        raise
    os.unlink(saved)  # not durable here: the bytes go in the journal (fsynced) instead
    return None
