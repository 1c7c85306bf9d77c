"""git sources across an air gap, with real git and real uv.

Repositories made here are served over 127.0.0.1 by git's dumb HTTP protocol (a static file
server over a bare repository), locked by the real uv from those URLs, bundled by
`lockshim fetch`, then synced with the servers gone, under `unshare -n` where the machine allows
it, with an empty uv cache.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from support import build_wheel, uv_bin, uv_lock
from support.gitrepos import dumb_http, package, repository
from support.projects import clean_env, git, lockshim, serving, venv_run


@pytest.fixture
def git_project(tmp_path: Path) -> Iterator[tuple[Path, dict[str, str], str]]:
    """(a project mixing git (a tag in a subdirectory, a branch), registry and path sources,
    locked by real uv; the locked commits; the git server's URL), servers up while it lasts."""
    served = tmp_path / "served"
    served.mkdir()
    commits = {
        "gitpkg": repository(tmp_path, served, "gitpkg", "sub"),
        "gitroot": repository(tmp_path, served, "gitroot", None),
    }
    registry = tmp_path / "registry"
    build_wheel(registry, "alpha", "1.0")
    project = tmp_path / "project"
    package(project / "localpkg", "localpkg", "0.1")
    with dumb_http(served) as url, serving(registry) as index:
        (project / "pyproject.toml").write_text(
            '[project]\nname = "app"\nversion = "0.1"\nrequires-python = ">=3.9"\n'
            "dependencies = [\n"
            f'    "gitpkg @ git+{url}/gitpkg.git@v0.3#subdirectory=sub",\n'
            f'    "gitroot @ git+{url}/gitroot.git@main",\n'
            '    "alpha",\n    "localpkg",\n]\n\n'
            '[tool.uv]\npackage = false\n\n[tool.uv.sources]\nlocalpkg = { path = "localpkg" }\n'
        )
        uv_lock(project, index, clean_env(tmp_path / "lock-env"))
        yield project, commits, url


def _fetched(project: Path, tmp_path: Path) -> Path:
    """`lockshim fetch` of the project into a new wheelhouse (the git servers up); its path."""
    wheels = tmp_path / "wheels"
    fetched = lockshim(
        ["fetch", "--dest", str(wheels)], project, clean_env(tmp_path / "f"), offline=False
    )
    assert fetched.returncode == 0, fetched.stderr
    return wheels


def test_git_sources_are_bundled_then_synced_offline(
    git_project: tuple[Path, dict[str, str], str], tmp_path: Path
) -> None:
    project, commits, _ = git_project
    lock = (project / "uv.lock").read_text()
    assert f'#{commits["gitpkg"]}"' in lock and "subdirectory=sub" in lock and "rev=main" in lock
    wheels = tmp_path / "wheels"
    env = clean_env(tmp_path / "fetch-env")
    first = lockshim(["fetch", "--dest", str(wheels), "--json"], project, env, offline=False)
    assert first.returncode == 0, first.stderr
    rows = {row["package"]: row for row in json.loads(first.stdout)["git"]}
    assert {rows[f"{name} 0.3"]["status"] for name in commits} == {"downloaded"}
    for name, commit in commits.items():
        assert (wheels / f"{name}-0.3-git-{commit[:12]}.bundle").is_file()
    again = lockshim(["fetch", "--dest", str(wheels), "--json"], project, env, offline=False)
    assert {row["status"] for row in json.loads(again.stdout)["git"]} == {"present"}


def test_an_offline_sync_installs_git_packages_from_bundles(
    git_project: tuple[Path, dict[str, str], str], tmp_path: Path
) -> None:
    project, commits, _ = git_project
    wheels = _fetched(project, tmp_path)
    original = (project / "uv.lock").read_bytes()
    shutil.rmtree(tmp_path / "served")  # the remote is gone for good
    env = clean_env(tmp_path / "sync-env")  # an empty uv cache

    plan = lockshim(["plan", "--json", "--no-pip-cache", "-w", str(wheels)], project, env)
    assert plan.returncode == 0, plan.stdout + plan.stderr
    served = {row["name"]: row["commit"] for row in json.loads(plan.stdout)["git"]["served"]}
    assert served == commits

    trace = tmp_path / "git-trace"
    result = lockshim(
        ["sync", "--no-pip-cache", "-w", str(wheels)], project, {**env, "GIT_TRACE": str(trace)}
    )
    assert result.returncode == 0, result.stderr
    assert "git sources served from local bundles" in result.stderr
    assert (project / "uv.lock").read_bytes() == original
    # each bundle is read once, though the advice and uv's environment both need it
    bundles = list(wheels.glob("*.bundle"))
    assert trace.read_text().count("bundle list-heads") == len(bundles) > 0
    code = "import gitpkg, gitroot, alpha, localpkg; print(gitpkg.WHERE, gitroot.WHERE)"
    ran = venv_run(project, code)
    assert ran.stdout.split() == ["gitpkg", "gitroot"], ran.stderr
    # uv recorded the original URLs: a plain offline uv sync has nothing to change
    plain = subprocess.run(
        [uv_bin(), "sync", "--offline", "--frozen"], cwd=project, env=env, capture_output=True
    )
    assert plain.returncode == 0, plain.stderr


def test_a_bundle_without_the_locked_commit_is_never_used(
    git_project: tuple[Path, dict[str, str], str], tmp_path: Path
) -> None:
    project, commits, _ = git_project
    wheels = _fetched(project, tmp_path)
    good = wheels / f"gitpkg-0.3-git-{commits['gitpkg'][:12]}.bundle"
    other = wheels / f"gitroot-0.3-git-{commits['gitroot'][:12]}.bundle"
    other.replace(good)  # another repository's commit under the right name
    env = clean_env(tmp_path / "plan-env")
    plan = lockshim(["plan", "--no-pip-cache", "-w", str(wheels)], project, env)
    assert plan.returncode == 1
    assert f"MISSING  git gitpkg 0.3  {commits['gitpkg']}" in plan.stdout
    assert f"MISSING  git gitroot 0.3  {commits['gitroot']}" not in plan.stdout  # it is served


def test_submodules_and_lfs_are_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from lockshim.sources import git as gitsources
    from lockshim.sources.base import LocalFile

    monkeypatch.setenv("LOCKSHIM_CACHE_DIR", str(tmp_path / "cache"))
    work = tmp_path / "repo"
    work.mkdir()
    git(work, "init", "-q")
    package(work, "withsub", "1.0")
    (work / ".gitmodules").write_text('[submodule "x"]\n\tpath = x\n\turl = https://example/x\n')
    (work / ".gitattributes").write_text("*.bin filter=lfs diff=lfs merge=lfs -text\n")
    git(work, "add", "-A")
    git(work, "commit", "-qm", "one")
    commit = git(work, "rev-parse", "HEAD")
    pin = gitsources.GitPin("withsub", "1.0", work.as_uri(), commit)
    wheels = tmp_path / "wheels"
    assert gitsources.fetch_bundle(pin, wheels) == "downloaded"
    bundle = wheels / pin.bundle_name
    info = bundle.stat()
    file = LocalFile(bundle, None, info.st_size, info.st_mtime_ns, info.st_ino, bundle.name)  # type: ignore[arg-type]
    plan = gitsources.find([pin], [file])
    assert [s.pin for s in plan.served] == [pin]
    notes = gitsources.checkout_notes(plan.served, gitsources.prepare(plan.served))
    assert any("submodules" in n for n in notes) and any("Git LFS" in n for n in notes)


def test_git_sources_travel_inside_a_lockshim_bundle(
    git_project: tuple[Path, dict[str, str], str], tmp_path: Path
) -> None:
    project, commits, _ = git_project
    wheels = _fetched(project, tmp_path)
    bundle = tmp_path / "app.lockshim.zip"
    made = lockshim(
        ["bundle", "-o", str(bundle), "--no-pip-cache", "-w", str(wheels)],
        project,
        clean_env(tmp_path / "b"),
    )
    assert made.returncode == 0, made.stderr
    import zipfile

    with zipfile.ZipFile(bundle) as archive:
        names = set(archive.namelist())
    for name, commit in commits.items():
        assert f"files/{name}-0.3-git-{commit[:12]}.bundle" in names
    shutil.rmtree(wheels)
    shutil.rmtree(tmp_path / "served")
    env = clean_env(tmp_path / "sync-env")
    result = lockshim(["sync", "--no-pip-cache", "-w", str(bundle)], project, env)
    assert result.returncode == 0, result.stderr
    assert "git sources served from local bundles" in result.stderr
    ran = venv_run(project, "import gitpkg, gitroot")
    assert ran.returncode == 0, ran.stderr


def test_a_longer_repository_url_is_not_rewritten_to_a_served_copy(tmp_path: Path) -> None:
    from lockshim.sources import git as gitsources

    copy = tmp_path / "copy.git"
    env = gitsources.environment(
        {"https://h.example/org/proj": copy},
        {},
        ["https://h.example/org/proj", "https://h.example/org/proj-assets"],
    )
    rules = {
        env[f"GIT_CONFIG_VALUE_{i}"]: env[f"GIT_CONFIG_KEY_{i}"]
        for i in range(int(env["GIT_CONFIG_COUNT"]))
    }
    assert rules["https://h.example/org/proj"] == f"url.{copy.as_uri()}.insteadOf"
    assert (
        rules["https://h.example/org/proj-assets"]
        == "url.https://h.example/org/proj-assets.insteadOf"
    )
    probe = subprocess.run(  # what git itself makes of the rules
        ["git", "ls-remote", "--get-url", "https://h.example/org/proj-assets"],
        env={**os.environ, **{k: v for k, v in env.items() if k.startswith("GIT_CONFIG")}},
        capture_output=True,
        text=True,
    )
    assert probe.stdout.strip() == "https://h.example/org/proj-assets"


def test_plan_lists_git_packages_once(
    git_project: tuple[Path, dict[str, str], str], tmp_path: Path
) -> None:
    project, _, _ = git_project
    plan = lockshim(["plan", "--no-pip-cache", "-w", str(tmp_path)], project, clean_env(tmp_path))
    assert "MISSING  git gitpkg 0.3" in plan.stdout
    local = next(line for line in plan.stdout.splitlines() if "built from local source" in line)
    assert "gitpkg" not in local and "localpkg" in local


def test_a_bundle_that_lists_the_commit_but_cannot_deliver_it_is_skipped(
    git_project: tuple[Path, dict[str, str], str], tmp_path: Path
) -> None:
    """A thin bundle (its heads name the locked commit, its pack holds nothing) in the first
    wheelhouse, a good one in the next: skipped with one line, the good one serves."""
    project, commits, _ = git_project
    wheels = _fetched(project, tmp_path)
    shutil.rmtree(tmp_path / "served")
    bad = tmp_path / "bad"
    bad.mkdir()
    empty_pack = subprocess.run(
        ["git", "pack-objects", "--stdout"], input=b"", capture_output=True, check=True
    ).stdout
    commit = commits["gitpkg"]
    thin = bad / f"gitpkg-0.3-git-{commit[:12]}.bundle"  # named for the pin: tried first
    thin.write_bytes(f"# v2 git bundle\n{commit} refs/heads/main\n\n".encode() + empty_pack)
    env = clean_env(tmp_path / "sync-env")
    result = lockshim(["sync", "--no-pip-cache", "-w", str(bad), "-w", str(wheels)], project, env)
    assert result.returncode == 0, result.stderr
    assert f"skipped {thin}: it lists commit {commit[:12]} of gitpkg 0.3" in result.stderr
    ran = venv_run(project, "import gitpkg")
    assert ran.returncode == 0, ran.stderr


def test_fetch_counts_a_git_source_it_cannot_reach_as_failed(
    git_project: tuple[Path, dict[str, str], str], tmp_path: Path
) -> None:
    project, _, _ = git_project
    shutil.rmtree(tmp_path / "served")  # the git remote answers nothing now
    result = lockshim(
        ["fetch", "--dest", str(tmp_path / "wheels"), "--no-build-deps"],
        project,
        clean_env(tmp_path / "f"),
        offline=False,
    )
    assert result.returncode == 1
    assert "git sources: 0 bundled, 0 already there, 2 failed." in result.stderr
    assert "git bundle create NAME.bundle --all" in result.stderr
    assert "; 2 failed." in result.stderr and "()" not in result.stderr


def test_a_repository_planted_in_a_shared_cache_is_never_used(
    git_project: tuple[Path, dict[str, str], str],
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    """Another user plants a bare repository, with a hook, where lockshim keeps its copy of a
    locked git repository in a cache everyone may write: the sync builds its own copy in a
    folder of its own, no hook of theirs runs, and the locked commit is installed."""
    import hashlib
    import tempfile

    if shutil.which("setpriv") is None or os.geteuid() != 0:
        pytest.skip("needs root and setpriv (a second user)")
    project, _, url = git_project
    wheels = _fetched(project, tmp_path)
    shared = Path(tempfile.mkdtemp(prefix="lockshim-shared-cache-"))
    shared.chmod(0o1777)
    request.addfinalizer(lambda: shutil.rmtree(shared, ignore_errors=True))
    ran = tmp_path / "planted-hook-ran"
    nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
    for name in ("gitpkg", "gitroot"):
        key = hashlib.sha256(f"{url}/{name}.git".encode()).hexdigest()[:20]
        planted = shared / "git" / f"{key}.git"
        subprocess.run([*nobody, "mkdir", "-p", str(shared / "git")], check=True)
        subprocess.run([*nobody, "git", "init", "-q", "--bare", str(planted)], check=True)
        hook = f"#!/bin/sh\ntouch {ran}\n"
        for event in ("reference-transaction", "post-checkout"):
            path = planted / "hooks" / event
            subprocess.run([*nobody, "sh", "-c", f"printf '%s' \"$0\" > {path}", hook], check=True)
            subprocess.run([*nobody, "chmod", "755", str(path)], check=True)
    env = clean_env(tmp_path / "sync-env", LOCKSHIM_CACHE_DIR=str(shared))
    result = lockshim(["sync", "--no-pip-cache", "-w", str(wheels)], project, env)
    assert result.returncode == 0, result.stderr
    assert not ran.exists()
    assert f"lockshim keeps its own files in {shared / f'user-{os.getuid()}'}" in result.stderr
    ran_code = venv_run(project, "import gitpkg, gitroot; print(gitpkg.WHERE)")
    assert ran_code.stdout.strip() == "gitpkg", ran_code.stderr
