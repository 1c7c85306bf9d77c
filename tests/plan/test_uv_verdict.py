"""Never refuse what uv would do: uv's own verdict and uv's own cache, with the real uv as the
oracle (lock shapes from the corpus of real locks, a cache real uv filled, long-named wheels).
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from support import build_wheel, make_project, uv_bin, uv_lock
from support.gitrepos import dumb_http, repository
from support.projects import clean_env, lockshim, serving, venv_run

LONG_TAG = "py3-none-manylinux1_x86_64.manylinux_2_28_x86_64.manylinux_2_5_x86_64"


def _workspace(tmp_path: Path, git_url: str) -> Path:
    """A workspace in the corpus' shapes: members naming each other with specifiers, an
    editable path source outside the workspace, a git source with a specifier, a registry
    package; every local package builds with its own in-tree backend."""
    root = tmp_path / "repo" / "app"
    make_project(
        root,
        "app",
        ["b>=0.1,<0.5", "libpath>=0.1", "gitdep>=0.3", "alpha>=1"],
        build_backend="in-tree",
        workspace_members=["packages/*"],
        sources={
            "b": {"workspace": True},
            "libpath": {"path": "../libpath", "editable": True},
            "gitdep": {"git": f"{git_url}/gitdep.git", "tag": "v0.3"},
        },
    )
    make_project(
        root / "packages" / "b",
        "b",
        ["c>=0.1", "alpha"],
        build_backend="in-tree",
        sources={"c": {"workspace": True}},
    )
    make_project(root / "packages" / "c", "c", ["alpha>=1.0"], build_backend="in-tree")
    make_project(tmp_path / "repo" / "libpath", "libpath", version="0.2", build_backend="in-tree")
    return root


def test_a_workspace_of_the_corpus_shapes_syncs_offline_without_frozen(tmp_path: Path) -> None:
    """uv records b, c, libpath and gitdep without their specifiers; the lock is fresh (uv
    says so), so it syncs offline from a wheelhouse with no `--frozen`; a requirement added to
    pyproject.toml afterwards is still named before uv, and nothing is installed."""
    served = tmp_path / "served"
    served.mkdir()
    repository(tmp_path, served, "gitdep", None)
    registry = tmp_path / "registry"
    build_wheel(registry, "alpha", "1.0")
    wheels = tmp_path / "wheels"
    with dumb_http(served) as url, serving(registry) as index:
        project = _workspace(tmp_path, url)
        uv_lock(project, index, clean_env(tmp_path / "lock-env"))
        fetched = lockshim(
            ["fetch", "--dest", str(wheels)], project, clean_env(tmp_path / "f"), offline=False
        )
        assert fetched.returncode == 0, fetched.stderr
    lock = (project / "uv.lock").read_text()
    assert '{ name = "b", editable = "packages/b" }' in lock  # recorded without ">=0.1,<0.5"
    original = (project / "uv.lock").read_bytes()
    env = clean_env(tmp_path / "sync-env")
    oracle = subprocess.run(
        [uv_bin(), "lock", "--locked", "--offline"], cwd=project, env=env, capture_output=True
    )
    assert oracle.returncode == 0, oracle.stderr  # uv: fresh

    result = lockshim(["sync", "--no-pip-cache", "-w", str(wheels)], project, env)
    assert result.returncode == 0, result.stderr
    assert "out of date" not in result.stderr, result.stderr
    assert (project / "uv.lock").read_bytes() == original
    ran = venv_run(project, "import b, c, libpath, gitdep, alpha; print(libpath.__version__)")
    assert ran.stdout.strip() == "0.2", ran.stderr

    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('"alpha>=1"]', '"alpha>=1", "tqdm>=4"]'))
    shutil.rmtree(project / ".venv")
    stale = lockshim(["sync", "--no-pip-cache", "-w", str(wheels)], project, env)
    assert stale.returncode == 3, stale.stderr
    assert "app (dependencies): pyproject.toml asks `tqdm>=4`, which uv.lock does not record" in (
        stale.stderr
    )
    assert "b<0.5" not in stale.stderr  # the workspace member is not named
    assert not (project / ".venv").exists()
    assert (project / "uv.lock").read_bytes() == original


def _cached_app(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A project of a short-named and a long-named wheel, synced once online by real uv (its
    cache holds both), its .venv removed; (project, env)."""
    registry = tmp_path / "registry"
    build_wheel(registry, "alpha", "1.0")
    build_wheel(registry, "charset-normalizer", "3.5.3", tag=LONG_TAG)
    project = make_project(
        tmp_path / "app", "app", ["alpha", "charset-normalizer"], build_backend="in-tree"
    )
    env = clean_env(tmp_path / "env")
    with serving(registry) as index:
        uv_lock(project, index, env)
        online = subprocess.run(
            [uv_bin(), "sync", "--frozen"], cwd=project, env=env, capture_output=True, text=True
        )
        assert online.returncode == 0, online.stderr
    shutil.rmtree(project / ".venv")
    return project, env


def test_a_uv_cache_real_uv_filled_serves_long_named_wheels(tmp_path: Path) -> None:
    """uv keeps the long-named wheel under `<version>-<hash>`: plain `uv sync --offline
    --frozen` installs both from its cache, and so does lockshim, saying which of the files it
    did not find locally uv's cache holds."""
    project, env = _cached_app(tmp_path)
    entries = [p.name for p in Path(env["UV_CACHE_DIR"]).glob("wheels-v*/*/*/charset-normalizer/*")]
    assert not any("manylinux" in name for name in entries), entries  # the hashed entry name
    original = (project / "uv.lock").read_bytes()
    plain = subprocess.run(
        ["unshare", "-n", uv_bin(), "sync", "--offline", "--frozen"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
    )
    assert plain.returncode == 0, plain.stderr  # the oracle
    shutil.rmtree(project / ".venv")

    result = lockshim(["sync", "--no-pip-cache"], project, env)
    assert result.returncode == 0, result.stderr
    assert "stopped before uv" not in result.stderr
    assert (
        f"charset-normalizer 3.5.3 (charset_normalizer-3.5.3-{LONG_TAG}.whl)  [in uv's cache]"
        in (result.stderr)
    )
    assert "alpha 1.0 (alpha-1.0-py3-none-any.whl)  [in uv's cache]" in result.stderr
    assert "uv's cache holds the 2 file(s) not found locally" in result.stderr
    assert (project / "uv.lock").read_bytes() == original
    assert venv_run(project, "import charset_normalizer, alpha").returncode == 0


def test_where_lockshim_cannot_tell_uv_runs_and_a_half_made_venv_is_removed(
    tmp_path: Path,
) -> None:
    """A uv cache in a layout lockshim does not know (a future uv's): lockshim cannot be sure
    uv lacks the files, so it lets uv run and say. uv fails; the .venv it made where there was
    none is removed, and uv.lock is as it was."""
    project, env = _cached_app(tmp_path)
    cache = Path(env["UV_CACHE_DIR"])
    shutil.rmtree(cache)
    (cache / "wheels-v99" / "somewhere-new").mkdir(parents=True)
    original = (project / "uv.lock").read_bytes()

    result = lockshim(["sync", "--no-pip-cache"], project, env)
    assert result.returncode not in (0, 3), result.stderr  # uv's own failure, not a stop
    assert "stopped before uv" not in result.stderr
    assert "lockshim cannot tell whether uv's cache holds" in result.stderr
    assert f"removed {project / '.venv'}, which the failed uv run had made." in result.stderr
    assert not (project / ".venv").exists()
    assert (project / "uv.lock").read_bytes() == original

    # an environment that was there before is never removed
    subprocess.run([uv_bin(), "venv", "-q"], cwd=project, env=env, check=True)
    again = lockshim(["sync", "--no-pip-cache"], project, env)
    assert again.returncode not in (0, 3), again.stderr
    assert (project / ".venv" / "pyvenv.cfg").is_file()


@contextlib.contextmanager
def _narrow_app(tmp_path: Path) -> Iterator[tuple[Path, Path, dict[str, str]]]:
    """A project for Python >=3.10,<3.13, locked against its wheelhouse, which is served
    while inside; (project, wheelhouse, env)."""
    registry = tmp_path / "registry"
    build_wheel(registry, "alpha", "1.0")
    project = make_project(
        tmp_path / "app", "app", ["alpha"], build_backend=None, requires_python=">=3.10,<3.13"
    )
    env = clean_env(tmp_path / "env")
    with serving(registry) as index:
        uv_lock(project, index, env)
        yield project, registry, env


@pytest.mark.skipif(sys.version_info >= (3, 13), reason="the project wants Python < 3.13")
def test_no_python_for_the_project_is_said_before_uv(tmp_path: Path) -> None:
    """uv can see only Python 3.13 (and the lock wants <3.13): lockshim runs on 3.11, but
    judges for the interpreter uv would use, finds there is none, and says so before uv,
    with nothing changed."""
    python313 = Path.home() / ".pyenv/versions/3.13.0/bin/python3.13"
    if not python313.exists():
        pytest.skip("no Python 3.13 on this machine")
    with _narrow_app(tmp_path) as (project, registry, env):
        pass
    only = tmp_path / "only-3.13"
    only.mkdir()
    (only / "python3.13").symlink_to(python313)
    env = {**env, "PATH": str(only)}
    env.pop("UV_PYTHON")
    original = (project / "uv.lock").read_bytes()
    command = [sys.executable, "-m", "lockshim", "sync", "-w", str(registry)]
    result = subprocess.run(command, cwd=project, env=env, capture_output=True, text=True)
    assert result.returncode == 3, result.stderr
    assert "stopped before uv: No interpreter found for Python >=3.10, <3.13" in result.stderr
    assert "-- --python" in result.stderr
    assert not (project / ".venv").exists()
    assert (project / "uv.lock").read_bytes() == original


@pytest.mark.skipif(sys.version_info >= (3, 13), reason="the project wants Python < 3.13")
def test_an_explicit_python_wins_over_a_python_version_file(tmp_path: Path) -> None:
    """`.python-version` names a Python that is not installed; `plan --python 3.11` and
    `fetch --python 3.11` judge for 3.11, as uv's own --python would."""
    with _narrow_app(tmp_path) as (project, registry, env):
        (project / ".python-version").write_text("3.12.99\n")
        plan = lockshim(["plan", "--python", "3.11", "-w", str(registry)], project, env)
        out = tmp_path / "out"
        fetched = lockshim(
            ["fetch", "--python", "3.11", "--dest", str(out)], project, env, offline=False
        )
    assert plan.returncode == 0, plan.stdout + plan.stderr
    assert plan.stdout.startswith("for Python 3.11"), plan.stdout
    assert "1 served, 0 missing" in plan.stdout
    assert fetched.returncode == 0, fetched.stderr
    assert (out / "alpha-1.0-py3-none-any.whl").is_file()


def test_the_dry_run_naming_the_interpreter_takes_the_users_own_frozen(tmp_path: Path) -> None:
    """`lockshim sync -- --frozen`: the dry run that names the interpreter uv would use gets
    `--frozen` once (uv refuses it twice, and the plan then judged for another Python)."""
    from lockshim.uv.argv import dry_run_command

    project, env = _cached_app(tmp_path)
    command = dry_run_command(Path(uv_bin()), ["--frozen", "--offline"])
    assert command.count("--frozen") == 1 and command.count("--offline") == 1
    ran = subprocess.run(command, cwd=project, env=env, capture_output=True, text=True)
    assert ran.returncode == 0, ran.stderr
    assert f"interpreter at: {env['UV_PYTHON']}" in ran.stderr


def test_a_record_of_another_version_does_not_count(tmp_path: Path) -> None:
    """With neither a digest nor a URL to look for, a file counts as in uv's cache only by a
    record that names it: alpha 1.0's record does not hold alpha 2.0."""
    from lockshim.uv import cache as uvcache

    folder = tmp_path / "cache" / "wheels-v5" / "pypi" / "alpha"
    folder.mkdir(parents=True)
    (folder / "1.0-py3-none-any.http").write_bytes(
        b"\x00alpha-1.0-py3-none-any.whl\x00http://i/files/alpha-1.0-py3-none-any.whl"
    )
    cache = tmp_path / "cache"
    assert uvcache.holds(cache, "alpha", "alpha-1.0-py3-none-any.whl", None) is True
    assert uvcache.holds(cache, "alpha", "alpha-2.0-py3-none-any.whl", None) is False
