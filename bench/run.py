"""lockshim's benchmark: one command, every ratio measured side by side in one run.

    python bench/run.py            # the full table (a few minutes)
    python bench/run.py --quick    # a smoke run
    python bench/run.py --only 2   # one row

Each ratio is the median of per-pair ratios of paired runs that alternate which command goes
first. The first run downloads real wheels and the peer `uv-wheel-download` from the package
index into bench/.work/ (kept for later runs). Each row lives in bench/rows/ and reads on its
own; bench/common.py times and compares, bench/fixtures.py makes the inputs.
"""

from __future__ import annotations

import argparse
import datetime
import os
import subprocess
import sys
from collections.abc import Callable

from common import WORK, Row, uv_bin
from rows import (
    big_wheelhouse,
    bundle,
    cold,
    farside,
    fetch,
    fetch_real,
    lab,
    mirror,
    overhead,
    page,
    resync,
    verdict,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="few runs, small sizes")
    parser.add_argument("--only", type=int, action="append", help="run only these rows")
    options = parser.parse_args()
    WORK.mkdir(exist_ok=True)
    pairs = 3 if options.quick else 11
    wanted = set(options.only or [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12])
    rows: dict[int, Callable[[], list[Row]]] = {
        1: lambda: resync.measure(pairs),
        2: lambda: overhead.measure(max(3, pairs // 2), [1.6] if options.quick else [1.6, 4, 16]),
        3: lambda: cold.measure(max(3, pairs // 2)),
        4: lambda: big_wheelhouse.measure(
            2 if options.quick else 3, 200 if options.quick else 1000
        ),
        5: lambda: fetch.measure(max(3, pairs // 2)),
        6: lambda: bundle.measure(max(3, pairs // 2)),
        7: lambda: fetch_real.measure(max(3, pairs // 2)),
        8: lambda: mirror.measure(max(3, pairs // 2)),
        9: lambda: verdict.measure(pairs),
        10: lambda: page.measure(pairs),
        11: lambda: farside.measure(max(3, pairs // 2)),
        12: lambda: lab.measure(max(3, pairs // 2), 3_000 if options.quick else 15_000),
    }
    uv_version = subprocess.run([uv_bin(), "--version"], capture_output=True, text=True).stdout
    print(
        f"lockshim benchmark, {datetime.date.today()}, {uv_version.strip()}, "
        f"{os.cpu_count()} cores, Python {sys.version.split()[0]}\n",
        flush=True,
    )
    print("| comparison | lockshim (s) | other (s) | ratio | goal | |")
    print("| --- | ---: | ---: | ---: | --- | --- |", flush=True)
    for number, measure in rows.items():
        if number not in wanted:
            continue
        try:
            measured = measure()
        except SystemExit as failure:  # one row failing to set up does not lose the others
            reason = " ".join(str(failure).split())[:300]
            print(f"| {number}. could not be measured: {reason} | | | | | |")
            continue
        for name, ours, theirs, ratio, goal, ok in measured:
            print(
                f"| {name} | {ours:.3f} | {theirs:.3f} | {ratio:.2f} | {goal} | "
                f"{'PASS' if ok else 'FAIL'} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
