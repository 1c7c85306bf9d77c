"""What uv must build for an install, what those builds need, and which local wheels give it.

uv.lock pins what is installed, not what builds it: the project's and each workspace member's
``[build-system] requires``, what the backend adds for an editable build, and the ``requires``
of every sdist the target builds. Those are read here without running anything, then satisfied
from the wheels on this machine for the target's Python and platform (packaging's specifiers,
markers and tags, following each wheel's own ``Requires-Dist``), so that `plan` can list what a
build lacks and `sync` can hand uv the wheels it needs under their names.
"""

from __future__ import annotations

import contextlib
import io
import tarfile
import zipfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import (
    InvalidWheelFilename,
    NormalizedName,
    canonicalize_name,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

from lockshim.sources.base import LocalFile
from lockshim.uv.target import Target

if TYPE_CHECKING:
    from lockshim.sources.git import GitServed
    from lockshim.sources.hashindex import HashIndex
from lockshim._compat import tomllib
from lockshim.sources.wheelnames import header_values, wheel_identity

#: What a backend asks for, beyond its own requires, to build an editable wheel.
EDITABLE_REQUIRES = {"hatchling.build": ["editables"]}
#: PEP 517's fallback when an sdist has no [build-system] (what uv assumes too).
LEGACY_REQUIRES = ["setuptools>=40.8.0"]
SDIST_SUFFIXES = (".tar.gz", ".zip")


class Need(NamedTuple):
    """A build requirement and who needs it."""

    requirement: str
    why: str


class Wheel(NamedTuple):
    """A local wheel that may satisfy a build requirement."""

    name: NormalizedName
    version: Version
    filename: str  # its real wheel file name (a pip cache body's is read from inside it)
    file: LocalFile


class BuildPlan(NamedTuple):
    """The wheels the builds take (with the need that brought each in), and what is missing."""

    served: tuple[tuple[Need, Wheel], ...]
    missing: tuple[Need, ...]


def built_by_uv(system: Mapping[str, Any], uv_version: Sequence[int]) -> bool:
    """uv builds a `uv_build` project itself, with no backend wheel, when its own version is
    one the project's requirement allows (checked with uv 0.13.9 and an empty cache)."""
    if system.get("build-backend") != "uv_build" or not uv_version:
        return False
    version = ".".join(map(str, uv_version))
    try:
        requires = [Requirement(str(r)) for r in system.get("requires", [])]
    except InvalidRequirement:
        return False
    return bool(requires) and all(
        canonicalize_name(r.name) == "uv-build" and r.specifier.contains(version, prereleases=True)
        for r in requires
    )


def local_needs(
    roots: Sequence[Path], exported: Mapping[str, Any], uv_version: Sequence[int] = ()
) -> list[Need]:
    """Build requirements of the packages uv builds from the project's own folders (``roots``:
    the folders `uv export`'s paths may be relative to, in turn: uv 0.13 writes them from the
    folder it ran in, older uv from the project's)."""
    found: list[Need] = []
    for package in exported.get("packages", []):
        directory = package.get("directory")
        if not isinstance(directory, Mapping):
            continue
        system = None
        for root in roots:
            pyproject = root / str(directory.get("path", ".")) / "pyproject.toml"
            try:
                system = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("build-system")
            except (OSError, tomllib.TOMLDecodeError):
                continue
            break
        else:
            continue
        if not isinstance(system, Mapping) or built_by_uv(system, uv_version):
            continue
        name = str(package.get("name"))
        found += [Need(str(r), f"builds {name}") for r in system.get("requires", [])]
        if directory.get("editable"):
            extra = EDITABLE_REQUIRES.get(str(system.get("build-backend")), [])
            found += [Need(r, f"editable build of {name}") for r in extra]
    return found


def pyproject_needs(text: str | None, label: str, uv_version: Sequence[int] = ()) -> list[Need]:
    """What building a source tree with this pyproject.toml needs (PEP 517's fallback without
    one)."""
    if text is None:
        return [Need(r, f"builds {label}") for r in LEGACY_REQUIRES]
    try:
        system = tomllib.loads(text).get("build-system")
    except tomllib.TOMLDecodeError:
        return []
    if not isinstance(system, Mapping):
        return [Need(r, f"builds {label}") for r in LEGACY_REQUIRES]
    if built_by_uv(system, uv_version):
        return []
    return [Need(str(r), f"builds {label}") for r in system.get("requires", [])]


def git_needs(
    served: Sequence[GitServed], copies: Mapping[str, Path], uv_version: Sequence[int]
) -> list[Need]:
    """What building each served git checkout needs, read from its commit."""
    from lockshim.sources.git import pyproject

    needs: list[Need] = []
    for item in served:
        needs += pyproject_needs(pyproject(item, copies), f"{item.pin.label} (git)", uv_version)
    return needs


def sdist_needs(sdist: Path, label: str, offset: int = 0) -> list[Need]:
    """The build requirements an sdist declares (its own pyproject.toml), read, never run."""
    return [Need(r, f"builds {label}") for r in sdist_requires(sdist, offset)]


def local_sdist_needs(file: LocalFile, label: str) -> list[Need]:
    """:func:`sdist_needs` of a local file, read once and remembered in its source's hash
    index (an unchanged sdist is not opened again)."""
    index = file.source.index
    known = index.known_requires(file)
    if known is None:
        known = "\n".join(sdist_requires(file.path, file.offset))
        index.remember_requires(file, known)
        index.save()
    return [Need(r, f"builds {label}") for r in known.splitlines() if r]


def sdist_requires(sdist: Path, offset: int = 0) -> list[str]:
    try:
        with open(sdist, "rb") as stream:
            stream.seek(offset)
            data = stream.read()
        text = _pyproject_of(data)
    except (OSError, tarfile.TarError, zipfile.BadZipFile, UnicodeDecodeError):
        return []
    if text is None:
        return list(LEGACY_REQUIRES)
    try:
        system = tomllib.loads(text).get("build-system")
    except tomllib.TOMLDecodeError:
        return []
    return [str(r) for r in system.get("requires", [])] if system else list(LEGACY_REQUIRES)


def _pyproject_of(data: bytes) -> str | None:
    """The top-level pyproject.toml of an sdist (tar.gz or zip), or None."""
    if data[:2] == b"PK":
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            name = next((n for n in archive.namelist() if _top_pyproject(n)), None)
            return archive.read(name).decode("utf-8") if name else None
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        member = next((m for m in archive.getmembers() if _top_pyproject(m.name)), None)
        stream = archive.extractfile(member) if member is not None else None
        return stream.read().decode("utf-8") if stream is not None else None


def _top_pyproject(name: str) -> bool:
    return name.count("/") == 1 and name.endswith("/pyproject.toml")


def local_wheels(files: Iterable[LocalFile], names: Mapping[tuple[Path, int], str]) -> list[Wheel]:
    """The wheels among ``files``: by their own name, else by the name ``names`` read from
    inside them (pip cache bodies)."""
    found = []
    for file in files:
        filename = file.name if file.name.endswith(".whl") else names.get(file.key)
        if filename is None:
            continue
        try:
            name, version, _, _ = parse_wheel_filename(filename)
        except (InvalidWheelFilename, InvalidVersion):
            continue
        found.append(Wheel(name, version, filename, file))
    return found


def build_constraints(lock_text: str, pyproject: Path) -> list[Requirement]:
    """The versions uv allows in every build: ``[tool.uv] build-constraint-dependencies`` of
    the project's pyproject.toml and the ``build-constraints`` uv recorded in the lock's
    ``[manifest]`` (a supply-chain pin of the build backends)."""
    found: list[Requirement] = []
    head = lock_text.split("\n[[package]]", 1)[0]
    try:
        manifest = tomllib.loads(head.lstrip("\ufeff")).get("manifest", {})
    except tomllib.TOMLDecodeError:
        manifest = {}
    for entry in manifest.get("build-constraints", []) if isinstance(manifest, Mapping) else []:
        if isinstance(entry, Mapping) and isinstance(entry.get("name"), str):
            text = f"{entry['name']}{entry.get('specifier', '')}"
            if entry.get("marker"):
                text += f"; {entry['marker']}"
            with contextlib.suppress(InvalidRequirement):
                found.append(Requirement(text))
    try:
        tool = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("tool", {})
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        tool = {}
    uv = tool.get("uv", {}) if isinstance(tool, Mapping) else {}
    for text in uv.get("build-constraint-dependencies", []) if isinstance(uv, Mapping) else []:
        with contextlib.suppress(InvalidRequirement, TypeError):
            found.append(Requirement(str(text)))
    return list({str(r): r for r in found}.values())  # the lock records pyproject's own


def satisfy(
    needs: Sequence[Need],
    wheels: Sequence[Wheel],
    target: Target,
    constraints: Sequence[Requirement] = (),
    more: Callable[[str], Sequence[Wheel]] | None = None,
) -> BuildPlan:
    """The newest local wheel for each need that fits the target and the build constraints,
    and for what each of those requires in turn; every need nothing local fits is missing
    (with the constraint named, where one ruled the local wheels out). ``more(name)``: the
    local wheels of a project not among ``wheels`` (a wheelhouse lists other projects' files
    by name only), asked once a project."""
    limits: dict[NormalizedName, list[Requirement]] = {}
    for constraint in constraints:
        if constraint.marker is None or target.applies(str(constraint.marker)):
            limits.setdefault(canonicalize_name(constraint.name), []).append(constraint)
    by_name: dict[NormalizedName, list[Wheel]] = {}
    asked: set[NormalizedName] = set()

    def add(found: Iterable[Wheel]) -> None:
        for wheel in found:
            if target.rank(wheel.filename) is not None:
                by_name.setdefault(wheel.name, []).append(wheel)

    add(wheels)
    chosen: dict[NormalizedName, Wheel] = {}
    touched: dict[int, HashIndex] = {}
    served: list[tuple[Need, Wheel]] = []
    missing: list[Need] = []
    queue = list(needs)
    while queue:
        need = queue.pop(0)
        try:
            requirement = Requirement(need.requirement)
        except InvalidRequirement:
            missing.append(need)
            continue
        if requirement.marker is not None and not target.applies(
            str(requirement.marker), sorted(requirement.extras)
        ):
            continue
        name = canonicalize_name(requirement.name)
        if more is not None and name not in asked:
            asked.add(name)
            add(more(name))
        if name in chosen and requirement.specifier.contains(chosen[name].version, True):
            served.append((need, chosen[name]))  # the same wheel serves this need too
            continue
        options = [
            w
            for w in by_name.get(name, [])
            if requirement.specifier.contains(w.version, prereleases=True)
        ]
        allowed = [
            w
            for w in options
            if all(c.specifier.contains(w.version, prereleases=True) for c in limits.get(name, []))
        ]
        if not allowed:
            if options:  # local wheels there are, but the build constraints rule them out
                rules = ", ".join(str(c) for c in limits.get(name, []))
                need = Need(need.requirement, f"{need.why}; build constraint {rules}")
            missing.append(need)
            continue
        options = allowed
        best = max(options, key=lambda w: (w.version, -(target.rank(w.filename) or 0)))
        chosen[name] = best
        served.append((need, best))
        touched[id(best.file.source.index)] = best.file.source.index
        for dependency in _requires_dist(best, requirement.extras):
            queue.append(Need(dependency, f"needed by {best.name} {best.version}"))
    for index in touched.values():
        index.save()
    return BuildPlan(tuple(served), tuple(dict.fromkeys(missing)))


def _requires_dist(wheel: Wheel, extras: Iterable[str]) -> list[str]:
    """The wheel's Requires-Dist, with the extras asked for applied to their markers (read
    from the wheel once, then remembered in its source's hash index)."""
    index = wheel.file.source.index
    text = index.known_requires(wheel.file)
    if text is None:
        identity = wheel_identity(wheel.file)
        text = "\n".join(header_values(identity[1], "Requires-Dist")) if identity else ""
        index.remember_requires(wheel.file, text)
    wanted = set(extras)
    result = []
    for line in text.splitlines():
        try:
            requirement = Requirement(line)
        except InvalidRequirement:
            continue
        marker = requirement.marker
        if marker is not None and "extra" in str(marker):
            if not any(marker.evaluate({"extra": extra}) for extra in wanted):
                continue
            requirement.marker = None  # the extra applied; the rest is the target's to judge
            result.append(str(requirement))
        else:
            result.append(line)
    return result


def requirements_of(needs: Sequence[Need]) -> list[str]:
    """Each requirement the needs name, once."""
    return sorted({requirement for requirement, _ in needs})
