"""Crash safety against the real CLI: signals, kill -9, hand edits, concurrent runs, full disks.

uv is replaced by a slow stand-in (it answers `--version` like uv, records the lock it was given
and any signal it gets, and sleeps in `sync`), so the tests can act while the lock is shimmed.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from support import uv_bin
from support.projects import clean_env, write

EXAMPLE = Path(__file__).parent.parent / "fixtures" / "example"
JOURNAL = ".uv.lock.lockshim-journal"

STANDIN = """\
import os, pathlib, signal, sys, time
state = pathlib.Path(os.environ["STANDIN_STATE"])
if sys.argv[1:2] == ["--version"]:
    print("uv 0.13.9 (stand-in)")
    sys.exit(0)
if sys.argv[1:3] == ["lock", "--locked"] or "--dry-run" in sys.argv:  # lockshim's questions
    sys.exit(0)  # (is the lock fresh, is there a Python): yes
def stop(signum, frame):
    (state / "signal").write_text(str(signum))
    time.sleep(float(os.environ.get("STANDIN_STOP_DELAY", "0")))
    sys.exit(128 + signum)
for number in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT):
    signal.signal(number, stop)
project = sys.argv[sys.argv.index("--project") + 1] if "--project" in sys.argv else "."
(state / "seen.lock").write_bytes(pathlib.Path(project, "uv.lock").read_bytes())
if pathlib.Path(project, ".uv.lock.lockshim-journal").exists():
    (state / "journal-seen").write_text("")
(state / "ready").write_text(str(os.getpid()))
time.sleep(float(os.environ.get("STANDIN_SLEEP", "60")))
(state / "done").write_text("")
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    copy = tmp_path / "project"
    shutil.copytree(EXAMPLE, copy, ignore=shutil.ignore_patterns(".venv", ".lockshim-index.json"))
    return copy


@pytest.fixture
def standin(tmp_path: Path) -> Path:
    script = write(tmp_path / "bin" / "uv", f"#!{sys.executable}\n{STANDIN}")
    script.chmod(0o755)
    return script


def _state(tmp_path: Path, name: str = "state") -> Path:
    folder = tmp_path / name
    folder.mkdir(exist_ok=True)
    return folder


def _env(tmp_path: Path, state: Path, standin: Path, **extra: str) -> dict[str, str]:
    return clean_env(tmp_path, LOCKSHIM_UV=str(standin), STANDIN_STATE=str(state), **extra)


def _start(project: Path, env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "lockshim", "sync", *args],
        cwd=project,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, as a terminal job would be
    )


def _wait_for(
    path: Path, process: subprocess.Popen[str] | None = None, timeout: float = 30
) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if process is not None and process.poll() is not None:
            raise AssertionError(f"exited early ({process.returncode}): {process.stderr.read()}")  # type: ignore[union-attr]
        if time.monotonic() > deadline:
            raise AssertionError(f"{path} did not appear")
        time.sleep(0.02)


def _run(project: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lockshim", *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _clean(project: Path, original: bytes) -> None:
    assert (project / "uv.lock").read_bytes() == original
    assert not (project / JOURNAL).exists()
    leftovers = [p.name for p in project.iterdir() if "lockshim" in p.name]
    assert leftovers == []


@pytest.mark.parametrize("name", ["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT"])
def test_signal_while_uv_runs(project: Path, standin: Path, tmp_path: Path, name: str) -> None:
    number = getattr(signal, name)
    original = (project / "uv.lock").read_bytes()
    state = _state(tmp_path)
    (project / "wheelhouse" / "idna-3.20-py3-none-any.whl").rename(
        project / "wheelhouse" / "renamed.whl"  # served through a staging folder
    )
    process = _start(project, _env(tmp_path, state, standin))
    _wait_for(state / "ready", process)
    assert b"file://" in (state / "seen.lock").read_bytes()  # uv saw the shimmed lock
    assert (project / JOURNAL).exists()
    journal = (project / JOURNAL).read_bytes()
    staging = Path(journal.split(b'"staging": "')[1].split(b'"')[0].decode())
    assert staging.is_dir()
    process.send_signal(number)  # to lockshim only: it must pass it on to uv
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 128 + number, stderr
    assert (state / "signal").read_text() == str(int(number))  # uv got it
    assert f"stopped by {name}; uv.lock is as it was" in stderr
    _clean(project, original)
    assert not staging.exists()


def test_repeated_ctrl_c_does_not_skip_the_restore(
    project: Path, standin: Path, tmp_path: Path
) -> None:
    original = (project / "uv.lock").read_bytes()
    state = _state(tmp_path)
    process = _start(project, _env(tmp_path, state, standin, STANDIN_STOP_DELAY="0.5"))
    _wait_for(state / "ready", process)
    for _ in range(5):  # an impatient user
        process.send_signal(signal.SIGINT)
        time.sleep(0.15)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    _clean(project, original)


def _kill_midway(project: Path, standin: Path, tmp_path: Path) -> bytes:
    state = _state(tmp_path)
    process = _start(project, _env(tmp_path, state, standin))
    _wait_for(state / "ready", process)
    os.killpg(process.pid, signal.SIGKILL)  # lockshim and uv, as a power cut would
    process.communicate(timeout=30)
    shimmed = (project / "uv.lock").read_bytes()
    assert b"file://" in shimmed and (project / JOURNAL).exists()
    return shimmed


def test_kill_9_then_restore(project: Path, standin: Path, tmp_path: Path) -> None:
    original = (project / "uv.lock").read_bytes()
    _kill_midway(project, standin, tmp_path)
    env = clean_env(tmp_path)
    check = _run(project, env, "restore")
    assert check.returncode == 0, check.stderr
    assert "restored" in check.stderr
    _clean(project, original)
    again = _run(project, env, "restore")
    assert again.returncode == 0 and "nothing to restore" in again.stderr


def test_kill_9_then_sync_finishes_the_restore_first(
    project: Path, standin: Path, tmp_path: Path
) -> None:
    original = (project / "uv.lock").read_bytes()
    _kill_midway(project, standin, tmp_path)
    result = _run(project, clean_env(tmp_path, LOCKSHIM_UV=uv_bin()), "sync", "--no-pip-cache")
    assert result.returncode == 0, result.stderr
    assert "finished restoring" in result.stderr
    _clean(project, original)


def test_hand_edit_during_an_interrupted_shim(project: Path, standin: Path, tmp_path: Path) -> None:
    original = (project / "uv.lock").read_bytes()
    shimmed = _kill_midway(project, standin, tmp_path)
    edited = shimmed.replace(b"file://", b"FILE://") + b"\n# edited by hand\n"
    (project / "uv.lock").write_bytes(edited)
    env = clean_env(tmp_path)

    refused = _run(project, env, "restore")
    assert refused.returncode == 4, refused.stderr
    assert "lockshim restore --force" in refused.stderr
    assert (project / "uv.lock").read_bytes() == edited  # nothing overwritten
    assert (project / "uv.lock.lockshim-original").read_bytes() == original  # both kept
    assert (project / JOURNAL).exists()

    blocked = _run(project, env, "sync")
    assert blocked.returncode == 4 and (project / "uv.lock").read_bytes() == edited

    forced = _run(project, env, "restore", "--force")
    assert forced.returncode == 0, forced.stderr
    assert (project / "uv.lock").read_bytes() == original
    assert (project / "uv.lock.lockshim-replaced").read_bytes() == edited
    assert not (project / JOURNAL).exists()


def test_journal_without_a_shim_is_quietly_finished(project: Path, tmp_path: Path) -> None:
    """A crash between writing the journal and writing the shimmed lock."""
    from lockshim.shim.journal import journal_path, sha256_bytes

    original = (project / "uv.lock").read_bytes()
    header = json.dumps(
        {
            "format": 1,
            "lock": "uv.lock",
            "original_sha256": sha256_bytes(original),
            "shimmed_sha256": "0" * 64,
            "mode": 0o644,
            "staging": None,
            "pid": 1,
        }
    )
    journal_path(project / "uv.lock").write_bytes(header.encode() + b"\n" + original)
    result = _run(project, clean_env(tmp_path), "restore")
    assert result.returncode == 0, result.stderr
    _clean(project, original)


def test_two_syncs_on_one_project_take_turns(project: Path, standin: Path, tmp_path: Path) -> None:
    original = (project / "uv.lock").read_bytes()
    first_state, second_state = _state(tmp_path, "first"), _state(tmp_path, "second")
    first = _start(project, _env(tmp_path, first_state, standin, STANDIN_SLEEP="1.5"))
    _wait_for(first_state / "ready", first)
    second = _start(project, _env(tmp_path, second_state, standin, STANDIN_SLEEP="0"))
    deadline = time.monotonic() + 30
    while first.poll() is None and time.monotonic() < deadline:
        assert not (second_state / "ready").exists()  # it waits for the first run to end
        time.sleep(0.05)
    _, first_err = first.communicate(timeout=30)
    _, second_err = second.communicate(timeout=30)
    assert first.returncode == 0, first_err
    assert second.returncode == 0, second_err
    assert "waiting for another lockshim run" in second_err
    assert (first_state / "seen.lock").read_bytes() == (second_state / "seen.lock").read_bytes()
    _clean(project, original)


def test_different_projects_do_not_block_each_other(
    project: Path, standin: Path, tmp_path: Path
) -> None:
    other = tmp_path / "other"
    shutil.copytree(project, other)
    one, two = _state(tmp_path, "one"), _state(tmp_path, "two")
    first = _start(project, _env(tmp_path, one, standin))
    _wait_for(one / "ready", first)
    second = _start(other, _env(tmp_path, two, standin, STANDIN_SLEEP="0"))
    _, err = second.communicate(timeout=60)
    assert second.returncode == 0, err
    assert "waiting" not in err
    assert first.poll() is None  # the first run is still in uv all along
    first.send_signal(signal.SIGTERM)
    first.communicate(timeout=60)


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A 64 KiB tmpfs (root only): a real ENOSPC."""
    mount = tmp_path / "tiny"
    mount.mkdir()
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)], capture_output=True
    )
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {result.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_full_disk_leaves_the_lock_alone(tiny_disk: Path, tmp_path: Path, standin: Path) -> None:
    project = tiny_disk / "project"
    project.mkdir()
    for name in ("pyproject.toml", "uv.lock"):
        shutil.copy(EXAMPLE / name, project / name)
    original = (project / "uv.lock").read_bytes()
    fd = os.open(tiny_disk / "filler", os.O_WRONLY | os.O_CREAT)
    try:  # fill the disk to the last byte
        while os.write(fd, b"\0" * 512):
            pass
    except OSError:
        pass
    finally:
        os.close(fd)
    wheelhouse = shutil.copytree(EXAMPLE / "wheelhouse", tmp_path / "wheelhouse")
    state = _state(tmp_path)
    result = _run(
        project, _env(tmp_path, state, standin), "sync", "-w", str(wheelhouse), "--no-pip-cache"
    )
    assert result.returncode == 3, result.stderr
    assert "No space left on device" in result.stderr
    assert not (state / "ready").exists()  # uv never ran
    _clean(project, original)


def test_unwritable_folder_leaves_the_lock_alone(
    project: Path, tmp_path: Path, standin: Path
) -> None:
    original = (project / "uv.lock").read_bytes()
    if shutil.which("chattr") is None:
        pytest.skip("chattr is not available")
    locked = subprocess.run(["chattr", "+i", str(project)], capture_output=True)
    if locked.returncode != 0:
        pytest.skip(f"cannot make the folder immutable here: {locked.stderr.decode().strip()}")
    try:
        state = _state(tmp_path)
        result = _run(project, _env(tmp_path, state, standin), "sync", "--no-pip-cache")
    finally:
        subprocess.run(["chattr", "-i", str(project)], check=True)
    assert result.returncode == 3, result.stderr
    assert "Operation not permitted" in result.stderr or "Permission denied" in result.stderr
    assert not (state / "ready").exists()
    _clean(project, original)


def test_git_status_is_clean_after_a_run(project: Path, standin: Path, tmp_path: Path) -> None:
    if shutil.which("git") is None:
        pytest.skip("git is not available")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.org"]
    subprocess.run([*git, "init", "-q"], cwd=project, check=True)
    subprocess.run([*git, "add", "-A"], cwd=project, check=True)
    subprocess.run([*git, "commit", "-qm", "init"], cwd=project, check=True)
    state = _state(tmp_path)
    result = _run(project, _env(tmp_path, state, standin, STANDIN_SLEEP="0"), "sync")
    assert result.returncode == 0, result.stderr
    status = subprocess.run(
        ["git", "status", "--porcelain", "--ignored"], cwd=project, capture_output=True, text=True
    )
    # The example ignores its wheelhouse index; nothing else may appear.
    assert [line for line in status.stdout.splitlines() if "lockshim-index" not in line] == []


def test_nothing_served_leaves_the_lock_alone(project: Path, standin: Path, tmp_path: Path) -> None:
    original = (project / "uv.lock").read_bytes()
    empty = tmp_path / "empty"
    empty.mkdir()
    state = _state(tmp_path)
    env = _env(tmp_path, state, standin, STANDIN_SLEEP="0")
    result = _run(project, env, "sync", "--no-pip-cache", "-w", str(empty))
    assert result.returncode == 0, result.stderr
    assert "served from local files: 0 of the lock" in result.stderr
    assert (state / "seen.lock").read_bytes() == original  # uv got the lock as it is
    assert not (state / "journal-seen").exists()  # and nothing was written to get there
    _clean(project, original)


def _journal_for(lock: Path, original: bytes, shimmed: bytes) -> None:
    """What a run killed while uv ran leaves: the journal, and ``lock`` holding ``shimmed``."""
    from lockshim.shim.journal import atomic_write, write_journal

    atomic_write(lock, original, 0o644)
    write_journal(lock, original, shimmed, 0o644, None)
    atomic_write(lock, shimmed, 0o644)


def test_restore_finds_script_locks_and_deleted_locks(project: Path, tmp_path: Path) -> None:
    """After a crash: a script lock left shimmed, and a uv.lock deleted since, both come back."""
    original = (project / "uv.lock").read_bytes()
    script_lock = project / "tool.py.lock"
    _journal_for(script_lock, b"# the script's own lock\n", b"# shimmed script lock\n")
    _journal_for(project / "uv.lock", original, b"# shimmed\n")
    (project / "uv.lock").unlink()  # deleted by hand after the crash
    (project / "sub").mkdir()

    result = _run(project / "sub", clean_env(tmp_path), "restore")
    assert result.returncode == 0, result.stderr
    assert script_lock.read_bytes() == b"# the script's own lock\n"
    assert "tool.py.lock" in result.stderr and "uv.lock to its original" in result.stderr
    _clean(project, original)
    assert not (project / ".tool.py.lock.lockshim-journal").exists()


def test_ctrl_c_while_a_big_file_is_hashed_stops_at_once(tmp_path: Path) -> None:
    """A lock from a mirror pins no sizes, so a file named like an artifact is hashed whatever
    its size: here 256 GiB (sparse), minutes of reading. One Ctrl-C ends the run promptly,
    not when the hash is done."""
    import re

    example = Path(__file__).parent.parent / "fixtures" / "example"
    project = Path(
        shutil.copytree(
            example, tmp_path / "mirror", ignore=shutil.ignore_patterns(".venv", "wheelhouse")
        )
    )
    lock = project / "uv.lock"
    lock.write_text(re.sub(r", size = \d+, upload-time = \"[^\"]*\"", "", lock.read_text()))
    assert "size = " not in lock.read_text()
    big = tmp_path / "wheels" / "click-8.5.1-py3-none-any.whl"
    big.parent.mkdir()
    with open(big, "wb") as stream:
        stream.truncate(256 << 30)
    process = subprocess.Popen(
        [sys.executable, "-m", "lockshim", "plan", "--no-pip-cache", "-w", str(big.parent)],
        cwd=project,
        env=clean_env(tmp_path),
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    time.sleep(2)  # well into the hash (or still starting: either way one Ctrl-C must do)
    assert process.poll() is None, process.communicate()[1]
    started = time.monotonic()
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert time.monotonic() - started < 10, "waited for the hash to finish"
