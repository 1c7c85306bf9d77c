"""Listing a folder tree safely: regular files only, never out of the tree, never in a loop.

A wheelhouse may be shared and writable by others. A symlink pointing out of it, a symlink
loop, a FIFO or a device must not make lockshim read elsewhere or hang; each is skipped and
reported once.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

from lockshim.errors import LockshimError

#: (path, why it was skipped)
OnSkip = Callable[[Path, str], None]


def walk(
    root: Path,
    what: str,
    on_skip: OnSkip,
    suffix: str | None = None,
    defer: Callable[[str], str | None] | None = None,
    deferred: dict[str, list[str]] | None = None,
) -> Iterator[tuple[Path, os.stat_result, str]]:
    """(path, stat, relative path with forward slashes) of every regular file under ``root``.

    With ``defer``, a plain file for whose name it gives a key is not even looked at (no
    ``stat``, no path object: a lab's wheelhouse holds thousands of other projects' files);
    its path goes to ``deferred`` under that key, for a later, closer look.

    Symlinks are followed only while their target stays inside ``root`` (resolved); a folder
    reached twice (a loop, or two links to one folder) is read once. lockshim's own files (its
    index, markers, files being written) are not listed; a file gone since the folder was read
    is passed over in silence.
    """
    try:
        real_root = root.resolve(strict=True)
        top = os.stat(real_root)
    except (OSError, RuntimeError) as error:
        raise _unreadable(root, what, error) from None
    if not stat.S_ISDIR(top.st_mode):
        raise LockshimError(
            f"{root}: the {what} is not a folder. Correct the path, or leave it out."
        )
    prefix = len(os.path.join(str(root), ""))
    seen = {(top.st_dev, top.st_ino)}
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError as error:
            if folder == root:
                raise _unreadable(root, what, error) from None
            on_skip(folder, f"cannot be read ({error.strerror})")
            continue
        for entry in entries:
            name = entry.name
            key = defer(name) if defer is not None else None  # first: most entries, in a lab
            if key is None and (
                name.startswith((".lockshim", "..lockshim")) or name.endswith(".lockshim-tmp")
            ):
                continue  # lockshim's own index, markers and files being written
            if key is not None:
                try:
                    plain = entry.is_file(follow_symlinks=False)  # the folder's own listing
                except OSError:
                    plain = False
                if plain:
                    if deferred is not None:
                        deferred.setdefault(key, []).append(entry.path)
                    continue
            path = Path(entry.path)
            try:
                if entry.is_symlink():
                    target = path.resolve(strict=True)
                    if target != real_root and real_root not in target.parents:
                        on_skip(path, f"a symlink pointing out of the {what} (to {target})")
                        continue
                    info = os.stat(target)
                else:
                    info = entry.stat(follow_symlinks=False)
            except FileNotFoundError:
                if entry.is_symlink():
                    on_skip(path, "cannot be read (a dangling symlink)")
                continue  # gone since the folder was listed: nothing to serve
            except (OSError, RuntimeError) as error:
                reason = getattr(error, "strerror", None) or "a symlink loop"
                on_skip(path, f"cannot be read ({reason})")
                continue
            if stat.S_ISDIR(info.st_mode):
                if (info.st_dev, info.st_ino) not in seen:
                    seen.add((info.st_dev, info.st_ino))
                    stack.append(path)
            elif stat.S_ISREG(info.st_mode):
                if suffix is None or name.endswith(suffix):
                    yield path, info, entry.path[prefix:].replace(os.sep, "/")
            else:
                on_skip(path, "not a regular file (a FIFO, socket or device)")


def _unreadable(root: Path, what: str, error: BaseException) -> LockshimError:
    reason = getattr(error, "strerror", None) or str(error)
    if isinstance(error, FileNotFoundError):
        return LockshimError(
            f"{root}: no such {what} folder. Create it (`lockshim fetch --dest {root}` fills it "
            "from the lock), or correct --wheelhouse / [tool.lockshim] wheelhouses / "
            "LOCKSHIM_WHEELHOUSE."
            if what == "wheelhouse"
            else f"{root}: no such {what} folder. Correct the path, or leave it out."
        )
    return LockshimError(
        f"{root}: the {what} cannot be read ({reason}). Check the path and its permissions, "
        "or leave it out."
    )
