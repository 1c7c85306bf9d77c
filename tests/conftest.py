"""Shared fixtures: one project locked by the real uv against a loopback index, per session."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from realworld import build_registry, lock_project, serving


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
    """Every registry file except forky 1.0 (for Python < 3.11: not needed here)."""
    folder = tmp_path / "wheel house ü#1%"
    folder.mkdir()
    for path in locked[1].iterdir():
        if not path.name.startswith("forky-1.0"):
            shutil.copy(path, folder / path.name)
    return folder
