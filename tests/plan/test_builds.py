"""Offline builds: the build requirements uv.lock does not pin, served from any local source.

A real editable hatchling project, locked by the real uv against a loopback index; real pip
writes its cache from that index; then `lockshim plan` and `lockshim sync` run with pip's cache
as the only source, under `unshare -n` where the machine allows it, with an empty uv cache.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from packaging.utils import parse_wheel_filename
from support import build_wheel, uv_lock
from support.projects import FORKY_OTHER, clean_env, git, lockshim, pip_download, serving, venv_run
from support.uvenv import make_project
from support.wheelhouse import wheels_into
from support.wheels import hatchling_sdist


@pytest.fixture
def hatched(hatchling_wheelhouse: Path, tmp_path: Path) -> tuple[Path, Path, list[str]]:
    """(an editable hatchling project locked against a loopback index, that index's folder,
    the names of the build wheels in it)."""
    registry = wheels_into(tmp_path / "registry", hatchling_wheelhouse)
    build_wheel(registry, "alpha", "1.0")
    project = make_project(tmp_path / "hatched", "hatched", ["alpha"])
    with serving(registry) as index:
        uv_lock(project, index, clean_env(tmp_path))
    builds = sorted(
        str(parse_wheel_filename(p.name)[0]) for p in hatchling_wheelhouse.glob("*.whl")
    )
    return project, registry, builds


def test_an_editable_hatchling_project_builds_offline_from_pips_cache_alone(
    hatched: tuple[Path, Path, list[str]], tmp_path: Path
) -> None:
    project, registry, builds = hatched
    cache = tmp_path / "pip cache"
    with serving(registry) as index:
        pip_download(
            index.url, cache, tmp_path / "pip-downloads", clean_env(tmp_path), "alpha==1.0", *builds
        )
    original = (project / "uv.lock").read_bytes()
    env = clean_env(tmp_path)

    plan = lockshim(["plan", "--json", "--pip-cache", str(cache)], project, env)
    assert plan.returncode == 0, plan.stdout + plan.stderr
    report = json.loads(plan.stdout)
    served = {row["filename"].split("-")[0] for row in report["build"]["served"]}
    assert {"hatchling", "editables"} <= served
    assert {row["origin"] for row in report["build"]["served"]} == {"pip cache"}
    assert report["build"]["missing"] == []

    result = lockshim(["sync", "--pip-cache", str(cache)], project, env)
    assert result.returncode == 0, result.stderr
    imported = venv_run(project, "import hatched, alpha; print(hatched.__file__)")
    assert imported.stdout.strip() == str(project / "src" / "hatched" / "__init__.py")
    assert (project / "uv.lock").read_bytes() == original
    # the build wheels reached uv through a staging folder that is gone now: a second run
    # cannot replay that command, so it takes the whole path again, and works
    again = lockshim(["sync", "--pip-cache", str(cache)], project, env)
    assert again.returncode == 0, again.stderr
    assert "nothing changed since the last sync" not in again.stderr


def test_what_a_build_lacks_is_said_before_uv_runs(
    hatched: tuple[Path, Path, list[str]], tmp_path: Path
) -> None:
    project, registry, builds = hatched
    cache = tmp_path / "pip cache"
    with serving(registry) as index:  # everything but editables (hatchling's editable build)
        pip_download(
            index.url,
            cache,
            tmp_path / "pip-downloads",
            clean_env(tmp_path),
            "alpha==1.0",
            *(b for b in builds if b != "editables"),
        )
    env = clean_env(tmp_path)

    plan = lockshim(["plan", "--pip-cache", str(cache)], project, env)
    assert plan.returncode == 1, plan.stdout + plan.stderr
    assert "MISSING  build requirement editables  (editable build of hatched)" in plan.stdout

    result = lockshim(["sync", "--pip-cache", str(cache)], project, env)
    assert result.returncode != 0
    before_uv = result.stderr.split("uv failed", 1)[0]
    assert "if uv has to build, it will lack" in before_uv
    assert "editables (editable build of hatched)" in before_uv


def test_a_workspace_and_an_sdist_build_from_pips_cache(
    project: Path, locked: tuple[Path, Path], tmp_path: Path
) -> None:
    """The workspace (app + member) is built with `minibackend`, which only pip's cache holds;
    the sdist-only `sdisty` (its backend in its own tree) comes from a wheelhouse."""
    registry = locked[1]
    wheels = [p for p in registry.glob("*.whl") if not p.name.startswith(f"forky-{FORKY_OTHER}")]
    cache = tmp_path / "pip cache"
    with serving(registry) as index:
        specs = ["{}=={}".format(*parse_wheel_filename(p.name)[:2]) for p in wheels]
        pip_download(index.url, cache, tmp_path / "pip-downloads", clean_env(tmp_path), *specs)
    sdists = tmp_path / "sdists"
    sdists.mkdir()
    shutil.copy(next(registry.glob("sdisty-*.tar.gz")), sdists)
    env = clean_env(tmp_path)

    plan = lockshim(["plan", "--json", "--pip-cache", str(cache), "-w", str(sdists)], project, env)
    assert plan.returncode == 0, plan.stdout + plan.stderr
    whys = {row["why"] for row in json.loads(plan.stdout)["build"]["served"]}
    assert {"builds app", "builds member"} <= whys

    result = lockshim(["sync", "--pip-cache", str(cache), "-w", str(sdists)], project, env)
    assert result.returncode == 0, result.stderr
    imported = venv_run(project, "import app, member, sdisty")
    assert imported.returncode == 0, imported.stderr


def test_an_sdist_whose_backend_only_pips_cache_holds(
    hatchling_wheelhouse: Path, tmp_path: Path
) -> None:
    registry = wheels_into(tmp_path / "registry", hatchling_wheelhouse)
    sdist = hatchling_sdist(registry, "gamma", "1.0")
    project = make_project(tmp_path / "virtual", "virtual", ["gamma"], build_backend=None)
    cache = tmp_path / "pip cache"
    with serving(registry) as index:
        uv_lock(project, index, clean_env(tmp_path))
        builds = [str(parse_wheel_filename(p.name)[0]) for p in hatchling_wheelhouse.glob("*.whl")]
        pip_download(index.url, cache, tmp_path / "pip-downloads", clean_env(tmp_path), *builds)
    wheelhouse = tmp_path / "sdists"
    wheelhouse.mkdir()
    shutil.copy(sdist, wheelhouse)
    env = clean_env(tmp_path)

    plan = lockshim(
        ["plan", "--json", "--pip-cache", str(cache), "-w", str(wheelhouse)], project, env
    )
    assert plan.returncode == 0, plan.stdout + plan.stderr
    build = json.loads(plan.stdout)["build"]
    assert ("hatchling", "builds gamma 1.0") in {
        (row["filename"].split("-")[0], row["why"]) for row in build["served"]
    }

    result = lockshim(["sync", "--pip-cache", str(cache), "-w", str(wheelhouse)], project, env)
    assert result.returncode == 0, result.stderr
    imported = venv_run(project, "import gamma")
    assert imported.returncode == 0, imported.stderr

    bare = lockshim(["plan", "--no-pip-cache", "-w", str(wheelhouse)], project, env)
    assert bare.returncode == 1
    assert "MISSING  build requirement hatchling  (builds gamma 1.0)" in bare.stdout


def test_fetch_build_makes_a_wheel_once_and_sync_installs_it_without_building(
    hatchling_wheelhouse: Path, tmp_path: Path
) -> None:
    """An sdist-only dependency built with hatchling: `fetch --build` builds its wheel once; a
    later offline sync with no hatchling anywhere installs that wheel (it could not build)."""
    registry = wheels_into(tmp_path / "registry", hatchling_wheelhouse)
    hatchling_sdist(registry, "gamma", "1.0")
    build_wheel(registry, "alpha", "1.0")
    project = make_project(tmp_path / "virtual", "virtual", ["gamma", "alpha"], build_backend=None)
    wheels = tmp_path / "wheels"
    with serving(registry) as index:
        uv_lock(project, index, clean_env(tmp_path / "lock"))
        env = clean_env(tmp_path / "fetch")
        first = lockshim(
            ["fetch", "--dest", str(wheels), "--build", "--json"], project, env, offline=False
        )
        assert first.returncode == 0, first.stderr
        assert json.loads(first.stdout)["built"] == ["gamma-1.0-py2.py3-none-any.whl"]
        again = lockshim(
            ["fetch", "--dest", str(wheels), "--build", "--json"], project, env, offline=False
        )
        assert again.returncode == 0 and json.loads(again.stdout)["built"] == []
    # the record is lockshim's own, in its cache (never beside the wheels, where anyone could
    # put one): the same machine's later sync believes it
    assert not (wheels / ".lockshim-built.json").exists()
    (record_file,) = (Path(env["LOCKSHIM_CACHE_DIR"]) / "built").glob("*.json")
    record = json.loads(record_file.read_text())
    assert record["wheels"]["gamma-1.0-py2.py3-none-any.whl"]["sdist"] == "gamma-1.0.tar.gz"
    assert record["folder"] == str(wheels.resolve())
    assert record_file.stat().st_mode & 0o077 == 0
    for wheel in hatchling_wheelhouse.glob("*.whl"):  # nothing could build gamma now
        (wheels / wheel.name).unlink(missing_ok=True)
    original = (project / "uv.lock").read_bytes()
    same_machine = clean_env(tmp_path / "s", LOCKSHIM_CACHE_DIR=env["LOCKSHIM_CACHE_DIR"])
    result = lockshim(["sync", "--no-pip-cache", "-w", str(wheels)], project, same_machine)
    assert result.returncode == 0, result.stderr
    assert "installed from wheels built once from their locked sdists: gamma 1.0" in result.stderr
    assert (project / "uv.lock").read_bytes() == original
    python = project / ".venv" / "bin" / "python"
    assert subprocess.run([str(python), "-c", "import gamma"]).returncode == 0


#: `lockshim` with an audit hook that counts the wheel files it opens (printed last on stderr).
_COUNTING = """
import atexit, sys
opened = []
def hook(event, args):
    if event == "open" and isinstance(args[0], str) and args[0].endswith(".whl"):
        opened.append(args[0])
sys.addaudithook(hook)
atexit.register(lambda: sys.stderr.write(f"\\nwheel files opened: {len(opened)}\\n"))
sys.argv[0] = "lockshim"
from lockshim.entry import main
main()
"""


def test_a_second_plan_opens_no_wheel(
    hatched: tuple[Path, Path, list[str]], tmp_path: Path
) -> None:
    """What a build plan reads from inside wheels (their Requires-Dist) is remembered in the
    hash index with their digests: a second plan over the same wheelhouse opens no wheel."""
    import sys

    project, registry, _ = hatched
    env = clean_env(tmp_path)
    command = [sys.executable, "-c", _COUNTING, "plan", "--no-pip-cache", "-w", str(registry)]
    counts = []
    for _ in range(2):
        result = subprocess.run(command, cwd=project, env=env, capture_output=True, text=True)
        assert result.returncode == 0, result.stdout + result.stderr
        builds = 7 if sys.version_info >= (3, 11) else 8  # hatchling needs tomli below 3.11
        assert f"builds: {builds} served, 0 missing." in result.stdout
        counts.append(int(result.stderr.rsplit("wheel files opened: ", 1)[1]))
    assert counts[0] > 0  # the first plan hashes every file and reads the build wheels
    assert counts[1] == 0


def test_a_bundle_made_with_nothing_local_carries_what_builds_the_sdists_it_downloads(
    hatchling_wheelhouse: Path, tmp_path: Path
) -> None:
    """No local files at all: the bundle downloads gamma's sdist, and so must bring hatchling
    (what builds it) too; the far side then builds gamma with the bundle alone, offline."""
    registry = wheels_into(tmp_path / "registry", hatchling_wheelhouse)
    hatchling_sdist(registry, "gamma", "1.0")
    project = make_project(tmp_path / "virtual", "virtual", ["gamma"], build_backend=None)
    bundle = tmp_path / "app.lockshim.zip"
    with serving(registry) as index:
        uv_lock(project, index, clean_env(tmp_path))
        made = lockshim(
            ["bundle", "-o", str(bundle), "--no-pip-cache", "--json"],
            project,
            clean_env(tmp_path),
            offline=False,
        )
    assert made.returncode == 0, made.stdout + made.stderr
    with zipfile.ZipFile(bundle) as archive:
        members = {n.removeprefix("files/").split("-")[0] for n in archive.namelist()}
    assert {"gamma", "hatchling"} <= members

    far = tmp_path / "far"
    shutil.copytree(project, far, ignore=shutil.ignore_patterns(".venv"))
    env = clean_env(tmp_path / "far-env")
    result = lockshim(["sync", "--no-pip-cache", "-w", str(bundle)], far, env)
    assert result.returncode == 0, result.stderr
    imported = venv_run(far, "import gamma")
    assert imported.returncode == 0, imported.stderr


def test_what_an_sdist_needs_to_build_comes_while_the_wheels_still_download(
    hatchling_wheelhouse: Path, tmp_path: Path
) -> None:
    """gamma's sdist is fetched first and read at once: hatchling, which builds it, is asked
    for while delta's wheel is still on its way (delta hangs until lockshim asks for
    hatchling, or 30 s, then is retried)."""
    registry = wheels_into(tmp_path / "registry", hatchling_wheelhouse)
    hatchling_sdist(registry, "gamma", "1.0")
    build_wheel(registry, "delta", "1.0")
    hatchling = next(p.name for p in registry.glob("hatchling-*.whl"))
    project = make_project(tmp_path / "virtual", "virtual", ["gamma", "delta"], build_backend=None)
    with serving(registry) as index:
        uv_lock(project, index, clean_env(tmp_path))
        before = len(index.requests)
        index.stall_after("delta-1.0-py3-none-any.whl", 100, 30, until=hatchling, agent="lockshim/")
        result = lockshim(
            ["fetch", "--dest", str(tmp_path / "wheels")],
            project,
            clean_env(tmp_path),
            offline=False,
        )
        assert result.returncode == 0, result.stderr
        asked = [
            path.rsplit("/", 1)[-1]
            for path, agent in zip(index.requests[before:], index.agents[before:], strict=True)
            if "/files/" in path and agent.startswith("lockshim/")
        ]
    deltas = [i for i, name in enumerate(asked) if name == "delta-1.0-py3-none-any.whl"]
    assert len(deltas) == 2, asked  # the stalled try and the retry
    assert asked.index(hatchling) < deltas[1]
    assert "hatchling" in result.stderr  # said among the build requirements added


def _locked_gamma(hatchling: Path, tmp_path: Path, folder: str) -> tuple[Path, Path, Path]:
    """(an index folder with gamma's sdist, built with hatchling, and hatchling's wheels; that
    sdist; a virtual project in ``folder`` needing gamma, locked against it)."""
    registry = wheels_into(tmp_path / "registry", hatchling)
    sdist = hatchling_sdist(registry, "gamma", "1.0")
    project = make_project(tmp_path / folder, "virtual", ["gamma"], build_backend=None)
    with serving(registry) as index:
        uv_lock(project, index, clean_env(tmp_path / "lock"))
    return registry, sdist, project


def test_a_build_record_a_repository_carries_is_never_believed(
    hatchling_wheelhouse: Path, tmp_path: Path
) -> None:
    """A cloned repository's wheelhouse holds gamma's sdist, hatchling, and a build record
    claiming that another wheel (the attacker's) was built from that very sdist. Every cloned
    file is the user's own (0644): the record is still never believed; uv builds gamma."""
    registry, sdist, project = _locked_gamma(hatchling_wheelhouse, tmp_path, "repo")
    house = project / "wheelhouse"
    shutil.copytree(registry, house)
    evil = build_wheel(house, "gamma", "1.0", code=b"PWNED = True\n")
    claim = {
        "sha256": hashlib.sha256(evil.read_bytes()).hexdigest(),
        "size": evil.stat().st_size,
        "sdist": sdist.name,
        "sdist_digest": "sha256:" + hashlib.sha256(sdist.read_bytes()).hexdigest(),
        "built_for": "python3",
    }
    record = {"format": 1, "wheels": {evil.name: claim}}  # as lockshim once wrote them
    (house / ".lockshim-built.json").write_text(json.dumps(record))
    with open(project / "pyproject.toml", "a", encoding="utf-8") as stream:
        stream.write('\n[tool.lockshim]\nwheelhouses = ["wheelhouse"]\n')
    git(project, "init", "-q")
    git(project, "add", "-A")
    git(project, "commit", "-qm", "a repository that brings its wheelhouse")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(project), str(clone))
    assert (clone / "wheelhouse" / ".lockshim-built.json").exists()

    result = lockshim(["sync", "--no-pip-cache"], clone, clean_env(tmp_path / "victim"))
    assert result.returncode == 0, result.stderr
    assert "installed from wheels built once" not in result.stderr
    assert ".lockshim-built.json is not used" in result.stderr
    ran = venv_run(clone, "import gamma; print(getattr(gamma, 'PWNED', False))")
    assert ran.stdout.strip() == "False", ran.stderr


def test_build_constraints_pin_what_fetch_brings_plan_picks_and_uv_builds_with(
    tmp_path: Path,
) -> None:
    """`[tool.uv] build-constraint-dependencies` pins the backend (a supply-chain measure):
    fetch brings that version, not the newest; plan picks it among local wheels, and names the
    constraint when only other versions are local; the offline sync builds with it."""
    from support.projects import BUILD_SYSTEM, build_backend_wheel, write

    registry = tmp_path / "registry"
    build_backend_wheel(registry, "minibackend", "1.0")
    build_backend_wheel(registry, "minibackend", "2.0")
    build_wheel(registry, "alpha", "1.0")
    project = tmp_path / "app"
    write(
        project / "pyproject.toml",
        BUILD_SYSTEM + '\n[project]\nname = "app"\nversion = "1.0"\ndependencies = ["alpha"]\n'
        '\n[tool.uv]\nbuild-constraint-dependencies = ["minibackend==1.0"]\n',
    )
    write(project / "src" / "app" / "__init__.py", "")
    dest = tmp_path / "fetched"
    with serving(registry) as index:
        uv_lock(project, index, clean_env(tmp_path / "lock"))
        assert (
            'build-constraints = [{ name = "minibackend", specifier = "==1.0" }]'
            in (project / "uv.lock").read_text()
        )
        fetched = lockshim(
            ["fetch", "--dest", str(dest)], project, clean_env(tmp_path / "f"), offline=False
        )
    assert fetched.returncode == 0, fetched.stderr
    assert (dest / "minibackend-1.0-py3-none-any.whl").is_file()
    assert not (dest / "minibackend-2.0-py3-none-any.whl").exists()

    both = tmp_path / "both"
    shutil.copytree(registry, both)
    env = clean_env(tmp_path / "s")
    plan = lockshim(["plan", "--json", "--no-pip-cache", "-w", str(both)], project, env)
    assert plan.returncode == 0, plan.stdout + plan.stderr
    served = json.loads(plan.stdout)["build"]["served"]
    assert [row["filename"] for row in served] == ["minibackend-1.0-py3-none-any.whl"]

    newer_only = tmp_path / "newer-only"
    shutil.copytree(registry, newer_only)
    (newer_only / "minibackend-1.0-py3-none-any.whl").unlink()
    lacking = lockshim(["plan", "--no-pip-cache", "-w", str(newer_only)], project, env)
    assert lacking.returncode == 1
    assert (
        "MISSING  build requirement minibackend  (builds app; build constraint minibackend==1.0)"
        in (lacking.stdout)
    )

    # the same from outside the project (`uv export` paths are relative to where it runs)
    outside = lockshim(
        ["plan", "--project", str(project), "--no-pip-cache", "-w", str(newer_only)], tmp_path, env
    )
    assert "MISSING  build requirement minibackend  (builds app; build constraint" in outside.stdout

    result = lockshim(["sync", "--no-pip-cache", "-w", str(both)], project, env)
    assert result.returncode == 0, result.stderr


def test_a_build_certain_to_fail_stops_before_uv(
    hatchling_wheelhouse: Path, tmp_path: Path
) -> None:
    """gamma is sdist-only and builds with hatchling; the wheelhouse holds gamma's sdist and
    no hatchling, uv's cache is empty, the environment lacks gamma: uv would fail after making
    a .venv, so sync stops before uv and names the fetch command. Once gamma 1.0 is in the
    environment (it need not be built), the same sync goes ahead."""
    registry, sdist, project = _locked_gamma(hatchling_wheelhouse, tmp_path, "virtual")
    wheelhouse = tmp_path / "sdists"
    wheelhouse.mkdir()
    shutil.copy(sdist, wheelhouse)
    original = (project / "uv.lock").read_bytes()
    env = clean_env(tmp_path / "env")

    result = lockshim(["sync", "--no-pip-cache", "-w", str(wheelhouse)], project, env)
    assert result.returncode == 3, result.stderr
    assert "stopped before uv: 1 sdist(s) this environment builds cannot be built offline: " in (
        result.stderr
    )
    assert "gamma 1.0 (its build needs hatchling" in result.stderr
    assert "lockshim fetch --dest DIR" in result.stderr
    assert not (project / ".venv").exists()
    assert (project / "uv.lock").read_bytes() == original

    # gamma 1.0 installed already (from the full registry): nothing needs building now
    full = lockshim(["sync", "--no-pip-cache", "-w", str(registry)], project, env)
    assert full.returncode == 0, full.stderr
    again = lockshim(["sync", "--no-pip-cache", "-w", str(wheelhouse)], project, env)
    assert again.returncode == 0, again.stderr
