"""Wheels built once from the lock's sdists (`lockshim fetch --build`), and serving them.

A wheel built from an sdist the lock pins is recorded in lockshim's own cache, keyed by the
wheelhouse's real path (the wheel's sha256 and size, the sdist's sha256, the target). `sync`
lists such a wheel for a package the lock gives only an sdist, so uv installs it instead of
building the sdist again. Only a record lockshim wrote on this machine is believed: one in a
wheelhouse (``.lockshim-built.json``, as older lockshim wrote them, or one a cloned repository
or a shared folder carries) claims what anyone could claim, and is never read. uv still checks
the wheel's hash, and lockshim checks it against the record first.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from lockshim.filenames import require_plain, unsafe
from lockshim.paths import user_cache_dir

if TYPE_CHECKING:
    from lockshim.sources.download import Wanted
    from lockshim.sources.local import Found
    from lockshim.uv.runner import Uv
    from lockshim.uv.target import Target


#: What older lockshim wrote beside the wheels, and what a repository may carry: never read.
PROVENANCE = ".lockshim-built.json"
_FORMAT = 2


class Built(NamedTuple):
    """A wheel `lockshim fetch --build` made from an sdist the lock pins."""

    path: Path
    sha256: str
    size: int
    sdist_digest: str  # "<algorithm>:<hex>" of the sdist, as the lock pins it


def record_path(folder: Path) -> Path:
    """Where lockshim keeps the record of the wheels it built into ``folder``."""
    import hashlib

    key = hashlib.sha256(str(folder.resolve()).encode("utf-8", "surrogateescape")).hexdigest()
    return user_cache_dir() / "built" / f"{key[:24]}.json"


def _entries(folder: Path) -> dict[str, dict[str, Any]]:
    """The record's entries: lockshim's own record for this very folder, else none."""

    from lockshim.trust import read_private

    try:
        data = json.loads(read_private(record_path(folder)).decode("utf-8"))
        if data.get("format") != _FORMAT or data.get("folder") != str(folder.resolve()):
            return {}
        wheels = data.get("wheels", {})
        return {str(k): dict(v) for k, v in wheels.items()} if isinstance(wheels, dict) else {}
    except (OSError, ValueError, TypeError, AttributeError):
        return {}


def read_provenance(folder: Path) -> dict[str, Built]:
    """The wheels built in ``folder``, by the digest (as the lock pins it) of the sdist each
    was built from.

    Only lockshim's own record in its cache is read (see the module's docstring); each wheel
    is checked against its recorded sha256 when served.
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
                str(entry["sdist_digest"]),
            )
            found[built.sdist_digest] = built
        return found
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}


def record_built(folder: Path, wheel: Path, sdist: str, sdist_digest: str, target: str) -> None:
    """Add a built wheel to lockshim's record for ``folder`` (merged, written atomically, in a
    cache folder only you can write)."""

    from lockshim.atomic import atomic_write
    from lockshim.sources.hashindex import sha256_file
    from lockshim.trust import private_folder

    record = record_path(folder)
    wheels = _entries(folder)
    wheels[wheel.name] = {
        "sha256": sha256_file(wheel),
        "size": wheel.stat().st_size,
        "sdist": sdist,
        "sdist_digest": sdist_digest,
        "built_for": target,
    }
    payload = {"format": _FORMAT, "folder": str(folder.resolve()), "wheels": wheels}
    private_folder(record.parent)
    atomic_write(record, json.dumps(payload, indent=1).encode(), 0o600, durable=False)


def planted_records(found: Found) -> list[Path]:
    """Build records found in the wheelhouses themselves: never believed (said once, by sync)."""
    import os

    from lockshim.sources.base import WHEELHOUSE

    return [
        s.root / PROVENANCE
        for s in found.sources
        if s.kind == WHEELHOUSE and os.path.lexists(s.root / PROVENANCE)
    ]


def served_built(found: Found) -> dict[int, Built]:
    """For each package served by its sdist alone, a wheel built from exactly that sdist (by
    sha256) in the same wheelhouse, its bytes checked: uv installs it instead of building."""
    from lockshim.sources.base import WHEELHOUSE
    from lockshim.sources.hashindex import sha256_file

    if not found.lock.fast:
        return {}  # a lock not in uv's own layout: its wheels are not added (uv builds)
    records = {
        source.root: read_provenance(source.root)
        for source in found.sources
        if source.kind == WHEELHOUSE
    }
    records.update(_bundle_records(found))
    if not any(records.values()):
        return {}
    text = found.lock.text
    starts = [p.offset for p in found.lock.packages] + [len(text)]
    chosen: dict[int, Built] = {}
    for served in found.result.served:
        package, artifact = served.package, served.artifact
        built = records.get(served.file.source.root, {}).get(artifact.digest or "")
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


def _bundle_records(found: Found) -> dict[Path, dict[str, Built]]:
    """The build records of the self-contained bundle this run's own code came from (its
    manifest's ``built``), each wheel copied out of it once into lockshim's cache and checked
    against the manifest's sha256. Any other bundle's records are not believed: they were
    written on another machine."""
    import os

    from lockshim.runtime import RUNNING_BUNDLE
    from lockshim.sources.bundlefile import BundleSource
    from lockshim.sources.copying import copy_out

    running = os.environ.get(RUNNING_BUNDLE)
    found_records: dict[Path, dict[str, Built]] = {}
    for source in found.sources:
        if not isinstance(source, BundleSource) or source.manifest is None or not running:
            continue
        if str(source.root.resolve()) != running:
            continue
        members = {f.relative: f for f in found.files if f.source is source}
        records: dict[str, Built] = {}
        for member, sdist_digest in source.manifest.built.items():
            listed = source.manifest.files.get(member)
            file = members.get(member)
            name = member.rpartition("/")[2]
            if listed is None or file is None or unsafe(name) is not None:
                continue
            sha256, size = listed
            folder = user_cache_dir() / "built" / "from-bundles" / sha256[:24]
            target = folder / name
            fresh = target.is_file() and target.stat().st_size == size
            if fresh or copy_out(file, target, sha256):
                records[sdist_digest] = Built(target, sha256, size, sdist_digest)
        found_records[source.root] = records
    return found_records


def build_from_sdists(
    uv: Uv,
    sdists: Sequence[Wanted],
    dest: Path,
    python: str | None,
    target: Target | None,
) -> tuple[list[str], list[str]]:
    """Build a wheel from each sdist in ``dest`` (checked by sha256 first) that has none yet,
    and record which sdist it came from (lockshim.sources.built); (built, failures)."""
    import shutil
    import tempfile

    from lockshim.digests import of_file
    from lockshim.uv.compile import uv_reason

    done = read_provenance(dest)
    built, failures = [], []
    for sdist in sdists:
        path = dest / sdist.filename
        algorithm = sdist.digest.algorithm
        previous = done.get(sdist.digest)
        fits = target is None or (
            previous is not None and target.rank(previous.path.name) is not None
        )
        if previous is not None and previous.path.is_file() and fits:
            continue
        if not path.is_file() or of_file(path, (algorithm,))[algorithm] != sdist.digest:
            failures.append(f"{sdist.filename}: not here with the locked digest; not built")
            continue
        work = Path(tempfile.mkdtemp(prefix=".lockshim-build-", dir=dest))
        try:
            command = [str(uv.path), "build", "--wheel", "--quiet", "--out-dir", str(work)]
            command += ["--no-index", "--find-links", str(dest), str(path)]  # what fetch brought
            if python:
                command += ["--python", python]
            result = subprocess.run(command, capture_output=True, text=True, check=False)
            wheels = sorted(work.glob("*.whl"))
            if result.returncode != 0 or len(wheels) != 1:
                failures.append(f"{sdist.filename}: uv build failed: {uv_reason(result.stderr)}")
                continue
            wheel = dest / require_plain(wheels[0].name, sdist.name, str(dest))
            os.replace(wheels[0], wheel)
            try:
                record_built(dest, wheel, sdist.filename, sdist.digest, python or "this machine")
            except OSError as error:
                failures.append(f"{wheel.name}: built, but not recorded ({error})")
                continue
            built.append(wheel.name)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return built, failures
