"""Test support for lockshim, one layer, a module for each thing it provides:

- :mod:`.wheels`: real wheels and sdists, built by the tests;
- :mod:`.index`: a PEP 503/691 index on 127.0.0.1 that serves them, with faults on demand;
- :mod:`.uvenv`: the real uv, an environment with no configuration of this machine, projects;
- :mod:`.projects`: the projects and locks the tests share, and the real lockshim, git and pip
  run on them;
- :mod:`.wheelhouse`: hatchling's real wheels, downloaded once.

Nothing here reaches the network beyond 127.0.0.1, except :mod:`.wheelhouse`, which downloads
hatchling's wheels once with this machine's pip configuration.
"""

from pathlib import Path

from .index import LoopbackIndex
from .uvenv import (
    can_unshare_net,
    isolated_env,
    make_project,
    make_venv,
    needs_unshare,
    offline_command,
    run_uv,
    uv_bin,
    uv_lock,
)
from .wheelhouse import WheelhouseUnavailable, hatchling_wheelhouse
from .wheels import build_sdist, build_wheel, module_name, normalize, sha256_of

__all__ = [
    "LoopbackIndex",
    "WheelhouseUnavailable",
    "build_sdist",
    "build_wheel",
    "can_unshare_net",
    "hatchling_wheelhouse",
    "index_entries",
    "isolated_env",
    "make_project",
    "make_venv",
    "module_name",
    "needs_unshare",
    "normalize",
    "offline_command",
    "run_uv",
    "sha256_of",
    "uv_bin",
    "uv_lock",
]


def index_entries(
    folder: Path, table: str = "files", algorithm: str | None = None
) -> dict[str, list[object]]:
    """A wheelhouse's hash index as path -> entry, whichever format it is written in (2:
    each table in shards by folder, each shard a JSON text)."""
    import json

    data = json.loads((folder / ".lockshim-index.json").read_text())
    raw = data["digests"][algorithm] if algorithm else data[table]
    if data["format"] == 1:
        return dict(raw)
    entries: dict[str, list[object]] = {}
    for shard in raw.values():
        entries.update(json.loads(shard))
    return entries
