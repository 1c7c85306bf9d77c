"""Row 11: the far side of an air gap from one file. An empty folder, the machine's Python and a
self-contained bundle made --with-project: `python app.pyz sync --into DIR` unpacks the project,
uv (once into an empty cache) and installs offline; against `uv sync --frozen` of the same lock
downloading the same files from a pypiserver on 127.0.0.1 (the project already there, uv
already installed: what a machine with a network does).
"""

from __future__ import annotations

import os
import shutil

from common import PYTHON, WORK, Row, cold, lockshim_cmd, paired, run, uv_bin

from fixtures import _tests_support, app_project, pypiserver_on


def measure(pairs: int) -> list[Row]:
    project, wheels = app_project()
    folder = WORK / "farside-project"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    uv_wheels = WORK / "farside-uv"
    shutil.rmtree(uv_wheels, ignore_errors=True)
    _tests_support()
    from support.wheels import uv_wheel

    uv_wheels.mkdir()
    uv_wheel(uv_wheels)  # the uv in use, as a wheel for this machine
    caches = WORK / "farside-caches"
    far = WORK / "farside"
    bundle = WORK / "farside.pyz"

    def fresh() -> None:
        for path in (far, caches, folder / ".venv"):
            shutil.rmtree(path, ignore_errors=True)
        far.mkdir()
        caches.mkdir()
        if hasattr(os, "sync"):
            os.sync()

    with pypiserver_on(wheels) as index_url:
        (folder / "pyproject.toml").write_text(
            (project / "pyproject.toml").read_text()
            + "environments = [\"sys_platform == 'linux' and python_version == '3.11'\"]\n"
        )
        run([uv_bin(), "lock", "--index-url", index_url], folder, UV_CACHE_DIR=str(caches))
        identity = ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.com"]
        for command in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "app"]):
            run([*identity, *command], folder)  # a repository of its own (.work is ignored)
        bundle.unlink(missing_ok=True)
        run(
            [
                *(*lockshim_cmd(), "bundle", "-o", str(bundle), "--self-contained"),
                *("--with-project", "--no-pip-cache", "-w", str(wheels), "-w", str(uv_wheels)),
            ],
            folder,
        )

        def ours() -> float:
            command = [PYTHON, "-I", "-S", str(bundle), "sync", "--into", "proj", "-q"]
            return cold(command, far, fresh, caches)

        def theirs() -> float:
            return cold([uv_bin(), "sync", "--frozen", "-q"], folder, fresh, caches)

        name = (
            "11. far side from one file: python app.pyz sync --into DIR (empty folder and "
            "caches, offline) / uv sync --frozen from a pypiserver on 127.0.0.1"
        )
        ours_s, theirs_s, ratio = paired(ours, theirs, pairs)
        return [(name, ours_s, theirs_s, ratio, "for scale", True)]
