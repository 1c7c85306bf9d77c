"""Finding the project's uv.lock and its ``[tool.lockshim]`` settings."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from lockshim._compat import tomllib
from lockshim.errors import LockshimError, UsageError
from lockshim.runtime import RUNNING_BUNDLE

WHEELHOUSE_ENV = "LOCKSHIM_WHEELHOUSE"
MIRROR_ENV = "LOCKSHIM_MIRROR"


class Settings(NamedTuple):
    """``[tool.lockshim]`` of the project's pyproject.toml (paths already resolved)."""

    wheelhouses: tuple[Path, ...] = ()
    pip_cache: bool | Path | None = None  # None: not set; False: off; a Path: that cache
    check_allow: tuple[str, ...] = ()
    mirror: str | None = None  # a company index's simple API root (lockshim.sources.mirror)


class Project(NamedTuple):
    root: Path
    lock_path: Path
    settings: Settings = Settings()


def find_project(start: Path | None = None, *, lock_name: str = "uv.lock") -> Project:
    """The nearest folder holding uv.lock, from ``start`` (default: the current folder) upward.

    A workspace member has no lock of its own, so this finds the workspace root's, as uv does.
    """
    here = (start or Path.cwd()).absolute()
    if start is not None and not here.is_dir():
        raise UsageError(f"--project {start}: no such folder.")
    for folder in (here, *here.parents):
        candidate = folder / lock_name
        if candidate.is_file():
            return Project(folder, candidate, read_settings(folder / "pyproject.toml"))
    bundle = os.environ.get(RUNNING_BUNDLE)
    if bundle:  # the far side of an air gap: `uv lock` cannot run there
        raise LockshimError(
            f"no {lock_name} in {here} or any folder above it: this bundle installs a project "
            "it does not find here. Either run it in the project's folder (carry the project "
            f"beside the bundle, or pass --project DIR), or unpack the project it carries: "
            f"`python3 {Path(bundle).name} sync --into DIR -- ...` (a bundle made with "
            "`lockshim bundle --with-project`)."
        )
    raise LockshimError(
        f"no {lock_name} in {here} or any folder above it. Run lockshim inside a uv project "
        "(or pass --project DIR), and create the lock first with `uv lock`."
    )


def script_project(script: Path) -> Project:
    """A PEP 723 script's lock: ``script.py.lock`` beside ``script.py`` (as `uv lock --script`
    writes it)."""
    script = script.absolute()
    lock = script.with_name(f"{script.name}.lock")
    if not lock.is_file():
        raise LockshimError(
            f"{lock}: no lock for the script {script}. Lock it first: `uv lock --script {script}`."
        )
    return Project(script.parent, lock, read_settings(script.parent / "pyproject.toml"))


def read_settings(pyproject: Path) -> Settings:
    try:
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return Settings()
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise LockshimError(f"{pyproject}: cannot be read as TOML ({error}).") from None
    table = data.get("tool", {}).get("lockshim", {})
    if not isinstance(table, Mapping):
        raise LockshimError(f"{pyproject}: [tool.lockshim] must be a table.")
    base = pyproject.parent
    return Settings(
        wheelhouses=tuple(base / p for p in _strings(table, "wheelhouses", pyproject)),
        pip_cache=_pip_cache(table.get("pip-cache"), base, pyproject),
        check_allow=tuple(_strings(table, "check-allow", pyproject)),
        mirror=_string(table, "mirror", pyproject),
    )


def _string(table: Mapping[str, Any], key: str, pyproject: Path) -> str | None:
    value = table.get(key)
    if value is not None and not isinstance(value, str):
        raise LockshimError(f"{pyproject}: [tool.lockshim] {key} must be a string (a URL).")
    return value


def _strings(table: Mapping[str, Any], key: str, pyproject: Path) -> Sequence[str]:
    value = table.get(key, [])
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise LockshimError(
            f"{pyproject}: [tool.lockshim] {key} must be a list of strings, "
            f'e.g. {key} = ["../wheels"].'
        )
    return value


def _pip_cache(value: object, base: Path, pyproject: Path) -> bool | Path | None:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        return base / os.path.expanduser(value)
    raise LockshimError(
        f"{pyproject}: [tool.lockshim] pip-cache must be true, false or a folder path."
    )


def wheelhouses(explicit: Sequence[Path], project: Project) -> tuple[Path, ...]:
    """``--wheelhouse`` folders, else ``[tool.lockshim] wheelhouses``, else LOCKSHIM_WHEELHOUSE."""
    if explicit:
        return tuple(_folder(Path(p), "--wheelhouse") for p in explicit)
    if project.settings.wheelhouses:
        where = f"[tool.lockshim] wheelhouses in {project.root / 'pyproject.toml'}"
        return tuple(_folder(p, where) for p in project.settings.wheelhouses)
    value = os.environ.get(WHEELHOUSE_ENV, "")
    return tuple(
        _folder(Path(p).expanduser(), WHEELHOUSE_ENV) for p in value.split(os.pathsep) if p
    )


def mirror_url(option: str | None, project: Project) -> str | None:
    """The mirror's URL: ``--mirror``, else LOCKSHIM_MIRROR, else ``[tool.lockshim] mirror``
    (read by lockshim.sources.mirror)."""
    return option or os.environ.get(MIRROR_ENV) or project.settings.mirror or None


def _folder(path: Path, where: str) -> Path:
    """A wheelhouse folder, absolute and normalized (``proj/../wheels`` is ``wheels``, as
    people read it; symbolic links kept); never empty and never a whole file system."""
    folder = Path(os.path.normpath(path.absolute()))
    if folder.resolve() == Path(folder.anchor) or folder.resolve() == Path.home().resolve():
        raise UsageError(
            f"{where}: {path} is a whole file system or your home folder, not a wheelhouse; "
            "lockshim would read every file under it. Name the folder that holds the wheels."
        )
    return folder


def environment_of(root: Path) -> Path:
    """The project environment uv syncs (``UV_PROJECT_ENVIRONMENT``, else ``.venv``)."""
    return root / (os.environ.get("UV_PROJECT_ENVIRONMENT") or ".venv")


def git_work_tree(folder: Path) -> Path | None:
    """The git work tree holding ``folder`` (git's own answer; hooks never run), or None."""
    import subprocess

    try:
        found = subprocess.run(
            ["git", "-c", "core.hooksPath=/dev/null", "rev-parse", "--show-toplevel"],
            cwd=folder,
            capture_output=True,
            text=True,
            check=False,
        )
    except OSError:
        return None
    top = found.stdout.strip()
    return Path(top) if found.returncode == 0 and top else None
