"""The start every command that reads the lock shares: find the project and uv, hold the
project's lock, and finish any interrupted shim of it first."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from pathlib import Path

from lockshim import context
from lockshim.project import Project, find_project, script_project
from lockshim.report import Reporter
from lockshim.shim.guard import project_lock, signals_raise
from lockshim.shim.restore import restore
from lockshim.uv import argv, runner
from lockshim.uv.runner import Uv


@contextlib.contextmanager
def prepared(
    project_dir: Path | None, uv_path: str | None, reporter: Reporter, uv_args: Sequence[str] = ()
) -> Iterator[tuple[Project, Uv]]:
    """The project and uv, with this run holding the project's lock and any interrupted
    shim of it finished first.

    With ``--script PATH`` among the uv arguments, the lock is the script's (``PATH.lock``).
    """
    context.start_run()
    script = argv.script_arg(uv_args)
    project = script_project(Path(script)) if script else find_project(project_dir)
    uv = runner.find_uv(uv_path)

    def waiting() -> None:
        reporter.info(f"waiting for another lockshim run on {project.lock_path} to finish ...")

    with signals_raise(), project_lock(project.lock_path, waiting):
        outcome = restore(project.lock_path)
        if outcome is not None:
            reporter.info(f"finished restoring {project.lock_path} after an interrupted run.")
            if outcome.note:
                reporter.warn(outcome.note)
        yield project, uv
