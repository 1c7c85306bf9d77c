"""One lockshim run on a lock at a time, and signals that end a run only where it can be undone."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

from lockshim.errors import Interrupted

_STOP_SIGNALS = tuple(
    getattr(signal, name)
    for name in ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT")
    if hasattr(signal, name)
)


@contextlib.contextmanager
def project_lock(lock_path: Path, on_wait: Callable[[], None]) -> Iterator[None]:
    """Serialize lockshim runs on one lock file; different projects never block each other.

    POSIX: ``flock`` on the folder that holds uv.lock (it is never replaced, unlike uv.lock
    itself, and no extra file is left behind). Windows, where a folder cannot be locked:
    ``filelock`` (msvcrt's byte-range lock) on a file in lockshim's cache named by the folder.
    """
    if sys.platform == "win32":
        import hashlib

        from filelock import FileLock, Timeout

        from lockshim.paths import user_cache_dir

        key = hashlib.sha256(str(lock_path.parent.resolve()).lower().encode()).hexdigest()
        locks = user_cache_dir() / "locks"
        locks.mkdir(parents=True, exist_ok=True)
        held = FileLock(str(locks / f"{key[:24]}.lock"))
        try:
            held.acquire(timeout=0)
        except Timeout:
            on_wait()
            held.acquire()
        try:
            yield
        finally:
            held.release()
    else:
        import fcntl

        fd = os.open(lock_path.parent, os.O_RDONLY)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                on_wait()
                fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing the descriptor releases the lock


@contextlib.contextmanager
def signals_raise() -> Iterator[None]:
    """While inside, SIGINT, SIGTERM and SIGHUP raise :class:`Interrupted` (so ``finally`` runs)."""

    def handler(signum: int, frame: object) -> None:
        raise Interrupted(signum)

    previous = {signum: signal.signal(signum, handler) for signum in _STOP_SIGNALS}
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)


@contextlib.contextmanager
def signals_deferred() -> Iterator[list[int]]:
    """Hold SIGINT, SIGTERM and SIGHUP back while inside; yields the list of those that came.

    Used around the restore, so that a second Ctrl-C cannot cut it short. The signals are
    recorded, not lost: the caller exits with the right status afterwards.
    """
    received: list[int] = []

    def handler(signum: int, frame: object) -> None:
        received.append(signum)

    previous = {signum: signal.signal(signum, handler) for signum in _STOP_SIGNALS}
    try:
        yield received
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)
