"""Is uv.lock up to date with pyproject.toml? Answered offline, from what the lock records.

uv records each local package's requirements in the lock (``[package.metadata] requires-dist``
and ``requires-dev``) exactly so that it can tell a stale lock without resolving. This compares
them with each ``pyproject.toml`` by what a person changes: a requirement added or removed, its
version specifier or extras changed, in the dependencies, an extra or a dependency group.
Environment markers are not compared (uv rewrites them in its own normal form), nor anything
declared ``dynamic``, nor the specifier of a requirement uv records with a source of its own
(a workspace member, an editable, path, directory, git or url source: uv records those without
their specifier): no difference is claimed that uv would not see.

That comparison only names what changed; whether the lock is fresh is uv's word
(:mod:`lockshim.plan.verdict`).
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

from lockshim.lockfile.model import PROJECT_SOURCES

if TYPE_CHECKING:
    from lockshim.lockfile.model import Lock
from lockshim._compat import tomllib

_EXTRA = re.compile(r"extra == '([^']+)'")

#: (name, extras, specifier) of one requirement, comparable across uv's spelling and pyproject's
#: (the specifier as packaging reads it, or as its sorted clauses spelled without spaces).
Key = tuple[str, frozenset[str], object]


def canonicalize_name(name: str) -> str:
    """PEP 503's normal form (packaging.utils' rule; this module must not need packaging to
    tell an unchanged project: importing it is a third of a cold sync's own work)."""
    return re.sub(r"[-_.]+", "-", name).lower()


class _Reader(NamedTuple):
    """How requirements are read into keys."""

    requirement: Callable[[str], Key | None]  # a PEP 508 string (None: unreadable)
    specifier: Callable[[str], object | None]  # uv's `specifier = "..."` (None: unreadable)


_SIMPLE = re.compile(
    r"\s*(?P<name>[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*"
    r"(?:\[(?P<extras>[^\]]*)\])?\s*(?P<spec>[^;@\[\]]*?)\s*(?:;.*)?\Z",
    re.S,
)


def _clauses(text: str) -> tuple[str, ...]:
    return tuple(sorted(c for c in re.sub(r"[\s()]", "", text).split(",") if c))


def _plain_requirement(text: str) -> Key | None:
    found = _SIMPLE.match(text)
    if found is None:  # a URL requirement or anything unusual: only packaging reads it
        return None
    extras = frozenset(
        canonicalize_name(e.strip()) for e in (found["extras"] or "").split(",") if e.strip()
    )
    return canonicalize_name(found["name"]), extras, _clauses(found["spec"])


def _exact_requirement(text: str) -> Key | None:
    from packaging.requirements import InvalidRequirement, Requirement

    try:
        requirement = Requirement(text)
    except InvalidRequirement:
        return None
    extras = frozenset(canonicalize_name(e) for e in requirement.extras)
    return canonicalize_name(requirement.name), extras, requirement.specifier


def _exact_specifier(text: str) -> object | None:
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    try:
        return SpecifierSet(text)
    except InvalidSpecifier:
        return None


#: Spellings compared as written: equal keys are equal requirements, so a project whose
#: requirements are spelled as uv records them is told unchanged without packaging; any
#: difference (or anything unusual) is then looked at by packaging, which has the last word.
_PLAIN = _Reader(_plain_requirement, lambda text: _clauses(text))
_EXACT = _Reader(_exact_requirement, _exact_specifier)


#: How uv writes a requirement with a source of its own in ``requires-dist`` (no specifier).
_SOURCE_KEYS = frozenset({"editable", "path", "directory", "git", "url", "virtual", "workspace"})


class Difference(NamedTuple):
    package: str  # the local package (workspace member)
    where: str  # "dependencies", "extra x", "group dev", "version"
    text: str  # what differs, for people


def differences(lock: Lock) -> list[Difference]:
    """What each local package's pyproject.toml asks that uv.lock did not record (or the other
    way round); empty when they agree or nothing can be compared."""
    if _differences(lock, _PLAIN) == []:
        return []
    return _differences(lock, _EXACT) or []


def _differences(lock: Lock, reader: _Reader) -> list[Difference] | None:
    """The differences as ``reader`` reads the requirements (None: it could not read one)."""
    if lock.path.name != "uv.lock":  # a script's lock records its requirements elsewhere
        return []
    starts = sorted({p.offset for p in lock.packages} | {len(lock.text)})
    found: list[Difference] = []
    for package in lock.packages:
        if package.source is None or package.source.kind not in PROJECT_SOURCES:
            continue
        end = starts[bisect.bisect_right(starts, package.offset)]
        head = lock.text.find("[[package]]", package.offset, end)  # its table starts there
        if head < 0:
            head = lock.text.rfind("[[package]]", 0, package.offset + 1)
        try:
            table = tomllib.loads(lock.text[head:end])["package"][0]
        except (tomllib.TOMLDecodeError, KeyError, IndexError, TypeError, ValueError):
            continue
        metadata = table.get("metadata")
        folder = lock.path.parent / package.source.value
        try:
            pyproject = tomllib.loads((folder / "pyproject.toml").read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
            continue
        moved = _version_difference(package.name, package.version, pyproject)
        if moved is not None:
            found.append(moved)
        if isinstance(metadata, Mapping) and head >= 0:
            compared = _compare(package.name, metadata, pyproject, reader)
            if compared is None:
                return None
            found += compared
    return found


class _Unreadable(Exception):
    """A requirement the reader cannot read (the plain reader hands over to packaging)."""


def _compare(
    name: str, metadata: Mapping[str, Any], pyproject: Mapping[str, Any], reader: _Reader
) -> list[Difference] | None:
    try:
        return _compare_with(name, metadata, pyproject, reader)
    except _Unreadable:
        return None


def _compare_with(
    name: str, metadata: Mapping[str, Any], pyproject: Mapping[str, Any], reader: _Reader
) -> list[Difference]:
    project = pyproject.get("project")
    if not isinstance(project, Mapping):
        return []
    dynamic = set(project.get("dynamic") or [])
    sourced = _sourced(metadata)
    locked = _locked(metadata.get("requires-dist"), reader)
    if locked is None:
        return []
    locked = {extra: _unsourced(keys, sourced, reader) for extra, keys in locked.items()}
    result = []
    if "dependencies" not in dynamic:
        asked = _asked(project.get("dependencies") or [], reader)
        if asked is not None:
            asked = _unsourced(asked, sourced, reader)
            result += _diff(name, "dependencies", asked, locked.get("", set()))
    if "optional-dependencies" not in dynamic:
        extras = project.get("optional-dependencies") or {}
        if isinstance(extras, Mapping):
            names = {canonicalize_name(str(e)) for e in extras} | set(locked) - {""}
            for extra in sorted(names):
                wanted: object = next(
                    (v for k, v in extras.items() if canonicalize_name(str(k)) == extra), []
                )
                asked = _asked(wanted, reader)
                if asked is not None:
                    asked = _unsourced(asked, sourced, reader)
                    result += _diff(name, f"extra {extra}", asked, locked.get(extra, set()))
    groups = _groups(pyproject, reader)
    recorded = metadata.get("requires-dev")
    if groups is not None and isinstance(recorded, Mapping):
        locked_groups: dict[str, set[Key] | None] = {
            canonicalize_name(str(g)): _locked_list(v, reader) for g, v in recorded.items()
        }
        for group in sorted(set(groups) | set(locked_groups)):
            have = locked_groups.get(group, set())
            if have is None:
                continue
            asked = _unsourced(groups.get(group, set()), sourced, reader)
            result += _diff(name, f"group {group}", asked, _unsourced(have, sourced, reader))
    return result


def _sourced(metadata: Mapping[str, Any]) -> frozenset[str]:
    """The names uv records with a source of their own (and so without a specifier)."""
    entries = metadata.get("requires-dist")
    everything = list(entries) if isinstance(entries, list) else []
    groups = metadata.get("requires-dev")
    if isinstance(groups, Mapping):
        for values in groups.values():
            everything += values if isinstance(values, list) else []
    return frozenset(
        canonicalize_name(entry["name"])
        for entry in everything
        if isinstance(entry, Mapping)
        and isinstance(entry.get("name"), str)
        and _SOURCE_KEYS & set(entry)
    )


def _unsourced(keys: set[Key], sourced: frozenset[str], reader: _Reader) -> set[Key]:
    """``keys`` with the specifier of each sourced requirement left out, as uv records it."""
    if not sourced:
        return keys
    empty = reader.specifier("")
    return {(n, x, empty) if n in sourced else (n, x, spec) for n, x, spec in keys}


def _version_difference(
    package: str, locked: str | None, pyproject: Mapping[str, Any]
) -> Difference | None:
    """The project's own version, when pyproject.toml moved it on (uv calls that stale too;
    nothing a sync installs from the lock depends on it)."""
    project = pyproject.get("project")
    if locked is None or not isinstance(project, Mapping):
        return None
    asked = project.get("version")
    if "version" in (project.get("dynamic") or []) or not isinstance(asked, str):
        return None
    if asked.strip() == locked:
        return None
    from packaging.version import InvalidVersion, Version

    try:
        if Version(asked) == Version(locked):
            return None
    except InvalidVersion:
        pass
    return Difference(package, "version", f"pyproject.toml says {asked}, uv.lock records {locked}")


def _diff(package: str, where: str, asked: set[Key], locked: set[Key]) -> list[Difference]:
    result = []
    by_name_locked = {key[0] for key in locked}
    by_name_asked = {key[0] for key in asked}
    for key in sorted(asked - locked, key=_sort):
        if key[0] in by_name_locked:
            before = ", ".join(_show(k) for k in sorted(locked, key=_sort) if k[0] == key[0])
            text = f"pyproject.toml asks `{_show(key)}`, uv.lock records `{before}`"
        else:
            text = f"pyproject.toml asks `{_show(key)}`, which uv.lock does not record"
        result.append(Difference(package, where, text))
    for key in sorted(locked - asked, key=_sort):
        if key[0] not in by_name_asked:
            text = f"uv.lock records `{_show(key)}`, which pyproject.toml no longer asks"
            result.append(Difference(package, where, text))
    return result


def _sort(key: Key) -> tuple[str, str, str]:
    return key[0], ",".join(sorted(key[1])), str(key[2])


def _show(key: Key) -> str:
    extras = f"[{','.join(sorted(key[1]))}]" if key[1] else ""
    return f"{key[0]}{extras}{key[2]}"


def _asked(values: object, reader: _Reader) -> set[Key] | None:
    """The keys of PEP 508 requirement strings (None when one cannot be read)."""
    if not isinstance(values, list):
        return None
    keys: set[Key] = set()
    for value in values:
        if not isinstance(value, str):
            return None
        key = reader.requirement(value)
        if key is None:
            if reader is _PLAIN:
                raise _Unreadable(value)
            return None
        keys.add(key)
    return keys


def _locked(entries: object, reader: _Reader) -> dict[str, set[Key]] | None:
    """uv's ``requires-dist`` by extra ("" for the plain dependencies); None when unreadable."""
    if not isinstance(entries, list):
        return None
    by_extra: dict[str, set[Key]] = {}
    for entry in entries:
        key = _locked_key(entry, reader)
        if key is None:
            return None
        marker = entry.get("marker", "") if isinstance(entry, Mapping) else ""
        extras = _EXTRA.findall(str(marker)) or [""]
        for extra in extras:
            by_extra.setdefault(canonicalize_name(extra) if extra else "", set()).add(key)
    return by_extra


def _locked_list(entries: object, reader: _Reader) -> set[Key] | None:
    if not isinstance(entries, list):
        return None
    keys = {_locked_key(entry, reader) for entry in entries}
    return None if None in keys else {k for k in keys if k is not None}


def _locked_key(entry: object, reader: _Reader) -> Key | None:
    if not isinstance(entry, Mapping) or not isinstance(entry.get("name"), str):
        return None
    specifier = reader.specifier(str(entry.get("specifier", "")))
    if specifier is None:
        return None
    extras = entry.get("extras") or []
    return (
        canonicalize_name(entry["name"]),
        frozenset(canonicalize_name(str(e)) for e in extras),
        specifier,
    )


def _groups(pyproject: Mapping[str, Any], reader: _Reader) -> dict[str, set[Key]] | None:
    """``[dependency-groups]`` (and uv's legacy ``dev-dependencies`` as ``dev``); None when a
    group includes another (uv's expansion is not repeated here)."""
    groups: dict[str, set[Key]] = {}
    declared = pyproject.get("dependency-groups") or {}
    if not isinstance(declared, Mapping):
        return None
    for group, values in declared.items():
        keys = _asked(values, reader)
        if keys is None:
            return None
        groups[canonicalize_name(str(group))] = keys
    tool = pyproject.get("tool")
    legacy = tool.get("uv", {}).get("dev-dependencies") if isinstance(tool, Mapping) else None
    if legacy:
        keys = _asked(legacy, reader)
        if keys is None:
            return None
        groups["dev"] = groups.get("dev", set()) | keys
    return groups
