"""Row 8: a company mirror (a real pypiserver on 127.0.0.1 serving the app's wheels): a cold
`lockshim sync --mirror` of the app's lock made against PyPI, against `uv sync --frozen` of the
same app locked directly against that mirror; empty caches on both sides, the same server.

8r, on the real network: PyPI itself as the mirror (its PEP 691 pages, as a proxy such as
Artifactory serves them: pydantic-core's alone is 7 MB). `lockshim sync --mirror
https://pypi.org/simple/` of the app's lock against `uv sync --frozen` of the same lock: both
download the same files from the same place, so the ratio is what mirror mode costs on top of
uv's own sync. Skipped, and said so, where PyPI cannot be reached.
"""

from __future__ import annotations

import shutil
import socket
from pathlib import Path

from common import WORK, Row, cold, compare, lockshim_cmd, run, uv_bin

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
            command = [*lockshim_cmd(), "sync", "-q", "--no-pip-cache", "--mirror", mirror]
            return cold(command, app, lambda: fresh(app), caches)

        def theirs() -> float:
            return cold([uv_bin(), "sync", "--frozen", "-q"], direct, lambda: fresh(direct), caches)

        rows = [
            compare(
                "8. cold sync from a pypiserver mirror: lockshim sync --mirror (lock made "
                "against PyPI) / uv sync --frozen (lock made against the mirror)",
                ours,
                theirs,
                pairs,
                1.2,
            )
        ]
    return [*rows, _real(app, caches, pairs)]


PYPI = "https://pypi.org/simple/"


def _real(app: Path, caches: Path, pairs: int) -> Row:
    name = (
        "8r. PyPI itself as the mirror (real network): lockshim sync --mirror "
        "https://pypi.org/simple / uv sync --frozen of the same lock, empty caches"
    )
    try:
        socket.create_connection(("pypi.org", 443), timeout=5).close()
    except OSError:
        return (f"{name}: skipped, no network", 0.0, 0.0, 0.0, "n/a", True)

    def fresh() -> None:
        shutil.rmtree(app / ".venv", ignore_errors=True)
        shutil.rmtree(caches, ignore_errors=True)
        caches.mkdir()

    def ours() -> float:
        command = [*lockshim_cmd(), "sync", "-q", "--no-pip-cache", "--mirror", PYPI]
        return cold(command, app, fresh, caches)

    def theirs() -> float:
        return cold([uv_bin(), "sync", "--frozen", "-q"], app, fresh, caches)

    return compare(name, ours, theirs, pairs, 1.2)
