"""Where lockshim keeps its own files: one user cache folder, found the way the platform says."""

from __future__ import annotations

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


def user_cache_dir(environ: Mapping[str, str] | None = None) -> Path:
    """lockshim's own cache folder (LOCKSHIM_CACHE_DIR, else the platform's user cache)."""
    env = os.environ if environ is None else environ
    if env.get("LOCKSHIM_CACHE_DIR"):
        return Path(env["LOCKSHIM_CACHE_DIR"]).expanduser().absolute()
    return user_cache_base(env).absolute() / "lockshim"
