"""Run the real uv in an environment this machine's pip/uv configuration cannot reach."""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import pytest

from .wheels import BACKEND_MODULE, BACKEND_SOURCE, module_name

if TYPE_CHECKING:
    from .index import LoopbackIndex

#: Inherited variables that would change what uv or pip does (prefixes, then exact names).
_DROPPED_PREFIXES = ("PIP_", "UV_", "LOCKSHIM_", "CONDA_")
_DROPPED = {"VIRTUAL_ENV", "NETRC", "SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE"}
_PROXIES = {"http_proxy", "https_proxy", "all_proxy", "no_proxy"}

BuildBackend = Literal["hatchling", "in-tree"] | None


@functools.cache
def uv_bin() -> str:
    """The uv executable the tests run: ``LOCKSHIM_TEST_UV`` (CI runs a subset with the oldest
    uv lockshim supports), else that of the ``uv`` package installed in this interpreter."""
    chosen = os.environ.get("LOCKSHIM_TEST_UV")
    if chosen:
        return chosen
    from uv import find_uv_bin

    return str(find_uv_bin())


def isolated_env(tmp_path: Path, *, keep_home: bool = False, **extra: str) -> dict[str, str]:
    """os.environ without any pip/uv configuration, with a fresh uv cache under ``tmp_path``.

    ``PATH`` is kept; ``HOME`` and the XDG folders point into ``tmp_path`` unless ``keep_home``
    (so no ~/.netrc, keyring or user config leaks in). Proxies are dropped and 127.0.0.1 is never
    proxied. ``extra`` is applied last.
    """
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(_DROPPED_PREFIXES)
        and key not in _DROPPED
        and key.lower() not in _PROXIES
    }
    base = tmp_path / ".isolated"
    for folder in ("uv-cache", "home", "lockshim-cache"):
        (base / folder).mkdir(parents=True, exist_ok=True)
    if not keep_home:
        home = base / "home"
        env.update(
            HOME=str(home),
            XDG_CONFIG_HOME=str(home / ".config"),
            XDG_CACHE_HOME=str(home / ".cache"),
            XDG_DATA_HOME=str(home / ".local" / "share"),
        )
    env.update(
        UV_CACHE_DIR=str(base / "uv-cache"),
        UV_NO_CONFIG="1",
        UV_PYTHON_DOWNLOADS="never",
        UV_PYTHON=sys.executable,
        UV_NO_PROGRESS="1",
        UV_KEYRING_PROVIDER="disabled",
        PIP_CONFIG_FILE=os.devnull,
        PIP_DISABLE_PIP_VERSION_CHECK="1",
        PIP_NO_INPUT="1",
        NO_PROXY="127.0.0.1,localhost",
        LOCKSHIM_CACHE_DIR=str(base / "lockshim-cache"),
        LOCKSHIM_UV=uv_bin(),
    )
    env.update(extra)
    return env


def run_uv(
    args: Sequence[str | os.PathLike[str]],
    env: Mapping[str, str],
    *,
    cwd: Path | None = None,
    check: bool = True,
    offline: bool = False,
) -> subprocess.CompletedProcess[str]:
    """Run the real uv; ``offline`` runs it under ``unshare -n`` where that is possible.

    With ``check``, a failure raises AssertionError carrying uv's output.
    """
    command = [uv_bin(), *map(str, args)]
    if offline:
        command = offline_command(command)
    result = subprocess.run(
        command, env=dict(env), cwd=cwd, capture_output=True, text=True, timeout=300
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"{' '.join(command)} exited {result.returncode}\n"
            f"--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"
        )
    return result


def make_venv(path: Path, env: Mapping[str, str]) -> Path:
    """A fresh virtual environment (``uv venv``) for this interpreter; its python."""
    run_uv(["venv", "--quiet", "--python", sys.executable, path], env)
    return path / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def uv_lock(
    project: Path,
    index: str | LoopbackIndex | None,
    env: Mapping[str, str],
    *,
    no_build: bool = False,
    args: Sequence[str] = (),
) -> Path:
    """``uv lock`` the project with the real uv against ``index`` (a loopback index or its URL;
    None: ``--offline --no-index``); the uv.lock it wrote."""
    command: list[str | os.PathLike[str]] = ["lock", "--project", project]
    if index is None:
        command += ["--offline", "--no-index"]
    else:
        command += ["--index-url", index if isinstance(index, str) else index.url]
    if no_build:
        command.append("--no-build")
    run_uv([*command, *args], env)
    return project / "uv.lock"


# --- projects -----------------------------------------------------------------------------------

TomlValue = str | bool | int | Sequence["TomlValue"] | Mapping[str, "TomlValue"]


def toml_value(value: TomlValue) -> str:
    """A TOML value (strings, booleans, integers, arrays, inline tables)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        return f'"{escaped}"'
    if isinstance(value, Mapping):
        return "{ " + ", ".join(f"{toml_key(k)} = {toml_value(v)}" for k, v in value.items()) + " }"
    return "[" + ", ".join(toml_value(v) for v in value) + "]"


def toml_key(key: str) -> str:
    return key if key.replace("-", "").replace("_", "").isalnum() else toml_value(key)


def make_project(
    root: Path,
    name: str,
    deps: Sequence[str] = (),
    *,
    version: str = "0.1.0",
    build_backend: BuildBackend = "hatchling",
    extras: Mapping[str, Sequence[str]] | None = None,
    groups: Mapping[str, Sequence[str]] | None = None,
    requires_python: str | None = None,
    workspace_members: Sequence[str] = (),
    sources: Mapping[str, Mapping[str, TomlValue]] | None = None,
) -> Path:
    """Write a project at ``root`` (pyproject.toml and, unless virtual, ``src/<module>``).

    ``build_backend``: ``"hatchling"`` (needs hatchling to build: see the ``hatchling_wheelhouse``
    fixture), ``"in-tree"`` (the dependency-free backend copied beside pyproject.toml) or None (a
    virtual project: no build-system, nothing to build). ``requires_python`` defaults to this
    interpreter's ``>=X.Y``. ``workspace_members`` are globs for ``[tool.uv.workspace]``;
    ``sources`` is ``[tool.uv.sources]`` (e.g. ``{"member": {"workspace": True}}``).
    Returns ``root``.
    """
    root.mkdir(parents=True, exist_ok=True)
    module = module_name(name)
    if requires_python is None:
        requires_python = f">={sys.version_info.major}.{sys.version_info.minor}"
    lines: list[str] = []
    if build_backend == "hatchling":
        lines += ["[build-system]", 'requires = ["hatchling"]', 'build-backend = "hatchling.build"']
    elif build_backend == "in-tree":
        lines += ["[build-system]", "requires = []", f'build-backend = "{BACKEND_MODULE}"']
        lines += ['backend-path = ["."]']
        shutil.copyfile(BACKEND_SOURCE, root / f"{BACKEND_MODULE}.py")
    elif build_backend is not None:
        raise ValueError(f"unknown build backend {build_backend!r}")
    if lines:
        lines.append("")
    lines += [
        "[project]",
        f"name = {toml_value(name)}",
        f"version = {toml_value(version)}",
        f"requires-python = {toml_value(requires_python)}",
        f"dependencies = {toml_value(list(deps))}",
    ]
    if extras:
        lines += ["", "[project.optional-dependencies]"]
        lines += [f"{toml_key(k)} = {toml_value(list(v))}" for k, v in extras.items()]
    if groups:
        lines += ["", "[dependency-groups]"]
        lines += [f"{toml_key(k)} = {toml_value(list(v))}" for k, v in groups.items()]
    if build_backend == "hatchling":
        lines += ["", "[tool.hatch.build.targets.wheel]", f'packages = ["src/{module}"]']
    if workspace_members:
        lines += ["", "[tool.uv.workspace]", f"members = {toml_value(list(workspace_members))}"]
    if sources:
        lines += ["", "[tool.uv.sources]"]
        lines += [f"{toml_key(k)} = {toml_value(v)}" for k, v in sources.items()]
    (root / "pyproject.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    if build_backend is not None:
        package = root / "src" / module
        package.mkdir(parents=True, exist_ok=True)
        (package / "__init__.py").write_text(f"__version__ = {version!r}\n", encoding="utf-8")
    return root


# --- no network ---------------------------------------------------------------------------------


@functools.cache
def can_unshare_net() -> bool:
    """Whether ``unshare -n`` works here (root, or user namespaces allowed)."""
    if shutil.which("unshare") is None:
        return False
    try:
        return (
            subprocess.run(["unshare", "-n", "true"], capture_output=True, timeout=10).returncode
            == 0
        )
    except (OSError, subprocess.SubprocessError):
        return False


def offline_command(command: Sequence[str]) -> list[str]:
    """``command`` under ``unshare -n`` (no network, not even loopback) where possible."""
    return ["unshare", "-n", *command] if can_unshare_net() else list(command)


#: Mark for tests that must prove the absence of network (skipped where unshare -n fails).
needs_unshare = pytest.mark.skipif(
    not can_unshare_net(), reason="`unshare -n` is not permitted here (needs root or userns)"
)
