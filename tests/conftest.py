"""Shared fixtures: one project locked by the real uv against a loopback index, per session."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from realworld import (
    build_backend_wheel,
    build_sdist,
    build_wheel,
    clean_env,
    serving,
    uv_lock,
    write,
)

BACKEND = '[build-system]\nrequires = ["minibackend"]\nbuild-backend = "minibackend"\n'


def _registry(folder: Path) -> None:
    build_wheel(folder, "alpha", "1.0")
    build_wheel(folder, "forky", "1.0", requires_python="<3.11")
    build_wheel(folder, "forky", "2.0", requires_python=">=3.11")
    build_wheel(folder, "extra-dep", "1.0")
    build_wheel(folder, "devtool", "1.0")
    build_wheel(folder, "linter", "1.0", requires=["alpha"])
    build_wheel(folder, "direct", "1.0")
    build_sdist(folder, "sdisty", "1.0")
    build_backend_wheel(folder)


def _project(root: Path, direct_url: str) -> Path:
    write(
        root / "pyproject.toml",
        BACKEND + '\n[project]\nname = "app"\nversion = "0.1.0"\nrequires-python = ">=3.9"\n'
        "dependencies = [\n"
        '    "alpha",\n'
        "    \"forky<2; python_version < '3.11'\",\n"
        "    \"forky>=2; python_version >= '3.11'\",\n"
        '    "sdisty",\n'
        '    "member",\n'
        f'    "direct @ {direct_url}",\n'
        "]\n\n"
        '[project.optional-dependencies]\nx = ["extra-dep"]\n\n'
        '[dependency-groups]\ndev = ["devtool"]\nlint = ["linter"]\n\n'
        '[tool.uv.workspace]\nmembers = ["packages/member"]\n\n'
        "[tool.uv.sources]\nmember = { workspace = true }\n",
    )
    write(root / "src" / "app" / "__init__.py", "VALUE = 'app'\n")
    member = root / "packages" / "member"
    write(
        member / "pyproject.toml",
        BACKEND + '\n[project]\nname = "member"\nversion = "0.2.0"\ndependencies = ["alpha"]\n',
    )
    write(member / "src" / "member" / "__init__.py", "VALUE = 'member'\n")
    return root


@pytest.fixture(scope="session")
def locked(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(a project locked by real uv against a loopback index, the index's files)."""
    base = tmp_path_factory.mktemp("locked")
    registry = base / "registry"
    _registry(registry)
    with serving(registry) as index:
        project = _project(
            base / "project", f"http://127.0.0.1:{index.port}/files/direct-1.0-py3-none-any.whl"
        )
        uv_lock(project, index, clean_env(base))
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
