"""Wheels built once from the lock's sdists (`lockshim fetch --build`), and serving them.

A wheel built from an sdist the lock pins is recorded beside it (``.lockshim-built.json``: the
wheel's sha256 and size, the sdist's sha256, the target). `sync` lists such a wheel for a
package the lock gives only an sdist, so uv installs it instead of building the sdist again:
a team's CI builds each sdist once. uv still checks the wheel's hash.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from lockshim.filenames import unsafe

if TYPE_CHECKING:
    from lockshim.local import Found


#: Beside the wheels in a wheelhouse: which wheel was built from which sdist (by sha256).
PROVENANCE = ".lockshim-built.json"


class Built(NamedTuple):
    """A wheel `lockshim fetch --build` made from an sdist the lock pins."""

    path: Path
    sha256: str
    size: int
    sdist_sha256: str


def trusted(folder: Path) -> bool | None:
    """Whether the folder's record may be believed: None when there is no record."""
    import os
    import stat as stats

    from lockshim.trust import others_can_write, yours

    try:
        here = os.stat(folder)
        info = os.lstat(folder / PROVENANCE)
    except OSError:
        return None
    mine = yours(here) and yours(info)
    closed = not others_can_write(here) and not others_can_write(info)
    return mine and closed and stats.S_ISREG(info.st_mode)


def _entries(folder: Path) -> dict[str, dict[str, Any]]:
    """The record's entries, when it is trusted (else none)."""
    import json

    from lockshim.atomic import read_regular

    if not trusted(folder):
        return {}
    try:
        data = json.loads(read_regular(folder / PROVENANCE).decode("utf-8"))
        wheels = data.get("wheels", {})
        return {str(k): dict(v) for k, v in wheels.items()} if isinstance(wheels, dict) else {}
    except (OSError, ValueError, TypeError, AttributeError):
        return {}


def read_provenance(folder: Path) -> dict[str, Built]:
    """The wheels built in ``folder``, by the sha256 of the sdist each was built from.

    The record is trusted only where nobody else can write: a file of this user's, in a folder
    that is not group or world writable (else anyone could claim a wheel of theirs was built
    from a locked sdist). Each wheel is checked against its recorded sha256 when served.
    """
    found = {}
    try:
        for name, entry in _entries(folder).items():
            if unsafe(str(name)) is not None or not str(name).endswith(".whl"):
                continue
            built = Built(
                folder / str(name),
                str(entry["sha256"]),
                int(entry["size"]),
                str(entry["sdist_sha256"]),
            )
            found[built.sdist_sha256] = built
        return found
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}


def record_built(folder: Path, wheel: Path, sdist: str, sdist_sha256: str, target: str) -> None:
    """Add a built wheel to the folder's record (merged, written atomically)."""
    import json

    from lockshim.atomic import atomic_write
    from lockshim.hashindex import sha256_file

    record = folder / PROVENANCE
    wheels = _entries(folder)  # only what can be believed is carried over
    wheels[wheel.name] = {
        "sha256": sha256_file(wheel),
        "size": wheel.stat().st_size,
        "sdist": sdist,
        "sdist_sha256": sdist_sha256,
        "built_for": target,
    }
    payload = json.dumps({"format": 1, "wheels": wheels}, indent=1).encode()
    atomic_write(record, payload, 0o644, durable=False)


def untrusted_records(found: Found) -> list[Path]:
    """Build records of the wheelhouses that are not believed (said once, by sync)."""
    from lockshim.sources import WHEELHOUSE

    return [
        s.root / PROVENANCE
        for s in found.sources
        if s.kind == WHEELHOUSE and trusted(s.root) is False
    ]


def served_built(found: Found) -> dict[int, Built]:
    """For each package served by its sdist alone, a wheel built from exactly that sdist (by
    sha256) in the same wheelhouse, its bytes checked: uv installs it instead of building."""
    from lockshim.hashindex import sha256_file
    from lockshim.sources import WHEELHOUSE

    if not found.lock.fast:
        return {}  # a lock not in uv's own layout: its wheels are not added (uv builds)
    records = {
        source.root: read_provenance(source.root)
        for source in found.sources
        if source.kind == WHEELHOUSE
    }
    if not any(records.values()):
        return {}
    text = found.lock.text
    starts = [p.offset for p in found.lock.packages] + [len(text)]
    chosen: dict[int, Built] = {}
    for served in found.result.served:
        package, artifact = served.package, served.artifact
        built = records.get(served.file.source.root, {}).get(artifact.sha256 or "")
        if artifact.kind != "sdist" or built is None or package.source_kind != "registry":
            continue
        end = starts[package.position + 1]
        if text.find("\nwheels = [", package.offset, end) >= 0:
            continue  # the lock lists wheels for it: uv chooses among those
        try:
            if built.path.stat().st_size == built.size and sha256_file(built.path) == built.sha256:
                chosen[package.position] = built
        except OSError:
            continue
    return chosen
