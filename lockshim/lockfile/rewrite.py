"""Writing the shimmed lock text: only the chosen artifact ``url`` strings change.

A lock in uv's own layout is edited in place at the spans the scan found; any other lock is
edited through tomlkit, which keeps every other byte. Either way the result is read back and
compared with the original before it is used: anything but the intended URLs changed is an
error, and uv.lock is never touched.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import PurePath, PurePosixPath
from typing import Any, NamedTuple
from urllib.parse import quote_from_bytes

from lockshim.errors import LockError
from lockshim.filenames import PLAIN_URL as _PLAIN_URL
from lockshim.lockfile.model import Artifact, Lock, Package, Source
from lockshim.lockfile.read import parse_lock

#: (package index, artifact index) -> the local file that holds exactly that artifact's bytes.
Served = Mapping[tuple[int, int], PurePath]


def file_url(path: PurePath) -> str:
    """A ``file://`` URL for an absolute path, percent-encoded as uv needs it.

    Spaces, ``#``, ``%``, quotes and non-ASCII characters are encoded; a Windows path gives
    ``file:///C:/...``.
    """
    if not path.is_absolute():
        raise ValueError(f"not an absolute path: {path}")
    if not isinstance(path, PurePosixPath):
        return path.as_uri()
    # pathlib's own encoding (file:// + the quoted bytes), the folder quoted once for its files
    folder, _, name = str(path).rpartition("/")
    return _folder_url(folder) + quote_from_bytes(os.fsencode(name))


@functools.lru_cache(maxsize=256)
def _folder_url(folder: str) -> str:
    return "file://" + quote_from_bytes(os.fsencode(folder)) + "/"


#: package position -> (local wheel, sha256, size): a wheel to list for an sdist-only package
#: (one `lockshim fetch --build` made from exactly the sdist the lock pins).
Added = Mapping[int, tuple[PurePath, str, int]]


#: (package index, artifact index) -> the URL a mirror serves that registry artifact's bytes at
#: (lockshim.sources.mirror.linkable: its page vouches for the lock's digest, which uv checks).
Linked = Mapping[tuple[int, int], str]


def rewrite(
    lock: Lock, served: Served, added: Added | None = None, linked: Linked | None = None
) -> bytes:
    """The lock's bytes with the served artifacts pointing at their local files.

    A registry artifact keeps everything but its ``url``, which becomes a ``file://`` URL (or,
    for a ``linked`` one, the mirror's URL). A direct URL source becomes a path source for the
    run (uv downloads those from the source URL whatever the artifact says):
    ``source = { url = U }`` -> ``{ path = P }`` wherever it stands, and its artifact's
    ``url = U`` -> ``path = P``.
    """
    if not served and not linked:
        return lock.text.encode("utf-8")
    plan = _plan(lock, served, linked or {})
    if lock.fast:
        # Edits at spans the scan checked: everything between them is copied unchanged.
        inserts, urls = _wheel_inserts(lock, added or {})
        text = _splice(lock, plan, inserts)
        if urls:
            _check_added(lock, text, urls)
        return text.encode("utf-8")
    data = _through_tomlkit(lock, plan).encode("utf-8")
    _verify(lock, data, plan)  # tomlkit rewrote the document: read it back and compare
    return data


class _Change(NamedTuple):
    package: Package
    artifact: Artifact
    url: str | None  # the new url (registry artifacts)
    path: str | None  # the new path (URL sources)


def _plan(lock: Lock, served: Served, linked: Linked) -> list[_Change]:
    changes = []
    targets: dict[tuple[int, int], PurePath | str] = {**served, **linked}
    for (package_position, artifact_position), local in sorted(targets.items()):
        package = lock.packages[package_position]
        # by position: a lock read for a wheelhouse holds only the entries a file could serve
        artifact = next(a for a in package.artifacts if a.position == artifact_position)
        if not package.servable or (artifact.url is None and package.source_kind != "url"):
            raise ValueError(f"{package.label}: {artifact.filename} cannot be served")
        if isinstance(local, str):  # a mirror's URL: registry artifacts only, plain URLs only
            if package.source_kind != "registry" or not _PLAIN_URL.match(local):
                raise ValueError(f"{package.label}: {artifact.filename} cannot be linked")
            changes.append(_Change(package, artifact, local, None))
        elif package.source_kind == "url":
            changes.append(_Change(package, artifact, None, str(local)))
        else:
            changes.append(_Change(package, artifact, file_url(local), None))
    return changes


def _wheel_inserts(lock: Lock, added: Added) -> tuple[list[tuple[int, int, str]], dict[int, str]]:
    """Edits that list a built wheel for each sdist-only package of ``added``, right after its
    sdist line (the one thing uv.lock lacks for them), and the URL listed for each."""
    edits = []
    urls = {}
    for position, (wheel, sha256, size) in added.items():
        package = lock.packages[position]
        sdist = next((a for a in package.artifacts if a.kind == "sdist"), None)
        if sdist is None or sdist.span is None:
            continue
        end = lock.text.find("\n", sdist.span[1])
        end = len(lock.text) if end < 0 else end
        newline = "\r\n" if lock.text[end - 1 : end] == "\r" else "\n"
        at = end - 1 if newline == "\r\n" else end
        url = file_url(wheel)
        urls[position] = url
        entry = f'{{ url = {_toml_string(url)}, hash = "sha256:{sha256}", size = {size} }},'
        edits.append((at, at, f"{newline}wheels = [{newline}    {entry}{newline}]"))
    return edits, urls


def _check_added(lock: Lock, text: str, urls: Mapping[int, str]) -> None:
    wanted = set(urls.values())

    def keep(key: str | None, location: str | None, digest: str | None, size: str | None) -> bool:
        return location in wanted

    def none(key: str | None, location: str | None, digest: str | None, size: str | None) -> bool:
        return False

    try:
        before = parse_lock(lock.text.encode("utf-8"), lock.path, keep=none)
        after = parse_lock(text.encode("utf-8"), lock.path, keep=keep)
    except LockError as error:
        raise LockError(f"{lock.path}: the shimmed lock would not read back ({error})") from None
    problem = None
    if not after.fast or len(before.packages) != len(after.packages):
        problem = "the packages changed"
    for old, new in zip(before.packages, after.packages, strict=False):
        extra = [a for a in new.artifacts if a.kind == "wheel"]
        expected = [urls[old.position]] if old.position in urls else []
        if (old.name, old.version) != (new.name, new.version) or [a.url for a in extra] != expected:
            problem = f"the wheels of {old.label} came out wrong"
            break
    if problem is not None:
        raise LockError(
            f"{lock.path}: lockshim could not add the built wheels safely ({problem}); "
            "uv.lock was not touched."
        )


def _toml_string(value: str) -> str:
    """A TOML basic string (JSON's escapes are valid TOML escapes)."""
    return json.dumps(value, ensure_ascii=False)


def _splice(lock: Lock, plan: list[_Change], inserts: Sequence[tuple[int, int, str]] = ()) -> str:
    text = lock.text
    edits: list[tuple[int, int, str]] = list(inserts)
    sources: dict[str, str] = {}
    for change in plan:
        span = change.artifact.span
        if change.url is not None:
            assert span is not None
            if text[span[0] - 7 : span[0]] != 'url = "' or text[span[1]] != '"':
                raise LockError(f"{lock.path}: unexpected layout near line {lock.line_of(span[0])}")
            edits.append((span[0], span[1], change.url))
            continue
        assert change.path is not None and change.package.source is not None
        new_source = f"source = {{ path = {_toml_string(change.path)} }}"
        sources[f"source = {{ url = {_toml_string(change.package.source.value)} }}"] = new_source
        if span is not None:  # `{ url = "U", ...` -> `{ path = "P", ...`
            start, end = span[0] - len('url = "'), span[1] + 1
            if text[start:end] != f'url = "{change.artifact.url}"':
                raise LockError(f"{lock.path}: unexpected layout near line {lock.line_of(start)}")
            edits.append((start, end, f"path = {_toml_string(change.path)}"))
    edits.sort()
    pieces = []
    cursor = 0
    for start, end, new in edits:
        pieces.append(text[cursor:start])
        pieces.append(new)
        cursor = end
    pieces.append(text[cursor:])
    result = "".join(pieces)
    for old, new in sources.items():
        result = result.replace(old, new)
    return result


def _through_tomlkit(lock: Lock, plan: list[_Change]) -> str:
    import tomlkit  # only for locks not in uv's own layout: it is slow on big files

    bom = "\ufeff" if lock.text.startswith("\ufeff") else ""
    document = tomlkit.parse(lock.text[len(bom) :])
    packages: Any = document["package"]
    moved: dict[str, str] = {}
    for change in plan:
        raw = packages[change.package.position]
        entries = ([raw["sdist"]] if "sdist" in raw else []) + list(raw.get("wheels", []))
        entry = entries[change.artifact.position]
        if change.url is not None:
            entry["url"] = _owned(change.url)
            continue
        assert change.path is not None and change.package.source is not None
        moved[change.package.source.value] = change.path
        if "url" in entry:
            del entry["url"]
            entry["path"] = _owned(change.path)
    for raw in packages:  # the package's own source, and references to it from its dependents
        for table in _source_tables(raw):
            url = table.get("url")
            if url in moved and len(table) == 1:
                del table["url"]
                table["path"] = _owned(moved[url])
    return bom + tomlkit.dumps(document)


def _owned(value: str) -> Any:
    """A string lockshim writes, spelled by lockshim (a TOML basic string), not by tomlkit:
    tomlkit 0.15.3 began to keep the quotes of the string a value replaces, so what the
    shimmed lock says would change with a tomlkit release."""
    import tomlkit

    return tomlkit.value(_toml_string(value))


def _source_tables(raw: Any) -> Iterator[Any]:
    if isinstance(raw.get("source"), Mapping):
        yield raw["source"]
    groups = [raw.get("dependencies", [])]
    for key in ("optional-dependencies", "dev-dependencies"):
        groups.extend(raw.get(key, {}).values())
    for group in groups:
        for dependency in group:
            if isinstance(dependency, Mapping) and isinstance(dependency.get("source"), Mapping):
                yield dependency["source"]


def _verify(lock: Lock, data: bytes, plan: list[_Change]) -> None:
    try:
        shimmed = parse_lock(data, lock.path, keep=lock.keep)
    except LockError as error:
        raise LockError(f"{lock.path}: the shimmed lock would not read back ({error})") from None
    changes = {(c.package.position, c.artifact.position): c for c in plan}
    moved = {c.package.position: c.path for c in plan if c.path is not None}
    problem = None
    if len(shimmed.packages) != len(lock.packages):
        problem = "the number of packages changed"
    for before, after in zip(lock.packages, shimmed.packages, strict=False):
        if problem:
            break
        source = before.source
        if before.position in moved:
            source = Source("path", moved[before.position] or "")
        if (before.name, before.version, source) != (after.name, after.version, after.source):
            problem = f"package {before.label} changed"
        elif [a.position for a in before.artifacts] != [a.position for a in after.artifacts]:
            problem = f"the artifacts of {before.label} changed"
        for old, new in zip(before.artifacts, after.artifacts, strict=False):
            change = changes.get((before.position, old.position))
            expected = (old.url, old.path)
            if change is not None and change.url is not None:
                expected = (change.url, old.path)
            elif change is not None and old.url is not None:
                expected = (None, change.path)
            if (new.url, new.path, new.hash, new.size) != (*expected, old.hash, old.size):
                problem = f"artifact {old.filename} of {before.label} came out wrong"
                break
    if problem is not None:
        raise LockError(
            f"{lock.path}: lockshim could not rewrite this lock safely ({problem}); "
            "uv.lock was not touched. Please report this with the lock attached; meanwhile "
            "`uv lock` writes it in uv's own layout, which lockshim edits in place."
        )
