"""Row 3: a cold offline install with an empty uv cache, against the export + `uv pip sync`
recipe a careful user would otherwise script.
"""

from __future__ import annotations

import shutil
import time

from common import WORK, Row, compare, lockshim_cmd, run, timed, uv_bin

from fixtures import app_project


def measure(pairs: int) -> list[Row]:
    project, wheels = app_project()
    caches = WORK / "cold-caches"

    def fresh() -> None:
        shutil.rmtree(project / ".venv", ignore_errors=True)
        shutil.rmtree(caches, ignore_errors=True)
        caches.mkdir()

    def ours() -> float:
        return timed(
            [*lockshim_cmd(), "sync", "-q", "--no-pip-cache", "-w", str(wheels)],
            project,
            before=fresh,
            UV_CACHE_DIR=str(caches),
        )

    def theirs() -> float:
        fresh()
        requirements = caches / "requirements.txt"
        start = time.perf_counter()
        cache = {"UV_CACHE_DIR": str(caches)}
        run(
            [uv_bin(), "export", "--frozen", "--no-emit-project", "-q", "-o", str(requirements)],
            project,
            **cache,
        )
        run([uv_bin(), "venv", "-q"], project, **cache)
        python = str(project / ".venv" / "bin" / "python")  # never UV_PYTHON's environment
        run(
            [
                uv_bin(),
                "pip",
                "sync",
                "-q",
                "--python",
                python,
                "--offline",
                "--no-index",
                "--find-links",
                str(wheels),
                "--require-hashes",
                str(requirements),
            ],
            project,
            **cache,
        )
        return time.perf_counter() - start

    return [
        compare(
            "3. cold offline install: lockshim sync / export + uv pip sync recipe",
            ours,
            theirs,
            pairs,
            0.9,
        )
    ]
