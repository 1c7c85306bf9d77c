"""Where files come from: `lockshim plan`, pip's cache written by real pip, the hash index."""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from support import build_wheel, index_entries, sha256_of, uv_bin
from support.projects import (
    FORKY_HERE,
    FORKY_OTHER,
    OTHER_FORK_PYTHON,
    clean_env,
    lockshim,
    pip_download,
    serving,
)

from lockshim.project import find_project
from lockshim.sources.hashindex import INDEX_NAME
from lockshim.sources.local import SourceOptions, find_local
from lockshim.sources.pipcache import PipCache, pip_cache_dir
from lockshim.sources.wheelhouse import Wheelhouse


def _plan(project: Path, tmp_path: Path, *args: str) -> tuple[int, dict[str, list[dict[str, str]]]]:
    result = lockshim(["plan", "--json", *args], project, clean_env(tmp_path))
    assert result.returncode in (0, 1), result.stderr
    return result.returncode, json.loads(result.stdout)


def _names(entries: list[dict[str, str]]) -> set[tuple[str, str]]:
    return {(e["name"], e["version"]) for e in entries}


def test_plan_names_nothing_missing_for_this_interpreter(
    project: Path, wheelhouse: Path, tmp_path: Path
) -> None:
    status, plan = _plan(project, tmp_path, "--no-pip-cache", "-w", str(wheelhouse))
    assert status == 0
    assert plan["missing"] == []  # the other forky is not needed here: no false alarm
    assert ("forky", FORKY_HERE) in _names(plan["served"])
    assert ("forky", FORKY_OTHER) not in _names(plan["served"])
    assert ("devtool", "1.0") in _names(plan["served"])  # the default group
    assert ("linter", "1.0") not in _names(plan["served"])  # not asked for


def test_plan_names_exactly_what_is_absent(project: Path, wheelhouse: Path, tmp_path: Path) -> None:
    alpha = wheelhouse / "alpha-1.0-py3-none-any.whl"
    pinned = sha256_of(alpha)
    alpha.unlink()
    status, plan = _plan(
        project, tmp_path, "--no-pip-cache", "-w", str(wheelhouse), "--", "--group", "lint"
    )
    assert status == 1
    assert plan["missing"] == [
        {
            "name": "alpha",
            "version": "1.0",
            "filename": "alpha-1.0-py3-none-any.whl",
            "sha256": pinned,
            "digest": f"sha256:{pinned}",
            "url": plan["missing"][0]["url"],
        }
    ]
    assert plan["missing"][0]["url"].endswith("/files/alpha-1.0-py3-none-any.whl")
    assert ("linter", "1.0") in _names(plan["served"])


def test_plan_for_another_python_names_its_fork(
    project: Path, wheelhouse: Path, tmp_path: Path
) -> None:
    status, plan = _plan(
        project, tmp_path, "--no-pip-cache", "-w", str(wheelhouse), "--python", OTHER_FORK_PYTHON
    )
    assert status == 1
    assert _names(plan["missing"]) == {("forky", FORKY_OTHER)}
    text = lockshim(
        ["plan", "--no-pip-cache", "-w", str(wheelhouse), "--python", OTHER_FORK_PYTHON],
        project,
        clean_env(tmp_path),
    )
    other = f"forky {FORKY_OTHER}  forky-{FORKY_OTHER}-py3-none-any.whl"
    assert f"MISSING  {other}  sha256:" in text.stdout


def test_plan_lists_mismatched_files(project: Path, wheelhouse: Path, tmp_path: Path) -> None:
    build_wheel(tmp_path / "other", "alpha", "1.0", payload=b"# tampered\n")
    shutil.copy(tmp_path / "other" / "alpha-1.0-py3-none-any.whl", wheelhouse)
    status, plan = _plan(project, tmp_path, "--no-pip-cache", "-w", str(wheelhouse))
    assert status == 1
    assert [(m["name"], m["filename"]) for m in plan["mismatched"]] == [
        ("alpha", "alpha-1.0-py3-none-any.whl")
    ]
    assert "but uv.lock pins" in plan["mismatched"][0]["reason"]


def test_sync_says_what_is_missing_and_how_to_get_it(
    project: Path, wheelhouse: Path, tmp_path: Path
) -> None:
    """An empty uv cache and a wheel missing: uv would make a half .venv, build the project,
    then fail; lockshim stops first, and says what is missing and how to get it."""
    (wheelhouse / "alpha-1.0-py3-none-any.whl").unlink()
    original = (project / "uv.lock").read_bytes()
    result = lockshim(
        ["sync", "--no-pip-cache", "-w", str(wheelhouse), "--", "--all-extras"],
        project,
        clean_env(tmp_path),
    )
    assert result.returncode == 3, result.stderr
    assert "not found locally for" in result.stderr
    assert "alpha 1.0 (alpha-1.0-py3-none-any.whl)" in result.stderr
    assert "stopped before uv: 1 file(s) this environment needs are neither local nor in uv's" in (
        result.stderr
    )
    assert "lockshim fetch --dest DIR -- --all-extras" in result.stderr
    assert "Nothing was changed." in result.stderr
    assert not (project / ".venv").exists()
    assert (project / "uv.lock").read_bytes() == original


def test_pip_cache_written_by_real_pip_serves_an_offline_sync(
    project: Path, wheelhouse: Path, locked: tuple[Path, Path], tmp_path: Path
) -> None:
    cache = tmp_path / "pip cache"
    env = clean_env(tmp_path)
    with serving(locked[1]) as index:
        pip_download(index.url, cache, tmp_path / "downloads", env, "alpha==1.0", "direct==1.0")
    bodies = PipCache(cache, _no_skips).scan()
    assert bodies, "pip wrote no http-v2 cache entry"
    assert all(body.name.endswith(".body") for body in bodies)
    (wheelhouse / "alpha-1.0-py3-none-any.whl").unlink()
    (wheelhouse / "direct-1.0-py3-none-any.whl").unlink()
    before = {p: p.read_bytes() for p in cache.rglob("*") if p.is_file()}

    status, plan = _plan(project, tmp_path, "--pip-cache", str(cache), "-w", str(wheelhouse))
    assert status == 0, plan
    served = {(e["name"], e["origin"]) for e in plan["served"]}
    assert ("alpha", "pip cache") in served and ("direct", "pip cache") in served

    result = lockshim(["sync", "--pip-cache", str(cache), "-w", str(wheelhouse)], project, env)
    assert result.returncode == 0, result.stderr
    assert "from pip's cache" in result.stderr
    assert {p: p.read_bytes() for p in cache.rglob("*") if p.is_file()} == before  # untouched
    assert not (project / ".uv.lock.lockshim-journal").exists()

    off = lockshim(["plan", "--no-pip-cache", "-w", str(wheelhouse)], project, env)
    assert off.returncode == 1 and "MISSING  alpha 1.0" in off.stdout


def test_pip_cache_found_the_way_pip_finds_it(tmp_path: Path) -> None:
    config = tmp_path / "pip.conf"
    config.write_text("[global]\ncache-dir = /somewhere/pip-cache\n")
    home = {"HOME": str(tmp_path), "XDG_CONFIG_DIRS": str(tmp_path / "none")}
    assert pip_cache_dir({**home, "PIP_CACHE_DIR": "/env/cache"}) == Path("/env/cache")
    assert pip_cache_dir({**home, "PIP_CONFIG_FILE": str(config)}) == Path("/somewhere/pip-cache")
    assert pip_cache_dir({**home, "PIP_NO_CACHE_DIR": "1"}) is None
    assert pip_cache_dir({**home, "PIP_CONFIG_FILE": os.devnull}) == tmp_path / ".cache" / "pip"


def _no_skips(path: Path, reason: str) -> None:
    raise AssertionError(f"{path} skipped: {reason}")


def _scan(folder: Path) -> list[object]:
    return list(Wheelhouse(folder, _no_skips).scan())


def _find(project: Path, wheelhouse: Path) -> int:
    found = find_local(find_project(project), SourceOptions((wheelhouse,), False))
    return sum(source.index.hashed_files for source in found.sources)


def test_a_second_run_hashes_nothing(project: Path, wheelhouse: Path) -> None:
    files = len(_scan(wheelhouse))
    # Every file of a package the lock names (forky 1.0 is absent and this index gave the lock
    # no sizes, so a renamed forky is looked for too), but not the build backend's wheel: a
    # wheel named for a project the lock does not name is never taken for a renamed artifact.
    assert (wheelhouse / "minibackend-1.0-py3-none-any.whl").is_file()
    assert _find(project, wheelhouse) == files - 1
    assert _find(project, wheelhouse) == 0
    index = wheelhouse / INDEX_NAME
    assert index.exists()
    # A file changed in place (same size, new mtime) is hashed again, and only that one.
    alpha = wheelhouse / "alpha-1.0-py3-none-any.whl"
    stat = alpha.stat()
    os.utime(alpha, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    assert _find(project, wheelhouse) == 1
    # A corrupt index is rebuilt, never trusted.
    index.write_text("{ not json")
    assert _find(project, wheelhouse) == files - 1
    assert json.loads(index.read_text())["format"] == 2


def _hash_and_save(folder: str) -> None:
    root = Path(folder)
    house = Wheelhouse(root, _no_skips)
    house.index.hash_all(house.scan())
    house.index.save()


def test_concurrent_writers_never_corrupt_the_index(tmp_path: Path) -> None:
    folder = tmp_path / "shared"
    for number in range(30):
        build_wheel(folder, f"pkg{number}", "1.0", payload=os.urandom(2000))
    context = multiprocessing.get_context("spawn")
    with context.Pool(4) as pool:
        pool.map(_hash_and_save, [str(folder)] * 8)
    entries = index_entries(folder)
    assert len(entries) == 30
    assert all(entry[3] == sha256_of(folder / name) for name, entry in entries.items())


def test_old_pip_cache_layout_serves_an_offline_sync(
    project: Path, wheelhouse: Path, locked: tuple[Path, Path], tmp_path: Path
) -> None:
    """pip < 23.3 kept whole responses in `http/`; the pip that `venv` bundles here is one."""
    old = tmp_path / "old-pip"
    subprocess.run([sys.executable, "-m", "venv", str(old)], check=True, capture_output=True)
    pip = old / "bin" / "pip"
    version = subprocess.run([pip, "--version"], capture_output=True, text=True).stdout.split()[1]
    if tuple(int(p) for p in version.split(".")[:2]) >= (23, 3):
        pytest.skip(f"the pip bundled with this Python ({version}) writes the new layout")
    cache = tmp_path / "old cache"
    env = clean_env(tmp_path)
    with serving(locked[1]) as index:
        subprocess.run(
            [
                pip,
                "download",
                "--no-deps",
                "--dest",
                str(tmp_path / "dl"),
                "--index-url",
                index.url,
                "--trusted-host",
                "127.0.0.1",
                "--cache-dir",
                str(cache),
                "alpha==1.0",
                "minibackend==1.0",  # the build backend of the project: a build requirement
            ],
            env=env,
            check=True,
            capture_output=True,
        )
    assert (cache / "http").is_dir() and not (cache / "http-v2").exists()
    (wheelhouse / "alpha-1.0-py3-none-any.whl").unlink()
    (wheelhouse / "minibackend-1.0-py3-none-any.whl").unlink()
    plan = lockshim(
        ["plan", "--json", "--pip-cache", str(cache), "-w", str(wheelhouse)], project, env
    )
    build = json.loads(plan.stdout)["build"]
    assert {(r["filename"], r["origin"]) for r in build["served"]} == {
        ("minibackend-1.0-py3-none-any.whl", "pip cache")
    }, plan.stdout
    assert build["missing"] == []
    result = lockshim(["sync", "--pip-cache", str(cache), "-w", str(wheelhouse)], project, env)
    assert result.returncode == 0, result.stderr
    assert "from pip's cache" in result.stderr
    assert not (project / ".uv.lock.lockshim-journal").exists()


def _other_python(env: dict[str, str]) -> str | None:
    """An installed CPython of another minor version than this one (uv's view, or pyenv's)."""
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    for minor in (12, 13, 10):
        if minor == sys.version_info.minor:
            continue
        candidates = [str(p) for p in sorted(pyenv.glob(f"3.{minor}.*/bin/python3.{minor}"))]
        found = subprocess.run(
            [uv_bin(), "python", "find", "--no-python-downloads", f"3.{minor}"],
            env={k: v for k, v in env.items() if k != "UV_PYTHON"},
            capture_output=True,
            text=True,
        )
        if found.returncode == 0 and found.stdout.strip():
            candidates.append(found.stdout.strip())
        for candidate in candidates:
            if subprocess.run([candidate, "-c", "pass"], capture_output=True).returncode == 0:
                return candidate
    return None


def test_plan_answers_for_the_interpreter_uv_will_use(
    project: Path, wheelhouse: Path, tmp_path: Path
) -> None:
    env = clean_env(tmp_path)
    other = _other_python(env)
    if other is None:
        pytest.skip("no second Python version on this machine")
    subprocess.run([uv_bin(), "venv", "-q", "--python", sys.executable], cwd=project, env=env)
    result = lockshim(
        ["plan", "--json", "--no-pip-cache", "-w", str(wheelhouse), "--", "--python", other],
        project,
        env,
    )
    assert result.returncode in (0, 1), result.stderr
    target = json.loads(result.stdout)["target"]
    wanted = subprocess.run(
        [other, "-c", "import platform; print(platform.python_version())"],
        capture_output=True,
        text=True,
    ).stdout.strip()
    assert wanted in target and other in target, target
