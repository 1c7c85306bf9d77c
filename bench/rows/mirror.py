"""Row 8: a company mirror (a real pypiserver on 127.0.0.1 serving the app's wheels): a cold
`lockshim sync --mirror` of the app's lock made against PyPI, against `uv sync --frozen` of the
same app locked directly against that mirror; empty caches on both sides, the same server.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from common import WORK, Row, compare, lockshim_cmd, run, timed, uv_bin

from fixtures import app_project, pypiserver_on


def measure(pairs: int) -> list[Row]:
    app, wheels = app_project()  # its lock names PyPI's file URLs
    direct = WORK / "mirror-direct"
    caches = WORK / "mirror-caches"

    def fresh(folder: Path) -> None:
        shutil.rmtree(folder / ".venv", ignore_errors=True)
        shutil.rmtree(caches, ignore_errors=True)
        caches.mkdir()

    with pypiserver_on(wheels) as mirror:
        shutil.rmtree(direct, ignore_errors=True)
        direct.mkdir()
        (direct / "pyproject.toml").write_text(
            (app / "pyproject.toml").read_text()
            + "environments = [\"sys_platform == 'linux' and python_version == '3.11'\"]\n"
        )
        run([uv_bin(), "lock", "--index-url", mirror], direct, UV_CACHE_DIR=str(caches))

        def ours() -> float:
            return timed(
                [*lockshim_cmd(), "sync", "-q", "--no-pip-cache", "--mirror", mirror],
                app,
                before=lambda: fresh(app),
                UV_CACHE_DIR=str(caches / "uv"),
                LOCKSHIM_CACHE_DIR=str(caches / "lockshim"),
            )

        def theirs() -> float:
            return timed(
                [uv_bin(), "sync", "--frozen", "-q"],
                direct,
                before=lambda: fresh(direct),
                UV_CACHE_DIR=str(caches / "uv"),
            )

        return [
            compare(
                "8. cold sync from a pypiserver mirror: lockshim sync --mirror (lock made "
                "against PyPI) / uv sync --frozen (lock made against the mirror)",
                ours,
                theirs,
                pairs,
                1.2,
            )
        ]
