"""What uv's offline dry run of the sync says: the interpreter it would use, or its own words
when it finds none. The same discovery as the sync's, with nothing installed.
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from pathlib import Path

from lockshim.uv import argv, runner


def no_interpreter(project_root: Path, uv: Path, sync_args: Sequence[str]) -> str | None:
    """uv's own words when it finds no interpreter for this sync (its offline dry run, the
    same discovery as the sync's), else None."""
    try:
        result = runner.answer(argv.dry_run_command(uv, sync_args), project_root)
    except (OSError, subprocess.SubprocessError):
        return None
    if result.returncode == 0:
        return None
    said = next((line for line in result.stderr.splitlines() if "No interpreter found" in line), "")
    return said.removeprefix("error:").strip() or None


def interpreter(project_root: Path, uv: Path, sync_args: Sequence[str]) -> Path | None:
    import re

    try:
        result = runner.answer(argv.dry_run_command(uv, sync_args), project_root)
    except (OSError, subprocess.SubprocessError):
        return None
    found = re.search(r"^Using \S+ [^\n]*? interpreter at: (.+?)\s*$", result.stderr, re.M)
    if found:
        return Path(found.group(1))
    kept = re.search(r"^Would use project environment at: (.+?)\s*$", result.stderr, re.M)
    if kept:
        environment = project_root / kept.group(1)
        for python in (environment / "bin" / "python", environment / "Scripts" / "python.exe"):
            if python.exists():
                return python
    return None
