"""A persistent sha256 index, so that a big shared wheelhouse is hashed once, not every run.

An entry is keyed by the file's path (relative to the folder indexed) and trusted only while the
file's size, mtime_ns and inode are unchanged; a changed file is always hashed again. The index
is one JSON file, written atomically (temp file + ``os.replace``) after merging with what other
writers saved meanwhile, so concurrent runs never corrupt it; an index that cannot be read is
rebuilt, never trusted. It lives beside the wheelhouse when that folder is yours and writable
(so your machines share it), else in lockshim's user cache folder: an index in a folder someone
else owns is theirs to write, and is never read. (Even a wrong index cannot get wrong bytes
installed: uv checks the hash of registry artifacts, lockshim that of the copies it stages.)
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from lockshim.atomic import atomic_write, read_regular
from lockshim.digests import ALGORITHMS, Digest, Stopped, of_file
from lockshim.paths import user_cache_dir
from lockshim.trust import yours

if TYPE_CHECKING:
    from threading import Event

    from lockshim.sources.base import LocalFile

INDEX_NAME = ".lockshim-index.json"
#: 2: each table in shards by folder, each shard a JSON text of its own, decoded when a file of
#: that folder is asked for (a lab's index of 15,000 files loads in a few milliseconds);
#: 1 (still read): each table one JSON object.
_FORMAT = 2

Entry = tuple[int, int, int, str]  # size, mtime_ns, inode, sha256


def sha256_file(
    path: Path, offset: int = 0, length: int | None = None, stop: Event | None = None
) -> str:
    """sha256 (hex) of a file, or of ``length`` bytes of it from ``offset``; ``stop`` set ends
    it between two chunks (:class:`lockshim.digests.Stopped`)."""
    return of_file(path, ("sha256",), offset, length, stop)["sha256"].hex


class HashIndex:
    """sha256 of the files under one folder, remembered across runs."""

    def __init__(self, root: Path, location: Path | None) -> None:
        self.root = root
        self.location = location
        stored = _load(location) if location else _Tables(_Table(), _Table(), _Table(), {})
        self.entries: _Table = stored.files
        #: What wheel a file holds (its real file name, "" for none), keyed like ``entries``.
        self.names: _Table = stored.names
        #: The Requires-Dist lines of the wheel a file holds (one text), keyed like ``entries``:
        #: build plans follow them without opening the wheel again.
        self.requires: _Table = stored.requires
        #: Digests in other algorithms than sha256 (a lock may pin sha384 or sha512).
        self.others: dict[str, _Table] = stored.others
        self.fresh: dict[str, Entry] = {}
        self.fresh_names: dict[str, Entry] = {}
        self.fresh_requires: dict[str, Entry] = {}
        self.fresh_others: dict[str, dict[str, Entry]] = {}
        self.seen: set[str] = set()
        #: the files listed by name only this run (a lab's other projects): still there, so
        #: their entries are kept when the index is saved
        self.also_listed: Callable[[], Iterable[str]] | None = None
        self.hashed_files = 0
        self.hashed_bytes = 0

    @classmethod
    def for_folder(cls, root: Path, *, shared: bool = True) -> HashIndex:
        """The index of ``root``: beside it when writable and ``shared``, else in the user cache."""
        if shared and _yours(root) and os.access(root, os.W_OK):
            beside = root / INDEX_NAME
            if not os.path.lexists(beside) or _yours(beside):
                return cls(root, beside)
        key = hashlib.sha256(str(root.resolve()).encode()).hexdigest()[:16]
        return cls(root, user_cache_dir() / "index" / f"{key}.json")

    def known(self, file: LocalFile, algorithm: str = "sha256") -> str | None:
        """The digest (hex) in ``algorithm`` remembered for ``file``, if the file is unchanged
        since it was hashed."""
        self.seen.add(file.relative)
        if algorithm == "sha256":
            return _current(file, self.fresh, self.entries, 64)
        stored = self.others.get(algorithm, _Table())
        length = ALGORITHMS.get(algorithm, -1)
        return _current(file, self.fresh_others.get(algorithm, {}), stored, length)

    def remember(self, file: LocalFile, digest: str) -> None:
        """A digest of ``file`` known without hashing it here (checked as it was written):
        ``"<algorithm>:<hex>"``, or the sha256 hex alone."""
        self.seen.add(file.relative)
        algorithm, _, value = digest.rpartition(":")
        entry = (file.size, file.mtime_ns, file.inode, value)
        if algorithm in ("", "sha256"):
            self.fresh[file.relative] = entry
        else:
            self.fresh_others.setdefault(algorithm, {})[file.relative] = entry

    def known_name(self, file: LocalFile) -> str | None:
        """The wheel file name remembered for ``file`` ("" for none), if it is unchanged."""
        return _current(file, self.fresh_names, self.names)

    def remember_name(self, file: LocalFile, name: str) -> None:
        self.seen.add(file.relative)
        self.fresh_names[file.relative] = (file.size, file.mtime_ns, file.inode, name)

    def known_requires(self, file: LocalFile) -> str | None:
        """The Requires-Dist text remembered for the wheel ``file`` holds, if unchanged."""
        return _current(file, self.fresh_requires, self.requires)

    def remember_requires(self, file: LocalFile, text: str) -> None:
        self.seen.add(file.relative)
        self.fresh_requires[file.relative] = (file.size, file.mtime_ns, file.inode, text)

    def hash_all(
        self, files: Iterable[LocalFile], on_done: Callable[[LocalFile], None] | None = None
    ) -> dict[tuple[Path, int], str]:
        """sha256 (hex) of every file, hashing (in parallel) only those the index does not
        know."""
        found = self.digest_all(files, ("sha256",), on_done)
        return {key: value["sha256"].hex for key, value in found.items()}

    def digest_all(
        self,
        files: Iterable[LocalFile],
        algorithms: Iterable[str],
        on_done: Callable[[LocalFile], None] | None = None,
    ) -> dict[tuple[Path, int], dict[str, Digest]]:
        """Every digest wanted of every file (algorithm -> ``"<algorithm>:<hex>"``): what the
        index knows, and the rest computed in one read of each file, in parallel."""
        wanted = tuple(dict.fromkeys(algorithms))
        result: dict[tuple[Path, int], dict[str, Digest]] = {}
        todo: list[tuple[LocalFile, tuple[str, ...]]] = []
        for file in files:
            have = {a: self.known(file, a) for a in wanted}
            result[file.key] = {a: Digest(f"{a}:{v}") for a, v in have.items() if v is not None}
            lacking = tuple(a for a, v in have.items() if v is None)
            if lacking:
                todo.append((file, lacking))
        if not todo:
            return result
        import threading
        from concurrent.futures import ThreadPoolExecutor  # only when there is hashing to do

        workers = min(4, os.cpu_count() or 1, len(todo))
        pool = ThreadPoolExecutor(max_workers=workers)
        stop = threading.Event()
        try:
            hashed = pool.map(lambda item: _try_hash(item[0], item[1], stop), todo)
            for (file, _), digests in zip(todo, hashed, strict=False):
                if on_done is not None:
                    on_done(file)
                if digests is None:
                    result.pop(file.key, None)  # vanished or unreadable since the scan
                    continue
                self.hashed_files += 1
                self.hashed_bytes += file.size
                for digest in digests.values():
                    self.remember(file, digest)
                result[file.key].update(digests)
        finally:  # Ctrl-C: the files queued are not hashed, those in progress stop at once
            stop.set()
            pool.shutdown(wait=True, cancel_futures=True)
        return result

    def save(self) -> None:
        """Merge what this run hashed into the index file; never fails the run."""
        fresh = self.fresh or self.fresh_names or self.fresh_requires or self.fresh_others
        if not fresh or self.location is None:
            return
        with contextlib.suppress(OSError):
            self.location.parent.mkdir(parents=True, exist_ok=True)
            stored = _load(self.location)  # what other writers saved meanwhile, merged

            there = self.seen
            if self.also_listed is not None:
                there = there | set(self.also_listed())

            def merged(table: _Table, fresh: dict[str, Entry]) -> dict[str, str]:
                kept: dict[str, object] = {k: v for k, v in table.items() if k in there}
                kept.update(fresh)  # gone files drop out
                return _sharded(kept)

            others = {
                algorithm: merged(
                    stored.others.get(algorithm, _Table()), self.fresh_others.get(algorithm, {})
                )
                for algorithm in {*stored.others, *self.fresh_others}
            }
            payload = json.dumps(
                {
                    "format": _FORMAT,
                    "files": merged(stored.files, self.fresh),
                    "names": merged(stored.names, self.fresh_names),
                    "requires": merged(stored.requires, self.fresh_requires),
                    "digests": others,
                },
                separators=(",", ":"),
            )
            # A cache, not a record: no fsync; a torn write is a corrupt index, rebuilt next time.
            atomic_write(self.location, payload.encode(), 0o666 & ~_umask(), durable=False)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _try_hash(file: LocalFile, algorithms: Iterable[str], stop: Event) -> dict[str, Digest] | None:
    try:
        if file.offset:
            return of_file(file.path, algorithms, file.offset, file.size, stop)
        return of_file(file.path, algorithms, stop=stop)
    except (OSError, Stopped):
        return None


def _yours(path: Path) -> bool:
    """``path`` is owned by this user (always true where there are no owners to compare)."""
    try:
        return yours(os.lstat(path))
    except OSError:
        return False


class _Table:
    """One table of an index file: a file's path under the root -> [size, mtime_ns, inode,
    value], as read; in shards by folder, each decoded when a path in it is first asked for."""

    def __init__(
        self, flat: dict[str, object] | None = None, shards: dict[str, str] | None = None
    ) -> None:
        self._flat: dict[str, object] = flat or {}
        self._shards: dict[str, str] = shards or {}

    def get(self, key: str) -> object:
        if self._shards:
            raw = self._shards.pop(key.rpartition("/")[0], None)
            if raw is not None:
                self._decode(raw)
        return self._flat.get(key)

    def items(self) -> Iterable[tuple[str, object]]:
        for folder in list(self._shards):
            self._decode(self._shards.pop(folder))
        return self._flat.items()

    def _decode(self, raw: object) -> None:
        try:
            data = json.loads(raw) if isinstance(raw, str) else None
        except ValueError:  # a damaged shard: its files are hashed again
            return
        if isinstance(data, dict):
            self._flat.update(data)


def _sharded(entries: dict[str, object]) -> dict[str, str]:
    """A table as written: folder -> the JSON text of that folder's entries."""
    folders: dict[str, dict[str, object]] = {}
    for key, entry in entries.items():
        folders.setdefault(key.rpartition("/")[0], {})[key] = entry
    return {f: json.dumps(e, separators=(",", ":")) for f, e in sorted(folders.items())}


class _Tables(NamedTuple):
    """What an index file holds, each table keyed by the file's path under the root."""

    files: _Table  # sha256
    names: _Table  # the wheel a file holds
    requires: _Table  # its Requires-Dist text
    others: dict[str, _Table]  # algorithm (sha384, sha512) -> its digests


def _current(
    file: LocalFile, fresh: dict[str, Entry], stored: _Table, length: int | None = None
) -> str | None:
    """The value remembered for ``file``, if the file is unchanged since (size, mtime, inode).
    A stored entry is data from a file: its shape (and the value's ``length``) is checked here,
    when it is asked for, not for every entry when the index is read (a lab's index holds
    thousands that a run never asks for)."""
    entry: object = fresh.get(file.relative)
    if entry is None:
        entry = stored.get(file.relative)
        if not (
            isinstance(entry, (list, tuple))
            and len(entry) == 4
            and all(type(n) is int for n in entry[:3])
            and isinstance(entry[3], str)
            and (length is None or len(entry[3]) == length)
        ):
            return None
    assert isinstance(entry, (list, tuple))
    if (entry[0], entry[1], entry[2]) == (file.size, file.mtime_ns, file.inode):
        return str(entry[3])
    return None


def _load(location: Path) -> _Tables:
    """Every table of the index file, read once; a table that cannot be read is empty, and so
    is every table of a file that cannot be read."""
    try:
        data = json.loads(read_regular(location).decode("utf-8"))
    except (OSError, ValueError):
        data = None
    if not isinstance(data, dict) or data.get("format") not in (1, _FORMAT):
        return _Tables(_Table(), _Table(), _Table(), {})
    sharded = data.get("format") == _FORMAT
    others = data.get("digests")
    return _Tables(
        _table(data.get("files"), sharded),
        _table(data.get("names"), sharded),
        _table(data.get("requires"), sharded),
        {
            str(algorithm): _table(entries, sharded)
            for algorithm, entries in (others.items() if isinstance(others, dict) else ())
            if algorithm in ALGORITHMS and algorithm != "sha256"
        },
    )


def _table(raw: object, sharded: bool) -> _Table:
    """One table as read (each entry's shape is checked when it is asked for,
    :func:`_current`)."""
    if not isinstance(raw, dict):
        return _Table()
    if sharded:
        return _Table(shards={str(k): v for k, v in raw.items() if isinstance(v, str)})
    return _Table(flat=raw)
