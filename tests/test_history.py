"""A machine with a history: a uv cache that was online last week.

uv keeps the index pages it read online. Offline, it resolves build requirements against those
pages as well as against ``--find-links``, and takes the newest version either names: a version
only the cached page lists then cannot be had ("Network connectivity is disabled, but the
requested data wasn't found in the cache"). An empty cache hides this, so the cache here is
warmed for real, by the real uv, against a loopback index that offers a newer build backend
than the wheelhouse holds.
"""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
from pathlib import Path

from support import build_wheel, uv_bin, uv_lock
from support.projects import (
    BUILD_SYSTEM,
    build_backend_wheel,
    clean_env,
    lockshim,
    serving,
    venv_run,
    write,
)


def _index(url: str) -> str:
    """The project's own default index (where uv looks for build requirements too)."""
    return f'\n[[tool.uv.index]]\nname = "company"\nurl = "{url}"\ndefault = true\n'


def _with_project_config(env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    """uv reads the projects' [tool.uv] (UV_NO_CONFIG would skip it) and no user config."""
    env.pop("UV_NO_CONFIG", None)
    env["XDG_CONFIG_HOME"] = str(tmp_path / "config")
    return env


def _app(root: Path, index_url: str) -> Path:
    write(
        root / "pyproject.toml",
        BUILD_SYSTEM
        + '\n[project]\nname = "app"\nversion = "1.0"\ndependencies = ["alpha"]\n'
        + _index(index_url),
    )
    write(root / "src" / "app" / "__init__.py", "")
    return root


def test_a_uv_cache_that_knows_a_newer_build_backend_does_not_break_an_offline_build(
    tmp_path: Path,
) -> None:
    registry = tmp_path / "registry"
    wheelhouse = tmp_path / "wheelhouse"
    wheelhouse.mkdir()
    shutil.copy(build_backend_wheel(registry, "minibackend", "1.0"), wheelhouse)
    shutil.copy(build_wheel(registry, "alpha", "1.0"), wheelhouse)
    env = _with_project_config(clean_env(tmp_path), tmp_path)
    with serving(registry) as index:
        project = _app(tmp_path / "app", index.url)
        uv_lock(project, index, env)
        # last week, online: another project of this user's read the backend's page, which now
        # lists a newer release than the wheelhouse has
        build_backend_wheel(registry, "minibackend", "2.0")
        other = tmp_path / "other"
        write(
            other / "pyproject.toml",
            '[project]\nname = "other"\nversion = "1.0"\ndependencies = ["minibackend"]\n'
            + _index(index.url),
        )
        warmed = subprocess.run(
            [uv_bin(), "lock", "--project", str(other)],
            env=env,
            capture_output=True,
            text=True,
        )
        assert warmed.returncode == 0, warmed.stderr + str(index.requests)
        assert "minibackend==2.0" in (other / "uv.lock").read_text() or (
            'name = "minibackend"\nversion = "2.0"' in (other / "uv.lock").read_text()
        )
    original = (project / "uv.lock").read_bytes()

    plan = lockshim(["plan", "--json", "-w", str(wheelhouse)], project, env)
    assert plan.returncode == 0, plan.stdout + plan.stderr
    build = json.loads(plan.stdout)["build"]
    assert [row["filename"] for row in build["served"]] == ["minibackend-1.0-py3-none-any.whl"]

    result = lockshim(["sync", "-w", str(wheelhouse)], project, env)
    assert result.returncode == 0, result.stderr
    assert (project / "uv.lock").read_bytes() == original
    imported = venv_run(project, "import app, alpha; print(alpha.__version__)")
    assert imported.stdout.strip() == "1.0", imported.stderr


def test_a_lock_older_than_pyproject_is_not_installed_silently(
    project: Path, wheelhouse: Path, tmp_path: Path
) -> None:
    """pyproject.toml narrowed a requirement and added one after uv.lock was written: sync
    names both and stops before uv (uv.lock untouched, no .venv); `-- --frozen` installs the
    old lock anyway, as uv's own --frozen does; plan says so and exits 1."""
    env = clean_env(tmp_path)
    pyproject = project / "pyproject.toml"
    text = pyproject.read_text()
    pyproject.write_text(
        text.replace('    "alpha",\n', '    "alpha<1",\n    "tqdm>=4",\n', 1).replace(
            'dev = ["devtool"]', 'dev = ["devtool>=2"]'
        )
    )
    original = (project / "uv.lock").read_bytes()

    result = lockshim(["sync", "-w", str(wheelhouse)], project, env)
    assert result.returncode == 3, result.stderr
    assert "is out of date with pyproject.toml" in result.stderr
    assert "app (dependencies): pyproject.toml asks `alpha<1`, uv.lock records `alpha`" in (
        result.stderr
    )
    assert "app (dependencies): pyproject.toml asks `tqdm>=4`, which uv.lock does not record" in (
        result.stderr
    )
    assert "app (group dev): pyproject.toml asks `devtool>=2`" in result.stderr
    # the way on is the user's own command, installing the old lock as it is
    own = shlex.join(["sync", "-w", str(wheelhouse), "--", "--frozen"])
    assert "`uv lock`" in result.stderr and f"`lockshim {own}`" in result.stderr
    assert (project / "uv.lock").read_bytes() == original
    assert not (project / ".venv").exists()

    plan = lockshim(["plan", "-w", str(wheelhouse)], project, env)
    assert plan.returncode == 1
    assert plan.stdout.startswith("STALE    ")

    anyway = lockshim(["sync", "-w", str(wheelhouse), "--", "--frozen"], project, env)
    assert anyway.returncode == 0, anyway.stderr
    assert (project / "uv.lock").read_bytes() == original


def test_an_up_to_date_lock_of_every_shape_is_not_called_stale(
    project: Path, wheelhouse: Path, tmp_path: Path
) -> None:
    """A workspace with a fork, markers, an extra, groups and a direct URL, freshly locked by
    uv (and its member's own requirements): nothing is stale."""
    plan = lockshim(["plan", "--json", "-w", str(wheelhouse)], project, clean_env(tmp_path))
    assert json.loads(plan.stdout)["stale"] is None, plan.stdout


def test_a_file_uv_downloaded_online_last_week_is_taken_from_its_cache(tmp_path: Path) -> None:
    """The wheelhouse lacks alpha, but uv downloaded it online before: the sync goes ahead
    and uv installs alpha from its cache, offline. (A wheel uv installed from a shimmed
    file:// URL is kept under another key, which the restored lock cannot use: it does not
    count.)"""
    registry = tmp_path / "registry"
    wheelhouse = tmp_path / "wheelhouse"
    wheelhouse.mkdir()
    shutil.copy(build_backend_wheel(registry, "minibackend", "1.0"), wheelhouse)
    build_wheel(registry, "alpha", "1.0")
    env = _with_project_config(clean_env(tmp_path), tmp_path)
    with serving(registry) as index:
        project = _app(tmp_path / "app", index.url)
        uv_lock(project, index, env)
        online = subprocess.run(
            [uv_bin(), "sync", "--frozen"], cwd=project, env=env, capture_output=True, text=True
        )
        assert online.returncode == 0, online.stderr
    shutil.rmtree(project / ".venv")

    result = lockshim(["sync", "-w", str(wheelhouse)], project, env)
    assert result.returncode == 0, result.stderr
    assert "stopped before uv" not in result.stderr
    assert "uv's cache holds the 1 file(s) not found locally" in result.stderr, result.stderr
    imported = venv_run(project, "import alpha; print(alpha.__version__)")
    assert imported.stdout.strip() == "1.0", imported.stderr


def test_requirements_spelled_otherwise_than_uv_records_them_are_not_stale(
    tmp_path: Path,
) -> None:
    """pyproject.toml spells its requirements its own way (case, spaces, clause order, a
    marker, extras, parentheses); uv records them in its normal form. An unchanged project is
    not stale, and `sync` tells so without importing packaging's requirement parser (a third
    of a cold sync's own work); a real change is still named."""
    registry = tmp_path / "registry"
    build_wheel(registry, "alpha", "1.5")
    build_wheel(registry, "beta", "2.0")
    project = tmp_path / "app"
    write(
        project / "pyproject.toml",
        '[project]\nname = "app"\nversion = "1.0"\n'
        + 'dependencies = ["Alpha < 2 , >= 1.0", "beta; python_version >= \'3\'"]\n'
        + '[project.optional-dependencies]\nx = ["ALPHA>=1"]\n'
        + '[dependency-groups]\ndev = ["beta (>=2)"]\n',
    )
    env = clean_env(tmp_path / "env")
    with serving(registry) as index:
        uv_lock(project, index, env)
    original = (project / "uv.lock").read_bytes()

    synced = lockshim(
        ["sync", "-w", str(registry), "--", "--all-extras"],
        project,
        {**env, "PYTHONPROFILEIMPORTTIME": "1"},
    )
    assert synced.returncode == 0, synced.stderr
    imported = [line.rpartition("|")[2].strip() for line in synced.stderr.splitlines()]
    assert "lockshim.lockfile.freshness" in imported
    assert "packaging.requirements" not in imported
    assert (project / "uv.lock").read_bytes() == original

    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('"ALPHA>=1"', '"ALPHA>=1.2"'))
    changed = lockshim(["sync", "-w", str(registry)], project, env)
    assert changed.returncode == 3, changed.stderr
    assert "app (extra x): pyproject.toml asks `alpha>=1.2`, uv.lock records `alpha>=1`" in (
        changed.stderr
    )
    assert (project / "uv.lock").read_bytes() == original
