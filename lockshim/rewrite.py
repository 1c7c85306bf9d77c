"""Writing the shimmed lock text: only the chosen artifact ``url`` strings change.

A lock in uv's own layout is edited in place at the spans the scan found; any other lock is
edited through tomlkit, which keeps every other byte. Either way the result is read back and
compared with the original before it is used: anything but the intended URLs changed is an
error, and uv.lock is never touched.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import PurePath
from typing import Any

from lockshim.errors import LockError
from lockshim.lock import Lock, parse_lock

#: (package index, artifact index) -> the new URL of that artifact.
Replacements = Mapping[tuple[int, int], str]


def file_url(path: PurePath) -> str:
    """A ``file://`` URL for an absolute path, percent-encoded as uv needs it.

    Spaces, ``#``, ``%``, quotes and non-ASCII characters are encoded; a Windows path gives
    ``file:///C:/...``.
    """
    if not path.is_absolute():
        raise ValueError(f"not an absolute path: {path}")
    return path.as_uri()


def rewrite(lock: Lock, replacements: Replacements) -> bytes:
    """The lock's bytes with the given artifact URLs replaced (and nothing else changed)."""
    if not replacements:
        return lock.text.encode("utf-8")
    for url in replacements.values():
        if any(ch in url for ch in '"\\\n\r'):
            raise ValueError(f"URL needs TOML escaping: {url!r}")
    text = _splice(lock, replacements) if lock.fast else _through_tomlkit(lock, replacements)
    data = text.encode("utf-8")
    _verify(lock, data, replacements)
    return data


def _splice(lock: Lock, replacements: Replacements) -> str:
    edits = []
    for package, artifact in lock.artifacts():
        url = replacements.get((package.index, artifact.index))
        if url is not None:
            assert artifact.span is not None
            edits.append((artifact.span, url))
    edits.sort()
    pieces = []
    cursor = 0
    for (start, end), url in edits:
        pieces.append(lock.text[cursor:start])
        pieces.append(url)
        cursor = end
    pieces.append(lock.text[cursor:])
    return "".join(pieces)


def _through_tomlkit(lock: Lock, replacements: Replacements) -> str:
    import tomlkit  # only for locks not in uv's own layout: it is slow on big files

    bom = "\ufeff" if lock.text.startswith("\ufeff") else ""
    document = tomlkit.parse(lock.text[len(bom) :])
    packages: Any = document["package"]
    for (package_index, artifact_index), url in replacements.items():
        raw = packages[package_index]
        entries = ([raw["sdist"]] if "sdist" in raw else []) + list(raw.get("wheels", []))
        entries[artifact_index]["url"] = url
    return bom + tomlkit.dumps(document)


def _verify(lock: Lock, data: bytes, replacements: Replacements) -> None:
    try:
        shimmed = parse_lock(data, lock.path)
    except LockError as error:
        raise LockError(f"{lock.path}: the shimmed lock would not read back ({error})") from None
    problem = None
    if len(shimmed.packages) != len(lock.packages):
        problem = "the number of packages changed"
    for before, after in zip(lock.packages, shimmed.packages, strict=False):
        if problem:
            break
        if (before.name, before.version, before.source) != (
            after.name,
            after.version,
            after.source,
        ):
            problem = f"package {before.label} changed"
        elif len(before.artifacts) != len(after.artifacts):
            problem = f"the artifacts of {before.label} changed"
        for old, new in zip(before.artifacts, after.artifacts, strict=False):
            expected = replacements.get((before.index, old.index), old.url)
            if (new.url, new.path, new.hash, new.size) != (expected, old.path, old.hash, old.size):
                problem = f"artifact {old.filename} of {before.label} came out wrong"
                break
    if problem is not None:
        raise LockError(
            f"{lock.path}: lockshim could not rewrite this lock safely ({problem}); "
            "uv.lock was not touched. Please report this with the lock attached; meanwhile "
            "`uv lock` writes it in uv's own layout, which lockshim edits in place."
        )
