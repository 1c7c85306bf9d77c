"""Finding uv, checking its version, and running it: in the foreground with signals passed on,
or captured, started ahead while lockshim works on.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

from lockshim import context
from lockshim.errors import Interrupted, LockshimError, UsageError
from lockshim.paths import user_cache_dir

#: The oldest uv checked to install a shimmed lock offline (file:// artifacts and find-links;
#: 0.3.x honours file:// artifacts too, but cannot read locks with `virtual` sources).
#: The oldest uv lockshim runs: `uv export --format pylock.toml` (the plan of what a sync
#: installs) came with 0.6.15; `--project` with 0.4.16. Checked once, when uv is found.
MINIMUM_UV = (0, 6, 15)
#: How long uv gets to stop after a signal is passed on to it, before it is killed.
STOP_GRACE_SECONDS = 10


class Uv(NamedTuple):
    path: Path
    version: tuple[int, ...]

    @property
    def version_text(self) -> str:
        return ".".join(map(str, self.version))


def find_uv(explicit: str | None = None) -> Uv:
    """``--uv PATH``, else ``LOCKSHIM_UV``, else ``uv`` on PATH, else the ``uv`` Python package."""
    tried = []
    candidate: str | None = None
    if explicit:
        candidate = explicit
        tried.append(f"--uv {explicit}")
    elif os.environ.get("LOCKSHIM_UV"):
        candidate = os.environ["LOCKSHIM_UV"]
        tried.append(f"LOCKSHIM_UV={candidate}")
    else:
        candidate = _which("uv")
        tried.append("`uv` on PATH")
        if candidate is None:
            tried.append("the `uv` Python package")
            candidate = _uv_from_package()
    if candidate is None or not (resolved := _which(candidate)):
        where = candidate if candidate else "uv"
        raise LockshimError(
            f"uv was not found ({where} tried via {', '.join(tried)}; lockshim looks at "
            "--uv PATH, "
            "then LOCKSHIM_UV, then `uv` on PATH, then the `uv` Python package). "
            "Install uv (`pip install uv`) or name it with --uv PATH."
        )
    path = Path(resolved)
    version = uv_version(path)
    if version < MINIMUM_UV:
        minimum = ".".join(map(str, MINIMUM_UV))
        raise LockshimError(
            f"{path} is uv {'.'.join(map(str, version))}; lockshim needs uv {minimum} or newer "
            "(its `uv export --format pylock.toml` tells what a sync installs). Upgrade it "
            f"(`pip install 'uv>={minimum}'` or `uv self update`) or name another with --uv PATH."
        )
    return Uv(path, version)


def _which(name: str) -> str | None:
    """``shutil.which`` without importing shutil (which costs more than this whole search)."""
    if os.name == "nt":  # PATHEXT and friends
        import shutil

        return shutil.which(name)
    if os.sep in name:
        return name if os.path.isfile(name) and os.access(name, os.X_OK) else None
    for folder in os.get_exec_path():
        candidate = os.path.join(folder, name)
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None


def _uv_from_package() -> str | None:
    try:
        from uv import find_uv_bin  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        return None
    try:
        return str(find_uv_bin())
    except FileNotFoundError:
        return None


def uv_version(path: Path) -> tuple[int, ...]:
    """The version of the uv binary at ``path``; remembered by the binary's size and mtime."""
    try:
        info = path.stat()
    except OSError as error:
        raise LockshimError(f"{path}: cannot run uv ({error.strerror}).") from None
    from lockshim.atomic import atomic_write
    from lockshim.trust import read_private

    key = f"{path}:{info.st_size}:{info.st_mtime_ns}"
    memo = user_cache_dir() / "uv-versions.json"
    try:  # believed only as a file of yours nobody else can have written (lockshim.trust)
        known = json.loads(read_private(memo).decode("utf-8"))
    except (OSError, ValueError):
        known = {}
    if not isinstance(known, dict):
        known = {}
    cached = known.get(key)
    if isinstance(cached, list) and cached and all(isinstance(p, int) for p in cached):
        return tuple(cached)
    version = _ask_version(path)
    with contextlib.suppress(OSError):  # a temp file made exclusively, then renamed
        known[key] = list(version)
        atomic_write(memo, json.dumps(known).encode("utf-8"), 0o600, durable=False)
    return version


def _ask_version(path: Path) -> tuple[int, ...]:
    try:
        result = subprocess.run(
            [str(path), "--version"], capture_output=True, text=True, check=False, timeout=30
        )
    except subprocess.TimeoutExpired:
        raise LockshimError(
            f"{path} --version did not answer within 30 s; is it really uv? Name the uv binary "
            "with --uv PATH (or LOCKSHIM_UV)."
        ) from None
    except OSError as error:
        raise LockshimError(f"{path}: cannot run uv ({error.strerror}).") from None
    match = re.match(r"uv (\d+)\.(\d+)\.(\d+)", result.stdout.strip())
    if result.returncode != 0 or match is None:
        raise LockshimError(
            f"{path} --version printed {result.stdout.strip() or result.stderr.strip()!r}, "
            "not a uv version. Name the uv binary with --uv PATH."
        )
    return tuple(int(part) for part in match.groups())


def check_platform(uv: Uv, triple: str) -> None:
    """Refuse a ``--python-platform`` this uv does not know, before anything is done: uv's
    own answer decides (its names change between versions)."""
    try:
        answer = subprocess.run(
            [
                str(uv.path),
                "pip",
                "compile",
                "-",
                "--quiet",
                "--offline",
                "--no-index",
                "--python-platform",
                triple,
            ],
            input="",
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )
    except (OSError, subprocess.SubprocessError):
        return  # uv's own run will say it
    if "invalid value" in answer.stderr:
        found = re.search(r"\[possible values: ([^\]]*)\]", answer.stderr)
        known = found.group(1) if found else "see `uv pip compile --help`"
        raise UsageError(
            f"--python-platform {triple}: uv {uv.version_text} does not know this platform. "
            f"Its names: {known}."
        )


def ask_ahead(command: Sequence[str], cwd: Path | None = None) -> None:
    """Start ``command`` now, in the background; :func:`answer` takes its answer later, in
    this run (lockshim.commands.sync starts the plan's two uv runs before it has imported
    what reads their answers)."""
    key = (tuple(command), str(cwd) if cwd is not None else None)
    ahead = context.current().ahead
    if key in ahead:
        return
    landed: list[subprocess.CompletedProcess[str] | BaseException] = []

    def read() -> None:
        try:
            landed.append(_run_captured(command, cwd))
        except BaseException as error:  # said by answer()
            landed.append(error)

    thread = threading.Thread(target=read, name="lockshim-uv-ahead", daemon=True)
    ahead[key] = (thread, landed)
    thread.start()


def answer(command: Sequence[str], cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """uv's answer to ``command`` (output captured, NO_COLOR): from the run asked ahead with
    the same command and folder (kept for the rest of the run), else from running it now."""
    key = (tuple(command), str(cwd) if cwd is not None else None)
    ahead = context.current().ahead.get(key)
    if ahead is None:
        return _run_captured(command, cwd)
    thread, landed = ahead
    thread.join()
    if isinstance(landed[0], BaseException):
        raise landed[0]
    return landed[0]


def _run_captured(command: Sequence[str], cwd: Path | None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        list(command),
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
        stdin=subprocess.DEVNULL,
        env={**os.environ, "NO_COLOR": "1"},
    )


def _kill(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.kill()


def run(command: Sequence[str], env: Mapping[str, str] | None = None) -> int:
    """Run uv in the foreground, passing SIGINT, SIGTERM, SIGHUP and SIGQUIT on to it.

    uv's output streams through unchanged. When a signal comes, uv gets it and up to
    ``STOP_GRACE_SECONDS`` to stop (then it is killed), and :class:`Interrupted` is raised so
    that the caller restores uv.lock and exits 128 + signal.
    """
    received: list[int] = []
    process: subprocess.Popen[bytes] | None = None

    def forward(signum: int, frame: object) -> None:
        received.append(signum)
        if process is None or process.poll() is not None:
            return
        if sys.platform == "win32":
            # Ctrl-C reaches every process on the console, uv included: lockshim only waits
            # for uv to stop (uv.lock is restored after it), and ends it after the grace time.
            threading.Timer(STOP_GRACE_SECONDS, _kill, (process,)).start()
        else:
            process.send_signal(signum)
            signal.alarm(STOP_GRACE_SECONDS)

    def kill(signum: int, frame: object) -> None:
        if process is not None and process.poll() is None:
            process.kill()

    stops = [s for s in ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGALRM") if hasattr(signal, s)]
    previous = {
        getattr(signal, name): signal.signal(
            getattr(signal, name), kill if name == "SIGALRM" else forward
        )
        for name in stops
    }
    try:
        if received:
            raise Interrupted(received[0])
        try:
            process = subprocess.Popen(list(command), env=dict(env) if env is not None else None)
        except OSError as error:
            raise LockshimError(f"{command[0]}: cannot run uv ({error.strerror}).") from None
        returncode = process.wait()
    finally:
        if sys.platform != "win32":
            signal.alarm(0)
        for signum, old in previous.items():
            signal.signal(signum, old)
    if received:
        raise Interrupted(received[0])
    return returncode
