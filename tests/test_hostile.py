"""Hostile input against the real CLI: a repository, a lock, a shared folder or a server must
never make lockshim delete, write or send what it should not.

Each test plants what an attacker could (a journal, a lock, files in a wheelhouse, a hash index,
a redirecting server) and checks that nothing outside lockshim's own files changed, that uv.lock
is byte for byte as it was, and that the message names what was refused.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from support import index_entries, make_project, sha256_of, uv_lock
from support.projects import clean_env, git, lockshim

from lockshim.filenames import unsafe
from lockshim.sources.credentials import Credentials
from lockshim.sources.download import _Refused, follow

JOURNAL = ".uv.lock.lockshim-journal"


def _journal(project: Path, original: bytes, shimmed: bytes, **fields: object) -> Path:
    header = {
        "format": 1,
        "lock": "uv.lock",
        "original_sha256": hashlib.sha256(original).hexdigest(),
        "shimmed_sha256": hashlib.sha256(shimmed).hexdigest(),
        "mode": 0o644,
        "staging": None,
        "pid": 1,
        **fields,
    }
    path = project / JOURNAL
    path.write_bytes(json.dumps(header).encode() + b"\n" + original)
    return path


def _victim(tmp_path: Path) -> Path:
    victim = tmp_path / "victim"
    (victim / "deep").mkdir(parents=True)
    (victim / "deep" / "precious.txt").write_text("keep me")
    return victim


# --- journals -------------------------------------------------------------------------------------


@pytest.mark.parametrize("command", [["restore"], ["plan", "--no-pip-cache"]])
def test_a_journal_naming_any_folder_removes_nothing(
    project: Path, tmp_path: Path, command: list[str]
) -> None:
    lock = (project / "uv.lock").read_bytes()
    victim = _victim(tmp_path)
    env = clean_env(tmp_path)
    # Named like lockshim's own staging and inside its cache, but without lockshim's marker:
    lookalike = Path(env["LOCKSHIM_CACHE_DIR"]) / "staging" / "lockshim-staging-abcdef12"
    (lookalike / "sub").mkdir(parents=True)
    for staging in (victim, lookalike):
        _journal(project, lock, b"shimmed", staging=str(staging), staging_token="00")
        result = lockshim(command, project, env)
        assert "left alone" in result.stderr, result.stderr
        assert str(staging) in result.stderr
        assert not (project / JOURNAL).exists()  # the restore itself was finished
    assert (victim / "deep" / "precious.txt").read_text() == "keep me"
    assert (lookalike / "sub").is_dir()
    assert (project / "uv.lock").read_bytes() == lock


def test_a_journal_that_came_with_the_repository_is_not_acted_on(
    project: Path, tmp_path: Path
) -> None:
    lock = (project / "uv.lock").read_bytes()
    env = clean_env(tmp_path)
    _journal(project, b"version = 1\n# what the attacker wants in uv.lock\n", lock)
    git(project, "init", "-q")
    git(project, "add", "-A")
    git(project, "commit", "-qm", "a repository with a planted journal")

    for command in (["plan", "--no-pip-cache"], ["sync", "--no-pip-cache"], ["restore"]):
        result = lockshim(command, project, env)
        assert result.returncode == 3, result.stderr
        assert JOURNAL in result.stderr and "tracked by git" in result.stderr
        assert "--force" in result.stderr
        assert (project / "uv.lock").read_bytes() == lock

    check = lockshim(["check"], project, env)
    assert check.returncode == 1 and "foreign-journal" not in check.stderr
    assert "tracked by git" in check.stdout and f"git rm --cached {JOURNAL}" in check.stdout

    forced = lockshim(["restore", "--force"], project, env)  # the owner's decision, explicitly
    assert forced.returncode == 0, forced.stderr
    assert b"what the attacker wants" in (project / "uv.lock").read_bytes()


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"mode": "0644"}, "mode is not a permission mode"),
        ({"mode": True}, "mode is not a permission mode"),
        ({"staging": ["/"]}, "staging is not a string"),
        ({"original_sha256": "../../etc"}, "original_sha256 is not a sha256"),
        ({"pid": "1; rm -rf /"}, "pid is not a number"),
        ({"staging": "/x\u0000y"}, "staging is not a string"),
    ],
)
def test_tampered_journal_fields_are_refused(
    project: Path, tmp_path: Path, fields: dict[str, object], expected: str
) -> None:
    lock = (project / "uv.lock").read_bytes()
    _journal(project, lock, b"shimmed", **fields)
    result = lockshim(["restore"], project, clean_env(tmp_path))
    assert result.returncode == 3 and expected in result.stderr, result.stderr
    assert (project / "uv.lock").read_bytes() == lock
    assert (project / JOURNAL).exists()  # kept for the user to look at


def test_journal_mode_gives_permission_bits_only(project: Path, tmp_path: Path) -> None:
    lock = (project / "uv.lock").read_bytes()
    (project / "uv.lock").write_bytes(b"shimmed")
    _journal(project, lock, b"shimmed", mode=0o4777)
    result = lockshim(["restore"], project, clean_env(tmp_path))
    assert result.returncode == 0, result.stderr
    assert (project / "uv.lock").read_bytes() == lock
    assert (project / "uv.lock").stat().st_mode & 0o7777 == 0o777


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_fifo_journal_does_not_hang(project: Path, tmp_path: Path) -> None:
    os.mkfifo(project / JOURNAL)
    result = subprocess.run(
        [sys.executable, "-m", "lockshim", "restore"],
        cwd=project,
        env=clean_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 3 and "not a regular file" in result.stderr, result.stderr


# --- locks ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["..%2F..%2Fescaped.whl", "..%5C..%5Cescaped.whl", "C%3Aescaped.whl", "esc%00aped.whl"]
)
def test_artifact_names_that_are_not_plain_are_refused(
    project: Path, wheelhouse: Path, tmp_path: Path, name: str
) -> None:
    lock_path = project / "uv.lock"
    text = lock_path.read_text()
    before = text.count("/alpha-1.0-py3-none-any.whl")
    assert before >= 1
    text = text.replace("/alpha-1.0-py3-none-any.whl", "/" + name)
    lock_path.write_text(text)
    env = clean_env(tmp_path)
    # the file's bytes match the pinned sha256, under another name: it must be staged by name
    result = lockshim(["sync", "--no-pip-cache", "-w", str(wheelhouse)], project, env)
    assert result.returncode == 3, result.stderr
    assert "alpha 1.0" in result.stderr and "not a plain file name" in result.stderr
    assert lock_path.read_text() == text
    assert not list(tmp_path.rglob("escaped.whl")) and not list(tmp_path.rglob("*aped.whl"))
    assert not (project / JOURNAL).exists()


def test_plain_names() -> None:
    assert unsafe("numpy-2.4.6-cp311-cp311-manylinux_2_17_x86_64.whl") is None
    for bad in ("", ".", "..", "a/b.whl", "a\\b.whl", "c:x.whl", "a\x00.whl", "a\n.whl", "x" * 300):
        assert unsafe(bad) is not None, bad


# --- wheelhouses and hash indexes -----------------------------------------------------------------


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs or symlinks here")
def test_symlinks_out_loops_and_fifos_in_a_wheelhouse(
    project: Path, wheelhouse: Path, tmp_path: Path
) -> None:
    secret = tmp_path / "outside" / "secret.whl"
    secret.parent.mkdir()
    secret.write_bytes(b"not for lockshim")
    (wheelhouse / "out.whl").symlink_to(secret)
    (wheelhouse / "loop").symlink_to(wheelhouse, target_is_directory=True)
    (wheelhouse / "sub").mkdir()
    (wheelhouse / "sub" / "back").symlink_to("..", target_is_directory=True)
    (wheelhouse / "dangling.whl").symlink_to(tmp_path / "nowhere")
    os.mkfifo(wheelhouse / "pipe.whl")
    result = subprocess.run(
        [sys.executable, "-m", "lockshim", "plan", "--no-pip-cache", "-w", str(wheelhouse)],
        cwd=project,
        env=clean_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr  # every locked file is still served
    lines = result.stderr.splitlines()
    assert any("out.whl" in line and "out of the wheelhouse" in line for line in lines)
    assert any("pipe.whl" in line and "not a regular file" in line for line in lines)
    assert any("dangling.whl" in line and "cannot be read" in line for line in lines)
    assert "served   alpha 1.0" in result.stdout
    assert not any(name.startswith(("loop/", "sub/back")) for name in index_entries(wheelhouse))


def test_a_poisoned_index_never_gets_wrong_bytes_installed_as_a_path_source(
    project: Path, wheelhouse: Path, tmp_path: Path
) -> None:
    """uv checks no hash for a path source: lockshim verifies the copy it hands over."""
    lock = (project / "uv.lock").read_bytes()
    wheel = wheelhouse / "direct-1.0-py3-none-any.whl"
    pinned = sha256_of(wheel)
    wheel.write_bytes(bytes(b ^ 0xFF for b in wheel.read_bytes()))  # same size, other bytes
    info = wheel.stat()
    index = {
        "format": 1,
        "files": {wheel.name: [info.st_size, info.st_mtime_ns, info.st_ino, pinned]},
    }
    (wheelhouse / ".lockshim-index.json").write_text(json.dumps(index))
    env = clean_env(tmp_path)
    result = lockshim(["sync", "--no-pip-cache", "-w", str(wheelhouse)], project, env)
    assert result.returncode == 3, result.stderr
    assert "direct 1.0" in result.stderr and "changed after they were checked" in result.stderr
    assert (project / "uv.lock").read_bytes() == lock
    assert not (project / JOURNAL).exists()
    staging = Path(env["LOCKSHIM_CACHE_DIR"]) / "staging"
    assert not staging.exists() or not any(staging.iterdir())  # nothing left behind


# --- servers --------------------------------------------------------------------------------------


def test_index_credentials_stay_with_their_origin() -> None:
    creds = Credentials({"https://pypi.example.com/simple": ("lab", "pw")}, use_netrc=False)
    assert creds.header_for("https://pypi.example.com/files/a.whl") is not None
    for other in (
        "https://pypi.example.com.evil.org/simple/a.whl",
        "http://pypi.example.com/simple/a.whl",
        "https://pypi.example.com:8443/simple/a.whl",
        "https://evil.org/https://pypi.example.com/simple/",
    ):
        assert creds.header_for(other) is None, other
    two = Credentials(
        {"https://h.example/a/simple": ("a", "1"), "https://h.example/b/simple/": ("b", "2")},
        use_netrc=False,
    )
    assert two.header_for("https://h.example/b/simple/x/") == "Basic Yjoy"  # "b:2"


def test_redirects_are_judged() -> None:
    start = "https://index.example/files/a.whl"
    assert follow(start, start, "/other/a.whl").same_origin
    assert not follow(start, start, "https://bucket.s3.example/a.whl?sig=1").same_origin
    for bad in ("http://index.example/files/a.whl", "file:///etc/passwd", "ftp://x/a.whl"):
        with pytest.raises(_Refused):
            follow(start, start, bad)


def test_build_requirements_never_come_from_a_folder_others_can_write(
    project: Path, wheelhouse: Path, tmp_path: Path
) -> None:
    """Nothing pins a build requirement: a backend planted where others can write (a shared
    wheelhouse, a world-writable pip cache) would run. Such a folder serves only what uv.lock
    pins by sha256; it is named, never passed to uv as --find-links, and builds take their
    wheels from folders only the user can write."""
    from support.projects import build_backend_wheel

    env = clean_env(tmp_path)
    mine = lockshim(["sync", "--no-pip-cache", "-w", str(wheelhouse)], project, env)
    assert mine.returncode == 0, mine.stderr
    assert "can be written by others" not in mine.stderr

    private = tmp_path / "builds"
    private.mkdir()
    (wheelhouse / "minibackend-1.0-py3-none-any.whl").rename(
        private / "minibackend-1.0-py3-none-any.whl"
    )
    planted = build_backend_wheel(tmp_path / "planted", version="9.0")
    shutil.copy(planted, wheelhouse)
    cache = tmp_path / "pip cache"
    body = cache / "http-v2" / "a" / "b" / "c" / "d" / "e" / "0123456789abcdef.body"
    body.parent.mkdir(parents=True)
    body.write_bytes(planted.read_bytes())
    for folder in (wheelhouse, cache, *[p for p in cache.rglob("*") if p.is_dir()]):
        folder.chmod(0o777)

    args = ["--pip-cache", str(cache), "-w", str(wheelhouse), "-w", str(private)]
    plan = lockshim(["plan", "--json", *args], project, env)
    build = json.loads(plan.stdout)["build"]
    assert [row["filename"] for row in build["served"]] == ["minibackend-1.0-py3-none-any.whl"] * 2
    assert {row["path"] for row in build["served"]} == {
        str(private / build["served"][0]["filename"])
    }

    shared = lockshim(["sync", *args], project, env)
    assert shared.returncode == 0, shared.stderr
    assert f"{wheelhouse} can be written by others" in shared.stderr
    assert f"pip's cache ({cache}) can be written by others" in shared.stderr


# --- bundles and build records ------------------------------------------------------------------


def test_a_crafted_bundle_offers_only_plain_listed_stored_members(
    project: Path, tmp_path: Path
) -> None:
    import zipfile

    payload = b"not a wheel at all"
    digest = hashlib.sha256(payload).hexdigest()
    bundle = tmp_path / "crafted.zip"
    names = ["files/../escaped.whl", "files/unlisted.whl", "files/zipped.whl"]
    with zipfile.ZipFile(bundle, "w") as archive:
        archive.writestr("files/../escaped.whl", payload)
        archive.writestr("files/unlisted.whl", payload)
        archive.writestr("files/zipped.whl", payload, compress_type=zipfile.ZIP_DEFLATED)
        listed = {n: {"sha256": digest, "size": len(payload)} for n in names if "unlisted" not in n}
        manifest = {"format": 1, "lock_sha256": "0" * 64, "files": listed}
        archive.writestr("lockshim-manifest.json", json.dumps(manifest))
    result = lockshim(["plan", "--no-pip-cache", "-w", str(bundle)], project, clean_env(tmp_path))
    assert result.returncode == 1  # nothing served from it: the plan misses the lock's files
    assert "not a plain file name" in result.stderr
    assert "not in the bundle's manifest" in result.stderr
    assert "compressed" in result.stderr
    assert not list(tmp_path.rglob("escaped.whl"))


def test_a_build_record_others_can_write_is_not_trusted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """lockshim's own record, in a cache folder others can write (a shared
    LOCKSHIM_CACHE_DIR), or replaced by a symlink, is not believed."""
    from lockshim.sources.built import read_provenance, record_built, record_path

    monkeypatch.setenv("LOCKSHIM_CACHE_DIR", str(tmp_path / "cache"))
    folder = tmp_path / "wheels"
    folder.mkdir()
    wheel = folder / "gamma-1.0-py3-none-any.whl"
    wheel.write_bytes(b"wheel")
    record_built(folder, wheel, "gamma-1.0.tar.gz", "b" * 64, "python3")
    assert set(read_provenance(folder)) == {"b" * 64}
    record = record_path(folder)
    record.parent.chmod(0o777)  # anyone could have put the record there
    assert read_provenance(folder) == {}
    record.parent.chmod(0o700)
    moved = record.rename(tmp_path / "elsewhere.json")
    record.symlink_to(moved)  # a link to a file of the user's that holds the right bytes
    assert read_provenance(folder) == {}


# --- more of what a cloned repository can carry ------------------------------------------------


def test_a_symlinked_lock_is_never_replaced_by_a_file(
    project: Path, wheelhouse: Path, tmp_path: Path
) -> None:
    real = tmp_path / "elsewhere.lock"
    (project / "uv.lock").replace(real)
    (project / "uv.lock").symlink_to(real)
    before = real.read_bytes()
    result = lockshim(
        ["sync", "--no-pip-cache", "-w", str(wheelhouse)], project, clean_env(tmp_path)
    )
    assert result.returncode == 3 and "is a symlink" in result.stderr, result.stderr
    assert (project / "uv.lock").is_symlink() and real.read_bytes() == before


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs root")
def test_a_root_run_keeps_the_locks_owner(project: Path, wheelhouse: Path, tmp_path: Path) -> None:
    lock = project / "uv.lock"
    os.chown(lock, 65534, 65534)
    result = lockshim(
        ["sync", "--no-pip-cache", "-w", str(wheelhouse)], project, clean_env(tmp_path)
    )
    assert result.returncode == 0, result.stderr
    assert (lock.stat().st_uid, lock.stat().st_gid) == (65534, 65534)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_fifo_index_or_a_dev_zero_journal_does_not_hang(
    project: Path, wheelhouse: Path, tmp_path: Path
) -> None:
    os.mkfifo(wheelhouse / ".lockshim-index.json")
    command = [sys.executable, "-m", "lockshim", "plan", "--no-pip-cache", "-w", str(wheelhouse)]
    env = clean_env(tmp_path)
    result = subprocess.run(
        command, cwd=project, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    (project / JOURNAL).symlink_to("/dev/zero")
    restore = subprocess.run(
        [sys.executable, "-m", "lockshim", "restore"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert restore.returncode == 3 and JOURNAL in restore.stderr, restore.stderr


def test_a_cloned_pyproject_cannot_make_lockshim_read_the_whole_disk(
    project: Path, tmp_path: Path
) -> None:
    with open(project / "pyproject.toml", "a", encoding="utf-8") as stream:
        stream.write('\n[tool.lockshim]\nwheelhouses = ["/"]\n')
    result = lockshim(["plan", "--no-pip-cache"], project, clean_env(tmp_path))
    assert result.returncode == 2 and "whole file system" in result.stderr, result.stderr
    empty = lockshim(["sync", "--wheelhouse="], project, clean_env(tmp_path))
    assert empty.returncode == 2 and "empty folder name" in empty.stderr


def test_a_build_record_beside_the_wheels_is_never_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lockshim.sources.built import PROVENANCE, read_provenance, record_built

    monkeypatch.setenv("LOCKSHIM_CACHE_DIR", str(tmp_path / "cache"))
    folder = tmp_path / "wheels"
    folder.mkdir()
    planted = {
        "sha256": "a" * 64,
        "size": 1,
        "sdist": "x.tar.gz",
        "sdist_digest": "sha256:" + "b" * 64,
    }
    (folder / PROVENANCE).write_text(json.dumps({"format": 1, "wheels": {"evil.whl": planted}}))
    assert read_provenance(folder) == {}  # yours, 0644, in a closed folder: still not believed
    ours = folder / "gamma-1.0-py3-none-any.whl"
    ours.write_bytes(b"wheel")
    record_built(folder, ours, "gamma-1.0.tar.gz", "c" * 64, "python3")
    assert set(read_provenance(folder)) == {"c" * 64}  # the planted entry never joins it


def test_fetch_makes_its_destination_private_to_writes_under_umask_002(tmp_path: Path) -> None:
    # a lock with nothing to download: the folder is made all the same, and made private
    project = make_project(tmp_path / "project", "app", [], build_backend=None)
    env = clean_env(tmp_path)
    uv_lock(project, None, env)
    old = os.umask(0o002)
    try:
        result = lockshim(["fetch", "--dest", str(tmp_path / "dest")], project, env)
    finally:
        os.umask(old)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "dest").stat().st_mode & 0o777 == 0o755


def test_built_wheels_are_not_claimed_for_a_lock_read_the_slow_way(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The tomlkit path does not add wheels, so sync must not say it installed one."""
    monkeypatch.setenv("LOCKSHIM_CACHE_DIR", str(tmp_path / "cache"))
    from lockshim.lockfile.read import parse_lock
    from lockshim.sources.built import record_built, served_built
    from lockshim.sources.local import Found
    from lockshim.sources.match import match
    from lockshim.sources.wheelhouse import Wheelhouse

    folder = tmp_path / "wheels"
    folder.mkdir()
    sdist = folder / "gamma-1.0.tar.gz"
    sdist.write_bytes(b"an sdist")
    wheel = folder / "gamma-1.0-py3-none-any.whl"
    wheel.write_bytes(b"a wheel")
    sha = hashlib.sha256(sdist.read_bytes()).hexdigest()
    record_built(folder, wheel, sdist.name, f"sha256:{sha}", "python3")
    source = Wheelhouse(folder, lambda path, reason: None)
    files = source.scan()
    claims = {}
    for quote in ('"', "'"):  # uv's layout (the fast path), then a hand-edited one
        text = (
            'version = 1\nrevision = 3\nrequires-python = ">=3.9"\n\n[[package]]\n'
            f"name = {quote}gamma{quote}\nversion = {quote}1.0{quote}\n"
            'source = { registry = "https://pypi.org/simple" }\n'
            f'sdist = {{ url = "https://files.example/gamma-1.0.tar.gz", hash = "sha256:{sha}", '
            f"size = {sdist.stat().st_size} }}\n"
        )
        lock = parse_lock(text.encode(), tmp_path / "uv.lock")
        result = match(lock, files)
        assert [s.package.name for s in result.served] == ["gamma"]
        found = Found(None, lock, text.encode(), (source,), (len(files),), result, (), tuple(files))  # type: ignore[arg-type]
        claims[lock.fast] = served_built(found)
    assert set(claims[True]) == {0} and claims[False] == {}


def _duplicated_bundle(project: Path, wheelhouse: Path, tmp_path: Path) -> tuple[Path, str]:
    """A real bundle of the project, then a second member under the name of one of its wheels,
    with other bytes, placed first: zip readers take either."""
    import zipfile

    good = tmp_path / "good.zip"
    made = lockshim(
        ["bundle", "-o", str(good), "--no-pip-cache", "-w", str(wheelhouse)],
        project,
        clean_env(tmp_path / "make"),
    )
    assert made.returncode == 0, made.stderr
    crafted = tmp_path / "twice.zip"
    name = "files/alpha-1.0-py3-none-any.whl"
    with zipfile.ZipFile(good) as source, zipfile.ZipFile(crafted, "w") as target:
        real = source.read(name)
        target.writestr(name, bytes(b ^ 0xFF for b in real))
        with pytest.warns(UserWarning, match="Duplicate name"):
            for info in source.infolist():
                target.writestr(info, source.read(info))
    return crafted, name


def test_a_bundle_with_a_member_name_twice_serves_neither(
    project: Path, wheelhouse: Path, tmp_path: Path
) -> None:
    bundle, name = _duplicated_bundle(project, wheelhouse, tmp_path)
    verified = lockshim(["bundle", "--verify", str(bundle)], project, clean_env(tmp_path))
    assert verified.returncode == 1, verified.stdout + verified.stderr
    assert f"{name}: the bundle holds two members of that name" in (
        verified.stdout + verified.stderr
    )
    for _ in range(2):  # the second run reads the hash index the first one wrote
        result = lockshim(
            ["plan", "--no-pip-cache", "-w", str(bundle)], project, clean_env(tmp_path)
        )
        assert f"{bundle}:{name}: the bundle holds two members of that name" in result.stderr
        assert "MISSING  alpha 1.0" in result.stdout


def test_a_bundle_whose_manifest_is_a_compression_bomb_is_refused_unread(
    project: Path, tmp_path: Path
) -> None:
    """A manifest of 1 GiB deflated into 1 MB is refused by what the directory says, before
    a byte of it is inflated."""
    import zipfile

    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w") as archive:
        info = zipfile.ZipInfo("lockshim-manifest.json")
        info.compress_type = zipfile.ZIP_DEFLATED
        with archive.open(info, "w", force_zip64=True) as stream:
            chunk = b" " * (16 << 20)
            for _ in range(64):
                stream.write(chunk)
    assert bomb.stat().st_size < 4 << 20
    env = clean_env(tmp_path)
    for command in (
        ["plan", "--no-pip-cache", "-w", str(bomb)],
        ["bundle", "--verify", str(bomb)],
        ["check", str(bomb)],
    ):
        result = lockshim(command, project, env)
        assert result.returncode in (2, 3), (command, result.stderr)
        assert (
            "lockshim-manifest.json is compressed or larger than" in result.stdout + result.stderr
        )
        assert "MemoryError" not in result.stderr
