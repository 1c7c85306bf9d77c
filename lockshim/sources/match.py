"""Matching local files to the artifacts uv.lock pins: by digest (sha256, sha384 or sha512, as
the lock pins it) and size, never by name alone.

Names only decide what is worth hashing. A file named like an artifact is hashed first; an
artifact still unserved then looks at files of its exact size (renamed files, pip's cache
bodies), or, when the lock gives no size, at files not named like any artifact of the lock.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

from lockshim.digests import Digest
from lockshim.lockfile.model import Artifact, Lock, Package
from lockshim.sources.base import LocalFile

#: Called after each file is hashed: (files done, files to hash, the file).
OnHash = Callable[[int, int, LocalFile], None]


class Served(NamedTuple):
    """``file`` holds exactly the bytes ``artifact`` pins."""

    package: Package
    artifact: Artifact
    file: LocalFile

    @property
    def renamed(self) -> bool:
        """The file's name is not the artifact's: uv needs it under the lock's file name."""
        return self.file.name != self.artifact.filename


class Ignored(NamedTuple):
    """A file named like an artifact whose bytes are not the ones the lock pins."""

    package: Package
    artifact: Artifact
    file: LocalFile
    reason: str


class MatchResult(NamedTuple):
    served: tuple[Served, ...]
    ignored: tuple[Ignored, ...]
    #: Artifacts with a same-named local file but no digest lockshim checks in the lock (none,
    #: or md5, blake2b, ...): never served.
    unverifiable: tuple[tuple[Package, Artifact, LocalFile], ...]

    @property
    def served_packages(self) -> set[int]:
        return {s.package.position for s in self.served}


def match(lock: Lock, files: Sequence[LocalFile], on_hash: OnHash | None = None) -> MatchResult:
    """Which local file serves which artifact (each file hashed at most once, via its source's
    hash index)."""
    by_name: dict[str, list[LocalFile]] = defaultdict(list)
    for file in files:
        by_name[file.name].append(file)
    sizes_here = {file.size for file in files}
    # Only artifacts a local file could hold are worth a look: one named like it, or (for the
    # second round) one of its size. A big lock has far more artifacts than a wheelhouse.
    named: dict[str, list[tuple[Package, Artifact]]] = defaultdict(list)
    wanted: dict[Digest, list[tuple[Package, Artifact]]] = defaultdict(list)
    unverifiable: list[tuple[Package, Artifact, LocalFile]] = []
    for package, artifact in lock.servable():
        sha = artifact.digest  # "<algorithm>:<hex>", whichever the lock pins
        hits = by_name.get(artifact.filename)
        if sha is None:
            if hits:
                unverifiable.append((package, artifact, hits[0]))
        elif hits:
            named[artifact.filename].append((package, artifact))
            wanted[sha].append((package, artifact))
        elif artifact.size is None or artifact.size in sizes_here:
            wanted[sha].append((package, artifact))

    ignored: list[Ignored] = []
    first_round: list[LocalFile] = []
    for name, pairs in named.items():
        for package, artifact in pairs:
            for file in by_name[name]:
                if artifact.size is not None and file.size != artifact.size:
                    reason = f"{file.size} bytes, but uv.lock pins {artifact.size}"
                    ignored.append(Ignored(package, artifact, file, reason))
                else:
                    first_round.append(file)
    algorithms = sorted({sha.algorithm for sha in wanted})
    digests = _hash(first_round, algorithms, on_hash)
    found = _found(files, digests, wanted)

    sizes = {
        artifact.size for sha, pairs in wanted.items() if sha not in found for _, artifact in pairs
    }
    anonymous = None in sizes
    lock_names = {a.filename for _, a in lock.artifacts()} if anonymous else set()
    second_round = [
        file
        for file in files
        if file.key not in digests
        and (file.size in sizes or (anonymous and file.name not in lock_names))
    ]
    if second_round:
        digests.update(_hash(second_round, algorithms, on_hash))
        found = _found(files, digests, wanted)

    served: list[Served] = []
    for sha, pairs in wanted.items():
        holder = found.get(sha)
        if holder is not None:
            served.extend(Served(package, artifact, holder) for package, artifact in pairs)
    for file in first_round:
        held = digests.get(file.key, {})
        if any(d in wanted for d in held.values()):
            continue
        for package, artifact in named[file.name]:
            pinned = artifact.digest
            actual = held.get(pinned.algorithm) if pinned is not None else None
            had = f"{actual.algorithm} {actual.hex}" if actual is not None else "unreadable"
            reason = f"{had}, but uv.lock pins {pinned.hex if pinned is not None else ''}"
            ignored.append(Ignored(package, artifact, file, reason))
    served.sort(key=lambda s: (s.package.position, s.artifact.position))
    return MatchResult(tuple(served), tuple(_unique(ignored)), tuple(unverifiable))


def _unique(ignored: list[Ignored]) -> list[Ignored]:
    seen: set[tuple[tuple[Path, int], int, int]] = set()
    result = []
    for item in ignored:
        key = (item.file.key, item.package.position, item.artifact.position)
        if key not in seen:
            seen.add(key)
            result.append(item)
    return result


def _found(
    files: Sequence[LocalFile],
    digests: Mapping[tuple[Path, int], Mapping[str, Digest]],
    wanted: Mapping[Digest, list[tuple[Package, Artifact]]],
) -> dict[Digest, LocalFile]:
    """For each wanted digest, the best file holding it: a correctly named file first, then by
    the source's rank."""
    found: dict[Digest, LocalFile] = {}
    best: dict[Digest, tuple[int, int]] = {}
    for order, file in enumerate(files):
        for sha in digests.get(file.key, {}).values():
            if sha not in wanted:
                continue
            named = any(file.name == artifact.filename for _, artifact in wanted[sha])
            rank = (0 if named else 1) + file.source.rank
            if sha not in best or (rank, order) < best[sha]:
                best[sha] = (rank, order)
                found[sha] = file
    return found


def _hash(
    files: Sequence[LocalFile], algorithms: Sequence[str], on_hash: OnHash | None
) -> dict[tuple[Path, int], dict[str, Digest]]:
    """Each file's digests in every algorithm the lock pins (one read of a file for all)."""
    digests: dict[tuple[Path, int], dict[str, Digest]] = {}
    todo: dict[int, list[LocalFile]] = defaultdict(list)
    for file in {file.key: file for file in files}.values():
        known = {a: file.source.index.known(file, a) for a in algorithms}
        if any(value is None for value in known.values()):
            todo[id(file.source)].append(file)
        else:
            digests[file.key] = {a: Digest(f"{a}:{v}") for a, v in known.items()}
    total = sum(len(group) for group in todo.values())
    done = 0

    def advance(file: LocalFile) -> None:
        nonlocal done
        done += 1
        if on_hash is not None:
            on_hash(done, total, file)

    for group in todo.values():
        digests.update(group[0].source.index.digest_all(group, algorithms, advance))
    return digests
