"""Where lockshim's own messages go, and how a run's errors become an exit status.

Library code talks to a :class:`Reporter`; the command line gives it a :class:`StderrReporter`.
Neither module here imports click: the progress bar is handed in by whoever has one.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable
from typing import Any, Protocol

from lockshim.errors import Interrupted, LockshimError

#: Makes a progress bar: (total, label) -> an object with update(n) and render_finish().
BarFactory = Callable[[int, str], Any]


class Reporter(Protocol):
    """Where lockshim's own messages go (the CLI prints them to stderr)."""

    def info(self, message: str) -> None: ...

    def warn(self, message: str) -> None: ...

    def hashing(self, done: int, total: int, file: object) -> None: ...


class StderrReporter:
    """lockshim's messages on stderr, prefixed `lockshim:`; a progress bar while hashing a lot."""

    def __init__(self, quiet: bool = False, bar: BarFactory | None = None) -> None:
        self.quiet = quiet
        self._make_bar = bar
        self._bar: Any = None

    def info(self, message: str) -> None:
        if not self.quiet:
            print(f"lockshim: {message}", file=sys.stderr, flush=True)

    def warn(self, message: str) -> None:
        print(f"lockshim: warning: {message}", file=sys.stderr, flush=True)

    def hashing(self, done: int, total: int, file: object) -> None:
        if self._make_bar is None or self.quiet or total < 20 or not sys.stderr.isatty():
            return
        if self._bar is None:
            self._bar = self._make_bar(total, "lockshim: hashing local files")
        self._bar.update(1)
        if done >= total:
            self._bar.render_finish()
            self._bar = None


def guarded(function: Callable[[], int | None]) -> int:
    """Run a command; lockshim's errors and signals become a message and the exit status."""
    try:
        return function() or 0
    except LockshimError as error:
        print(f"lockshim: error: {error}", file=sys.stderr, flush=True)
        return error.exit_code
    except Interrupted as stop:
        name = signal.Signals(stop.signum).name
        print(f"lockshim: stopped by {name}; uv.lock is as it was.", file=sys.stderr, flush=True)
        return stop.exit_code
