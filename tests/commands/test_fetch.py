"""`lockshim fetch` against a real loopback index: then an offline sync from what it fetched."""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from support import LoopbackIndex, index_entries, sha256_of, uv_bin
from support.projects import (
    FORKY_HERE,
    FORKY_OTHER,
    build_registry,
    clean_env,
    lock_project,
    lockshim,
    serving,
)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, LoopbackIndex]]:
    """A project locked against an index that stays up for the module's tests."""
    base = tmp_path_factory.mktemp("live")
    registry = base / "registry"
    build_registry(registry)
    with serving(registry) as index:
        yield lock_project(base, index), index


@pytest.fixture
def index(live: tuple[Path, LoopbackIndex]) -> Iterator[LoopbackIndex]:
    yield live[1]
    live[1].clear_faults()
    live[1].clear_auth()


@pytest.fixture
def copy(live: tuple[Path, LoopbackIndex], tmp_path: Path) -> Path:
    target = tmp_path / "project"
    shutil.copytree(live[0], target)
    return target


def _fetch(project: Path, dest: Path, tmp_path: Path, *args: str, **env: str):  # type: ignore[no-untyped-def]
    result = lockshim(
        ["fetch", "--dest", str(dest), "--json", *args],
        project,
        clean_env(tmp_path, **env),
        offline=False,
    )
    assert result.stdout, result.stderr
    return result, json.loads(result.stdout)


def _names(rows: list[dict[str, str]]) -> set[str]:
    return {row["filename"] for row in rows}


def test_fetch_then_sync_offline(copy: Path, index: LoopbackIndex, tmp_path: Path) -> None:
    dest = tmp_path / "wheels"
    result, report = _fetch(copy, dest, tmp_path, "--", "--extra", "x")
    assert result.returncode == 0, result.stderr
    fetched = _names(report["downloaded"])
    assert {
        "alpha-1.0-py3-none-any.whl",
        f"forky-{FORKY_HERE}-py3-none-any.whl",
        "sdisty-1.0.tar.gz",
        "direct-1.0-py3-none-any.whl",
        "extra_dep-1.0-py3-none-any.whl",
        "devtool-1.0-py3-none-any.whl",
    } <= fetched
    assert f"forky-{FORKY_OTHER}-py3-none-any.whl" not in fetched  # the other Pythons' fork
    assert "minibackend-1.0-py3-none-any.whl" in fetched  # the project's build backend
    assert any("minibackend" in why for why in report["build_requirements"])
    for row in report["downloaded"]:
        assert sha256_of(dest / row["filename"]) == row["sha256"]
    assert not list(dest.glob(".*.part"))

    again, second = _fetch(copy, dest, tmp_path, "--", "--extra", "x")
    assert again.returncode == 0 and second["downloaded"] == []
    assert len(second["skipped"]) == len(report["downloaded"])

    synced = lockshim(
        ["sync", "--no-pip-cache", "-w", str(dest), "--", "--extra", "x"], copy, clean_env(tmp_path)
    )
    assert synced.returncode == 0, synced.stderr


#: `lockshim` with an audit hook that lists the wheels and sdists it opens (last on stderr).
_OPENS = """
import atexit, sys
opened = []
def hook(event, args):
    if event == "open" and isinstance(args[0], str) and args[0].endswith((".whl", ".tar.gz")):
        opened.append(args[0].rsplit("/", 1)[-1])
sys.addaudithook(hook)
atexit.register(lambda: sys.stderr.write(f"\\nopened: {sorted(set(opened))}\\n"))
from lockshim.entry import main
main()
"""


def test_a_fetched_wheelhouse_is_never_hashed_again(
    copy: Path, index: LoopbackIndex, tmp_path: Path
) -> None:
    """fetch checks each file's sha256 as it arrives and leaves it in the wheelhouse's hash
    index: the plan that follows hashes nothing (it opens only what builds need: the sdist's
    pyproject, the backend's metadata), and a second plan opens nothing at all."""
    import subprocess
    import sys

    dest = tmp_path / "wheels"
    result, report = _fetch(copy, dest, tmp_path)
    assert result.returncode == 0, result.stderr
    assert set(index_entries(dest)) >= {r["filename"] for r in report["downloaded"]}
    opened = []
    for _ in range(2):
        plan = subprocess.run(
            [sys.executable, "-c", _OPENS, "plan", "--no-pip-cache", "-w", str(dest)],
            cwd=copy,
            env=clean_env(tmp_path),
            capture_output=True,
            text=True,
        )
        assert plan.returncode in (0, 1), plan.stderr
        opened.append(plan.stderr.rstrip().rsplit("opened: ", 1)[1])
    assert opened[0] == "['minibackend-1.0-py3-none-any.whl', 'sdisty-1.0.tar.gz']"
    assert opened[1] == "[]"


def test_another_target_selects_other_files(
    copy: Path, index: LoopbackIndex, tmp_path: Path
) -> None:
    result, report = _fetch(
        copy, tmp_path / "py310", tmp_path, "--python", "3.10", "--no-build-deps"
    )
    assert result.returncode == 0, result.stderr
    fetched = _names(report["downloaded"])
    assert "forky-1.0-py3-none-any.whl" in fetched and "forky-2.0-py3-none-any.whl" not in fetched
    assert "minibackend-1.0-py3-none-any.whl" not in fetched  # --no-build-deps

    result, report = _fetch(copy, tmp_path / "all", tmp_path, "--all-platforms", "--no-build-deps")
    assert result.returncode == 0, result.stderr
    assert "forky-2.0-py3-none-any.whl" in _names(report["downloaded"])
    # what the first fetch downloaded comes from lockshim's download cache: never twice
    assert "forky-1.0-py3-none-any.whl" in _names(report["cached"])
    assert not _names(report["downloaded"]) & _names(report["cached"])


def test_a_dropped_connection_leaves_no_partial_file(
    copy: Path, index: LoopbackIndex, tmp_path: Path
) -> None:
    dest = tmp_path / "wheels"
    index.drop_after("alpha-1.0-py3-none-any.whl", 100, always=True)
    result, report = _fetch(copy, dest, tmp_path, "--no-build-deps")
    assert result.returncode == 1
    assert [row["filename"] for row in report["failed"]] == ["alpha-1.0-py3-none-any.whl"]
    assert "/files/alpha-1.0-py3-none-any.whl" in report["failed"][0]["url"]
    assert not (dest / "alpha-1.0-py3-none-any.whl").exists()
    assert not list(dest.glob(".*.part"))
    index.clear_faults()
    rerun, second = _fetch(copy, dest, tmp_path, "--no-build-deps")
    assert rerun.returncode == 0, rerun.stderr
    assert _names(second["downloaded"]) == {"alpha-1.0-py3-none-any.whl"}  # only what was missing


def test_wrong_bytes_are_refused(copy: Path, index: LoopbackIndex, tmp_path: Path) -> None:
    dest = tmp_path / "wheels"
    index.corrupt("devtool-1.0-py3-none-any.whl")
    result, report = _fetch(copy, dest, tmp_path, "--no-build-deps")
    assert result.returncode == 1
    failed = report["failed"]
    assert [row["filename"] for row in failed] == ["devtool-1.0-py3-none-any.whl"]
    assert "but uv.lock pins" in failed[0]["reason"]
    assert not (dest / "devtool-1.0-py3-none-any.whl").exists()
    text = lockshim(
        ["fetch", "--dest", str(dest), "--no-build-deps"], copy, clean_env(tmp_path), offline=False
    )
    assert "devtool 1.0" in text.stderr and "refused" in text.stderr


def test_transient_errors_are_retried(copy: Path, index: LoopbackIndex, tmp_path: Path) -> None:
    index.fail_times("alpha-1.0-py3-none-any.whl", 1)
    index.drop_after("alpha-1.0-py3-none-any.whl", 100)
    result, report = _fetch(copy, tmp_path / "wheels", tmp_path, "--no-build-deps")
    assert result.returncode == 0, result.stderr
    assert "alpha-1.0-py3-none-any.whl" in _names(report["downloaded"])
    assert index.pending_faults("alpha-1.0-py3-none-any.whl") == 0  # both faults were met


def test_credentials_the_way_uv_takes_them(
    copy: Path, index: LoopbackIndex, tmp_path: Path
) -> None:
    index.require_auth("lab", "s3cr3t-token")
    with open(copy / "pyproject.toml", "a", encoding="utf-8") as stream:
        stream.write(f'\n[[tool.uv.index]]\nname = "lab-mirror"\nurl = "{index.url}"\n')

    denied, report = _fetch(copy, tmp_path / "none", tmp_path, "--no-build-deps")
    assert denied.returncode == 1 and "HTTP 401" in report["failed"][0]["reason"]

    env = {"UV_INDEX_LAB_MIRROR_USERNAME": "lab", "UV_INDEX_LAB_MIRROR_PASSWORD": "s3cr3t-token"}
    result, report = _fetch(copy, tmp_path / "env", tmp_path, "--no-build-deps", **env)
    assert result.returncode == 0, result.stderr
    assert "s3cr3t-token" not in result.stdout + result.stderr

    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login lab password s3cr3t-token\n")
    netrc.chmod(0o600)
    fresh = tmp_path / "netrc-case"  # lockshim's download cache of its own: nothing kept yet
    result, report = _fetch(
        copy, tmp_path / "netrc-dest", fresh, "--no-build-deps", NETRC=str(netrc)
    )
    assert result.returncode == 0, result.stderr
    assert report["downloaded"] and "s3cr3t-token" not in result.stdout + result.stderr


def test_credentials_of_an_index_named_only_in_uv_index(
    copy: Path, index: LoopbackIndex, tmp_path: Path
) -> None:
    """`UV_INDEX=corp=URL` names the index (no [[tool.uv.index]]): `UV_INDEX_CORP_*` give its
    password, as uv gives it."""
    index.require_auth("lab", "s3cr3t-token")
    env = {
        "UV_INDEX": f"corp={index.url}",
        "UV_INDEX_CORP_USERNAME": "lab",
        "UV_INDEX_CORP_PASSWORD": "s3cr3t-token",
    }
    result, report = _fetch(copy, tmp_path / "dest", tmp_path, "--no-build-deps", **env)
    assert result.returncode == 0, result.stderr
    assert report["downloaded"] and "s3cr3t-token" not in result.stdout + result.stderr


def test_credentials_never_follow_a_redirect_to_another_host(
    copy: Path, index: LoopbackIndex, tmp_path: Path
) -> None:
    """Private indexes redirect file downloads to object storage: the password stays home."""
    index.require_auth("lab", "s3cr3t-token")
    with open(copy / "pyproject.toml", "a", encoding="utf-8") as stream:
        stream.write(f'\n[[tool.uv.index]]\nname = "lab"\nurl = "{index.url}"\n')
    env = {"UV_INDEX_LAB_USERNAME": "lab", "UV_INDEX_LAB_PASSWORD": "s3cr3t-token"}
    with serving(index.folder) as storage:  # another origin: same host, another port
        index.redirect_files = f"http://localhost:{storage.port}"
        index.authorizations.clear()
        try:
            result, report = _fetch(copy, tmp_path / "dest", tmp_path, "--no-build-deps", **env)
        finally:
            index.redirect_files = None
    assert result.returncode == 0, result.stderr
    assert report["downloaded"]
    assert index.authorizations and all(a and a.startswith("Basic ") for a in index.authorizations)
    assert storage.authorizations and set(storage.authorizations) == {None}
    assert "s3cr3t-token" not in result.stdout + result.stderr


def test_a_fully_named_target_runs_no_interpreter_of_the_repository(
    copy: Path, index: LoopbackIndex, tmp_path: Path
) -> None:
    marker = tmp_path / "ran"
    python = copy / ".venv" / "bin" / "python"
    python.parent.mkdir(parents=True, exist_ok=True)
    python.write_text(f"#!/bin/sh\ntouch '{marker}'\nexit 1\n")
    python.chmod(0o755)
    args = ("--no-build-deps", "--python", "3.12", "--python-platform", "x86_64-manylinux_2_28")
    result, report = _fetch(copy, tmp_path / "dest", tmp_path, *args)
    assert result.returncode == 0, result.stderr
    assert "alpha-1.0-py3-none-any.whl" in _names(report["downloaded"])
    assert not marker.exists()


def test_a_planted_part_symlink_overwrites_nothing(
    copy: Path, index: LoopbackIndex, tmp_path: Path
) -> None:
    dest = tmp_path / "shared"
    dest.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    (dest / ".alpha-1.0-py3-none-any.whl.part").symlink_to(victim)
    result, _ = _fetch(copy, dest, tmp_path, "--no-build-deps")
    assert result.returncode == 0, result.stderr
    assert victim.read_text() == "keep me"
    assert (dest / "alpha-1.0-py3-none-any.whl").is_file()
    assert not (dest / "alpha-1.0-py3-none-any.whl").is_symlink()


def _backend(project: Path, requires: str, backend: str) -> None:
    """Give the workspace member another build system (the lock does not record it)."""
    pyproject = project / "packages" / "member" / "pyproject.toml"
    text = pyproject.read_text()
    start, end = text.index("[build-system]"), text.index("[project]")
    system = f'[build-system]\nrequires = [{requires}]\nbuild-backend = "{backend}"\n\n'
    pyproject.write_text(text[:start] + system + text[end:])


def test_a_uv_build_project_needs_no_backend_wheel(
    copy: Path, index: LoopbackIndex, tmp_path: Path
) -> None:
    """uv builds `uv_build` projects itself; the index here has no uv_build at all."""
    from lockshim.uv.runner import uv_version

    version = ".".join(map(str, uv_version(Path(uv_bin()))))
    _backend(copy, f'"uv_build>={version},<99"', "uv_build")
    result, report = _fetch(copy, tmp_path / "dest", tmp_path)
    assert result.returncode == 0, result.stderr
    assert not any("uv_build" in r for r in report["build_requirements"])
    assert report["unresolved"] == []


def test_an_unresolvable_build_requirement_is_one_named_line(
    copy: Path, index: LoopbackIndex, tmp_path: Path
) -> None:
    _backend(copy, '"no-such-backend>=1"', "no_such_backend.build")
    result = lockshim(
        ["fetch", "--dest", str(tmp_path / "dest")], copy, clean_env(tmp_path), offline=False
    )
    assert result.returncode == 1, result.stderr
    lines = [line for line in result.stderr.splitlines() if "no-such-backend" in line]
    assert len(lines) == 1 and lines[0].startswith("build requirement not resolved:"), lines
    assert "error:" not in lines[0]
    assert "fetched" in result.stderr  # the summary is still there: everything else came
    assert (tmp_path / "dest" / "alpha-1.0-py3-none-any.whl").exists()


def test_build_requirements_download_while_the_locks_own_files_still_do(
    copy: Path, index: LoopbackIndex, tmp_path: Path
) -> None:
    before = len(index.requests)
    # alpha hangs until lockshim asks for the project's build backend (or 30 s), then is
    # retried: the backend must be asked for while the lock's own files still download
    backend = "minibackend-1.0-py3-none-any.whl"
    index.stall_after("alpha-1.0-py3-none-any.whl", 100, 30, until=backend, agent="lockshim/")
    result, report = _fetch(copy, tmp_path / "wheels", tmp_path)
    assert result.returncode == 0, result.stderr
    assert "minibackend-1.0-py3-none-any.whl" in _names(report["downloaded"])
    asked = [
        path.split("?")[0].rsplit("/", 1)[-1]
        for path, agent in zip(index.requests[before:], index.agents[before:], strict=True)
        if "/files/" in path and agent.startswith("lockshim/")  # not uv's, reading metadata
    ]
    alphas = [i for i, name in enumerate(asked) if name == "alpha-1.0-py3-none-any.whl"]
    assert len(alphas) == 2  # the stalled try and the retry
    # the project's build backend was asked for while alpha was still on its way
    assert asked.index(backend) < alphas[1]


def test_a_run_after_a_killed_one_removes_what_it_left_half_written(
    copy: Path, index: LoopbackIndex, tmp_path: Path
) -> None:
    """A fetch killed mid-download (SIGKILL: no cleanup) leaves `.NAME.<12 hex>.part` files;
    the next fetch into that folder removes those untouched for over a minute, and nothing
    else: not a part a run in progress may be writing, not a dot-file of anyone else's."""
    dest = tmp_path / "wheels"
    dest.mkdir()
    left = dest / ".alpha-1.0-py3-none-any.whl.0123456789ab.part"
    fresh = dest / ".devtool-1.0-py3-none-any.whl.ba9876543210.part"
    others = [dest / ".alpha-1.0-py3-none-any.whl.part", dest / ".keep.0123456789ab.partial"]
    for path in [left, fresh, *others]:
        path.write_bytes(b"half")
    hour_ago = time.time() - 3600
    os.utime(left, (hour_ago, hour_ago))
    for path in others:
        os.utime(path, (hour_ago, hour_ago))
    result, report = _fetch(copy, dest, tmp_path, "--no-build-deps")
    assert result.returncode == 0, result.stderr
    assert "alpha-1.0-py3-none-any.whl" in _names(report["downloaded"])
    assert not left.exists()
    assert fresh.exists() and all(path.exists() for path in others)


def test_a_percent_encoded_path_in_an_artifact_url_writes_nothing_outside(
    copy: Path, index: LoopbackIndex, tmp_path: Path
) -> None:
    lock = copy / "uv.lock"
    lock.write_text(
        lock.read_text().replace("/files/sdisty-1.0.tar.gz", "/files/..%2F..%2Fsdisty-1.0.tar.gz")
    )
    dest = tmp_path / "a" / "b" / "dest"
    result, report = _fetch(copy, dest, tmp_path, "--no-build-deps")
    assert result.returncode == 1, result.stderr
    (failure,) = [row for row in report["failed"] if row["name"] == "sdisty"]
    assert "not a plain file name" in failure["reason"]
    assert not list(tmp_path.rglob("sdisty-1.0.tar.gz"))


def test_ctrl_c_stops_fetch_at_once_and_leaves_no_part_file(
    copy: Path, index: LoopbackIndex, tmp_path: Path
) -> None:
    import signal
    import subprocess
    import sys
    import time

    index.stall_after("alpha-1.0-py3-none-any.whl", 100)
    dest = tmp_path / "dest"
    process = subprocess.Popen(
        [sys.executable, "-m", "lockshim", "fetch", "--dest", str(dest), "--no-build-deps"],
        cwd=copy,
        env=clean_env(tmp_path),
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 30
    while not list(dest.glob(".alpha-1.0-py3-none-any.whl.*.part")):
        assert time.monotonic() < deadline and process.poll() is None, "never started"
        time.sleep(0.05)
    started = time.monotonic()
    process.send_signal(signal.SIGINT)  # once
    _, stderr = process.communicate(timeout=15)
    assert process.returncode == 130, stderr
    assert time.monotonic() - started < 12  # not the 20 s stall, nor a second Ctrl-C
    assert "stopped by SIGINT" in stderr
    assert not list(dest.glob("*.part")) and not list(dest.glob(".*.part"))


def test_a_host_that_cannot_be_reached_is_named_once(project: Path, tmp_path: Path) -> None:
    """The index the lock names is gone (its port closed): one line for all its files, not a
    line (and four tries with backoff) for each."""
    dest = tmp_path / "dest"
    result = lockshim(
        ["fetch", "--dest", str(dest), "--no-build-deps", "--", "--all-extras"],
        project,
        clean_env(tmp_path),
        offline=False,
    )
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if "cannot connect" in line]
    assert len(lines) == 1, result.stderr
    assert (
        "files not fetched: cannot connect to 127.0.0.1 (no network, or the host is down)."
        in (lines[0])
    )


@pytest.mark.parametrize("command", ["plan", "fetch"])
def test_a_target_uv_does_not_know_is_refused_before_anything_is_done(
    project: Path, tmp_path: Path, command: str
) -> None:
    dest = ["--dest", str(tmp_path / "dest")] if command == "fetch" else []
    platform = lockshim(
        [command, *dest, "--python-platform", "x86_64-linux-gnux"], project, clean_env(tmp_path)
    )
    assert platform.returncode == 2, platform.stderr
    assert "--python-platform x86_64-linux-gnux: uv " in platform.stderr
    assert "x86_64-unknown-linux-gnu" in platform.stderr  # uv's own names, to pick from
    python = lockshim([command, *dest, "--python", "3.8"], project, clean_env(tmp_path))
    assert python.returncode == 2, python.stderr
    assert '--python 3.8: outside what uv.lock supports (requires-python = ">=3.9")' in (
        python.stderr
    )
    assert not (tmp_path / "dest").exists()


def test_fetch_takes_several_targets_like_bundle(copy: Path, tmp_path: Path) -> None:
    """`--python` repeated: the files of each target, each once in the summary."""
    dest = tmp_path / "dest"
    result = lockshim(
        [
            "fetch",
            "--dest",
            str(dest),
            "--no-build-deps",
            "--python",
            "3.10",
            "--python",
            "3.11",
            "--json",
        ],
        copy,
        clean_env(tmp_path),
        offline=False,
    )
    assert result.returncode == 0, result.stderr
    names = [row["filename"] for row in json.loads(result.stdout)["downloaded"]]
    assert {"forky-1.0-py3-none-any.whl", "forky-2.0-py3-none-any.whl"} <= set(names)
    assert len(names) == len(set(names))
    assert (dest / "forky-1.0-py3-none-any.whl").is_file()
    assert (dest / "forky-2.0-py3-none-any.whl").is_file()


def test_quiet_fetch_prints_nothing_when_all_is_well(copy: Path, tmp_path: Path) -> None:
    dest = tmp_path / "dest"
    quiet = lockshim(
        ["fetch", "-q", "--dest", str(dest), "--no-build-deps"],
        copy,
        clean_env(tmp_path),
        offline=False,
    )
    assert (quiet.returncode, quiet.stdout, quiet.stderr) == (0, "", "")
    assert (dest / "alpha-1.0-py3-none-any.whl").is_file()


def test_a_second_fetch_downloads_nothing_even_with_no_network(
    copy: Path, index: LoopbackIndex, tmp_path: Path
) -> None:
    """What a fetch downloaded is kept by digest in lockshim's cache: a second fetch of the
    same lock into a new folder takes it from there (under `unshare -n` where allowed); a kept
    file that changed is not served but downloaded again; `cache prune` empties the cache."""
    from support import can_unshare_net

    first, report = _fetch(copy, tmp_path / "one", tmp_path, "--no-build-deps")
    assert first.returncode == 0 and report["downloaded"] and not report["cached"]
    env = clean_env(tmp_path)
    second = lockshim(
        ["fetch", "--dest", str(tmp_path / "two"), "--json", "--no-build-deps"],
        copy,
        env,
        offline=True,  # under `unshare -n` where the machine allows it
    )
    assert second.returncode == 0, second.stderr
    again = json.loads(second.stdout)
    assert not again["downloaded"] and not again["failed"]
    assert _names(again["cached"]) == _names(report["downloaded"])
    for name in _names(again["cached"]):
        assert sha256_of(tmp_path / "two" / name) == sha256_of(tmp_path / "one" / name)
    if can_unshare_net():
        assert "unshare" in " ".join(second.args)

    kept = tmp_path / ".isolated" / "lockshim-cache" / "downloads"
    alpha = sha256_of(tmp_path / "one" / "alpha-1.0-py3-none-any.whl")
    entry = kept / "sha256" / alpha[:2] / alpha
    assert entry.is_file()
    (tmp_path / "one" / "alpha-1.0-py3-none-any.whl").unlink()  # a hard link: the bytes stay
    entry.chmod(0o644)
    with open(entry, "r+b") as stream:  # changed in place since it was kept
        stream.write(b"XX")
    third, changed = _fetch(copy, tmp_path / "three", tmp_path, "--no-build-deps")
    assert third.returncode == 0, third.stderr
    assert "alpha-1.0-py3-none-any.whl" in _names(changed["downloaded"])
    assert sha256_of(tmp_path / "three" / "alpha-1.0-py3-none-any.whl") == alpha

    pruned = lockshim(["cache", "prune"], copy, env)
    assert pruned.returncode == 0 and "removed" in pruned.stdout, pruned.stderr
    assert not [p for p in kept.rglob("*") if p.is_file()]
