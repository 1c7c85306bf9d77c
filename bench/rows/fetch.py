"""Row 5: filling an empty wheelhouse from a loopback index: `lockshim fetch` against the peer
`uv-wheel-download`, and against `uv export` + `pip download`.
"""

from __future__ import annotations

import functools
import shutil
import time

from common import PYTHON, WORK, Row, compare, lockshim_cmd, run, timed, uv_bin

from fixtures import app_project, loopback_index, peer_venv


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
        # The peer keeps every download in a store inside uv's cache: empty it too, or the
        # peer's "downloads" after the first run are copies from that store.
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
        )
        theirs = functools.partial(
            timed,
            [str(peer), "-d", str(dest), "-r", str(WORK / "peer-req.txt")],
            folder,
            before=empty,
            UV_CACHE_DIR=str(cache),
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
    return rows
