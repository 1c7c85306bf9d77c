"""`lockshim bundle`: one file carries the example project across an air gap (real uv,
`unshare -n` where the machine allows it, empty caches)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from support.projects import clean_env, lockshim
from support.wheelhouse import wheels_into
from support.wheels import uv_wheel

EXAMPLE = Path(__file__).parents[2] / "fixtures" / "example"
ARGS = ["--", "--all-extras"]


@pytest.fixture
def example(tmp_path: Path) -> Path:
    ignore = shutil.ignore_patterns(".venv", ".lockshim-index.json")
    return Path(shutil.copytree(EXAMPLE, tmp_path / "example", ignore=ignore))


def _members(bundle: Path) -> set[str]:
    with zipfile.ZipFile(bundle) as archive:
        return {n.removeprefix("files/") for n in archive.namelist() if n.startswith("files/")}


def _bundle(example: Path, tmp_path: Path, *args: str) -> Path:
    output = tmp_path / "example.lockshim.zip"
    result = lockshim(
        ["bundle", "-o", str(output), "--no-pip-cache", "--json", *args, *ARGS],
        example,
        clean_env(tmp_path / "bundle-env"),
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["downloaded"] == 0 and report["failures"] == []  # all from the wheelhouse
    return output


def test_a_bundle_installs_the_project_with_nothing_else(example: Path, tmp_path: Path) -> None:
    bundle = _bundle(example, tmp_path)
    # exactly what sync will need, nothing more (tomli only below Python 3.11)
    assert _members(bundle) == {
        "click-8.5.1-py3-none-any.whl",
        "idna-3.20-py3-none-any.whl",
        "iniconfig-2.3.1-py3-none-any.whl",
        "six-1.17.0-py2.py3-none-any.whl",
    } | ({"tomli-2.5.0-py3-none-any.whl"} if sys.version_info < (3, 11) else set())
    checked = lockshim(["bundle", "--verify", str(bundle)], example, clean_env(tmp_path))
    assert checked.returncode == 0 and "the bundle is whole" in checked.stdout

    far = tmp_path / "far side"
    far.mkdir()
    for name in ("pyproject.toml", "uv.lock"):
        shutil.copy(example / name, far)
    original = (far / "uv.lock").read_bytes()
    result = lockshim(
        ["sync", "--no-pip-cache", "-w", str(bundle), *ARGS], far, clean_env(tmp_path / "far")
    )
    assert result.returncode == 0, result.stderr
    assert f"{4 if sys.version_info >= (3, 11) else 5} from {bundle}" in result.stderr
    assert (far / "uv.lock").read_bytes() == original
    python = far / ".venv" / "bin" / "python"
    ran = subprocess.run([str(python), "-c", "import click, idna, six, iniconfig"])
    assert ran.returncode == 0


def test_a_bundle_for_another_python(example: Path, tmp_path: Path) -> None:
    bundle = _bundle(
        example, tmp_path, "--python", "3.10", "--python-platform", "x86_64-pc-windows-msvc"
    )
    assert "tomli-2.5.0-py3-none-any.whl" in _members(bundle)  # tomli: python < 3.11 only


def test_a_changed_member_is_named_and_never_served(example: Path, tmp_path: Path) -> None:
    bundle = _bundle(example, tmp_path)
    with zipfile.ZipFile(bundle) as archive:
        info = archive.getinfo("files/six-1.17.0-py2.py3-none-any.whl")
    data = bytearray(bundle.read_bytes())
    data[info.header_offset + 200] ^= 0xFF  # one byte inside the member's stored bytes
    bundle.write_bytes(bytes(data))

    checked = lockshim(["bundle", "--verify", str(bundle)], example, clean_env(tmp_path))
    assert checked.returncode == 1
    assert "damaged: files/six-1.17.0-py2.py3-none-any.whl: sha256" in checked.stdout

    shutil.rmtree(example / "wheelhouse")
    original = (example / "uv.lock").read_bytes()
    result = lockshim(
        ["sync", "--no-pip-cache", "-w", str(bundle), *ARGS], example, clean_env(tmp_path / "s")
    )
    assert result.returncode != 0  # six is nowhere else, and uv is offline
    assert f"ignored {bundle}:six-1.17.0-py2.py3-none-any.whl: sha256" in result.stderr
    assert f"The bundle {bundle} is damaged: 1 member(s)" in result.stderr  # not "incomplete"
    assert "incomplete" not in result.stderr
    assert (example / "uv.lock").read_bytes() == original


def test_the_size_said_is_the_files_own(example: Path, tmp_path: Path) -> None:
    """`bundle` says how big the file it wrote is, beside what its package files weigh."""
    output = tmp_path / "example.lockshim.zip"
    result = lockshim(
        ["bundle", "-o", str(output), "--no-pip-cache", *ARGS], example, clean_env(tmp_path)
    )
    assert result.returncode == 0, result.stderr
    size = output.stat().st_size / 1e6
    files = 4 if sys.version_info >= (3, 11) else 5  # tomli below 3.11
    assert f"wrote {output} ({size:.1f} MB): {files} package files (" in result.stderr


def test_a_bundle_made_for_another_lock_says_so(example: Path, tmp_path: Path) -> None:
    import hashlib

    bundle = _bundle(example, tmp_path)
    made_for = hashlib.sha256((example / "uv.lock").read_bytes()).hexdigest()
    lock = example / "uv.lock"
    lock.write_bytes(lock.read_bytes() + b"\n")
    shutil.rmtree(example / "wheelhouse")
    result = lockshim(
        ["sync", "--no-pip-cache", "-w", str(bundle), *ARGS], example, clean_env(tmp_path / "s")
    )
    assert result.returncode == 0, result.stderr  # every file still matches by sha256
    now = hashlib.sha256(lock.read_bytes()).hexdigest()
    assert made_for in result.stderr and now in result.stderr


def test_a_file_that_is_not_a_bundle_is_refused(example: Path, tmp_path: Path) -> None:
    fake = tmp_path / "fake.zip"
    with zipfile.ZipFile(fake, "w") as archive:
        archive.writestr("files/six-1.17.0-py2.py3-none-any.whl", b"not a wheel")
    result = lockshim(["plan", "--no-pip-cache", "-w", str(fake)], example, clean_env(tmp_path))
    assert result.returncode == 3
    assert f"{fake}: not a lockshim bundle" in result.stderr


def _far_side(example: Path, tmp_path: Path) -> Path:
    """The example's project files alone on the far side (no wheelhouse, none configured)."""
    far = tmp_path / "far"
    far.mkdir()
    for name in ("pyproject.toml", "uv.lock"):
        shutil.copy(example / name, far)
    (far / "pyproject.toml").write_text(
        (far / "pyproject.toml").read_text().replace('wheelhouses = ["wheelhouse"]', "")
    )
    return far


def _bare_python_sync(
    python: Path,
    bundle: Path,
    far: Path,
    tmp_path: Path,
    *uv_args: str,
    lockshim_args: tuple[str, ...] = (),
) -> subprocess.CompletedProcess[str]:
    """`python -I -S BUNDLE sync [LOCKSHIM_ARGS] -- UV_ARGS` in ``far``: no site-packages, no
    uv on PATH, empty caches (uv's and lockshim's live under a new HOME), no network where
    unshare -n works."""
    from support import can_unshare_net

    command = [str(python), "-I", "-S", str(bundle), "sync", *lockshim_args, "--", *uv_args]
    if can_unshare_net():
        command = ["unshare", "-n", *command]
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path / "home"), "UV_PYTHON": str(python)}
    return subprocess.run(command, cwd=far, env=env, capture_output=True, text=True)


def test_a_self_contained_bundle_needs_only_python(
    hatchling_wheelhouse: Path, tmp_path: Path
) -> None:
    """An editable hatchling project with extras and groups, installed by a bare interpreter
    (-I -S: no site-packages), no uv on PATH, no network, empty caches."""
    import sys

    from support import build_wheel, uv_lock
    from support.projects import serving
    from support.uvenv import make_project

    registry = wheels_into(tmp_path / "registry", hatchling_wheelhouse)
    for name in ("alpha", "beta", "gamma"):
        build_wheel(registry, name, "1.0")
    project = make_project(
        tmp_path / "app", "app", ["alpha"], extras={"x": ["beta"]}, groups={"dev": ["gamma"]}
    )
    with serving(registry) as index:
        uv_lock(project, index, clean_env(tmp_path / "lock"))
    uv_wheel(registry)
    bundle = tmp_path / "app.pyz"
    made = lockshim(
        [
            "bundle",
            "-o",
            str(bundle),
            "--self-contained",
            "--no-pip-cache",
            "-w",
            str(registry),
            "--",
            "--all-extras",
            "--all-groups",
        ],
        project,
        clean_env(tmp_path / "bundle-env"),
    )
    assert made.returncode == 0, made.stderr
    assert (
        lockshim(["bundle", "--verify", str(bundle)], project, clean_env(tmp_path)).returncode == 0
    )

    far = tmp_path / "far"
    shutil.copytree(project, far, ignore=shutil.ignore_patterns(".venv"))
    original = (far / "uv.lock").read_bytes()
    python = Path(sys.base_prefix) / "bin" / "python3"
    result = _bare_python_sync(python, bundle, far, tmp_path, "--all-extras", "--all-groups")
    assert result.returncode == 0, result.stderr
    assert (far / "uv.lock").read_bytes() == original
    # one more folder on the far side (a fixed wheel, say) adds to the bundle, never replaces it
    other = tmp_path / "far2"
    shutil.copytree(project, other, ignore=shutil.ignore_patterns(".venv"))
    extra = tmp_path / "extra"
    extra.mkdir()
    build_wheel(extra, "unrelated", "1.0")
    added = _bare_python_sync(
        python,
        bundle,
        other,
        tmp_path,
        "--all-extras",
        "--all-groups",
        lockshim_args=("-w", str(extra)),
    )
    assert added.returncode == 0, added.stderr
    assert "not found locally" not in added.stderr
    venv_python = far / ".venv" / "bin" / "python"
    ran = subprocess.run(
        [str(venv_python), "-c", "import app, alpha, beta, gamma; print(app.__file__)"],
        capture_output=True,
        text=True,
    )
    assert ran.stdout.strip() == str(far / "src" / "app" / "__init__.py"), ran.stderr


def test_check_reads_a_bundle(example: Path, tmp_path: Path) -> None:
    """`lockshim check FILE` checks a bundle's members and the lock it carries."""
    bundle = _bundle(example, tmp_path)
    clean = lockshim(["check", str(bundle)], example, clean_env(tmp_path))
    assert clean.returncode == 0, clean.stdout + clean.stderr
    with zipfile.ZipFile(bundle) as archive:
        info = archive.getinfo("files/six-1.17.0-py2.py3-none-any.whl")
    data = bytearray(bundle.read_bytes())
    data[info.header_offset + 200] ^= 0xFF
    bundle.write_bytes(bytes(data))
    damaged = lockshim(["check", str(bundle)], example, clean_env(tmp_path))
    assert damaged.returncode == 1
    assert (
        "damaged-member"
        in lockshim(["check", "--json", str(bundle)], example, clean_env(tmp_path)).stdout
    )


def _python310() -> Path | None:
    import os

    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    found = sorted(pyenv.glob("3.10.*/bin/python3.10"))
    which = shutil.which("python3.10")
    candidates = [*found, *([Path(which)] if which else [])]
    for candidate in candidates:
        if subprocess.run([str(candidate), "-c", "pass"], capture_output=True).returncode == 0:
            return candidate
    return None


def test_a_self_contained_bundle_runs_on_python_3_10(example: Path, tmp_path: Path) -> None:
    """lockshim itself runs from the zip on 3.10 (tomli carried, from pip's vendored copy when
    it is not installed where the bundle is made), and installs the 3.10 fork (tomli)."""
    python = _python310()
    if python is None:
        pytest.skip("no Python 3.10 on this machine")
    uv_wheel(example / "wheelhouse")
    bundle = tmp_path / "example.pyz"
    made = lockshim(
        [
            "bundle",
            "-o",
            str(bundle),
            "--self-contained",
            "--no-pip-cache",
            "--python",
            "3.10",
            *ARGS,
        ],
        example,
        clean_env(tmp_path / "bundle-env"),
    )
    assert made.returncode == 0, made.stderr
    far = tmp_path / "far"
    far.mkdir()
    for name in ("pyproject.toml", "uv.lock"):
        shutil.copy(example / name, far)
    result = _bare_python_sync(python, bundle, far, tmp_path, *ARGS[1:])
    assert result.returncode == 0, result.stderr
    ran = subprocess.run(
        [str(far / ".venv" / "bin" / "python"), "-c", "import tomli, click, six"],
        capture_output=True,
    )
    assert ran.returncode == 0, ran.stderr


def _alpha_app(tmp_path: Path) -> tuple[Path, Path, Path]:
    """(an index folder holding alpha, a wheelhouse holding alpha too, a virtual project that
    depends on alpha, not locked yet)."""
    from support import build_wheel, make_project

    registry = tmp_path / "registry"
    wheelhouse = tmp_path / "wheelhouse"
    wheelhouse.mkdir()
    shutil.copy(build_wheel(registry, "alpha", "1.0"), wheelhouse)
    return (
        registry,
        wheelhouse,
        make_project(tmp_path / "app", "app", ["alpha"], build_backend=None),
    )


def _self_contained(
    bundle: Path, project: Path, env: dict[str, str], *sources: str, offline: bool = True
) -> subprocess.CompletedProcess[str]:
    """`lockshim bundle -o BUNDLE --self-contained SOURCES...` in the project."""
    return lockshim(
        ["bundle", "-o", str(bundle), "--self-contained", *sources], project, env, offline=offline
    )


@pytest.mark.parametrize("json_api", [True, False], ids=["pep691-json", "pep503-html"])
def test_a_self_contained_bundle_takes_uv_from_the_simple_api_of_the_projects_index(
    tmp_path: Path, json_api: bool
) -> None:
    """A company index serves only the simple API (no per-version JSON): uv's wheel is found
    on the page of the index the lock uses, checked by its digest, and carried."""
    from support import LoopbackIndex, sha256_of, uv_lock

    registry, wheelhouse, project = _alpha_app(tmp_path)
    env = clean_env(tmp_path)
    bundle = tmp_path / "app.pyz"
    with LoopbackIndex(registry, json_api=json_api) as index:
        uv_lock(project, index.url, env)
        uv = uv_wheel(registry)  # on the index only
        made = _self_contained(
            bundle, project, env, "--no-pip-cache", "-w", str(wheelhouse), offline=False
        )
        asked = list(index.requests)
    assert made.returncode == 0, made.stderr
    assert "/simple/uv/" in asked
    with zipfile.ZipFile(bundle) as archive:
        manifest = json.loads(archive.read("lockshim-manifest.json"))
    carried = {entry["sha256"] for entry in manifest["uv"].values()}
    assert carried == {sha256_of(uv)}
    verified = lockshim(["bundle", "--verify", str(bundle)], project, env)
    assert verified.returncode == 0, verified.stdout + verified.stderr


def test_a_self_contained_bundle_takes_uv_from_pips_cache(tmp_path: Path) -> None:
    """uv's wheel that pip downloaded once (a body without a name in pip's cache) is carried."""
    from support import LoopbackIndex, sha256_of, uv_lock
    from support.projects import pip_download

    registry, wheelhouse, project = _alpha_app(tmp_path)
    env = clean_env(tmp_path)
    cache = tmp_path / "pip cache"
    with LoopbackIndex(registry) as index:
        uv_lock(project, index.url, env)
        uv = uv_wheel(registry)
        pip_download(index.url, cache, tmp_path / "downloads", env, f"uv=={uv.name.split('-')[1]}")
    bundle = tmp_path / "app.pyz"
    made = _self_contained(bundle, project, env, "--pip-cache", str(cache), "-w", str(wheelhouse))
    assert made.returncode == 0, made.stderr
    with zipfile.ZipFile(bundle) as archive:
        manifest = json.loads(archive.read("lockshim-manifest.json"))
    assert {entry["sha256"] for entry in manifest["uv"].values()} == {sha256_of(uv)}
    assert "2 from local sources, 0 downloaded" in made.stderr  # alpha, and uv's wheel


def test_a_self_contained_bundle_without_uv_is_not_written(example: Path, tmp_path: Path) -> None:
    """No uv wheel locally and no index reachable: no half-made .pyz under the name asked for."""
    from support import can_unshare_net

    if not can_unshare_net():
        pytest.skip("needs unshare -n: the indexes must be unreachable")
    bundle = tmp_path / "app.pyz"
    made = lockshim(
        ["bundle", "-o", str(bundle), "--self-contained", "--no-pip-cache", *ARGS],
        example,
        clean_env(tmp_path),
    )
    assert made.returncode == 3, made.stderr
    assert f"{bundle} was not written: it would carry no uv for uv " in made.stderr
    assert "https://pypi.org/simple: cannot connect" in made.stderr
    assert not bundle.exists()
    assert not list(tmp_path.glob(".app.pyz*"))


def test_the_far_side_asking_for_more_than_the_bundle_carries_is_told_before_uv(
    example: Path, tmp_path: Path
) -> None:
    """A bundle made without extras; the far side asks for --all-extras: stopped before uv
    (no .venv, uv.lock as it was), with the bundle named and the command that makes a
    complete one, not a `fetch` it cannot run behind an air gap."""
    output = tmp_path / "plain.lockshim.zip"
    made = lockshim(
        ["bundle", "-o", str(output), "--no-pip-cache"], example, clean_env(tmp_path / "make")
    )
    assert made.returncode == 0, made.stderr
    far = _far_side(example, tmp_path)
    original = (far / "uv.lock").read_bytes()
    result = lockshim(
        ["sync", "--no-pip-cache", "-w", str(output), *ARGS], far, clean_env(tmp_path / "far")
    )
    assert result.returncode == 3, result.stderr
    assert "stopped before uv: 1 file(s) this environment needs" in result.stderr
    assert "six (six-1.17.0-py2.py3-none-any.whl)" in result.stderr
    assert f"The bundle {output} is incomplete for this environment." in result.stderr
    assert "It was made for `-- `; this sync asks for `-- --all-extras`." in result.stderr
    python = ".".join(map(str, sys.version_info[:3]))
    minor = ".".join(map(str, sys.version_info[:2]))
    assert f"every {minor} patch release; this sync is for " in result.stderr  # both named
    assert f"lockshim bundle -o FILE --python {python} -- --all-extras" in result.stderr
    assert "lockshim fetch" not in result.stderr
    assert not (far / ".venv").exists()
    assert (far / "uv.lock").read_bytes() == original


def test_an_index_page_that_is_a_compression_bomb_is_refused(tmp_path: Path) -> None:
    """uv's page answered with 4 MB of gzip that inflate to 1 GiB: read up to the page limit
    (64 MiB), then refused and named; no uv, so no .pyz. (Every index asked is on 127.0.0.1:
    the lock's, which has no uv, then the bomb, as the configured and the last index.)"""
    import gzip
    import http.server

    from support import LoopbackIndex, servers, uv_lock

    chunk = gzip.compress(b" " * (16 << 20), compresslevel=9)
    body = chunk * 64  # gzip members one after another: one stream to a reader

    class Bomb(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/vnd.pypi.simple.v1+json")
            self.send_header("Content-Encoding", "gzip")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    registry, wheelhouse, project = _alpha_app(tmp_path)
    bundle = tmp_path / "app.pyz"
    with servers.handling(Bomb) as origin, LoopbackIndex(registry) as index:
        url = f"{origin}/simple"
        env = clean_env(tmp_path, UV_DEFAULT_INDEX=url, LOCKSHIM_UV_INDEX=url)
        uv_lock(project, index.url, clean_env(tmp_path / "lock"))
        made = _self_contained(
            bundle, project, env, "--no-pip-cache", "-w", str(wheelhouse), offline=False
        )
    assert made.returncode == 3, made.stderr
    assert f"{url}: the page is longer than {64 << 20} bytes: refused" in made.stderr
    assert not bundle.exists()


@pytest.mark.parametrize("name", ["uv.lock", "pyproject.toml"])
def test_a_bundle_is_never_written_over_a_project_file(
    example: Path, tmp_path: Path, name: str
) -> None:
    before = (example / name).read_bytes()
    made = lockshim(["bundle", "-o", name, "--no-pip-cache", *ARGS], example, clean_env(tmp_path))
    assert made.returncode == 2, made.stderr
    assert "exists and is not a lockshim bundle" in made.stderr
    assert (example / name).read_bytes() == before
    assert not list(example.glob(".*lockshim-bundle*"))


def test_a_self_contained_bundle_carries_the_wheels_built_once(
    hatchling_wheelhouse: Path, tmp_path: Path
) -> None:
    """`fetch --build` made gamma's wheel from its locked sdist; the self-contained bundle
    carries it with its record, and `python app.pyz sync` on the far side installs it (its code
    is the bundle's own, so it may believe the bundle's record). `lockshim sync -w app.pyz`
    with another lockshim does not believe it, and builds gamma instead."""
    import sys

    from support import build_wheel, make_project, uv_lock
    from support.projects import serving
    from support.wheels import hatchling_sdist

    registry = wheels_into(tmp_path / "registry", hatchling_wheelhouse)
    hatchling_sdist(registry, "gamma", "1.0")
    build_wheel(registry, "alpha", "1.0")
    project = make_project(tmp_path / "app", "app", ["gamma", "alpha"], build_backend=None)
    wheels = tmp_path / "wheels"
    here = clean_env(tmp_path / "here")  # one machine: its build records in one cache
    with serving(registry) as index:
        uv_lock(project, index, clean_env(tmp_path / "lock"))
        fetched = lockshim(
            ["fetch", "--dest", str(wheels), "--build"], project, here, offline=False
        )
    assert fetched.returncode == 0, fetched.stderr
    uv_wheel(wheels)
    bundle = tmp_path / "app.pyz"
    made = _self_contained(bundle, project, here, "--no-pip-cache", "-w", str(wheels))
    assert made.returncode == 0, made.stderr
    with zipfile.ZipFile(bundle) as archive:
        manifest = json.loads(archive.read("lockshim-manifest.json"))
    assert list(manifest["built"]) == ["files/gamma-1.0-py2.py3-none-any.whl"]

    far = tmp_path / "far"
    shutil.copytree(project, far, ignore=shutil.ignore_patterns(".venv"))
    python = Path(sys.base_prefix) / "bin" / "python3"
    result = _bare_python_sync(python, bundle, far, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "installed from wheels built once from their locked sdists: gamma 1.0" in result.stderr

    other = tmp_path / "other"
    shutil.copytree(project, other, ignore=shutil.ignore_patterns(".venv"))
    plain = lockshim(
        ["sync", "--no-pip-cache", "-w", str(bundle)], other, clean_env(tmp_path / "o")
    )
    assert plain.returncode == 0, plain.stderr
    assert "installed from wheels built once" not in plain.stderr


def test_a_default_bundle_serves_every_patch_release_of_its_python(tmp_path: Path) -> None:
    """Made on this Python (3.11.7 here), the bundle also carries async-timeout, which only
    Pythons before 3.11.3 need: a far side on 3.11.2 installs from it offline. The manifest
    names what the bundle was made for."""
    from support import build_wheel, make_project, uv_lock
    from support.projects import serving, venv_run

    far_python = Path("/usr/bin/python3.11")
    if sys.version_info[:2] != (3, 11) or not far_python.exists():
        pytest.skip("needs this suite on 3.11 and a second 3.11 at /usr/bin/python3.11")
    registry = tmp_path / "registry"
    build_wheel(registry, "alpha", "1.0")
    build_wheel(registry, "async-timeout", "5.0")
    project = make_project(
        tmp_path / "app",
        "app",
        ["alpha", "async-timeout; python_full_version < '3.11.3'"],
        build_backend=None,
        requires_python=">=3.11",
    )
    output = tmp_path / "app.lockshim.zip"
    with serving(registry) as index:
        uv_lock(project, index, clean_env(tmp_path / "lock"))
        made = lockshim(
            ["bundle", "-o", str(output), "--no-pip-cache"],
            project,
            clean_env(tmp_path / "make"),
            offline=False,
        )
    assert made.returncode == 0, made.stderr
    assert _members(output) == {"alpha-1.0-py3-none-any.whl", "async_timeout-5.0-py3-none-any.whl"}
    with zipfile.ZipFile(output) as archive:
        manifest = json.loads(archive.read("lockshim-manifest.json"))
    assert any("every 3.11 patch release" in target for target in manifest["targets"])

    far = tmp_path / "far"
    far.mkdir()
    for name in ("pyproject.toml", "uv.lock"):
        shutil.copy(project / name, far)
    result = lockshim(
        ["sync", "--no-pip-cache", "-w", str(output), "--", "--python", str(far_python)],
        far,
        clean_env(tmp_path / "far-env"),
    )
    assert result.returncode == 0, result.stderr
    ran = venv_run(far, "import sys, async_timeout; print(sys.version_info[:3])")
    assert ran.stdout.strip() == "(3, 11, 2)", ran.stderr


def _self_contained_example(example: Path, tmp_path: Path) -> Path:
    """A self-contained bundle of the example (its wheelhouse and the uv in use)."""
    registry = tmp_path / "registry"
    shutil.copytree(example / "wheelhouse", registry)
    uv_wheel(registry)
    bundle = tmp_path / "app.pyz"
    made = lockshim(
        ["bundle", "-o", str(bundle), "--self-contained", "--no-pip-cache", "-w", str(registry)],
        example,
        clean_env(tmp_path / "make"),
    )
    assert made.returncode == 0, made.stderr
    return bundle


def _as_nobody(*command: str) -> None:
    """Run ``command`` as another user (nobody), the way a second user of a shared folder."""
    subprocess.run(
        ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *command], check=True
    )


def _can_be_nobody() -> bool:
    import os

    if shutil.which("setpriv") is None or os.geteuid() != 0:
        return False
    return subprocess.run(["setpriv", "--reuid=65534", "true"]).returncode == 0


@pytest.mark.skipif(not _can_be_nobody(), reason="needs root and setpriv (a second user)")
def test_a_self_contained_bundles_uv_planted_in_a_shared_cache_never_runs(
    example: Path, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """LOCKSHIM_CACHE_DIR is a folder everyone may write (1777). Another user plants a `uv`
    where a self-contained bundle unpacks its own, and a link where uv's version is
    remembered: the sync runs the bundle's uv, from a folder of the runner's own inside the
    shared one (said once), overwrites nothing, and installs."""
    import os

    bundle = _self_contained_example(example, tmp_path)
    with zipfile.ZipFile(bundle) as archive:
        manifest = json.loads(archive.read("lockshim-manifest.json"))
    (sha,) = [value["sha256"] for value in manifest["uv"].values()]

    import tempfile

    shared = Path(tempfile.mkdtemp(prefix="lockshim-shared-cache-"))  # reachable by nobody
    shared.chmod(0o1777)
    request.addfinalizer(lambda: shutil.rmtree(shared, ignore_errors=True))
    ran = tmp_path / "planted-uv-ran"
    victim = tmp_path / "victim"
    victim.write_text("root's own\n")
    victim.chmod(0o600)
    planted = shared / "uv" / sha[:16] / "uv"
    script = f"#!/bin/sh\ntouch {ran}\necho 'uv 0.13.9'\n"
    _as_nobody("mkdir", "-p", str(planted.parent))
    _as_nobody("sh", "-c", f"printf '%s' \"$0\" > {planted} && chmod 755 {planted}", script)
    _as_nobody("ln", "-s", str(victim), str(shared / "uv-versions.json"))

    far = _far_side(example, tmp_path)
    python = Path(sys.base_prefix) / "bin" / "python3"
    command = [str(python), "-I", "-S", str(bundle), "sync"]
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path / "home"),
        "UV_PYTHON": str(python),
        "LOCKSHIM_CACHE_DIR": str(shared),
    }
    result = subprocess.run(command, cwd=far, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert not ran.exists()  # the planted uv never ran
    assert victim.read_text() == "root's own\n"  # nothing written through the links
    own = shared / f"user-{os.getuid()}"
    assert f"{shared} can be written by others: lockshim keeps its own files in {own}" in (
        result.stderr
    )
    assert result.stderr.count("can be written by others: lockshim keeps") == 1
    assert (own / "uv" / sha[:16] / "uv").is_file()
    assert own.stat().st_mode & 0o777 == 0o700


def test_a_self_contained_bundles_code_is_checked_too(example: Path, tmp_path: Path) -> None:
    """`__main__.py` changed and a module added inside a self-contained bundle: `bundle
    --verify` and `check` name both (they called it whole before), and say what the check
    proves and the whole file's sha256 to compare out of band."""
    import hashlib

    bundle = _self_contained_example(example, tmp_path)
    whole = lockshim(["bundle", "--verify", str(bundle)], example, clean_env(tmp_path))
    assert whole.returncode == 0, whole.stdout + whole.stderr
    assert f"sha256 of the whole file: {hashlib.sha256(bundle.read_bytes()).hexdigest()}" in (
        whole.stdout
    )

    changed = tmp_path / "changed.pyz"
    with zipfile.ZipFile(bundle) as source, zipfile.ZipFile(changed, "w") as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "__main__.py":
                data += b"\nimport os  # not what was made\n"
            target.writestr(info, data)
        target.writestr("lib/planted.py", b"print('hello')\n")
    verified = lockshim(["bundle", "--verify", str(changed)], example, clean_env(tmp_path))
    assert verified.returncode == 1, verified.stdout
    assert "damaged: __main__.py: " in verified.stdout  # its size and digest changed
    assert "damaged: lib/planted.py: not in the manifest" in verified.stdout
    assert "not an attacker" in verified.stdout
    checked = lockshim(["check", str(changed)], example, clean_env(tmp_path))
    assert checked.returncode == 1
    assert "__main__.py: " in checked.stdout and "lib/planted.py" in checked.stdout
