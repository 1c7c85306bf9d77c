"""Is uv.lock fresh enough to install? uv's own verdict (``uv lock --check --offline``), with
lockshim's comparison (:mod:`lockshim.lockfile.freshness`) naming what changed: lockshim
refuses only when uv says the lock is out of date *and* the comparison names what a person
changed.
"""

from __future__ import annotations

import shlex
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from lockshim.lockfile.freshness import differences
from lockshim.uv import argv, runner

if TYPE_CHECKING:
    from lockshim.lockfile.model import Lock


class Verdict(NamedTuple):
    """Is uv.lock fresh enough to install? ``refusal``: why not (empty: go ahead);
    ``warning``: what to say while going ahead."""

    refusal: str = ""
    warning: str = ""


def ask_ahead(lock_path: Path, uv: Path, uv_args: Sequence[str]) -> None:
    """Start uv's own check of the lock now, while the local files are looked for."""
    if "--frozen" not in uv_args and lock_path.name == "uv.lock":
        runner.ask_ahead(argv.lock_check_command(uv, lock_path.parent, uv_args))


def judge(lock: Lock, uv: Path, uv_args: Sequence[str]) -> Verdict:
    """Whether to install the lock as it is: uv's verdict (``uv lock --check --offline``, with
    the same uv, project, Python and settings) stands; lockshim refuses only when uv says the
    lock is out of date *and* the comparison with pyproject.toml names a requirement that
    changed. Nothing is refused with ``--frozen``, uv's own word for "install it as it is"."""
    if "--frozen" in uv_args or lock.path.name != "uv.lock":
        return Verdict()
    found = differences(lock)
    said = _uv_says(lock.path, uv, uv_args)
    if said is None:  # uv finds the lock fresh
        return Verdict()
    named = [d for d in found if d.where != "version"]
    moved = [d for d in found if d.where == "version"]
    anyway = _frozen_command()
    if named and said.stale:
        lines = "".join(f"\n    {d.package} ({d.where}): {d.text}" for d in named)
        return Verdict(
            f"{lock.path} is out of date with pyproject.toml:{lines}\n"
            "  Update it where the index can be reached (`uv lock`, then commit uv.lock), or "
            f"install the lock as it is anyway: `{anyway}`."
        )
    if moved and not named:
        lines = "; ".join(f"{d.package}: {d.text}" for d in moved)
        return Verdict(
            warning=f"{lock.path} records another version of the project itself ({lines}); "
            "uv calls the lock stale for that, but nothing it installs from the lock changes. "
            "Installing the lock as it is; `uv lock` (where the index can be reached) records "
            "the new version."
        )
    if not found and "No interpreter found" in said.why:
        return Verdict()  # nothing to tell of the lock: the missing Python is said where it counts
    detail = "".join(f"\n    {d.package} ({d.where}): {d.text}" for d in found)
    return Verdict(
        warning=(
            f"uv {'says' if said.stale else 'cannot tell whether'} {lock.path} "
            f"{'is out of date with' if said.stale else 'is up to date with'} pyproject.toml"
            + (f" ({said.why})" if said.why else "")
            + (f"; lockshim sees:{detail}\n  " if detail else "; ")
            + "installing the lock as it is (as `uv sync --frozen` would). Run `uv lock` where "
            "the index can be reached if the project changed."
        )
    )


class _Said(NamedTuple):
    stale: bool  # True: uv says out of date; False: uv could not tell
    why: str  # uv's last line


def _uv_says(lock_path: Path, uv: Path, uv_args: Sequence[str]) -> _Said | None:
    """uv's verdict on the lock (None: fresh)."""
    try:
        answer = runner.answer(argv.lock_check_command(uv, lock_path.parent, uv_args))
    except (OSError, subprocess.SubprocessError) as error:
        return _Said(False, f"uv could not run: {error}")
    if answer.returncode == 0:
        return None
    lines = [line.strip() for line in answer.stderr.splitlines() if line.strip()]
    why = next((line for line in lines if line.startswith("error:")), lines[-1] if lines else "")
    why = why.removeprefix("error:").strip()
    # 1: uv worked out that the lock is out of date; 2: uv stopped before deciding
    return _Said(answer.returncode == 1, why[:300])


def _frozen_command() -> str:
    """The command being run, installing the lock as it is (``-- --frozen`` added)."""
    args = [a for a in sys.argv[1:] if a != "--frozen"] or ["sync"]
    args += ["--frozen"] if "--" in args else ["--", "--frozen"]
    return "lockshim " + shlex.join(args)
