"""A standard lock any installer reads: the bundle's environment as PEP 751 ``pylock.toml``,
its files as ``path`` entries to the bundle's own files (``files/NAME`` beside it once
unpacked), so pip (26.3: ``pip install --no-index -r DIR/pylock.toml``) or ``uv pip install``
installs it with no lockshim at all.

Made from what `uv export --format pylock.toml` says the target installs, keeping only the wheels
the bundle holds (by digest). Not on this route, and said: the project itself, git sources, and
packages the bundle holds only as an sdist (installers would have to build them).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple

from lockshim.digests import from_hashes
from lockshim.uv.select import entry_filename

PYLOCK_NAME = "pylock.toml"
#: Where the files lie relative to the pylock.toml (as `unpack` writes them).
FILES_FOLDER = "files"


class PyLock(NamedTuple):
    text: str
    left_out: tuple[str, ...]  # "name version (why)"


def pylock(
    exported: Iterable[Mapping[str, Any]],
    held: Mapping[str, str],
    environments: Sequence[str] = (),
    requires_python: str | None = None,
) -> PyLock:
    """``exported``: each target's `uv export` (pylock.toml, parsed); ``held``: file name ->
    the digest of each file the bundle holds; ``environments``: the targets as markers."""
    import tomlkit

    packages: dict[tuple[str, str | None, str | None], dict[str, Any]] = {}
    left_out: dict[str, str] = {}
    for export in exported:
        for package in export.get("packages", []):
            name, version = str(package.get("name")), package.get("version")
            label = f"{name} {version}" if version else name
            wheels = [_wheel(entry) for entry in package.get("wheels", []) if _held(entry, held)]
            if not wheels:
                if "directory" in package or "vcs" in package or "archive" in package:
                    left_out[label] = "built from its source: `lockshim sync` installs it"
                elif package.get("sdist") and _held(package["sdist"], held):
                    left_out[label] = "an sdist only: installing it means building it"
                continue
            key = (name.lower(), str(version), package.get("marker"))
            entry = packages.setdefault(key, {"name": name})
            if version:
                entry["version"] = version
            if package.get("marker"):
                entry["marker"] = package["marker"]
            known = {w["name"] for w in entry.get("wheels", [])}
            entry.setdefault("wheels", []).extend(w for w in wheels if w["name"] not in known)
    document: dict[str, Any] = {"lock-version": "1.0", "created-by": "lockshim"}
    if environments:
        document["environments"] = sorted(set(environments))
    if requires_python:
        document["requires-python"] = requires_python
    document["packages"] = [packages[k] for k in sorted(packages, key=lambda k: (k[0], str(k)))]
    for entry in document["packages"]:
        left_out.pop(f"{entry['name']} {entry.get('version')}", None)
    text = tomlkit.dumps(document)
    return PyLock(text, tuple(f"{label} ({why})" for label, why in sorted(left_out.items())))


def _held(entry: Mapping[str, Any], held: Mapping[str, str]) -> bool:
    digest = from_hashes(entry.get("hashes"))
    name = entry_filename(entry)
    return digest is not None and held.get(name) == digest


def _wheel(entry: Mapping[str, Any]) -> dict[str, Any]:
    name = entry_filename(entry)
    wheel: dict[str, Any] = {"name": name, "path": f"{FILES_FOLDER}/{name}"}
    if isinstance(entry.get("size"), int):
        wheel["size"] = entry["size"]
    wheel["hashes"] = {str(k): str(v) for k, v in dict(entry.get("hashes", {})).items()}
    return wheel
