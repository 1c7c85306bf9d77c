"""Row 4: a big wheelhouse costs nothing once it is indexed: the second `lockshim plan` over a
1 GB wheelhouse against the second over a 30 MB one (files hashed again: none), and, for scale,
the first (empty hash index) against the second.
"""

from __future__ import annotations

import functools
import statistics
from pathlib import Path

from common import WORK, Row, compare, lockshim_cmd, timed

from fixtures import big_wheelhouse


def _plan(total_mb: int) -> tuple[list[str], Path]:
    folder = big_wheelhouse(WORK / f"wheelhouse-{total_mb}mb", total_mb)
    return [*lockshim_cmd(), "plan", "--no-pip-cache", "-w", str(folder / "wheelhouse")], folder


def measure(pairs: int, total_mb: int) -> list[Row]:
    big, big_folder = _plan(total_mb)
    small, small_folder = _plan(30)
    index = big_folder / "wheelhouse" / ".lockshim-index.json"
    firsts, seconds, ratios, hashed_again = [], [], [], 0
    for _ in range(pairs):
        index.unlink(missing_ok=True)
        first = timed(big, big_folder)
        before = index.stat().st_mtime_ns
        second = timed(big, big_folder)
        hashed_again += index.stat().st_mtime_ns != before  # rewritten only if it hashed
        firsts.append(first)
        seconds.append(second)
        ratios.append(first / second)
    timed(small, small_folder)  # the small one indexed too
    name, ours, theirs, ratio, goal, ok = compare(
        f"4. second plan: {total_mb} MB wheelhouse / 30 MB wheelhouse (files hashed again: "
        f"{'none' if not hashed_again else 'SOME'})",
        functools.partial(timed, big, big_folder),
        functools.partial(timed, small, small_folder),
        pairs,
        1.2,
    )
    scale = statistics.median(ratios)
    return [
        (name, ours, theirs, ratio, goal, ok and not hashed_again),
        (
            f"4b. {total_mb} MB wheelhouse: first lockshim plan (hashes all) / second",
            statistics.median(firsts),
            statistics.median(seconds),
            scale,
            "for scale",
            True,
        ),
    ]
