"""Row 2: lockshim's own overhead on generated locks of growing size (uv replaced by a no-op),
against `uv sync --frozen --offline --dry-run` on the same lock; 2b: how it grows with size.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence

from common import NOOP_UV, WORK, Row, compare, lockshim_cmd, timed, uv_bin

from fixtures import generated_lock


def measure(pairs: int, sizes: Sequence[float]) -> list[Row]:
    noop = WORK / "noop-uv"
    noop.write_text(NOOP_UV)
    noop.chmod(0o755)
    rows: list[Row] = []
    ours_by_size = {}
    for megabytes in sizes:
        folder = generated_lock(WORK / f"lock-{megabytes}mb", megabytes)
        actual = (folder / "uv.lock").stat().st_size / 1e6
        wheels = str(folder / "wheelhouse")
        lock = folder / "uv.lock"
        ours = functools.partial(
            timed,
            [*lockshim_cmd(), "sync", "-q", "--no-pip-cache", "-w", wheels, "--uv", str(noop)],
            folder,
            # a lock changed since the last sync: the whole path, not the unchanged re-sync
            before=lambda lock=lock: os.utime(lock),
        )
        theirs = functools.partial(
            timed,
            [uv_bin(), "sync", "--frozen", "--offline", "--dry-run", "-q"],
            folder,
            UV_CACHE_DIR=str(WORK / "uv-cache-dry"),
        )
        name = f"2. overhead, {actual:.1f} MB lock (uv step a no-op) / uv sync --dry-run"
        rows.append(compare(name, ours, theirs, pairs, 1.0))
        ours_by_size[megabytes] = rows[-1][1]
    if len(sizes) >= 2:
        growth = ours_by_size[sizes[-1]] / ours_by_size[sizes[-2]]
        rows.append(
            (
                f"2b. lockshim's time, {sizes[-1]} MB lock / {sizes[-2]} MB lock",
                ours_by_size[sizes[-1]],
                ours_by_size[sizes[-2]],
                growth,
                "<= 4.5",
                growth <= 4.5,
            )
        )
    return rows
