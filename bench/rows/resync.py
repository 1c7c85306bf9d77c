"""Row 1: re-sync of an installed app, `lockshim sync` against plain `uv sync --offline --frozen`
(the floor: what any wrapper around uv costs at least).
"""

from __future__ import annotations

import functools
import shutil

from common import WORK, Row, compare, lockshim_cmd, run, timed, uv_bin

from fixtures import app_project


def measure(pairs: int) -> list[Row]:
    project, wheels = app_project()
    cache = str(WORK / "uv-cache-resync")
    shutil.rmtree(project / ".venv", ignore_errors=True)
    run(
        [*lockshim_cmd(), "sync", "-q", "--no-pip-cache", "-w", str(wheels)],
        project,
        UV_CACHE_DIR=cache,
    )
    ours = functools.partial(
        timed,
        [*lockshim_cmd(), "sync", "-q", "--no-pip-cache", "-w", str(wheels)],
        project,
        UV_CACHE_DIR=cache,
    )
    theirs = functools.partial(
        timed, [uv_bin(), "sync", "-q", "--offline", "--frozen"], project, UV_CACHE_DIR=cache
    )
    return [
        compare(
            "1. re-sync, 43-package app: lockshim sync / uv sync --offline --frozen",
            ours,
            theirs,
            pairs,
            1.5,
        )
    ]
