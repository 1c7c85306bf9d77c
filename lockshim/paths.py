"""Where lockshim keeps its own files: one user cache folder, found the way the platform says."""

from __future__ import annotations

import contextlib
import functools
import os
import sys
from collections.abc import Mapping
from pathlib import Path


def user_cache_base(env: Mapping[str, str]) -> Path:
    """The platform's per-user cache folder (XDG on Linux, Library/Caches, LOCALAPPDATA)."""
    home = Path(env.get("HOME", "~")).expanduser()
    if sys.platform == "win32":
        return Path(env.get("LOCALAPPDATA", home / "AppData" / "Local"))
    if sys.platform == "darwin":
        return home / "Library" / "Caches"
    return Path(env.get("XDG_CACHE_HOME") or home / ".cache")


def configured_cache_dir(environ: Mapping[str, str] | None = None) -> Path:
    """The cache folder as configured (LOCKSHIM_CACHE_DIR, else the platform's user cache)."""
    env = os.environ if environ is None else environ
    if env.get("LOCKSHIM_CACHE_DIR"):
        return Path(env["LOCKSHIM_CACHE_DIR"]).expanduser().absolute()
    return user_cache_base(env).absolute() / "lockshim"


def user_cache_dir(environ: Mapping[str, str] | None = None) -> Path:
    """lockshim's own cache folder: always one only you can write (lockshim runs, reads as
    truth and writes what is there). The one rule for all of it, in one place:

    - the configured folder, when it is private (yours or root's, not a symlink, closed to
      group and others), or once its mode is tightened where it is yours and open to your
      group at most (a umask of 002);
    - else (a lab's shared cache, a CI runner's shared home, a 1777 folder, another user's)
      a folder of your own inside it, ``user-<uid>``, made 0700 and checked;
    - else (someone made that one first) a private temporary folder for this run.

    Never a refusal: a shared cache is a normal setup. Where it is not the configured folder,
    this is said once. On Windows the owner and mode checks do not apply (see README).
    """
    return _private(str(configured_cache_dir(environ)))


@functools.cache
def _private(configured: str) -> Path:
    from lockshim import trust

    folder = Path(configured)
    with contextlib.suppress(OSError):
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        if trust.private(folder):
            return folder
        if trust.tightened(folder):  # yours, open to others: closed
            return folder
        own = folder / f"user-{os.getuid() if hasattr(os, 'getuid') else 0}"
        with contextlib.suppress(FileExistsError):
            os.mkdir(own, 0o700)
        if trust.private(own) and trust.yours(os.lstat(own)):
            _say(f"{folder} can be written by others: lockshim keeps its own files in {own}.")
            return own
    import tempfile

    temporary = Path(tempfile.mkdtemp(prefix="lockshim-cache-"))
    import atexit
    import shutil

    atexit.register(shutil.rmtree, temporary, True)
    _say(
        f"{folder} is not a folder lockshim can keep its own files in safely (others can "
        f"write it): it uses {temporary} for this run, so nothing is remembered. Set "
        "LOCKSHIM_CACHE_DIR to a folder of your own."
    )
    return temporary


def _say(text: str) -> None:
    sys.stderr.write(f"lockshim: note: {text}\n")
