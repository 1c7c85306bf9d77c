"""`lockshim restore`: finish the restore of uv.lock after an interrupted `lockshim sync`."""

from __future__ import annotations

from pathlib import Path

from lockshim.project import find_project
from lockshim.report import Reporter
from lockshim.shim.guard import project_lock
from lockshim.shim.journal import shimmed_locks
from lockshim.shim.restore import restore


def run_restore(project: Path | None, force: bool, reporter: Reporter) -> None:
    """Every lock with a journal in the project's folder is restored (uv.lock and PEP 723
    script locks), also when the lock itself was deleted."""
    start = (project or Path.cwd()).absolute()
    locks = shimmed_locks(start)
    if not locks:
        found = find_project(project)
        reporter.info(f"nothing to restore: {found.lock_path} is not shimmed.")
        return
    for lock_path in locks:
        with project_lock(lock_path, lambda: reporter.info("waiting for a running lockshim ...")):
            outcome = restore(lock_path, force=force)
        if outcome is None:
            continue
        if outcome.action == "forced":
            reporter.info(
                f"restored {lock_path}; the file it replaced is saved as {outcome.saved_as}."
            )
        else:
            reporter.info(f"restored {lock_path} to its original bytes.")
        if outcome.note:
            reporter.warn(outcome.note)
