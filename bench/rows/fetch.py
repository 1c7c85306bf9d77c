"""Row 5: filling an empty wheelhouse from a loopback index: `lockshim fetch` against the peer
`uv-wheel-download`, and against `uv export` + `pip download`; 5c: a packaged (hatchling,
editable) app with extras and groups, where `fetch` also brings the build requirements.
"""

from __future__ import annotations

import functools
import shutil
import time
from pathlib import Path

from common import PYTHON, WORK, Row, compare, lockshim_cmd, run, timed, uv_bin

from fixtures import APP_DEPENDENCIES, app_project, build_wheels, loopback_index, peer_venv


def measure(pairs: int) -> list[Row]:
    project, wheels = app_project()
    peer = peer_venv()
    folder = WORK / "fetch-project"
    rows: list[Row] = []
    with loopback_index(wheels) as index_url:
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        # The index holds the wheels for this machine only: lock for this environment alone.
        (folder / "pyproject.toml").write_text(
            (project / "pyproject.toml").read_text()
            + "environments = [\"sys_platform == 'linux' and python_version == '3.11'\"]\n"
        )
        run(
            [uv_bin(), "lock", "--index-url", index_url],
            folder,
            UV_CACHE_DIR=str(WORK / "uv-cache-fetch-lock"),
        )
        dest = WORK / "fetch-dest"
        # The peer keeps every download in a store inside uv's cache, and lockshim in its own
        # download cache: both are emptied, or the "downloads" after the first run are copies.
        cache = WORK / "fetch-uv-cache"

        def empty() -> None:
            shutil.rmtree(dest, ignore_errors=True)
            shutil.rmtree(cache, ignore_errors=True)

        ours = functools.partial(
            timed,
            [*lockshim_cmd(), "fetch", "--dest", str(dest), "--no-build-deps"],
            folder,
            before=empty,
            UV_CACHE_DIR=str(cache),
            LOCKSHIM_CACHE_DIR=str(cache / "lockshim"),  # its download cache: cold too
        )
        theirs = functools.partial(
            timed,
            [str(peer), "-d", str(dest), "-r", str(WORK / "peer-req.txt")],
            folder,
            before=empty,
            UV_CACHE_DIR=str(cache),
            LOCKSHIM_CACHE_DIR=str(cache / "lockshim"),  # its download cache: cold too
        )
        rows.append(
            compare(
                "5. fill a wheelhouse: lockshim fetch / uv-wheel-download", ours, theirs, pairs, 1.0
            )
        )

        def pip_way() -> float:
            empty()
            requirements = WORK / "fetch-req.txt"
            start = time.perf_counter()
            run(
                [
                    uv_bin(),
                    "export",
                    "--frozen",
                    "--no-hashes",
                    "--no-emit-project",
                    "-q",
                    "-o",
                    str(requirements),
                ],
                folder,
            )
            run(
                [
                    PYTHON,
                    "-m",
                    "pip",
                    "download",
                    "--no-deps",
                    "-q",
                    "-d",
                    str(dest),
                    "--index-url",
                    index_url,
                    "--trusted-host",
                    "127.0.0.1",
                    "--no-cache-dir",
                    "-r",
                    str(requirements),
                ]
            )
            return time.perf_counter() - start

        rows.append(
            compare(
                "5b. fill a wheelhouse: lockshim fetch / uv export + pip download",
                ours,
                pip_way,
                pairs,
                0.2,
            )
        )
    rows.append(_packaged(project, wheels, peer, pairs))
    return rows


def _packaged(app: Path, wheels: Path, peer: Path, pairs: int) -> Row:
    """5c: the app as a packaged project (hatchling, editable) with an extra and two groups,
    locked against a loopback index that also serves hatchling and what it needs; `lockshim
    fetch` brings the build requirements too (the peer does not)."""
    files = WORK / "packaged-index"
    shutil.rmtree(files, ignore_errors=True)
    files.mkdir()
    for wheel in [*wheels.iterdir(), *build_wheels().iterdir()]:
        shutil.copy(wheel, files)
    folder = WORK / "fetch-packaged"
    shutil.rmtree(folder, ignore_errors=True)
    (folder / "src" / "app").mkdir(parents=True)
    (folder / "src" / "app" / "__init__.py").write_text("")
    main, extra, dev, docs = (
        APP_DEPENDENCIES[:8],
        APP_DEPENDENCIES[8:10],
        APP_DEPENDENCIES[10:12],
        APP_DEPENDENCIES[12:],
    )

    def listed(names: list[str]) -> str:
        return "[" + ", ".join(f'"{n}"' for n in names) + "]"

    (folder / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"\n\n'
        f'[project]\nname = "app"\nversion = "0.1.0"\nrequires-python = ">=3.10"\n'
        f"dependencies = {listed(main)}\n\n"
        f"[project.optional-dependencies]\nx = {listed(extra)}\n\n"
        f"[dependency-groups]\ndev = {listed(dev)}\ndocs = {listed(docs)}\n\n"
        "[tool.uv]\n"
        "environments = [\"sys_platform == 'linux' and python_version == '3.11'\"]\n"
    )
    dest = WORK / "fetch-packaged-dest"
    cache = WORK / "fetch-uv-cache"

    def empty() -> None:
        shutil.rmtree(dest, ignore_errors=True)
        shutil.rmtree(cache, ignore_errors=True)

    args = ["--", "--all-extras", "--all-groups"]
    with loopback_index(files) as index_url:
        run([uv_bin(), "lock", "--index-url", index_url], folder, UV_CACHE_DIR=str(cache))
        ours = functools.partial(
            timed,
            [*lockshim_cmd(), "fetch", "--dest", str(dest), *args],
            folder,
            before=empty,
            UV_CACHE_DIR=str(cache),
            LOCKSHIM_CACHE_DIR=str(cache / "lockshim"),  # its download cache: cold too
            UV_INDEX_URL=index_url,
        )
        theirs = functools.partial(
            timed,
            [str(peer), "-d", str(dest), "--no-requirements", *args],
            folder,
            before=empty,
            UV_CACHE_DIR=str(cache),
            LOCKSHIM_CACHE_DIR=str(cache / "lockshim"),  # its download cache: cold too
        )
        return compare(
            "5c. packaged app, extras and groups: lockshim fetch (build requirements included) "
            "/ uv-wheel-download",
            ours,
            theirs,
            pairs,
            0.8,
        )
