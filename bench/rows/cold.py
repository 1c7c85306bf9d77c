"""Row 3: a cold offline install with an empty uv cache, against the export + `uv pip sync`
recipe a careful user would otherwise script. 3f, for scale: the floor of any wrapper, uv's own
`uv sync` of the very lock lockshim writes (no lockshim at all), against the same recipe. 3c:
the coldest `lockshim sync` (a wheelhouse never hashed, empty caches) against what a user on a
fast network does instead, `uv sync --frozen` downloading the same files from a real index
(pypiserver) on 127.0.0.1 (the lock made against that index).
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

from common import PYTHON, WORK, Row, cold, compare, lockshim_cmd, paired, run, timed, uv_bin

from fixtures import app_project, pypiserver_on


def measure(pairs: int) -> list[Row]:
    project, wheels = app_project()
    caches = WORK / "cold-caches"

    def fresh(folder: Path = project) -> None:
        shutil.rmtree(folder / ".venv", ignore_errors=True)
        shutil.rmtree(caches, ignore_errors=True)
        caches.mkdir()
        if hasattr(os, "sync"):
            os.sync()  # the last run's writes are not billed to the next one

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

    rows = [
        compare(
            "3. cold offline install: lockshim sync / export + uv pip sync recipe",
            ours,
            theirs,
            pairs,
            0.9,
        )
    ]
    rows += _against_the_network(project, wheels, pairs)
    shimmed = _shimmed_copy(project, wheels, WORK / "app-shimmed")
    if shimmed is not None:

        def floor() -> float:
            return timed(
                [uv_bin(), "sync", "--offline", "--frozen", "-q"],
                shimmed,
                before=lambda: fresh(shimmed),
                UV_CACHE_DIR=str(caches),
            )

        floor_s, recipe_s, ratio = paired(floor, theirs, pairs)
        name = "3f. for scale: uv sync of the lock lockshim writes (no lockshim) / the recipe"
        rows.append((name, floor_s, recipe_s, ratio, "for scale", True))
    return rows


#: uv's stand-in that keeps a copy of the lock it is handed (POSIX shell).
_KEEP_LOCK = """#!/bin/sh
[ "$1" = --version ] && { echo "uv 0.13.9 (stand-in)"; exit 0; }
cp "$BENCH_LOCK_FROM" "$BENCH_LOCK_TO"
"""


def _shimmed_copy(project: Path, wheels: Path, copy: Path) -> Path | None:
    """A copy of the project whose uv.lock is the one `lockshim sync` hands uv."""
    if os.name == "nt":
        return None
    shutil.rmtree(copy, ignore_errors=True)
    copy.mkdir()
    shutil.copy(project / "pyproject.toml", copy)
    stand_in = WORK / "keep-lock-uv"
    stand_in.write_text(_KEEP_LOCK)
    stand_in.chmod(0o755)
    run(
        [*lockshim_cmd(), "sync", "-q", "--no-pip-cache", "-w", str(wheels), "--uv", str(stand_in)],
        project,
        BENCH_LOCK_FROM=str(project / "uv.lock"),
        BENCH_LOCK_TO=str(copy / "uv.lock"),
    )
    return copy


def _against_the_network(app: Path, wheels: Path, pairs: int) -> list[Row]:
    """3c: nothing known beforehand on either side: lockshim hashes a wheelhouse it never saw
    (its hash index and cache removed) and installs offline; uv downloads from loopback. 3cf,
    for scale: the floor of any wrapper on the same comparison, a Python start plus uv's own
    offline sync of the very lock lockshim writes."""
    folder = WORK / "cold-network"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    house = WORK / "cold-network-wheels"
    if not house.is_dir():
        shutil.copytree(wheels, house, ignore=shutil.ignore_patterns(".lockshim-index.json"))
    caches = WORK / "cold-network-caches"

    def fresh() -> None:
        shutil.rmtree(folder / ".venv", ignore_errors=True)
        shutil.rmtree(caches, ignore_errors=True)
        caches.mkdir()
        (house / ".lockshim-index.json").unlink(missing_ok=True)
        if hasattr(os, "sync"):
            os.sync()

    with pypiserver_on(wheels) as index_url:  # a real server: the bench's own is slower
        (folder / "pyproject.toml").write_text(
            (app / "pyproject.toml").read_text()
            + "environments = [\"sys_platform == 'linux' and python_version == '3.11'\"]\n"
        )
        run([uv_bin(), "lock", "--index-url", index_url], folder, UV_CACHE_DIR=str(caches))

        def ours() -> float:
            command = [*lockshim_cmd(), "sync", "-q", "--no-pip-cache", "-w", str(house)]
            return cold(command, folder, fresh, caches)

        def theirs() -> float:
            return cold([uv_bin(), "sync", "--frozen", "-q"], folder, fresh, caches)

        rows = [
            compare(
                "3c. coldest: lockshim sync, wheelhouse never hashed / uv sync --frozen from a "
                "pypiserver on 127.0.0.1",
                ours,
                theirs,
                pairs,
                1.0,
            )
        ]
        shimmed = _shimmed_copy(folder, house, WORK / "cold-network-shimmed")
        if shimmed is not None:

            def floor() -> float:
                start = time.perf_counter()
                run([PYTHON, "-c", "pass"])
                run(
                    [uv_bin(), "sync", "--offline", "--frozen", "-q"],
                    shimmed,
                    UV_CACHE_DIR=str(caches / "uv"),
                )
                return time.perf_counter() - start

            def floor_fresh() -> float:
                fresh()
                shutil.rmtree(shimmed / ".venv", ignore_errors=True)
                return floor()

            name = "3cf. for scale: Python start + uv sync of the lock lockshim writes / 3c's uv"
            floor_s, theirs_s, ratio = paired(floor_fresh, theirs, pairs)
            rows.append((name, floor_s, theirs_s, ratio, "for scale", True))
        return rows
