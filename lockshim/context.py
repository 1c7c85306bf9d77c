"""Run-wide state: what one lockshim run learns once and shares, carried in a context variable
(as pypa/build's ``_ctx``) rather than in module globals.

Every command starts a run in its session (:func:`start_run`), so a second run in the same
process (the tests, a library caller) starts fresh; code outside a command gets a run made on
first use. Only the thread that started the run reads it: worker threads are handed what they
need.
"""

from __future__ import annotations

import contextvars
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import subprocess
    import threading
    from pathlib import Path

    #: where a uv run asked ahead lands: its answer, or what stopped it
    Landed = list[subprocess.CompletedProcess[str] | BaseException]


class Run:
    """What one run shares."""

    __slots__ = ("ahead", "answers", "git_held", "notes")

    def __init__(self) -> None:
        #: uv runs started ahead: (command, cwd) -> (the thread reading the answer, where it lands)
        self.ahead: dict[tuple[tuple[str, ...], str | None], tuple[threading.Thread, Landed]] = {}
        #: what is asked once a run, by its question (uv's cache folder for these arguments)
        self.answers: dict[tuple[object, ...], Path | None] = {}
        #: (local git copy, commit) known to be there
        self.git_held: set[tuple[Path, str]] = set()
        #: said once a run (a git bundle that names a commit git cannot take from it)
        self.notes: list[str] = []


_RUN: contextvars.ContextVar[Run] = contextvars.ContextVar("lockshim_run")


def start_run() -> Run:
    """A fresh run for this context: what earlier runs learned is not taken for this one's."""
    run = Run()
    _RUN.set(run)
    return run


def current() -> Run:
    """This context's run (one is started on first use)."""
    try:
        return _RUN.get()
    except LookupError:
        return start_run()
