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
    """lockshim's cache folder, as lockshim.paths finds it (without pathlib): the configured
    one when it is private, else the ``user-<uid>`` folder of one's own inside it."""
    if environ.get("LOCKSHIM_CACHE_DIR"):
        root = os.path.abspath(os.path.expanduser(environ["LOCKSHIM_CACHE_DIR"]))
    else:
        home = os.path.expanduser(environ.get("HOME", "~"))
        if sys.platform == "darwin":
            base = os.path.join(home, "Library", "Caches")
        else:
            base = environ.get("XDG_CACHE_HOME") or os.path.join(home, ".cache")
        root = os.path.join(os.path.abspath(base), "lockshim")
    if not hasattr(os, "getuid"):
        return root
    try:
        info = os.lstat(root)
    except OSError:
        return root
    closed = (info.st_mode & 0o170000) == 0o040000 and not info.st_mode & 0o022
    if closed and info.st_uid in (os.getuid(), 0):
        return root
    return os.path.join(root, f"user-{os.getuid()}")


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
    if sys.platform == "win32":  # no exec that keeps the console and the exit status
        return
    environ = os.environ
    request = key(argv, os.getcwd(), environ)
    text = _read_private(memo_path(request, environ))
    if text is None:
        return
    fields = text.split("\0")
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
    if len(command) < 2 or command[1] != "sync" or command[0] not in _uv_candidates(argv, environ):
        return  # only ever the uv lockshim itself would run, and only `uv sync`
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


def _read_private(path: str) -> str | None:
    """The memo's text, when nobody but this user can have written it: its folder is a real
    folder of this user's that others cannot write, and it is a regular file of one name, this
    user's, that others cannot write; opened without following a symlink. (Where the cache is
    shared, another user could plant the memo, or a link to a file of the victim's holding
    the right bytes: it is an instruction to exec.)"""
    if sys.platform == "win32":
        return None
    nofollow = os.O_NOFOLLOW
    try:
        folder = os.open(os.path.dirname(path), os.O_RDONLY | os.O_DIRECTORY | nofollow)
    except OSError:
        return None
    try:
        info = os.fstat(folder)
        if info.st_uid != os.getuid() or info.st_mode & 0o022:
            return None
        fd = os.open(os.path.basename(path), os.O_RDONLY | nofollow | os.O_NONBLOCK, dir_fd=folder)
    except OSError:
        return None
    finally:
        os.close(folder)
    with open(fd, encoding="utf-8", errors="surrogateescape") as stream:
        info = os.fstat(stream.fileno())
        if (
            (info.st_mode & 0o170000) != 0o100000  # a regular file
            or info.st_nlink != 1
            or info.st_uid != os.getuid()
            or info.st_mode & 0o022
        ):
            return None
        return stream.read()


def _uv_candidates(argv: Sequence[str], environ: Mapping[str, str]) -> tuple[str, ...]:
    """The uv binary lockshim would run for these arguments (lockshim.uv.find_uv's order):
    ``--uv PATH``, else LOCKSHIM_UV, else `uv` on PATH, else the `uv` package's binary beside
    this interpreter."""
    for position, arg in enumerate(argv):
        if arg == "--":
            break
        if arg == "--uv" and position + 1 < len(argv):
            return (argv[position + 1],)
        if arg.startswith("--uv="):
            return (arg.partition("=")[2],)
    if environ.get("LOCKSHIM_UV"):
        return (environ["LOCKSHIM_UV"],)
    for folder in os.get_exec_path(dict(environ)):
        candidate = os.path.join(folder, "uv")
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return (candidate,)
    return (os.path.join(sys.prefix, "bin", "uv"), os.path.join(sys.base_prefix, "bin", "uv"))


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
        from lockshim.trust import private_folder

        private_folder(target.parent)  # never into a folder others can write
        atomic_write(target, data, 0o600, durable=False)  # it holds UV_* values
