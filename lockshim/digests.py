"""The digests a lock can pin, and computing them: sha256, sha384 and sha512.

uv keeps the strongest digest an index offers (sha512 > sha384 > sha256 > ...), so a lock made
against some company indexes pins ``sha512:`` or ``sha384:`` where PyPI's pin ``sha256:``.
A digest is a :class:`Digest`: ``"<algorithm>:<lowercase hex>"`` as uv.lock writes it, which
names its two halves; one in an algorithm not listed here (md5, blake2b) cannot be checked, so
its file is never served.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from threading import Event

#: Algorithm -> the length of its hex digest.
ALGORITHMS = {"sha256": 64, "sha384": 96, "sha512": 128}
_CHUNK = 1 << 20


class Digest(str):
    """``"<algorithm>:<lowercase hex>"``, as uv.lock writes it: a string (a key, compared and
    written as the lock's own text) that names its halves. Made checked by :func:`parse`, or
    from bytes lockshim hashed itself."""

    __slots__ = ()

    @property
    def algorithm(self) -> str:
        return self.partition(":")[0]

    @property
    def hex(self) -> str:
        return self.partition(":")[2]


class Stopped(Exception):
    """Hashing was stopped (Ctrl-C) between two chunks."""


def parse(text: str | None) -> Digest | None:
    """``"<algorithm>:<hex>"`` normalized (lowercase), when the algorithm is one lockshim
    checks and the hex has its length; else None."""
    if not text:
        return None
    algorithm, _, value = text.strip().partition(":")
    algorithm, value = algorithm.lower(), value.lower()
    length = ALGORITHMS.get(algorithm)
    if length is None or len(value) != length or value.strip("0123456789abcdef"):
        return None
    return Digest(f"{algorithm}:{value}")


def from_hashes(hashes: object) -> Digest | None:
    """The strongest digest lockshim checks in a ``hashes`` table (pylock.toml's, as `uv
    export` writes it: algorithm -> hex), ``"<algorithm>:<hex>"``; None when there is none."""
    if not isinstance(hashes, dict):
        return None
    for algorithm in ("sha512", "sha384", "sha256"):
        found = parse(f"{algorithm}:{hashes[algorithm]}") if algorithm in hashes else None
        if found is not None:
            return found
    return None


def sha256_hex(digest: Digest | None) -> str | None:
    """The hex of a sha256 digest (what JSON reports name ``sha256``); None for others."""
    return digest.hex if digest is not None and digest.algorithm == "sha256" else None


def of_bytes(data: bytes, algorithm: str) -> Digest:
    return Digest(f"{algorithm}:{hashlib.new(algorithm, data).hexdigest()}")


def of_file(
    path: Path,
    algorithms: Iterable[str] = ("sha256",),
    offset: int = 0,
    length: int | None = None,
    stop: Event | None = None,
) -> dict[str, Digest]:
    """Every digest wanted of a file (or of ``length`` bytes of it from ``offset``), in one
    read: algorithm -> ``"<algorithm>:<hex>"``. ``stop`` set ends it between two chunks."""
    hashers = {name: hashlib.new(name) for name in dict.fromkeys(algorithms)}
    with open(path, "rb") as stream:
        stream.seek(offset)
        left = length
        while chunk := stream.read(_CHUNK if left is None else min(_CHUNK, left)):
            if stop is not None and stop.is_set():
                raise Stopped
            for hasher in hashers.values():
                hasher.update(chunk)
            if left is not None:
                left -= len(chunk)
    return {name: Digest(f"{name}:{hasher.hexdigest()}") for name, hasher in hashers.items()}
