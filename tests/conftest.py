"""Shared fixtures.

From :mod:`support`: ``uv_bin``, ``isolated_env``, ``wheel_factory``, ``sdist_factory``,
``loopback_index`` and the session-wide ``hatchling_wheelhouse``. From :mod:`support.projects`: one
project locked by the real uv against a loopback index, per session (``locked``, ``project``,
``wheelhouse``).
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import support
from support.projects import build_registry, lock_project, serving


@pytest.fixture(scope="session")
def uv_bin() -> str:
    """The real uv executable (from the ``uv`` package)."""
    return support.uv_bin()


@pytest.fixture
def isolated_env(tmp_path: Path) -> dict[str, str]:
    """An environment free of this machine's pip/uv configuration, with an empty uv cache."""
    return support.isolated_env(tmp_path)


@pytest.fixture
def wheel_factory(tmp_path: Path) -> Callable[..., Path]:
    """``wheel_factory(name, version, **build_wheel_options)``: a wheel in ``tmp_path/wheels``."""
    folder = tmp_path / "wheels"

    def make(name: str, version: str, **options: Any) -> Path:
        return support.build_wheel(folder, name, version, **options)

    return make


@pytest.fixture
def sdist_factory(tmp_path: Path) -> Callable[..., Path]:
    """``sdist_factory(name, version, **build_sdist_options)``: an sdist in ``tmp_path/wheels``."""
    folder = tmp_path / "wheels"

    def make(name: str, version: str, **options: Any) -> Path:
        return support.build_sdist(folder, name, version, **options)

    return make


@pytest.fixture
def loopback_index(tmp_path: Path) -> Iterator[support.LoopbackIndex]:
    """A running index serving ``tmp_path/wheels`` (where the factories write)."""
    with support.LoopbackIndex(tmp_path / "wheels") as index:
        yield index


@pytest.fixture(scope="session")
def hatchling_wheelhouse() -> Path:
    """Real wheels of hatchling, its requirements and editables (downloaded once, kept in the
    system temp dir). Skips the test when they cannot be obtained."""
    try:
        return support.hatchling_wheelhouse()
    except support.WheelhouseUnavailable as error:
        pytest.skip(f"hatchling wheelhouse unavailable (needs a reachable package index): {error}")


# --- the project most lockshim tests use ----------------------------------------------------------


@pytest.fixture(scope="session")
def locked(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(a project locked by real uv against a loopback index, the index's files)."""
    base = tmp_path_factory.mktemp("locked")
    registry = base / "registry"
    build_registry(registry)
    with serving(registry) as index:
        project = lock_project(base, index)
    return project, registry


@pytest.fixture
def project(locked: tuple[Path, Path], tmp_path: Path) -> Path:
    """A fresh copy of the locked project, in a folder with a space and unicode in its name."""
    copy = tmp_path / "my prøject"
    shutil.copytree(locked[0], copy)
    return copy


@pytest.fixture
def wheelhouse(locked: tuple[Path, Path], tmp_path: Path) -> Path:
    """Every registry file except the forky this Python does not need (1.0 is for Python
    < 3.11, 2.0 for the others)."""
    folder = tmp_path / "wheel house ü#1%"
    folder.mkdir()
    unneeded = "forky-1.0" if sys.version_info >= (3, 11) else "forky-2.0"
    for path in locked[1].iterdir():
        if not path.name.startswith(unneeded):
            shutil.copy(path, folder / path.name)
    return folder
