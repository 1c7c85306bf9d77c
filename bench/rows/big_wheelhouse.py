"""Row 4: a big wheelhouse: the first `lockshim plan` (empty hash index) against the second
(which must hash nothing).
"""

from __future__ import annotations

import statistics

from common import WORK, Row, lockshim_cmd, timed

from fixtures import big_wheelhouse


def measure(pairs: int, total_mb: int) -> list[Row]:
    folder = big_wheelhouse(WORK / f"wheelhouse-{total_mb}mb", total_mb)
    index = folder / "wheelhouse" / ".lockshim-index.json"
    command = [*lockshim_cmd(), "plan", "--no-pip-cache", "-w", str(folder / "wheelhouse")]
    firsts, seconds, ratios, hashed_again = [], [], [], 0
    for _ in range(pairs):
        index.unlink(missing_ok=True)
        first = timed(command, folder)
        before = index.stat().st_mtime_ns
        second = timed(command, folder)
        hashed_again += index.stat().st_mtime_ns != before  # rewritten only if it hashed
        firsts.append(first)
        seconds.append(second)
        ratios.append(first / second)
    ratio = statistics.median(ratios)
    return [
        (
            f"4. {total_mb} MB wheelhouse: first lockshim plan / second (second hashed "
            f"{'nothing' if not hashed_again else 'AGAIN'})",
            statistics.median(firsts),
            statistics.median(seconds),
            ratio,
            ">= 20",
            ratio >= 20 and not hashed_again,
        )
    ]
