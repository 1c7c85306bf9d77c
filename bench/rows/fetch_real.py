"""Row 7: filling an empty wheelhouse from PyPI itself (the real network, not loopback):
`lockshim fetch` against the peer `uv-wheel-download`, on the 43-package app; 7b: the same on
real projects' locks from the shared corpus (../shared/real-locks), with every extra and group.
Skipped, and said so, where files.pythonhosted.org cannot be reached.
"""

from __future__ import annotations

import functools
import shutil
import socket
from pathlib import Path

from common import WORK, Row, compare, lockshim_cmd, timed

from fixtures import app_project, peer_venv

#: real locks of the corpus (entry, the lock's folder in it), fetched with every extra and
#: group; lockshim adds what builds the project, its path sources and sdists (flit_core,
#: pdm-backend, hatchling, setuptools): the peer leaves that out. langgraph: 179 files, 123 MB,
#: six editable path sources and one sdist.
REAL_PROJECTS = (
    ("flask-lib-groups", "."),
    ("typer-lib", "."),
    ("langgraph-editable-paths", "libs/langgraph"),
)
CORPUS = Path(__file__).resolve().parents[3] / "shared" / "real-locks"


def measure(pairs: int) -> list[Row]:
    name = "7. fill a wheelhouse from PyPI (real network): lockshim fetch / uv-wheel-download"
    try:
        socket.create_connection(("files.pythonhosted.org", 443), timeout=5).close()
    except OSError:
        return [(f"{name}: skipped, no network", 0.0, 0.0, 0.0, "n/a", True)]
    project, _ = app_project()
    rows = [_row(name, project, [], pairs)]
    for entry, folder in REAL_PROJECTS:
        label = (
            f"7b. {entry} (real lock, every extra and group, from PyPI): lockshim fetch "
            "(build requirements included) / uv-wheel-download"
        )
        if not (CORPUS / entry / folder / "uv.lock").exists():
            rows.append((f"{label}: skipped, no {CORPUS}", 0.0, 0.0, 0.0, "n/a", True))
            continue
        copy = WORK / f"real-{entry}"
        shutil.rmtree(copy, ignore_errors=True)
        shutil.copytree(CORPUS / entry, copy)  # the corpus is read-only
        rows.append(_row(label, copy / folder, ["--all-extras", "--all-groups"], pairs))
    return rows


def _row(name: str, project: Path, args: list[str], pairs: int) -> Row:
    peer = peer_venv()
    dest = WORK / "fetch-real"
    # The peer keeps every download in a store inside uv's cache, lockshim in its download
    # cache: an empty wheelhouse is only filled from the network when both are empty too.
    cache = WORK / "fetch-real-uv-cache"

    def empty() -> None:
        shutil.rmtree(dest, ignore_errors=True)
        shutil.rmtree(cache, ignore_errors=True)

    env = {"UV_CACHE_DIR": str(cache), "LOCKSHIM_CACHE_DIR": str(cache / "lockshim")}
    uv_args = ["--", *args] if args else []
    ours = functools.partial(
        timed,
        [*lockshim_cmd(), "fetch", "--dest", str(dest), *uv_args],
        project,
        before=empty,
        **env,
    )
    theirs = functools.partial(
        timed,
        [str(peer), "-d", str(dest), "--no-requirements", *args],
        project,
        before=empty,
        **env,
    )
    return compare(name, ours, theirs, pairs, 0.8)
