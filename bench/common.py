"""What every benchmark row shares: a clean environment, timing, and paired comparison."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

WORK = Path(__file__).resolve().parent / ".work"
PYTHON = sys.executable
#: (comparison, lockshim's seconds, the other's seconds, ratio, goal, met)
Row = tuple[str, float, float, float, str, bool]
#: uv's stand-in for the overhead row: answers `--version`, does nothing else. A shell script
#: where there is a shell, so that the row does not bill lockshim for a second Python start.
NOOP_UV = (
    f"""#!{PYTHON}
import sys
if sys.argv[1:2] == ["--version"]:
    print("uv 0.13.9 (no-op stand-in)")
"""
    if os.name == "nt"
    else """#!/bin/sh
[ "$1" = --version ] && echo "uv 0.13.9 (no-op stand-in)"
exit 0
"""
)


def uv_bin() -> str:
    from uv import find_uv_bin

    return str(find_uv_bin())


def lockshim_cmd() -> list[str]:
    script = Path(PYTHON).parent / "lockshim"
    return [str(script)] if script.exists() else [PYTHON, "-m", "lockshim"]


def env(**extra: str) -> dict[str, str]:
    """No pip/uv configuration of this machine; bytecode is written, as an installed tool's is."""
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PIP_", "UV_", "LOCKSHIM_")) and k != "PYTHONDONTWRITEBYTECODE"
    }
    clean.update(
        UV_NO_CONFIG="1",
        UV_PYTHON_DOWNLOADS="never",
        UV_PYTHON=PYTHON,
        PIP_CONFIG_FILE=os.devnull,
        PIP_DISABLE_PIP_VERSION_CHECK="1",
    )
    clean["PATH"] = os.pathsep.join([str(Path(uv_bin()).parent), clean.get("PATH", "")])
    clean.update(extra)
    return clean


def run(command: Sequence[str], cwd: Path | None = None, **extra: str) -> None:
    result = subprocess.run(
        list(command), cwd=cwd, env=env(**extra), capture_output=True, text=True
    )
    if result.returncode != 0:
        raise SystemExit(f"failed: {' '.join(command)}\n{result.stdout}\n{result.stderr}")


def timed(
    command: Sequence[str],
    cwd: Path | None = None,
    before: Callable[[], None] | None = None,
    **extra: str,
) -> float:
    if before is not None:
        before()
    start = time.perf_counter()
    run(command, cwd, **extra)
    return time.perf_counter() - start


def cold(command: Sequence[str], cwd: Path, before: Callable[[], None], caches: Path) -> float:
    """``command``'s time with uv's and lockshim's caches in ``caches`` (emptied by
    ``before``)."""
    return timed(
        command,
        cwd,
        before=before,
        UV_CACHE_DIR=str(caches / "uv"),
        LOCKSHIM_CACHE_DIR=str(caches / "lockshim"),
    )


def paired(
    ours: Callable[[], float], theirs: Callable[[], float], pairs: int
) -> tuple[float, float, float]:
    """(our median, their median, median of per-pair ratios), alternating who goes first."""
    mine, peer, ratios = [], [], []
    for number in range(pairs):
        if number % 2:
            b, a = theirs(), ours()
        else:
            a, b = ours(), theirs()
        mine.append(a)
        peer.append(b)
        ratios.append(a / b)
    return statistics.median(mine), statistics.median(peer), statistics.median(ratios)


def compare(
    name: str, ours: Callable[[], float], theirs: Callable[[], float], pairs: int, goal: float
) -> Row:
    """One row: ``ours`` against ``theirs``, whose ratio should be at most ``goal``."""
    a, b, ratio = paired(ours, theirs, pairs)
    return (name, a, b, ratio, f"<= {goal}", ratio <= goal)
