"""Row 1: re-sync of an installed app, `lockshim sync` against the floor: what any Python wrapper
of uv must pay, `uv sync --offline --frozen` plus a Python start (`python -c pass`, same venv).
"""

from __future__ import annotations

import shutil
import time

from common import PYTHON, WORK, Row, compare, lockshim_cmd, run, uv_bin

from fixtures import app_project


def measure(pairs: int) -> list[Row]:
    project, wheels = app_project()
    cache = str(WORK / "uv-cache-resync")
    shutil.rmtree(project / ".venv", ignore_errors=True)
    sync = [*lockshim_cmd(), "sync", "-q", "--no-pip-cache", "-w", str(wheels)]
    run(sync, project, UV_CACHE_DIR=cache)  # installs; the runs measured are re-syncs

    def ours() -> float:
        start = time.perf_counter()
        run(sync, project, UV_CACHE_DIR=cache)
        return time.perf_counter() - start

    def floor() -> float:
        start = time.perf_counter()
        run([uv_bin(), "sync", "-q", "--offline", "--frozen"], project, UV_CACHE_DIR=cache)
        run([PYTHON, "-c", "pass"], project)
        return time.perf_counter() - start

    return [
        compare(
            "1. re-sync, 43-package app: lockshim sync / floor (uv sync + python -c pass)",
            ours,
            floor,
            pairs,
            1.3,
        )
    ]
