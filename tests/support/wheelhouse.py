"""Real wheels of hatchling and what it needs at build time, fetched once and kept.

A project built with hatchling installs offline only if the wheelhouse holds hatchling, its
runtime requirements and ``editables`` (hatchling asks for it for every editable build). They
are downloaded with this machine's own pip configuration (the registries it reaches) into a
folder under the system temp dir, keyed by what is asked for, so later runs download nothing.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from email.parser import HeaderParser
from pathlib import Path

from packaging.requirements import Requirement

#: hatchling's build-time needs besides its own declared requirements.
ALWAYS = ("packaging", "pathspec", "pluggy", "trove-classifiers", "editables")
_DONE = ".complete"


class WheelhouseUnavailable(RuntimeError):
    """The wheels could not be obtained (no registry, no binary wheel...)."""


def _installed(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def _pin(name: str) -> str:
    """``name==<installed version>`` when this interpreter has it, else ``name``."""
    version = _installed(name)
    return f"{name}=={version}" if version else name


def _download(requirements: list[str], dest: Path) -> None:
    """``pip download`` binary wheels without dependencies; a pinned requirement that fails is
    retried unpinned."""

    def pip(reqs: list[str]) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "pip", "download", "--quiet", "--only-binary=:all:"]
        command += ["--no-deps", "--disable-pip-version-check", "--dest", str(dest), *reqs]
        return subprocess.run(command, capture_output=True, text=True, timeout=300)

    if pip(requirements).returncode == 0:
        return
    for req in requirements:
        result = pip([req])
        if result.returncode != 0 and "==" in req:
            result = pip([req.split("==")[0]])
        if result.returncode != 0:
            raise WheelhouseUnavailable(f"pip download {req} failed:\n{result.stderr[-2000:]}")


def _requires_of(wheel: Path) -> list[str]:
    """The requirements of a wheel that apply to this interpreter (no extras)."""
    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        metadata = HeaderParser().parsestr(archive.read(name).decode())
    needed = []
    for text in metadata.get_all("Requires-Dist") or []:
        req = Requirement(text)
        if req.marker is None or req.marker.evaluate({"extra": ""}):
            needed.append(req.name)
    return needed


def _cache_folder(key: str) -> Path:
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"lockshim-tests-wheelhouse-{digest}"


def hatchling_wheelhouse() -> Path:
    """A folder of real wheels: hatchling, its requirements for this Python, and editables.

    Raises WheelhouseUnavailable when they cannot be downloaded.
    """
    hatchling = _pin("hatchling")
    key = f"{hatchling} {' '.join(map(_pin, ALWAYS))} {sys.version_info[:2]}"
    folder = _cache_folder(key)
    if (folder / _DONE).is_file():
        return folder
    staging = Path(tempfile.mkdtemp(prefix=folder.name + "-", dir=folder.parent))
    try:
        _download([hatchling], staging)
        wheel = next(staging.glob("hatchling-*.whl"))
        names = dict.fromkeys([*ALWAYS, *_requires_of(wheel)])
        _download([_pin(n) for n in names], staging)
        (staging / _DONE).write_text(key + "\n", encoding="utf-8")
        try:
            os.replace(staging, folder)
        except OSError:  # another run got there first (or left a broken folder)
            if not (folder / _DONE).is_file():
                shutil.rmtree(folder, ignore_errors=True)
                os.replace(staging, folder)
    except (OSError, StopIteration, subprocess.SubprocessError) as error:
        raise WheelhouseUnavailable(f"cannot obtain hatchling's wheels: {error!r}") from error
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return folder


def wheels_into(folder: Path, source: Path) -> Path:
    """``folder`` (made if needed) holding a copy of every wheel in ``source``."""
    folder.mkdir(parents=True, exist_ok=True)
    for wheel in source.glob("*.whl"):
        shutil.copy(wheel, folder)
    return folder


def pip_wheel(version: str) -> Path:
    """pip's own wheel at ``version``, downloaded once (as hatchling's are): a far side's pip.

    Raises WheelhouseUnavailable when it cannot be downloaded.
    """
    key = f"pip=={version}"
    folder = _cache_folder(key)
    found = sorted(folder.glob(f"pip-{version}-*.whl"))
    if found:
        return found[0]
    folder.mkdir(parents=True, exist_ok=True)
    try:
        _download([key], folder)
    except (OSError, subprocess.SubprocessError) as error:
        raise WheelhouseUnavailable(f"cannot obtain pip {version}: {error!r}") from error
    found = sorted(folder.glob(f"pip-{version}-*.whl"))
    if not found:
        raise WheelhouseUnavailable(f"pip download pip=={version} gave no wheel")
    return found[0]
