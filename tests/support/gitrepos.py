"""git repositories made by the tests, served over 127.0.0.1 by git's dumb HTTP protocol (a
static file server over a bare repository), as uv and lockshim fetch them."""

from __future__ import annotations

import functools
import http.server
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from . import servers
from .projects import BACKEND, git


def package(folder: Path, name: str, version: str) -> None:
    """A package that builds with nothing installed (its backend is in its own tree)."""
    (folder / "src" / name).mkdir(parents=True)
    (folder / "intree.py").write_text(BACKEND)
    (folder / "pyproject.toml").write_text(
        '[build-system]\nrequires = []\nbuild-backend = "intree"\nbackend-path = ["."]\n\n'
        f'[project]\nname = "{name}"\nversion = "{version}"\ndependencies = []\n'
    )
    (folder / "src" / name / "__init__.py").write_text(f"WHERE = {name!r}\n")


def repository(base: Path, served: Path, name: str, subdirectory: str | None) -> str:
    """A repository with one package (in ``subdirectory``), tagged v0.3 on branch main, and a
    later commit on main; published bare under ``served``. Returns the tagged commit."""
    work = base / f"{name}-work"
    work.mkdir(parents=True)
    git(work, "init", "-q")
    package(work / subdirectory if subdirectory else work, name, "0.3")
    git(work, "add", "-A")
    git(work, "commit", "-qm", "0.3")
    git(work, "tag", "v0.3")
    tagged = git(work, "rev-parse", "HEAD")
    bare = served / f"{name}.git"
    git(base, "clone", "-q", "--bare", str(work), str(bare))
    git(bare, "update-server-info")  # what git's dumb HTTP protocol reads
    return tagged


@contextmanager
def dumb_http(folder: Path) -> Iterator[str]:
    """``folder`` served over 127.0.0.1 as git's dumb HTTP protocol reads it; the origin."""
    with servers.handling(functools.partial(_Quiet, directory=str(folder))) as origin:
        yield origin


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass
