"""One signed file that carries the project too (`bundle --with-project --sign`): checked with
ssh-keygen alone and with `bundle --verify --allowed-signers`, then installed on a bare Python
into an empty folder, with no network (real uv, real git, real ssh-keygen)."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
from support import build_wheel, can_unshare_net, uv_lock
from support.projects import clean_env, git, lockshim, serving
from support.uvenv import make_project
from support.wheelhouse import wheels_into
from support.wheels import uv_wheel

from lockshim.errors import LockshimError
from lockshim.sources.bundletree import plain_member, unpack

pytestmark = pytest.mark.skipif(shutil.which("ssh-keygen") is None, reason="needs ssh-keygen")

IDENTITY = "release@example.com"


def _key(folder: Path) -> tuple[Path, Path]:
    """A fresh ed25519 key (no passphrase) and an allowed_signers file naming it."""
    folder.mkdir(parents=True, exist_ok=True)
    key = folder / "id_ed25519"
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", IDENTITY, "-f", str(key)],
        check=True,
    )
    public = (folder / "id_ed25519.pub").read_text().split()
    allowed = folder / "allowed_signers"
    allowed.write_text(f'{IDENTITY} namespaces="lockshim-bundle" {public[0]} {public[1]}\n')
    return key, allowed


def _repository(hatchling_wheelhouse: Path, tmp_path: Path) -> tuple[Path, Path]:
    """A git repository holding the app in a subfolder and a library it takes by path from
    beside it (both built by hatchling), a test of its own, a file git ignores and one it does
    not track; locked by real uv. (repository, registry)"""
    registry = wheels_into(tmp_path / "registry", hatchling_wheelhouse)
    build_wheel(registry, "alpha", "1.0")
    build_wheel(registry, "beta", "1.0")
    repo = tmp_path / "repo"
    make_project(repo / "libs" / "helper", "helper")
    app = make_project(
        repo / "apps" / "app",
        "app",
        ["alpha", "helper"],
        extras={"x": ["beta"]},
        sources={"helper": {"path": "../../libs/helper"}},
    )
    (app / "tests").mkdir()
    (app / "tests" / "test_app.py").write_text(
        "import app, alpha, helper\nassert app.__version__ == '0.1.0'\nprint('tests pass')\n"
    )
    (app / "run.sh").write_text("#!/bin/sh\necho run\n")
    (app / "run.sh").chmod(0o755)
    (repo / ".gitignore").write_text(".venv/\n*.log\n")
    with serving(registry) as index:
        uv_lock(app, index, clean_env(tmp_path / "lock"))
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "app")
    (app / "debug.log").write_text("ignored by git\n")
    (app / "notes.txt").write_text("not tracked\n")
    return repo, registry


def _far_python() -> Path:
    """The machine's own bare Python (not this test's venv): /usr/bin/python3 where it is."""
    system = Path("/usr/bin/python3")
    ran = (
        subprocess.run(
            [str(system), "-c", "import sys; print(sys.version_info[:2])"],
            capture_output=True,
            text=True,
        )
        if system.exists()
        else None
    )
    if ran is not None and ran.stdout.strip() == str(sys.version_info[:2]):
        return system
    return Path(sys.base_prefix) / "bin" / "python3"


def _far_side(
    python: Path, bundle: Path, cwd: Path, home: Path, *args: str
) -> subprocess.CompletedProcess[str]:
    """`env -i` with only PATH and HOME, `python -I -S BUNDLE ARGS`, no network where unshare -n
    works."""
    command = ["env", "-i", "PATH=/usr/bin:/bin", f"HOME={home}", f"UV_PYTHON={python}"]
    command += [str(python), "-I", "-S", str(bundle), *args]
    if can_unshare_net():
        command = ["unshare", "-n", *command]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True)


def test_a_signed_bundle_with_the_project_installs_into_an_empty_folder(
    hatchling_wheelhouse: Path, tmp_path: Path
) -> None:
    repo, registry = _repository(hatchling_wheelhouse, tmp_path)
    app = repo / "apps" / "app"
    uv_wheel(registry)
    key, allowed = _key(tmp_path / "keys")
    bundle = tmp_path / "out" / "app.pyz"
    made = lockshim(
        [
            *("bundle", "-o", str(bundle), "--self-contained", "--with-project"),
            *("--sign", str(key), "--no-pip-cache", "-w", str(registry), "--json"),
            *("--", "--all-extras"),
        ],
        app,
        clean_env(tmp_path / "bundle-env"),
    )
    assert made.returncode == 0, made.stderr
    report = json.loads(made.stdout)
    signature = Path(report["signature"])
    assert signature == bundle.with_name("app.pyz.sig") and signature.is_file()
    with zipfile.ZipFile(bundle) as archive:
        tree = {n for n in archive.namelist() if n.startswith("tree/")}
        manifest = json.loads(archive.read("lockshim-manifest.json"))
    assert manifest["tree"] == {"project": "apps/app"}
    assert "tree/apps/app/tests/test_app.py" in tree and "tree/libs/helper/pyproject.toml" in tree
    assert "tree/apps/app/uv.lock" in tree and "tree/.gitignore" not in tree  # outside both
    assert not {n for n in tree if n.endswith(("notes.txt", "debug.log")) or "/.git/" in n}
    assert report["project_files"] == len(tree)

    # checked with OpenSSH alone, as README shows, and with lockshim
    def ssh_verify(path: Path) -> int:
        with open(path, "rb") as data:
            return subprocess.run(
                [
                    *("ssh-keygen", "-Y", "verify", "-f", str(allowed), "-I", IDENTITY),
                    *("-n", "lockshim-bundle", "-s", str(signature)),
                ],
                stdin=data,
                capture_output=True,
            ).returncode

    assert ssh_verify(bundle) == 0
    verified = lockshim(
        ["bundle", "--verify", str(bundle), "--allowed-signers", str(allowed)],
        tmp_path,
        clean_env(tmp_path / "v"),
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert f"signature: good, by {IDENTITY}" in verified.stdout

    # one byte changed anywhere fails both (a copy beside the same signature): in a member's
    # bytes, and in the zip's own structure (a member's name in its local header)
    with zipfile.ZipFile(bundle) as archive:
        member = archive.getinfo("tree/apps/app/tests/test_app.py")
    start = member.header_offset + 30 + len(member.filename.encode()) + len(member.extra)
    for where, at in (("data", start + 2), ("header", member.header_offset + 40)):
        changed = tmp_path / f"changed-{where}" / "app.pyz"
        changed.parent.mkdir()
        data = bytearray(bundle.read_bytes())
        data[at] ^= 0x01
        changed.write_bytes(bytes(data))
        shutil.copy(signature, changed.with_name("app.pyz.sig"))
        assert ssh_verify(changed) != 0, where
        refused = lockshim(
            ["bundle", "--verify", str(changed), "--allowed-signers", str(allowed)],
            tmp_path,
            clean_env(tmp_path / f"v-{where}"),
        )
        assert refused.returncode == 1, (where, refused.stdout, refused.stderr)
        assert "signature: BAD" in refused.stdout and "damaged" in refused.stdout, where
    unsigned = lockshim(
        ["bundle", "--verify", str(tmp_path / "changed-data" / "app.pyz")],
        tmp_path,
        clean_env(tmp_path / "v3"),
    )
    assert unsigned.returncode == 1 and "tree/apps/app/tests/test_app.py" in unsigned.stdout

    # the far side: the bundle and a bare Python in an empty folder, nothing else
    far = tmp_path / "far"
    far.mkdir()
    shutil.copy(bundle, far / "app.pyz")
    python = _far_python()
    home = tmp_path / "far-home"
    installed = _far_side(
        python, far / "app.pyz", far, home, "sync", "--into", "proj", "--", "--all-extras"
    )
    assert installed.returncode == 0, installed.stderr
    project = far / "proj" / "apps" / "app"
    ran = subprocess.run(
        [str(project / ".venv" / "bin" / "python"), "tests/test_app.py"],
        cwd=project,
        capture_output=True,
        text=True,
    )
    assert ran.stdout.strip() == "tests pass", ran.stderr
    assert (project / "run.sh").stat().st_mode & 0o111
    assert not (far / "proj" / ".git").exists() and not (project / "notes.txt").exists()
    assert (project / "uv.lock").read_bytes() == (app / "uv.lock").read_bytes()
    again = _far_side(
        python, far / "app.pyz", far, home, "sync", "--into", "proj", "--", "--all-extras"
    )
    assert again.returncode == 0, again.stderr  # the folder holds this very project: used as it is

    other = far / "other"
    other.mkdir()
    (other / "mine.txt").write_text("someone's file\n")
    kept = _far_side(
        python, far / "app.pyz", far, home, "sync", "--into", "other", "--", "--all-extras"
    )
    assert kept.returncode != 0 and "holds other files" in kept.stderr
    assert sorted(p.name for p in other.iterdir()) == ["mine.txt"]

    lost = _far_side(python, far / "app.pyz", far, home, "sync", "--", "--all-extras")
    assert lost.returncode != 0
    assert "--into DIR" in lost.stderr and "--with-project" in lost.stderr


def test_a_path_source_outside_the_repository_is_refused_by_name(
    hatchling_wheelhouse: Path, tmp_path: Path
) -> None:
    registry = wheels_into(tmp_path / "registry", hatchling_wheelhouse)
    build_wheel(registry, "alpha", "1.0")
    make_project(tmp_path / "elsewhere" / "shared", "shared")
    repo = tmp_path / "repo"
    make_project(
        repo, "app", ["alpha", "shared"], sources={"shared": {"path": "../elsewhere/shared"}}
    )
    with serving(registry) as index:
        uv_lock(repo, index, clean_env(tmp_path / "lock"))
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "app")
    bundle = tmp_path / "app.zip"
    made = lockshim(
        ["bundle", "-o", str(bundle), "--with-project", "--no-pip-cache", "-w", str(registry)],
        repo,
        clean_env(tmp_path / "bundle-env"),
    )
    assert made.returncode != 0
    assert "shared 0.1.0" in made.stderr and "../elsewhere/shared" in made.stderr
    assert "outside the repository" in made.stderr
    assert not bundle.exists()


@pytest.mark.parametrize(
    "name",
    ["tree/../evil", "tree//etc/passwd", "tree/a/../../b", "tree/C:/x", "tree/a\\b", "tree/"],
)
def test_a_tree_member_that_is_not_a_plain_relative_path_is_refused(name: str) -> None:
    assert plain_member(name) is None


def test_a_hostile_tree_member_writes_nothing(tmp_path: Path) -> None:
    """A member named to leave the folder is refused before anything is written, even with a
    manifest digest that matches it."""
    bundle = tmp_path / "hostile.zip"
    payload = b"planted\n"
    code = {}
    with zipfile.ZipFile(bundle, "w") as archive:
        for name in ("tree/app/pyproject.toml", "tree/../outside.txt"):
            archive.writestr(name, payload)
            code[name] = (hashlib.sha256(payload).hexdigest(), len(payload))
    with pytest.raises(LockshimError, match="not a plain relative path"):
        unpack(bundle, tmp_path / "into", "app", code)
    assert not (tmp_path / "into").exists() and not (tmp_path / "outside.txt").exists()


@pytest.mark.skipif(shutil.which("ssh-agent") is None, reason="needs ssh-agent")
def test_a_public_key_signs_with_its_private_half_in_ssh_agent(
    hatchling_wheelhouse: Path, tmp_path: Path
) -> None:
    """--sign KEY.pub: ssh-keygen takes the private half from ssh-agent (never from a file)."""
    repo, registry = _repository(hatchling_wheelhouse, tmp_path)
    key, allowed = _key(tmp_path / "keys")
    socket = tmp_path / "agent.sock"
    agent = subprocess.Popen(["ssh-agent", "-D", "-a", str(socket)], stdout=subprocess.DEVNULL)
    try:
        for _ in range(100):
            if socket.exists():
                break
            time.sleep(0.05)
        env = clean_env(tmp_path / "bundle-env", SSH_AUTH_SOCK=str(socket))
        subprocess.run(["ssh-add", "-q", str(key)], env=env, check=True, capture_output=True)
        key.rename(tmp_path / "keys" / "moved-away")  # only the public half is left beside it
        bundle = tmp_path / "app.zip"
        made = lockshim(
            [
                *("bundle", "-o", str(bundle), "--with-project", "--no-pip-cache"),
                *("-w", str(registry), "--sign", str(key.with_suffix(".pub"))),
                *("--", "--all-extras"),
            ],
            repo / "apps" / "app",
            env,
        )
        assert made.returncode == 0, made.stderr
    finally:
        agent.terminate()
        agent.wait()
    verified = lockshim(
        ["bundle", "--verify", str(bundle), "--allowed-signers", str(allowed)],
        tmp_path,
        clean_env(tmp_path / "v"),
    )
    assert verified.returncode == 0, verified.stdout
    assert f"signature: good, by {IDENTITY}" in verified.stdout
