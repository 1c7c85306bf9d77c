"""What `uv sync ARGS` installs for a target, and which file of each package it takes.

uv's own `uv export --frozen --format pylock.toml` applies the extras, groups and packages the
arguments ask for and writes one marker per package; the target's markers decide which packages
apply, and its tags which wheel uv picks (the most preferred one that fits, as uv does: a wheel
uv prefers is used even if a less preferred one is on disk), else the sdist.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, NamedTuple

from lockshim._compat import tomllib
from lockshim.digests import Digest, from_hashes
from lockshim.errors import LockshimError
from lockshim.lockfile.model import filename_of
from lockshim.uv import argv, runner
from lockshim.uv.target import Target

#: The file uv installs for a package, a package built from local source, or none that fits.
Kind = Literal["wheel", "sdist", "archive", "local", "none"]


class Selected(NamedTuple):
    """One package to install and the file uv takes for it (None: built from local source)."""

    name: str
    version: str | None
    kind: Kind  # none: no file of the package fits the target
    filename: str | None = None
    url: str | None = None
    digest: Digest | None = None  # as the lock pins it
    size: int | None = None


def export(uv: Path, sync_args: Sequence[str], cwd: Path | None = None) -> dict[str, Any]:
    """The packages `uv sync SYNC_ARGS` would install, as uv exports them (pylock.toml)."""
    result = runner.answer(argv.export_command(uv, sync_args), cwd)
    if result.returncode != 0:
        raise LockshimError(
            f"`uv export` could not list what uv sync would install ({result.stderr.strip()}). "
            "lockshim plan needs uv 0.6.15 or newer for this."
        )
    return tomllib.loads(result.stdout)


def select(exported: Mapping[str, Any], target: Target) -> list[Selected]:
    """For each exported package that applies to ``target``, the file uv would install."""
    chosen = []
    for package in exported.get("packages", []):
        if not target.applies(package.get("marker")):
            continue
        name, version = str(package["name"]), package.get("version")
        if "directory" in package or "vcs" in package:
            chosen.append(Selected(name, version, "local"))
            continue
        ranked = []
        for wheel in package.get("wheels", []):
            filename = entry_filename(wheel)
            rank = target.rank(filename)
            if rank is not None:
                ranked.append((rank, filename, wheel))
        if ranked:
            _, filename, wheel = min(ranked, key=lambda item: item[0])
            chosen.append(_selected(name, version, "wheel", filename, wheel))
        elif "sdist" in package:
            sdist = package["sdist"]
            chosen.append(_selected(name, version, "sdist", entry_filename(sdist), sdist))
        elif "archive" in package:
            archive = package["archive"]
            chosen.append(_selected(name, version, "archive", entry_filename(archive), archive))
        else:
            chosen.append(Selected(name, version, "none"))
    return chosen


def entry_filename(entry: Mapping[str, Any]) -> str:
    """The file name of a pylock.toml wheel, sdist or archive entry: the lock's own (its URL's),
    where it has one. uv's export writes ``name`` normalized (``pyyaml-6.0.2-…whl`` for the
    locked ``PyYAML-6.0.2-…whl``): an index, a mirror and uv.lock know the file by its own."""
    if "url" in entry:
        return filename_of("url", str(entry["url"]))
    if entry.get("name"):
        return str(entry["name"])
    return filename_of("path", str(entry.get("path", "")))


def _selected(
    name: str, version: str | None, kind: Kind, filename: str, entry: Mapping[str, Any]
) -> Selected:
    size = entry.get("size")
    return Selected(
        name,
        version,
        kind,
        filename,
        entry.get("url"),
        from_hashes(entry.get("hashes")),
        size if isinstance(size, int) else None,
    )
