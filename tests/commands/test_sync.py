"""`lockshim sync` end to end: a real lock written by real uv, real wheels, uv run offline."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from support import build_wheel, can_unshare_net, sha256_of, uv_bin
from support.projects import FORKY_HERE, clean_env, lockshim, serving, write


def _installed(project: Path) -> dict[str, str]:
    script = (
        "import importlib.metadata as m, json; "
        "print(json.dumps({d.metadata['Name']: d.version for d in m.distributions()}))"
    )
    python = project / ".venv" / ("Scripts" if os.name == "nt" else "bin") / "python"
    result = subprocess.run([python, "-c", script], capture_output=True, text=True, check=True)
    return dict(json.loads(result.stdout))


def _untouched(project: Path, original: bytes) -> None:
    assert (project / "uv.lock").read_bytes() == original
    assert not (project / ".uv.lock.lockshim-journal").exists()
    assert not list(project.glob("*.lockshim-tmp")) + list(project.glob(".*.lockshim-tmp"))


def test_offline_sync_installs_exactly_the_lock(
    project: Path, wheelhouse: Path, tmp_path: Path
) -> None:
    original = (project / "uv.lock").read_bytes()
    result = lockshim(
        ["sync", "-w", str(wheelhouse), "--", "--extra", "x", "--group", "lint"],
        project,
        clean_env(tmp_path),
    )
    assert result.returncode == 0, result.stderr
    assert _installed(project) == {
        "alpha": "1.0",
        "app": "0.1.0",
        "devtool": "1.0",  # the default group
        "direct": "1.0",  # a direct URL source, served as a path for the run
        "extra-dep": "1.0",
        "forky": FORKY_HERE,  # the fork for this Python; the other is not in the wheelhouse
        "linter": "1.0",
        "member": "0.2.0",
        "sdisty": "1.0",  # built from the sdist, offline
    }
    # the other forky (for other Pythons) is not local, and not needed here: it is not counted
    counted = re.search(r"served from local files: (\d+) of the (\d+) files", result.stderr)
    assert counted and counted.group(1) == counted.group(2), result.stderr
    _untouched(project, original)
    assert not list(Path(tmp_path).glob("lockshim-staging-*"))


def test_extras_and_groups_pass_through(project: Path, wheelhouse: Path, tmp_path: Path) -> None:
    result = lockshim(
        ["sync", "-w", str(wheelhouse), "--", "--no-dev"], project, clean_env(tmp_path)
    )
    assert result.returncode == 0, result.stderr
    installed = _installed(project)
    assert "devtool" not in installed and "extra-dep" not in installed
    assert "linter" not in installed and installed["alpha"] == "1.0"


def test_workspace_member_finds_the_root_lock(
    project: Path, wheelhouse: Path, tmp_path: Path
) -> None:
    original = (project / "uv.lock").read_bytes()
    member = project / "packages" / "member"
    result = lockshim(["sync", "-w", str(wheelhouse)], member, clean_env(tmp_path))
    assert result.returncode == 0, result.stderr
    assert str(project / "uv.lock") not in result.stderr  # no error about the lock
    _untouched(project, original)
    assert {"member", "alpha"} <= set(_installed(project))


def test_project_option_from_elsewhere(project: Path, wheelhouse: Path, tmp_path: Path) -> None:
    original = (project / "uv.lock").read_bytes()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = lockshim(
        ["sync", "--project", str(project), "-w", str(wheelhouse)], elsewhere, clean_env(tmp_path)
    )
    assert result.returncode == 0, result.stderr
    assert (project / ".venv").is_dir() and not (elsewhere / ".venv").exists()
    _untouched(project, original)


def test_wheelhouse_from_pyproject_and_env(project: Path, wheelhouse: Path, tmp_path: Path) -> None:
    env = clean_env(
        tmp_path, LOCKSHIM_WHEELHOUSE=os.pathsep.join([str(tmp_path / "none"), str(wheelhouse)])
    )
    (tmp_path / "none").mkdir()
    result = lockshim(["sync"], project, env)
    assert result.returncode == 0, result.stderr
    settings = f'\n[tool.lockshim]\nwheelhouses = ["{os.path.relpath(wheelhouse, project)}"]\n'
    with open(project / "pyproject.toml", "a", encoding="utf-8") as stream:
        stream.write(settings)
    shutil.rmtree(project / ".venv")
    result = lockshim(["sync"], project, clean_env(tmp_path / "second"))
    assert result.returncode == 0, result.stderr


def test_tampered_wheel_is_refused_and_named(
    project: Path, wheelhouse: Path, tmp_path: Path
) -> None:
    original = (project / "uv.lock").read_bytes()
    good = wheelhouse / "alpha-1.0-py3-none-any.whl"
    pinned = sha256_of(good)
    tampered_dir = tmp_path / "tampered"
    build_wheel(tampered_dir, "alpha", "1.0", payload=b"# not the locked bytes\n")
    tampered = tampered_dir / good.name
    actual = sha256_of(tampered)
    good.unlink()

    result = lockshim(
        ["sync", "-w", str(tampered_dir), "-w", str(wheelhouse)], project, clean_env(tmp_path)
    )
    assert result.returncode != 0
    assert f"ignored {tampered}" in result.stderr
    assert actual in result.stderr and pinned in result.stderr
    assert "alpha 1.0" in result.stderr
    _untouched(project, original)

    rebuilt = build_wheel(tmp_path / "rebuilt", "alpha", "1.0")  # deterministic: the locked bytes
    assert sha256_of(rebuilt) == pinned
    shutil.copy(rebuilt, wheelhouse / good.name)
    result = lockshim(
        ["sync", "-w", str(tampered_dir), "-w", str(wheelhouse)], project, clean_env(tmp_path)
    )
    assert result.returncode == 0, result.stderr
    assert f"ignored {tampered}" in result.stderr  # still reported, never used
    _untouched(project, original)
    # without the good copy, every file now in the hash indexes: the lock is searched for their
    # sha256 alone, and the package named like the tampered file is still read in full
    (wheelhouse / good.name).unlink()
    result = lockshim(
        ["sync", "-w", str(tampered_dir), "-w", str(wheelhouse)], project, clean_env(tmp_path)
    )
    assert f"ignored {tampered}" in result.stderr
    assert actual in result.stderr and pinned in result.stderr
    _untouched(project, original)


def test_uv_failing_restores_the_lock(project: Path, wheelhouse: Path, tmp_path: Path) -> None:
    original = (project / "uv.lock").read_bytes()
    (wheelhouse / "sdisty-1.0.tar.gz").unlink()
    # --online: uv runs (lockshim would stop first offline), and cannot download the sdist
    result = lockshim(["sync", "--online", "-w", str(wheelhouse)], project, clean_env(tmp_path))
    assert result.returncode != 0 and "uv failed;" in result.stderr  # uv ran, and failed
    assert "sdisty" in result.stderr
    _untouched(project, original)


def test_renamed_files_serve_by_their_bytes(
    project: Path, wheelhouse: Path, tmp_path: Path
) -> None:
    original = (project / "uv.lock").read_bytes()
    (wheelhouse / "alpha-1.0-py3-none-any.whl").rename(wheelhouse / "downloaded.bin")
    (wheelhouse / "direct-1.0-py3-none-any.whl").rename(wheelhouse / "direct.zip")
    result = lockshim(["sync", "-w", str(wheelhouse)], project, clean_env(tmp_path))
    assert result.returncode == 0, result.stderr
    assert _installed(project)["alpha"] == "1.0"
    _untouched(project, original)


def test_crlf_lock_comes_back_crlf(project: Path, wheelhouse: Path, tmp_path: Path) -> None:
    lock = project / "uv.lock"
    crlf = lock.read_bytes().replace(b"\n", b"\r\n")
    lock.write_bytes(crlf)
    os.chmod(lock, 0o640)
    result = lockshim(["sync", "-w", str(wheelhouse)], project, clean_env(tmp_path))
    assert result.returncode == 0, result.stderr
    _untouched(project, crlf)
    assert lock.stat().st_mode & 0o777 == 0o640


def test_offline_for_real(project: Path, wheelhouse: Path, tmp_path: Path) -> None:
    if not can_unshare_net():
        pytest.skip("`unshare -n` is not allowed here: offline is shown by the stopped index only")
    probe = subprocess.run(
        [
            "unshare",
            "-n",
            sys.executable,
            "-c",
            "import socket; s = socket.socket(); s.settimeout(1); s.connect(('1.1.1.1', 53))",
        ],
        capture_output=True,
    )
    assert probe.returncode != 0  # no network in there
    result = lockshim(["sync", "-w", str(wheelhouse)], project, clean_env(tmp_path))
    assert result.returncode == 0, result.stderr


def test_lock_writing_flags_are_refused(project: Path, tmp_path: Path) -> None:
    original = (project / "uv.lock").read_bytes()
    refused = (
        ["--upgrade"],
        ["-U"],
        ["--upgrade-package", "alpha"],
        ["-Palpha"],
        ["--locked"],
        ["-qU"],
        ["-vP", "alpha"],
        ["--upgrade-group", "dev"],
    )
    for flag in refused:
        result = lockshim(["sync", "--", *flag], project, clean_env(tmp_path))
        assert result.returncode == 2, flag
        assert "uv lock" in result.stderr
    assert "uv lock --upgrade" in result.stderr
    for other in (["--directory", "../b"], ["--project=../b"]):
        result = lockshim(["sync", "--", *other], project, clean_env(tmp_path))
        assert result.returncode == 2 and "lockshim sync --project DIR" in result.stderr, other
    _untouched(project, original)


def test_short_flags_that_write_nothing_pass() -> None:
    from lockshim.uv.argv import check_sync_args

    check_sync_args(["-qv", "-p", "3.11", "-pU", "--extra", "x"])  # -pU: "U" is -p's value


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "the file is empty"),
        (b"version = 1\n[[package]\n", "not valid TOML"),
        (b"version = 7\n", "lock version 7"),
    ],
)
def test_bad_lock_is_named_and_left_alone(
    project: Path, tmp_path: Path, content: bytes, message: str
) -> None:
    (project / "uv.lock").write_bytes(content)
    result = lockshim(["sync"], project, clean_env(tmp_path))
    assert result.returncode == 3
    assert str(project / "uv.lock") in result.stderr and message in result.stderr
    _untouched(project, content)


def test_missing_uv_names_every_place_looked(project: Path, tmp_path: Path) -> None:
    env = clean_env(tmp_path, PATH=str(tmp_path / "empty"))
    env.pop("LOCKSHIM_UV")
    path = [str(Path(__file__).parents[2])]
    if sys.version_info < (3, 11):  # tomli, which lockshim needs there, without the uv package
        import tomli

        shutil.copytree(Path(tomli.__file__).parent, tmp_path / "only-tomli" / "tomli")
        path.append(str(tmp_path / "only-tomli"))
    result = subprocess.run(
        [sys.executable, "-S", "-m", "lockshim", "sync"],
        cwd=project,
        env={**env, "PYTHONPATH": os.pathsep.join(path)},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 3
    for place in ("--uv PATH", "LOCKSHIM_UV", "`uv` on PATH", "the `uv` Python package"):
        assert place in result.stderr


@pytest.mark.parametrize("old", ["0.3.5", "0.4.15", "0.6.14"])
def test_old_uv_is_refused(old: str, project: Path, tmp_path: Path) -> None:
    """One line before anything runs, naming both versions and the way on (0.4.15 printed
    uv's usage text for `--project`; 0.6.14 has no `uv export --format pylock.toml`)."""
    fake = write(tmp_path / "old-uv", f"#!/bin/sh\necho 'uv {old}'\n")
    fake.chmod(0o755)
    original = (project / "uv.lock").read_bytes()
    result = lockshim(["sync", "--uv", str(fake)], project, clean_env(tmp_path))
    assert result.returncode == 3
    (line,) = result.stderr.splitlines()
    assert f"is uv {old}; lockshim needs uv 0.6.15 or newer" in line
    assert "pip install 'uv>=0.6.15'" in line
    _untouched(project, original)


def test_a_script_lock(locked: tuple[Path, Path], wheelhouse: Path, tmp_path: Path) -> None:
    """`uv sync --script tool.py` reads `tool.py.lock`; lockshim serves and restores that one."""
    folder = tmp_path / "scripts"
    script = write(
        folder / "tool.py",
        '# /// script\n# requires-python = ">=3.9"\n# dependencies = ["alpha", "sdisty"]\n'
        "# ///\nimport alpha\n",
    )
    env = clean_env(tmp_path)
    with serving(locked[1]) as index:
        subprocess.run(
            [env["LOCKSHIM_UV"], "lock", "--script", str(script), "--index-url", index.url],
            env=env,
            check=True,
            capture_output=True,
        )
    lock = folder / "tool.py.lock"
    original = lock.read_bytes()
    result = lockshim(["sync", "-w", str(wheelhouse), "--", "--script", str(script)], folder, env)
    assert result.returncode == 0, result.stderr
    assert "served from local files: 2 of the 2 files this environment needs" in result.stderr
    assert "+ alpha==1.0" in result.stderr and "+ sdisty==1.0" in result.stderr
    assert lock.read_bytes() == original
    assert not (folder / ".tool.py.lock.lockshim-journal").exists()

    missing = lockshim(["sync", "--", "--script", str(folder / "other.py")], folder, env)
    assert missing.returncode == 3 and "uv lock --script" in missing.stderr


def test_sources_searched_are_named_with_what_they_held(
    project: Path, wheelhouse: Path, tmp_path: Path
) -> None:
    original = (project / "uv.lock").read_bytes()
    empty = tmp_path / "empty pip cache"
    empty.mkdir()
    (wheelhouse / "alpha-1.0-py3-none-any.whl").unlink()
    files = len([p for p in wheelhouse.iterdir() if p.is_file()])
    result = lockshim(
        ["sync", "--pip-cache", str(empty), "-w", str(wheelhouse)], project, clean_env(tmp_path)
    )
    assert result.returncode != 0  # alpha is nowhere: uv cannot install offline
    assert f"wheelhouse {wheelhouse} ({files} files)" in result.stderr
    assert f"pip cache {empty} (0 files)" in result.stderr
    assert "pip's cache holds no downloads" in result.stderr
    _untouched(project, original)

    missing = lockshim(
        ["sync", "--pip-cache", str(tmp_path / "nope")], project, clean_env(tmp_path)
    )
    assert missing.returncode == 3 and "no such pip cache folder" in missing.stderr
    _untouched(project, original)


def test_quiet_quiets_uv_too_and_uv_options_need_the_separator(
    project: Path, wheelhouse: Path, tmp_path: Path
) -> None:
    env = clean_env(tmp_path)
    loud = lockshim(["sync", "-w", str(wheelhouse)], project, env)
    assert loud.returncode == 0 and "Installed" in loud.stderr, loud.stderr
    shutil.rmtree(project / ".venv")
    quiet = lockshim(["sync", "-q", "-w", str(wheelhouse)], project, env)
    assert quiet.returncode == 0, quiet.stderr
    assert quiet.stderr == "" and (project / ".venv").is_dir()

    forgot = lockshim(["sync", "-w", str(wheelhouse), "--all-extras"], project, env)
    assert forgot.returncode == 2
    assert "put it after `--`" in forgot.stderr and "-- --all-extras" in forgot.stderr


EXAMPLE = Path(__file__).parents[2] / "fixtures" / "example"
UNCHANGED = "nothing changed since the last sync"


def test_an_unchanged_resync_goes_straight_to_uv(tmp_path: Path) -> None:
    project = Path(
        shutil.copytree(EXAMPLE, tmp_path / "example", ignore=shutil.ignore_patterns(".venv"))
    )
    original = (project / "uv.lock").read_bytes()
    env = clean_env(tmp_path)
    args = ["sync", "--no-pip-cache", "--", "--all-extras"]
    first = lockshim(args, project, env)
    assert first.returncode == 0 and UNCHANGED not in first.stderr, first.stderr

    memos = list((Path(env["LOCKSHIM_CACHE_DIR"]) / "resync").iterdir())
    assert memos and all(m.stat().st_mode & 0o777 == 0o600 for m in memos)  # it holds UV_* values
    again = lockshim(args, project, env)  # offline (unshare -n where possible), nothing served
    assert again.returncode == 0, again.stderr
    assert UNCHANGED in again.stderr and "served from local files" not in again.stderr
    _untouched(project, original)

    other_args = lockshim([*args, "--no-dev"], project, env)  # another request: the full path
    assert other_args.returncode == 0 and UNCHANGED not in other_args.stderr

    python = project / ".venv" / "bin" / "python"
    removed = subprocess.run(
        [uv_bin(), "pip", "uninstall", "--python", str(python), "six"], env=env, capture_output=True
    )
    assert removed.returncode == 0, removed.stderr
    repaired = lockshim(args, project, env)  # the environment changed: full path, served again
    assert repaired.returncode == 0, repaired.stderr
    assert UNCHANGED not in repaired.stderr and "served from local files" in repaired.stderr
    assert "six" in _installed(project)

    lock = project / "uv.lock"
    lock.write_bytes(lock.read_bytes() + b"\n")  # an edited lock: full path
    edited = lockshim(args, project, env)
    assert edited.returncode == 0 and UNCHANGED not in edited.stderr, edited.stderr


def test_a_shared_cache_keeps_the_resync_fast_path(tmp_path: Path) -> None:
    """LOCKSHIM_CACHE_DIR everyone may write (1777): lockshim keeps its files in a folder of
    its own inside (said on the full path), and the unchanged re-sync still goes straight to
    uv from there."""
    project = Path(
        shutil.copytree(EXAMPLE, tmp_path / "example", ignore=shutil.ignore_patterns(".venv"))
    )
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)
    env = clean_env(tmp_path, LOCKSHIM_CACHE_DIR=str(shared))
    args = ["sync", "--no-pip-cache", "--", "--all-extras"]
    first = lockshim(args, project, env)
    assert first.returncode == 0, first.stderr
    own = shared / f"user-{os.getuid()}"
    assert f"lockshim keeps its own files in {own}" in first.stderr
    assert list((own / "resync").iterdir()) and not (shared / "resync").exists()
    again = lockshim(args, project, env)
    assert again.returncode == 0 and UNCHANGED in again.stderr, again.stderr
    assert shared.stat().st_mode & 0o7777 == 0o1777  # a shared folder is left as it is


def test_a_sync_with_path_sources_is_never_skipped(
    project: Path, wheelhouse: Path, tmp_path: Path
) -> None:
    """A direct URL package is installed as a path source; a plain uv sync would refetch it."""
    env = clean_env(tmp_path)
    for _ in range(2):
        result = lockshim(["sync", "-w", str(wheelhouse)], project, env)
        assert result.returncode == 0, result.stderr
        assert UNCHANGED not in result.stderr


def test_a_forged_resync_memo_is_never_executed(tmp_path: Path) -> None:
    """The memo is an instruction to exec. Where the cache folder is shared, another user can
    plant it: as a symlink to a file of the victim's holding the right bytes (a file in a
    repository the victim cloned), in a folder others can write, or with another command than
    uv's own sync. None of these runs; each takes the full path."""
    project = Path(
        shutil.copytree(EXAMPLE, tmp_path / "example", ignore=shutil.ignore_patterns(".venv"))
    )
    env = clean_env(tmp_path)
    args = ["sync", "--no-pip-cache", "--", "--all-extras"]
    assert lockshim(args, project, env).returncode == 0
    (memo,) = (Path(env["LOCKSHIM_CACHE_DIR"]) / "resync").iterdir()
    fields = memo.read_bytes().split(b"\0")
    marker = tmp_path / "PWNED"
    evil = [b"/bin/sh", b"-c", f"touch {marker}".encode()]
    uv_at = 3 + 2 * int(fields[2])  # the magic, the request, the count, (path, stat)s, command
    assert fields[uv_at + 1] == b"sync"
    forged = b"\0".join([*fields[:uv_at], *evil, b"end"])

    cloned = project / "innocent.txt"  # a file of the victim's, its bytes chosen by others
    cloned.write_bytes(forged)
    memo.unlink()
    memo.symlink_to(cloned)
    result = lockshim(args, project, env)
    assert result.returncode == 0 and UNCHANGED not in result.stderr, result.stderr
    assert not marker.exists()

    memo.unlink(missing_ok=True)
    memo.write_bytes(forged)  # a private file of the user's, but not uv's sync
    memo.chmod(0o600)
    result = lockshim(args, project, env)
    assert UNCHANGED not in result.stderr and not marker.exists()

    memo.write_bytes(b"\0".join(fields))  # the genuine memo, in a folder others can write
    memo.chmod(0o600)
    memo.parent.chmod(0o777)
    result = lockshim(args, project, env)
    assert UNCHANGED not in result.stderr, result.stderr
    memo.parent.chmod(0o700)


def test_paths_are_printed_as_people_read_them(tmp_path: Path) -> None:
    """`[tool.lockshim] wheelhouses = ["../devwheels"]`: the folder is named
    `…/devwheels`, not `…/app/../devwheels`."""
    from support import make_project

    registry = tmp_path / "devwheels"
    build_wheel(registry, "alpha", "1.0")
    project = make_project(tmp_path / "app", "app", ["alpha"], build_backend=None)
    with open(project / "pyproject.toml", "a", encoding="utf-8") as file:
        file.write('\n[tool.lockshim]\nwheelhouses = ["../devwheels"]\n')
    env = clean_env(tmp_path / "env")
    with serving(registry) as index:
        from support import uv_lock

        uv_lock(project, index.url, env)
    result = lockshim(["sync"], project, env)
    assert result.returncode == 0, result.stderr
    assert f"(1 from {registry})" in result.stderr, result.stderr
    assert "/../" not in result.stderr
