"""The projects, locks and commands the tests run: a workspace locked by the real uv against
the loopback index (:mod:`.index`), and the real lockshim, git and pip run on them.

Nothing here touches the network beyond 127.0.0.1.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

from . import wheels as support_wheels
from .index import LoopbackIndex
from .uvenv import can_unshare_net, isolated_env, uv_lock
from .wheels import build_wheel

#: A PEP 517 backend small enough to ship inside an sdist or a wheel (support.intree_backend):
#: it builds a wheel (or an editable wheel) of the package in the current folder from its
#: pyproject.toml, with the standard library only.
BACKEND = support_wheels.BACKEND_SOURCE.read_text(encoding="utf-8")


def build_backend_wheel(dest: Path, name: str = "minibackend", version: str = "1.0") -> Path:
    """A wheel of a real build backend (module ``name``): what a project's build needs offline."""
    return build_wheel(dest, name, version, extra_files={f"{name}/__init__.py": BACKEND.encode()})


def build_sdist(dest: Path, name: str, version: str, *, requires: Sequence[str] = ()) -> Path:
    """A real sdist that builds offline with nothing else: its backend is in the tree."""
    return support_wheels.build_sdist(dest, name, version, requires=requires)


# --- the real uv and lockshim -------------------------------------------------------------------


def clean_env(tmp: Path, **extra: str) -> dict[str, str]:
    """No pip or uv configuration of this machine, fresh caches under ``tmp``, HOME kept
    (support.uvenv.isolated_env)."""
    return isolated_env(tmp, keep_home=True, **extra)


def git(cwd: Path, *args: str) -> str:
    """Run the real git (a fixed identity, branch main); its output."""
    command = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-c", "init.defaultBranch=main"]
    result = subprocess.run([*command, *args], cwd=cwd, capture_output=True, text=True, check=True)
    return result.stdout.strip()


def pip_download(
    index_url: str, cache: Path, dest: Path, env: Mapping[str, str], *requirements: str
) -> None:
    """Real pip downloading from a loopback index, writing a real pip cache at ``cache``."""
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--dest",
            str(dest),
            "--index-url",
            index_url,
            "--trusted-host",  # pip caches only what it fetched from a trusted origin
            "127.0.0.1",
            "--cache-dir",
            str(cache),
            "--disable-pip-version-check",
            *requirements,
        ],
        env=dict(env),
        check=True,
        capture_output=True,
    )


def lockshim(
    args: Sequence[str],
    cwd: Path,
    env: Mapping[str, str],
    *,
    offline: bool = True,
) -> subprocess.CompletedProcess[str]:
    """Run the real `lockshim` command (under `unshare -n` when asked and possible)."""
    command = [sys.executable, "-m", "lockshim", *args]
    if offline and can_unshare_net():
        command = ["unshare", "-n", *command]
    return subprocess.run(command, cwd=cwd, env=dict(env), capture_output=True, text=True)


@contextmanager
def serving(folder: Path) -> Iterator[LoopbackIndex]:
    """The loopback index (support.index) serving ``folder``, PEP 503 HTML only: locks made
    against it hold url and hash, as many mirrors give them."""
    with LoopbackIndex(folder, json_api=False) as index:
        yield index


def venv_run(folder: Path, code: str) -> subprocess.CompletedProcess[str]:
    """Run ``code`` with the Python of the project environment ``folder/.venv``."""
    python = folder / ".venv" / "bin" / "python"
    return subprocess.run([str(python), "-c", code], capture_output=True, text=True)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


# --- the project most tests use ----------------------------------------------------------------

BUILD_SYSTEM = '[build-system]\nrequires = ["minibackend"]\nbuild-backend = "minibackend"\n'


#: The forky this Python installs (1.0 for Python < 3.11, 2.0 for the others), and the other.
FORKY_HERE, FORKY_OTHER = ("2.0", "1.0") if sys.version_info >= (3, 11) else ("1.0", "2.0")
#: A Python version that takes the other fork.
OTHER_FORK_PYTHON = "3.10" if sys.version_info >= (3, 11) else "3.12"


def build_registry(folder: Path) -> None:
    """The files of the test index: wheels, a fork, an sdist, a build backend."""
    build_wheel(folder, "alpha", "1.0")
    build_wheel(folder, "forky", "1.0", requires_python="<3.11")
    build_wheel(folder, "forky", "2.0", requires_python=">=3.11")
    build_wheel(folder, "extra-dep", "1.0")
    build_wheel(folder, "devtool", "1.0")
    build_wheel(folder, "linter", "1.0", requires=["alpha"])
    build_wheel(folder, "direct", "1.0")
    build_sdist(folder, "sdisty", "1.0")
    build_backend_wheel(folder)


def write_project(root: Path, direct_url: str) -> Path:
    """A workspace (app + member) built with minibackend, with extras, groups and a fork."""
    write(
        root / "pyproject.toml",
        BUILD_SYSTEM + '\n[project]\nname = "app"\nversion = "0.1.0"\nrequires-python = ">=3.9"\n'
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
        BUILD_SYSTEM
        + '\n[project]\nname = "member"\nversion = "0.2.0"\ndependencies = ["alpha"]\n',
    )
    write(member / "src" / "member" / "__init__.py", "VALUE = 'member'\n")
    return root


def lock_project(base: Path, index: LoopbackIndex) -> Path:
    """The project of :func:`write_project`, locked by the real uv against ``index``."""
    direct = f"http://127.0.0.1:{index.port}/files/direct-1.0-py3-none-any.whl"
    project = write_project(base / "project", direct)
    uv_lock(project, index, clean_env(base))
    return project
