"""Row 7: filling an empty wheelhouse from PyPI itself (the real network, not loopback):
`lockshim fetch` against the peer `uv-wheel-download`, on the 43-package app. Skipped, and
said so, where files.pythonhosted.org cannot be reached.
"""

from __future__ import annotations

import functools
import shutil
import socket

from common import WORK, Row, compare, lockshim_cmd, timed

from fixtures import app_project, peer_venv


def measure(pairs: int) -> list[Row]:
    name = "7. fill a wheelhouse from PyPI (real network): lockshim fetch / uv-wheel-download"
    try:
        socket.create_connection(("files.pythonhosted.org", 443), timeout=5).close()
    except OSError:
        return [(f"{name}: skipped, no network", 0.0, 0.0, 0.0, "n/a", True)]
    project, _ = app_project()
    peer = peer_venv()
    dest = WORK / "fetch-real"
    # The peer keeps every download in a store inside uv's cache, lockshim in its download
    # cache: an empty wheelhouse is only filled from the network when both are empty too.
    cache = WORK / "fetch-real-uv-cache"

    def empty() -> None:
        shutil.rmtree(dest, ignore_errors=True)
        shutil.rmtree(cache, ignore_errors=True)

    env = {"UV_CACHE_DIR": str(cache), "LOCKSHIM_CACHE_DIR": str(cache / "lockshim")}
    ours = functools.partial(
        timed, [*lockshim_cmd(), "fetch", "--dest", str(dest)], project, before=empty, **env
    )
    theirs = functools.partial(
        timed, [str(peer), "-d", str(dest), "--no-requirements"], project, before=empty, **env
    )
    return [compare(name, ours, theirs, pairs, 0.8)]
