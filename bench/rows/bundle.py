"""Row 6: a bundle: its size against the files it holds, and a cold offline `lockshim sync` from
the bundle against the same sync from the same files in a folder (goal: within 10%).
"""

from __future__ import annotations

import functools
import shutil

from common import WORK, Row, compare, lockshim_cmd, run, timed

from fixtures import app_project


def measure(pairs: int) -> list[Row]:
    project, wheels = app_project()
    bundle = WORK / "app.lockshim.zip"
    bundle.unlink(missing_ok=True)
    run(
        [*lockshim_cmd(), "bundle", "-o", str(bundle), "--no-pip-cache", "-w", str(wheels)], project
    )
    files = sum(p.stat().st_size for p in wheels.iterdir() if p.suffix == ".whl")
    files += sum((project / name).stat().st_size for name in ("uv.lock", "pyproject.toml"))
    size = bundle.stat().st_size
    caches = WORK / "bundle-caches"

    def fresh() -> None:
        shutil.rmtree(project / ".venv", ignore_errors=True)
        shutil.rmtree(caches, ignore_errors=True)
        caches.mkdir()

    def sync_from(source: str) -> float:
        command = [*lockshim_cmd(), "sync", "-q", "--no-pip-cache", "-w", source]
        return timed(command, project, before=fresh, UV_CACHE_DIR=str(caches))

    return [
        (
            "6. bundle size / sum of the files it holds (wheels, uv.lock, pyproject.toml)",
            size / 1e6,
            files / 1e6,
            size / files,
            "<= 1.01",
            size / files <= 1.01,
        ),
        compare(
            "6b. cold sync: from the bundle / from the same files in a folder",
            functools.partial(sync_from, str(bundle)),
            functools.partial(sync_from, str(wheels)),
            pairs,
            1.1,
        ),
    ]
