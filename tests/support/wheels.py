"""Real distributions built by the tests: installable wheels and sdists that build offline.

Same arguments give the same bytes (fixed timestamps, fixed member order), so a file's sha256
is stable across runs and machines.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import re
import tarfile
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from packaging.requirements import Requirement

_ZIP_TIME = (2024, 1, 1, 0, 0, 0)
_TAR_TIME = 1704067200  # 2024-01-01T00:00:00Z
BACKEND_SOURCE = Path(__file__).with_name("intree_backend.py")
BACKEND_MODULE = "intree_backend"


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def normalize(name: str) -> str:
    """PEP 503 normalized project name (``Foo.Bar_baz`` -> ``foo-bar-baz``)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def module_name(name: str) -> str:
    """The form of ``name`` used in wheel and sdist filenames, and as the module name."""
    return normalize(name).replace("-", "_")


def core_metadata(
    name: str,
    version: str,
    *,
    requires: Sequence[str] = (),
    extras: Mapping[str, Sequence[str]] | None = None,
    requires_python: str | None = None,
) -> str:
    """Core metadata 2.1 (METADATA / PKG-INFO) text."""
    lines = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}"]
    if requires_python:
        lines.append(f"Requires-Python: {requires_python}")
    lines += [f"Requires-Dist: {Requirement(r)}" for r in requires]
    for extra, reqs in (extras or {}).items():
        lines.append(f"Provides-Extra: {extra}")
        for text in reqs:
            req = Requirement(text)
            marker = f"extra == {extra!r}"
            if req.marker is not None:
                marker = f"({req.marker}) and {marker}"
            req.marker = None
            lines.append(f"Requires-Dist: {req}; {marker}")
    return "\n".join(lines) + "\n"


def _urlsafe_digest(data: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def _zip(files: Mapping[str, bytes], stored: frozenset[str] = frozenset()) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path, data in files.items():
            info = zipfile.ZipInfo(path, _ZIP_TIME)
            info.external_attr = 0o644 << 16
            method = zipfile.ZIP_STORED if path in stored else zipfile.ZIP_DEFLATED
            archive.writestr(info, data, method)
    return buffer.getvalue()


def wheel_bytes(files: Mapping[str, bytes], dist_info: str, tag: str) -> bytes:
    """A valid wheel archive of ``files`` plus WHEEL and RECORD (deterministic bytes)."""
    files = dict(files)
    files[f"{dist_info}/WHEEL"] = (
        f"Wheel-Version: 1.0\nGenerator: lockshim-tests\nRoot-Is-Purelib: true\nTag: {tag}\n"
    ).encode()
    record = [f"{path},sha256={_urlsafe_digest(data)},{len(data)}" for path, data in files.items()]
    record.append(f"{dist_info}/RECORD,,")
    files[f"{dist_info}/RECORD"] = ("\n".join(record) + "\n").encode()
    return _zip(files)


def build_wheel(
    dest: Path,
    name: str,
    version: str,
    *,
    requires: Sequence[str] = (),
    tag: str = "py3-none-any",
    requires_python: str | None = None,
    extras: Mapping[str, Sequence[str]] | None = None,
    payload: bytes = b"",
    code: bytes = b"",
    extra_files: Mapping[str, bytes] | None = None,
) -> Path:
    """Write a valid, installable wheel into ``dest``; return its path.

    ``import <module>`` gives ``__version__``, then runs ``code``. A non-empty ``payload`` is
    stored uncompressed as ``<module>/payload.bin``: the wheel is at least that big, and other
    bytes give another hash. ``extra_files`` are added as they are (a module replaced, say).
    ``tag`` is ``python-abi-platform``; compressed tags (``py2.py3``) are written as one
    ``Tag:`` line per combination.
    """
    python_tag, abi_tag, platform_tag = tag.split("-")
    module = module_name(name)
    info = f"{module}-{version}.dist-info"
    files: dict[str, bytes] = {
        f"{module}/__init__.py": f"__version__ = {version!r}\n".encode() + code
    }
    files.update(extra_files or {})
    if payload:
        files[f"{module}/payload.bin"] = payload
    files[f"{info}/METADATA"] = core_metadata(
        name, version, requires=requires, extras=extras, requires_python=requires_python
    ).encode()
    purelib = abi_tag == "none" and platform_tag == "any"
    tags = [
        f"Tag: {py}-{abi}-{plat}"
        for py in python_tag.split(".")
        for abi in abi_tag.split(".")
        for plat in platform_tag.split(".")
    ]
    files[f"{info}/WHEEL"] = "\n".join(
        [
            "Wheel-Version: 1.0",
            "Generator: lockshim-tests",
            f"Root-Is-Purelib: {str(purelib).lower()}",
            *tags,
            "",
        ]
    ).encode()
    record = [f"{path},sha256={_urlsafe_digest(data)},{len(data)}" for path, data in files.items()]
    record.append(f"{info}/RECORD,,")
    files[f"{info}/RECORD"] = ("\n".join(record) + "\n").encode()

    dest.mkdir(parents=True, exist_ok=True)
    path = dest / f"{module}-{version}-{python_tag}-{abi_tag}-{platform_tag}.whl"
    path.write_bytes(_zip(files, stored=frozenset({f"{module}/payload.bin"})))
    return path


def _toml_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _toml_requirements(values: Sequence[str]) -> str:
    """A TOML array of requirements, each in packaging's canonical spelling (as in METADATA)."""
    return "[" + ", ".join(_toml_string(str(Requirement(v))) for v in values) + "]"


def intree_pyproject(
    name: str,
    version: str,
    *,
    requires: Sequence[str] = (),
    extras: Mapping[str, Sequence[str]] | None = None,
    requires_python: str | None = None,
) -> str:
    """pyproject.toml of a tree built by :mod:`intree_backend` (copied beside it)."""
    lines = [
        "[build-system]",
        "requires = []",
        f'build-backend = "{BACKEND_MODULE}"',
        'backend-path = ["."]',
        "",
        "[project]",
        f"name = {_toml_string(name)}",
        f"version = {_toml_string(version)}",
        f"dependencies = {_toml_requirements(requires)}",
    ]
    if requires_python:
        lines.append(f"requires-python = {_toml_string(requires_python)}")
    if extras:
        lines += ["", "[project.optional-dependencies]"]
        lines += [f"{_toml_string(k)} = {_toml_requirements(v)}" for k, v in extras.items()]
    return "\n".join(lines) + "\n"


def build_sdist(
    dest: Path,
    name: str,
    version: str,
    *,
    requires: Sequence[str] = (),
    extras: Mapping[str, Sequence[str]] | None = None,
    requires_python: str | None = None,
) -> Path:
    """Write a valid sdist (``<module>-<version>.tar.gz``) that builds offline; return its path.

    Its pyproject.toml names the in-tree backend (``backend-path = ["."]``, ``requires = []``),
    so any PEP 517 frontend builds it with nothing else available. The wheel it builds carries
    the same metadata as :func:`build_wheel` would write.
    """
    module = module_name(name)
    base = f"{module}-{version}"
    pkg_info = core_metadata(
        name, version, requires=requires, extras=extras, requires_python=requires_python
    )
    pyproject = intree_pyproject(
        name, version, requires=requires, extras=extras, requires_python=requires_python
    )
    members = {
        "PKG-INFO": pkg_info.encode(),
        "pyproject.toml": pyproject.encode(),
        f"{BACKEND_MODULE}.py": BACKEND_SOURCE.read_bytes(),
        f"src/{module}/__init__.py": f"__version__ = {version!r}\n".encode(),
    }
    tar_buffer = io.BytesIO()
    with tarfile.open(fileobj=tar_buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for member in [base, f"{base}/src", f"{base}/src/{module}"]:
            folder = tarfile.TarInfo(member)
            folder.type, folder.mode, folder.mtime = tarfile.DIRTYPE, 0o755, _TAR_TIME
            archive.addfile(folder)
        for member, data in members.items():
            info = tarfile.TarInfo(f"{base}/{member}")
            info.size, info.mtime, info.mode = len(data), _TAR_TIME, 0o644
            archive.addfile(info, io.BytesIO(data))
    dest.mkdir(parents=True, exist_ok=True)
    path = dest / f"{base}.tar.gz"
    with path.open("wb") as raw, gzip.GzipFile(filename="", fileobj=raw, mode="wb", mtime=0) as gz:
        gz.write(tar_buffer.getvalue())
    return path


def hatchling_sdist(dest: Path, name: str, version: str) -> Path:
    """An sdist built with hatchling (a real backend, from outside the sdist)."""
    base = f"{name}-{version}"
    files = {
        f"{base}/pyproject.toml": (
            '[build-system]\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"\n\n'
            f'[project]\nname = "{name}"\nversion = "{version}"\n\n'
            f'[tool.hatch.build.targets.wheel]\npackages = ["src/{name}"]\n'
        ),
        f"{base}/src/{name}/__init__.py": f"__version__ = {version!r}\n",
        f"{base}/PKG-INFO": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
    }
    path = dest / f"{base}.tar.gz"
    with tarfile.open(path, "w:gz") as archive:
        for member, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(member)
            info.size, info.mtime = len(data), 1704067200
            archive.addfile(info, io.BytesIO(data))
    return path


def uv_wheel(folder: Path) -> Path:
    """A wheel of the uv in use, as the index ships it for this machine (its real binary)."""
    from importlib.metadata import distribution

    from uv import find_uv_bin

    uv = distribution("uv")
    tag = next(
        line.split(": ", 1)[1]
        for line in uv.read_text("WHEEL").splitlines()
        if line.startswith("Tag: ")
    )
    version = uv.version
    files = {
        f"uv-{version}.data/scripts/uv": Path(find_uv_bin()).read_bytes(),
        f"uv-{version}.dist-info/METADATA": (
            f"Metadata-Version: 2.1\nName: uv\nVersion: {version}\n".encode()
        ),
    }
    path = folder / f"uv-{version}-{tag}.whl"
    path.write_bytes(wheel_bytes(files, f"uv-{version}.dist-info", tag))
    return path
