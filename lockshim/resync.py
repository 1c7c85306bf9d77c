"""An unchanged re-sync costs no more than uv's own run.

An environment that already matches the lock needs no file at all: `uv sync --offline --frozen`
only checks it. So after a sync that succeeded, lockshim remembers what that answer depends on
(the same command line, folder and environment variables; the same uv.lock, uv binary,
project environment, pyproject files and .python-version, by their stat; no journal) together
with the exact uv command it ran. When `lockshim sync` is run again and every one of those is
unchanged, it hands over to that uv command at once (``exec``, no shim, nothing written),
before anything else is imported. Anything changed, or anything uncertain, takes the full path.

This module imports nothing beyond ``os`` and ``sys``: it runs before the rest of lockshim.
The memo is lockshim's own file in its cache, written atomically; one that does not read
exactly as written is ignored. Not on Windows (no ``exec`` that keeps the console and status).
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False  # not `typing`'s: importing typing costs more than this whole module
if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

_MAGIC = "lockshim-resync-1"
#: uv arguments after which uv wants files even for a matching environment.
_NEVER = (
    "--reinstall",
    "--reinstall-package",
    "--no-cache",
    "-n",
    "--dry-run",
    "--script",
    "--active",  # syncs $VIRTUAL_ENV, which is not watched
)
_ENV_PREFIXES = ("UV_", "LOCKSHIM_", "PIP_", "VIRTUAL_ENV", "XDG_", "HOME", "NO_COLOR")


def key(argv: Sequence[str], cwd: str, environ: Mapping[str, str]) -> str:
    """Everything about the request: the arguments, the folder, the variables lockshim and uv
    read (a change in any is another request)."""
    env = sorted(f"{k}={v}" for k, v in environ.items() if k.startswith(_ENV_PREFIXES))
    return "\x1f".join([cwd, *argv, "\x1e", *env])


def _cache_dir(environ: Mapping[str, str]) -> str:
    """lockshim's cache folder, as lockshim.paths finds it (without pathlib)."""
    if environ.get("LOCKSHIM_CACHE_DIR"):
        return os.path.abspath(os.path.expanduser(environ["LOCKSHIM_CACHE_DIR"]))
    home = os.path.expanduser(environ.get("HOME", "~"))
    if sys.platform == "darwin":
        base = os.path.join(home, "Library", "Caches")
    else:
        base = environ.get("XDG_CACHE_HOME") or os.path.join(home, ".cache")
    return os.path.join(os.path.abspath(base), "lockshim")


def memo_path(request: str, environ: Mapping[str, str]) -> str:
    import zlib  # a builtin module: cheap; the memo itself holds the whole key

    name = f"{zlib.crc32(request.encode('utf-8', 'surrogateescape')):08x}.resync"
    return os.path.join(_cache_dir(environ), "resync", name)


def _stat(path: str) -> str:
    try:
        info = os.stat(path)  # through symlinks: .venv/bin/python's interpreter counts
    except OSError:
        return "absent"
    return f"{info.st_size}:{info.st_mtime_ns}:{info.st_ino}:{info.st_mode}"


def try_resync(argv: Sequence[str]) -> None:
    """Exec the remembered uv command if nothing it depends on changed; else return."""
    if os.name != "posix":
        return
    environ = os.environ
    request = key(argv, os.getcwd(), environ)
    try:
        with open(memo_path(request, environ), encoding="utf-8", errors="surrogateescape") as f:
            info = os.fstat(f.fileno())
            if info.st_uid != os.getuid() or info.st_mode & 0o022:
                return  # an instruction to exec: only from a file of this user's, not shared
            fields = f.read().split("\0")
    except OSError:
        return
    try:
        if fields[0] != _MAGIC or fields[1] != request:
            return
        count = int(fields[2])
        stats = fields[3 : 3 + 2 * count]
        command = fields[3 + 2 * count : -1]
        if fields[-1] != "end" or not command:
            return
    except (IndexError, ValueError):
        return
    for path, expected in zip(stats[::2], stats[1::2], strict=True):
        if _stat(path) != expected:
            return
    if "-q" not in argv and "--quiet" not in argv:
        sys.stderr.write("lockshim: nothing changed since the last sync; uv checks it as it is.\n")
        sys.stderr.flush()
    try:
        os.execv(command[0], command)
    except OSError:
        return  # uv moved meanwhile: the full path finds it or says why


def record(
    request: str,
    watched: Iterable[str],
    command: Sequence[str],
    uv_args: Sequence[str],
    environ: Mapping[str, str] | None = None,
) -> None:
    """After a sync that succeeded: remember what it depends on (never fails the run)."""
    env = os.environ if environ is None else environ
    if os.name != "posix" or any(a.split("=", 1)[0] in _NEVER for a in uv_args):
        return
    paths = list(dict.fromkeys(watched))
    fields = [_MAGIC, request, str(len(paths))]
    for path in paths:
        fields += [path, _stat(path)]
    fields += [*command, "end"]
    if any("\0" in field for field in fields):
        return
    import contextlib  # the full sync has these loaded already; try_resync never does
    from pathlib import Path

    from lockshim.atomic import atomic_write

    target = Path(memo_path(request, env))
    data = "\0".join(fields).encode("utf-8", "surrogateescape")
    with contextlib.suppress(OSError):  # a cache: never fails the run
        target.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(target, data, 0o600, durable=False)  # it holds UV_* values
