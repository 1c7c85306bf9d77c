"""A PEP 517 build backend with no requirements, shipped inside the trees the tests build.

It is copied verbatim into sdists and projects as ``intree_backend.py`` and named in their
pyproject.toml with ``backend-path = ["."]``, so a frontend (uv, pip) builds them with nothing
but the standard library. Metadata comes from the static ``[project]`` table; the package is the
folder named after the normalized project name (``src/<module>`` or ``<module>``).

Standard library only: tomllib (3.11+), ``tomli`` where it is installed, else a reader of
the tests' own pyproject.toml subset.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import re
import tarfile
import zipfile
from typing import Any

try:
    import tomllib
except ImportError:  # pragma: no cover - Python < 3.11
    try:
        import tomli as tomllib  # type: ignore[no-redef,import-not-found,unused-ignore]
    except ImportError:  # a build environment with nothing installed: the tests' own subset
        tomllib = None  # type: ignore[assignment]

_ZIP_TIME = (2024, 1, 1, 0, 0, 0)
_TAR_TIME = 1704067200
_TAG = "py3-none-any"


def _project() -> dict[str, Any]:
    with open("pyproject.toml", "rb") as f:
        data = f.read()
    if tomllib is None:
        return _project_table(data.decode("utf-8"))
    project: dict[str, Any] = tomllib.loads(data.decode("utf-8"))["project"]
    return project


def _project_table(text: str) -> dict[str, Any]:
    """``[project]`` (and ``[project.optional-dependencies]``) of the pyproject.toml files the
    tests write (basic strings, arrays of them over one or more lines), read without tomllib:
    Python 3.10's build environments have none."""
    import json

    project: dict[str, Any] = {}
    table: dict[str, Any] | None = None
    pending = ""
    for line in text.splitlines():
        if not pending and line.startswith("["):
            header = line.strip()
            if header == "[project]":
                table = project
            elif header == "[project.optional-dependencies]":
                table = project.setdefault("optional-dependencies", {})
            else:
                table = None
            continue
        if table is None or (not pending and "=" not in line):
            continue
        pending += line + "\n"
        key, _, value = pending.partition("=")
        value = re.sub(r",\s*\]", "]", value.strip())
        if value.startswith("[") and not value.endswith("]"):
            continue  # an array over more lines
        pending = ""
        table[key.strip().strip('"')] = json.loads(value)
    return project


def _module(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


def _metadata(project: dict[str, Any]) -> str:
    lines = ["Metadata-Version: 2.1", f"Name: {project['name']}", f"Version: {project['version']}"]
    if "requires-python" in project:
        lines.append(f"Requires-Python: {project['requires-python']}")
    lines += [f"Requires-Dist: {r}" for r in project.get("dependencies", [])]
    for extra, reqs in project.get("optional-dependencies", {}).items():
        lines.append(f"Provides-Extra: {extra}")
        for req in reqs:
            req, _, marker = req.partition(";")
            condition = (
                f"({marker.strip()}) and extra == '{extra}'" if marker else f"extra == '{extra}'"
            )
            lines.append(f"Requires-Dist: {req.strip()}; {condition}")
    return "\n".join(lines) + "\n"


def _source_root(module: str) -> str:
    for root in ("src", "."):
        if os.path.isdir(os.path.join(root, module)):
            return os.path.abspath(root)
    raise FileNotFoundError(f"no package folder {module!r} in src/ or .")


def _dist_info_files(project: dict[str, Any]) -> dict[str, bytes]:
    info = f"{_module(project['name'])}-{project['version']}.dist-info"
    wheel = f"Wheel-Version: 1.0\nGenerator: intree_backend\nRoot-Is-Purelib: true\nTag: {_TAG}\n"
    return {f"{info}/METADATA": _metadata(project).encode(), f"{info}/WHEEL": wheel.encode()}


def _write_wheel(directory: str, files: dict[str, bytes], project: dict[str, Any]) -> str:
    base = f"{_module(project['name'])}-{project['version']}"
    info = f"{base}.dist-info"
    files = {**files, **_dist_info_files(project)}
    record = []
    for path, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(data)}")
    record.append(f"{info}/RECORD,,")
    files[f"{info}/RECORD"] = ("\n".join(record) + "\n").encode()
    filename = f"{base}-{_TAG}.whl"
    with zipfile.ZipFile(os.path.join(directory, filename), "w", zipfile.ZIP_DEFLATED) as z:
        for path, data in files.items():
            entry = zipfile.ZipInfo(path, _ZIP_TIME)
            entry.external_attr = 0o644 << 16
            z.writestr(entry, data, zipfile.ZIP_DEFLATED)
    return filename


def _package_files(module: str) -> dict[str, bytes]:
    root = _source_root(module)
    files = {}
    for folder, dirs, names in os.walk(os.path.join(root, module)):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(names):
            full = os.path.join(folder, name)
            with open(full, "rb") as f:
                files[os.path.relpath(full, root).replace(os.sep, "/")] = f.read()
    return files


# --- PEP 517 / PEP 660 hooks --------------------------------------------------------------------


def get_requires_for_build_wheel(config_settings: object = None) -> list[str]:
    return []


def get_requires_for_build_sdist(config_settings: object = None) -> list[str]:
    return []


def get_requires_for_build_editable(config_settings: object = None) -> list[str]:
    return []


def prepare_metadata_for_build_wheel(
    metadata_directory: str, config_settings: object = None
) -> str:
    project = _project()
    for path, data in _dist_info_files(project).items():
        os.makedirs(os.path.join(metadata_directory, os.path.dirname(path)), exist_ok=True)
        with open(os.path.join(metadata_directory, path), "wb") as f:
            f.write(data)
    return f"{_module(project['name'])}-{project['version']}.dist-info"


prepare_metadata_for_build_editable = prepare_metadata_for_build_wheel


def build_wheel(
    wheel_directory: str, config_settings: object = None, metadata_directory: object = None
) -> str:
    project = _project()
    return _write_wheel(wheel_directory, _package_files(_module(project["name"])), project)


def build_editable(
    wheel_directory: str, config_settings: object = None, metadata_directory: object = None
) -> str:
    project = _project()
    module = _module(project["name"])
    pth = {f"_{module}_editable.pth": (_source_root(module) + "\n").encode()}
    return _write_wheel(wheel_directory, pth, project)


def build_sdist(sdist_directory: str, config_settings: object = None) -> str:
    project = _project()
    base = f"{_module(project['name'])}-{project['version']}"
    members: dict[str, bytes] = {"PKG-INFO": _metadata(project).encode()}
    for folder, dirs, names in os.walk("."):
        dirs[:] = sorted(d for d in dirs if d not in ("__pycache__", ".venv", ".git"))
        for name in sorted(names):
            path = os.path.relpath(os.path.join(folder, name), ".").replace(os.sep, "/")
            if path != "PKG-INFO" and not path.endswith((".pyc", ".lock")):
                with open(path, "rb") as f:
                    members[path] = f.read()
    filename = f"{base}.tar.gz"
    with tarfile.open(
        os.path.join(sdist_directory, filename), "w:gz", format=tarfile.PAX_FORMAT
    ) as tar:
        for path, data in sorted(members.items()):
            entry = tarfile.TarInfo(f"{base}/{path}")
            entry.size, entry.mtime, entry.mode = len(data), _TAR_TIME, 0o644
            tar.addfile(entry, io.BytesIO(data))
    return filename
