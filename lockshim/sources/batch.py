"""Many downloads into one folder at once, over one connection pool: a batch the lock's own
files start and that the files of build requirements join while they run.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from lockshim.sources.credentials import Credentials
from lockshim.sources.download import Downloader, Outcome, Wanted, sweep_parts


class Batch:
    """Downloads into one folder, ``jobs`` at a time over one connection pool, with more added
    while the first run (build requirements found while the lock's own files download).

    Left by an exception (Ctrl-C, or any in the caller's thread): downloads in flight end at
    their next chunk, their .part files are removed, and the exception goes on.
    """

    def __init__(
        self,
        dest: Path,
        credentials: Credentials,
        jobs: int,
        on_done: Callable[[Outcome, int, int], None] | None = None,
    ) -> None:
        self.dest, self.credentials, self.jobs, self.on_done = dest, credentials, jobs, on_done
        self._futures: list[Future[Outcome]] = []
        self._done = self._total = 0
        self._lock = threading.Lock()
        #: made with the first file added (a batch with nothing to download imports nothing)
        self._started: tuple[Downloader, ThreadPoolExecutor] | None = None

    def __enter__(self) -> Batch:
        # the folder, even with nothing to download; never group-writable by umask 002
        self.dest.mkdir(mode=0o755, parents=True, exist_ok=True)
        sweep_parts(self.dest, time.time())  # what a killed run left half-written
        return self

    def add(self, wanted: Sequence[Wanted]) -> list[Future[Outcome]]:
        """Start downloading ``wanted``, the biggest first (the last to finish is then a small
        one); their outcomes, in the order given."""
        if not wanted:
            return []
        if self._started is None:
            downloader = Downloader(self.dest, self.credentials, self.jobs)
            self._started = downloader, ThreadPoolExecutor(max_workers=max(1, self.jobs))
        downloader, pool = self._started
        with self._lock:
            self._total += len(wanted)
        futures: dict[int, Future[Outcome]] = {}
        for i in sorted(range(len(wanted)), key=lambda i: -(wanted[i].size or 0)):
            futures[i] = pool.submit(downloader.fetch, wanted[i])
            futures[i].add_done_callback(self._said)
        ordered = [futures[i] for i in range(len(wanted))]
        self._futures += ordered
        return ordered

    def _said(self, future: Future[Outcome]) -> None:
        if self.on_done is None or future.cancelled() or future.exception() is not None:
            return
        with self._lock:  # one at a time: the callback may draw a progress bar
            self._done += 1
            self.on_done(future.result(), self._done, self._total)

    def wait(self, futures: Sequence[Future[Outcome]]) -> list[Outcome]:
        """The outcomes of ``futures`` (from :meth:`add`), once all are done."""
        return [future.result() for future in futures]

    def __exit__(self, kind: object, error: BaseException | None, trace: object) -> None:
        if self._started is None:
            return
        downloader, pool = self._started
        if error is not None:
            downloader.halt()
        pool.shutdown(wait=True, cancel_futures=True)
        downloader.pool.clear()
        downloaded = any(
            f.done()
            and not f.cancelled()
            and f.exception() is None
            and f.result().status == "downloaded"
            for f in self._futures
        )
        if downloaded:  # only then can lockshim's download cache have grown
            from lockshim.sources import kept

            kept.within_limit()
