"""The test-support layer itself, checked against the real uv and pip (127.0.0.1 only)."""

from __future__ import annotations

import base64
import hashlib
import http.client
import os
import socket
import subprocess
import sys
import tarfile
import threading
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from packaging.metadata import Metadata
from packaging.utils import parse_wheel_filename
from support import (
    LoopbackIndex,
    build_sdist,
    build_wheel,
    can_unshare_net,
    isolated_env,
    make_project,
    make_venv,
    needs_unshare,
    offline_command,
    run_uv,
    sha256_of,
    uv_lock,
)
from support.projects import pip_download
from support.wheels import core_metadata

from lockshim._compat import tomllib

# --- wheels and sdists --------------------------------------------------------------------------


def _members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def test_same_wheel_same_bytes_and_payload_changes_them(tmp_path: Path) -> None:
    one = build_wheel(tmp_path / "a", "Same.Name", "1.0", requires=["dep>=1"])
    two = build_wheel(tmp_path / "b", "Same.Name", "1.0", requires=["dep>=1"])
    big = build_wheel(tmp_path / "c", "Same.Name", "1.0", payload=os.urandom(300_000))
    assert one.name == "same_name-1.0-py3-none-any.whl"
    assert sha256_of(one) == sha256_of(two) == hashlib.sha256(one.read_bytes()).hexdigest()
    assert sha256_of(big) != sha256_of(one) and big.stat().st_size > 300_000


def test_wheel_metadata_wheel_and_record_are_valid(tmp_path: Path) -> None:
    path = build_wheel(
        tmp_path,
        "fancy-pkg",
        "2.0.post1",
        requires=["alpha>=1", "beta; os_name == 'nt'"],
        extras={"fast": ["gamma", "delta; python_version < '3.12'"]},
        requires_python=">=3.9",
        tag="cp311-cp311-manylinux_2_17_x86_64.linux_x86_64",
    )
    name, version, _, tags = parse_wheel_filename(path.name)
    assert (name, str(version)) == ("fancy-pkg", "2.0.post1")
    assert {str(t) for t in tags} == {
        "cp311-cp311-manylinux_2_17_x86_64",
        "cp311-cp311-linux_x86_64",
    }
    files = _members(path)
    info = "fancy_pkg-2.0.post1.dist-info"
    meta = Metadata.from_email(files[f"{info}/METADATA"], validate=True)
    assert str(meta.requires_python) == ">=3.9" and meta.provides_extra == ["fast"]
    assert [str(r) for r in meta.requires_dist or []] == [
        "alpha>=1",
        'beta; os_name == "nt"',
        'gamma; extra == "fast"',
        'delta; python_version < "3.12" and extra == "fast"',
    ]
    wheel = files[f"{info}/WHEEL"].decode()
    assert "Root-Is-Purelib: false" in wheel and wheel.count("Tag: ") == 2
    assert b"__version__ = '2.0.post1'" in files["fancy_pkg/__init__.py"]
    record = files[f"{info}/RECORD"].decode().splitlines()
    assert record[-1] == f"{info}/RECORD,,"
    assert len(record) == len(files)
    for line in record[:-1]:
        member, digest, size = line.split(",")
        data = files[member]
        expected = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        assert (digest, int(size)) == (f"sha256={expected}", len(data))


def test_sdist_is_a_normalized_deterministic_tree(tmp_path: Path) -> None:
    one = build_sdist(tmp_path / "a", "My.Lib", "1.0", requires=["alpha"])
    two = build_sdist(tmp_path / "b", "My.Lib", "1.0", requires=["alpha"])
    assert one.name == "my_lib-1.0.tar.gz" and sha256_of(one) == sha256_of(two)
    with tarfile.open(one) as archive:
        names = archive.getnames()
        pyproject = tomllib.load(archive.extractfile("my_lib-1.0/pyproject.toml"))  # type: ignore[arg-type]
        pkg_info = archive.extractfile("my_lib-1.0/PKG-INFO").read()  # type: ignore[union-attr]
    assert {"my_lib-1.0/intree_backend.py", "my_lib-1.0/src/my_lib/__init__.py"} <= set(names)
    assert pyproject["build-system"] == {
        "requires": [],
        "build-backend": "intree_backend",
        "backend-path": ["."],
    }
    assert pkg_info.decode() == core_metadata("My.Lib", "1.0", requires=["alpha"])


# --- the real uv installs and builds them, offline ----------------------------------------------


def _python(venv_python: Path, code: str) -> str:
    result = subprocess.run(
        [str(venv_python), "-c", code], capture_output=True, text=True, check=True
    )
    return result.stdout.strip()


def test_wheels_install_offline_with_real_uv(tmp_path: Path) -> None:
    env = isolated_env(tmp_path)
    house = tmp_path / "house"
    build_wheel(house, "alpha", "1.0", requires=["beta>=2"], extras={"fast": ["gamma"]})
    build_wheel(house, "beta", "2.1", payload=b"\0" * 1000)
    build_wheel(house, "gamma", "0.3", requires_python=">=3.8")
    python = make_venv(tmp_path / "venv", env)
    run_uv(
        [
            "pip",
            "install",
            "--offline",
            "--no-index",
            "--find-links",
            house,
            "--python",
            python,
            "alpha[fast]",
        ],
        env,
        offline=True,
    )
    assert (
        _python(
            python,
            "import alpha, beta, gamma; print(alpha.__version__, "
            "beta.__version__, gamma.__version__)",
        )
        == "1.0 2.1 0.3"
    )


def test_sdist_and_in_tree_project_build_offline_with_real_uv(tmp_path: Path) -> None:
    env = isolated_env(tmp_path)
    house = tmp_path / "house"
    sdist = build_sdist(
        house,
        "Side.Car",
        "3.0",
        requires_python=">=3.8",
        extras={"x": ["alpha; python_version >= '3'"]},
    )
    out = tmp_path / "out"
    run_uv(["build", "--offline", "--wheel", "--out-dir", out, sdist], env, offline=True)
    built = out / "side_car-3.0-py3-none-any.whl"
    reference = build_wheel(
        tmp_path / "ref",
        "Side.Car",
        "3.0",
        requires_python=">=3.8",
        extras={"x": ["alpha; python_version >= '3'"]},
    )
    info = "side_car-3.0.dist-info/METADATA"
    assert _members(built)[info] == _members(reference)[info]

    python = make_venv(tmp_path / "venv", env)
    project = make_project(tmp_path / "app", "app", ["side-car"], build_backend="in-tree")
    run_uv(
        [
            "pip",
            "install",
            "--offline",
            "--no-index",
            "--find-links",
            house,
            "--python",
            python,
            "-e",
            project,
        ],
        env,
        offline=True,
    )
    where = _python(python, "import app, side_car; print(app.__file__, side_car.__version__)")
    assert where == f"{project / 'src' / 'app' / '__init__.py'} 3.0"


def test_workspace_project_locks_and_syncs_offline(tmp_path: Path) -> None:
    env = isolated_env(tmp_path)
    root = make_project(
        tmp_path / "ws",
        "root-app",
        ["member-lib"],
        build_backend=None,
        groups={"dev": []},
        workspace_members=["packages/*"],
        sources={"member-lib": {"workspace": True}},
    )
    make_project(root / "packages" / "member-lib", "member-lib", build_backend="in-tree")
    lock = tomllib.loads(uv_lock(root, None, env).read_text())
    sources = {p["name"]: p["source"] for p in lock["package"]}
    assert sources == {
        "root-app": {"virtual": "."},
        "member-lib": {"editable": "packages/member-lib"},
    }
    run_uv(["sync", "--offline", "--frozen", "--project", root], env, offline=True)


# --- the loopback index -------------------------------------------------------------------------


def _get(url: str, **headers: str) -> tuple[int, bytes, dict[str, str]]:
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read(), dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, error.read(), dict(error.headers)


def test_index_pages_files_and_log(tmp_path: Path) -> None:
    folder = tmp_path / "files"
    wheel = build_wheel(folder, "Foo_Bar", "1.0", requires_python=">=3.8,<4")
    (folder / "README.txt").write_text("not a distribution")
    with LoopbackIndex(folder) as index:
        assert index.url == f"http://127.0.0.1:{index.port}/simple"
        status, body, headers = _get(index.url + "/")
        assert status == 200 and f'href="{index.url}/foo-bar/"' in body.decode()
        assert headers["Cache-Control"] == "max-age=31536000"
        status, body, _ = _get(index.url + "/FOO.bar/")
        link = f'href="{index.files_url}/{wheel.name}#sha256={sha256_of(wheel)}"'
        assert status == 200 and link in body.decode()
        assert 'data-requires-python="&gt;=3.8,&lt;4"' in body.decode()

        late = build_sdist(folder, "late", "0.1")
        assert late.name in _get(index.url + "/late/")[1].decode()
        status, body, _ = _get(f"{index.files_url}/{late.name}")
        assert status == 200 and body == late.read_bytes()

        status, _, headers = _get(index.url + "/nothing-here/")
        assert status == 404 and headers["Cache-Control"] == "max-age=31536000"
        assert _get(f"{index.files_url}/README.txt")[0] == 200
        assert _get(f"{index.files_url}/..%2Fescape")[0] == 404
        assert index.requests[:2] == ["/simple/", "/simple/FOO.bar/"]
        assert index.downloads(late.name) == 1


def test_drop_after_cuts_the_body_short_once_or_always(tmp_path: Path) -> None:
    wheel = build_wheel(tmp_path, "big", "1.0", payload=os.urandom(50_000))
    size = wheel.stat().st_size

    def fetch(index: LoopbackIndex) -> bytes:
        connection = http.client.HTTPConnection("127.0.0.1", index.port, timeout=10)
        try:
            connection.request("GET", f"/files/{wheel.name}")
            response = connection.getresponse()
            assert response.getheader("Content-Length") == str(size)
            return response.read()
        finally:
            connection.close()

    with LoopbackIndex(tmp_path) as index:
        index.drop_after(wheel.name, 1000)
        with pytest.raises(http.client.IncompleteRead) as cut:
            fetch(index)
        assert len(cut.value.partial) == 1000
        assert fetch(index) == wheel.read_bytes()
        index.drop_after(wheel.name, 10, always=True)
        for _ in range(2):
            with pytest.raises(http.client.IncompleteRead):
                fetch(index)


def test_corrupt_fail_times_and_auth(tmp_path: Path) -> None:
    wheel = build_wheel(tmp_path, "thing", "1.0")
    url_path = f"/files/{wheel.name}"
    with LoopbackIndex(tmp_path) as index:
        url = index.root + url_path
        index.fail_times(wheel.name, 2, status=503)
        assert [_get(url)[0] for _ in range(3)] == [503, 503, 200]
        index.corrupt(wheel.name, times=1)
        body = _get(url)[1]
        assert len(body) == len(wheel.read_bytes()) and body != wheel.read_bytes()
        assert _get(url)[1] == wheel.read_bytes()
        index.corrupt(wheel.name, b"other bytes")
        assert _get(url)[1] == _get(url)[1] == b"other bytes"
        index.clear_faults()

        index.require_auth("user", "sé cret")
        status, _, headers = _get(url)
        assert status == 401 and headers["WWW-Authenticate"].startswith("Basic")
        token = base64.b64encode("user:sé cret".encode()).decode()
        assert _get(url, Authorization=f"Basic {token}")[1] == wheel.read_bytes()
        assert _get(index.url + "/", Authorization=f"Basic {token}")[0] == 200
        assert "%C3%A9%20cret@127.0.0.1" in index.url_with_auth("user", "sé cret")


def test_index_closes_cleanly_with_an_idle_client(tmp_path: Path) -> None:
    before = threading.active_count()
    with LoopbackIndex(tmp_path) as index:
        port = index.port
        idle = socket.create_connection(("127.0.0.1", port))  # sends nothing, ever
        _get(index.url + "/")
    idle.close()
    assert threading.active_count() == before
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()


@pytest.fixture
def registry(tmp_path: Path) -> Path:
    folder = tmp_path / "registry"
    build_wheel(folder, "alpha", "1.0", requires=["beta"])
    build_wheel(folder, "beta", "1.0", payload=b"beta" * 100)
    build_wheel(folder, "forky", "1.0", requires_python="<3.11")
    build_wheel(folder, "forky", "2.0", requires_python=">=3.11")
    build_sdist(folder, "sdist-only", "0.5")
    return folder


@pytest.mark.parametrize(
    ("json_api", "requires_python", "forky"),
    [
        pytest.param(
            True,
            ">=3.11",
            ["2.0"],
            marks=pytest.mark.skipif(sys.version_info < (3, 11), reason="a project for 3.11+"),
        ),
        (False, ">=3.9", ["1.0", "2.0"]),
    ],
)
def test_uv_locks_against_the_loopback_index(
    registry: Path, tmp_path: Path, json_api: bool, requires_python: str, forky: list[str]
) -> None:
    """uv locks from either API; only PEP 691 JSON gives the lock ``size`` and ``upload-time``.
    Requires-Python on the files steers uv: with ``>=3.9`` it forks (forky 1.0 below 3.11,
    forky 2.0 from 3.11), with ``>=3.11`` it takes 2.0 alone."""
    env = isolated_env(tmp_path)
    project = make_project(
        tmp_path / "app",
        "app",
        ["alpha", "forky", "sdist-only"],
        build_backend=None,
        requires_python=requires_python,
    )
    with LoopbackIndex(registry, json_api=json_api) as index:
        lock = tomllib.loads(uv_lock(project, index.url, env).read_text())
    packages = [p for p in lock["package"] if p["name"] != "app"]
    assert sorted((p["name"], p["version"]) for p in packages) == sorted(
        [("alpha", "1.0"), ("beta", "1.0"), ("sdist-only", "0.5")] + [("forky", v) for v in forky]
    )
    assert ("resolution-markers" in lock) == (len(forky) > 1)
    for package in packages:
        assert package["source"] == {"registry": index.url}
        for artifact in [*package.get("wheels", []), *filter(None, [package.get("sdist")])]:
            filename = artifact["url"].rsplit("/", 1)[1]
            assert artifact["url"] == index.file_url(filename)
            assert artifact["hash"] == f"sha256:{sha256_of(registry / filename)}"
            if json_api:
                assert artifact["size"] == (registry / filename).stat().st_size
                assert artifact["upload-time"] == "2024-01-01T00:00:00Z"
            else:
                assert "size" not in artifact and "upload-time" not in artifact


def test_real_uv_against_faults(registry: Path, tmp_path: Path) -> None:
    """uv retries a 503 and a dropped connection; a valid wheel with other bytes fails the lock's
    hash (bytes that are not a zip at all fail earlier, when uv unzips while downloading)."""
    env = isolated_env(tmp_path)
    wheel = "beta-1.0-py3-none-any.whl"
    project = make_project(tmp_path / "app", "app", ["alpha"], build_backend=None)
    with LoopbackIndex(registry) as index:
        uv_lock(project, index.url, env)
        index.fail_times(wheel, 1)
        index.drop_after(wheel, 100)
        before = index.downloads(wheel)
        run_uv(["sync", "--frozen", "--project", project], env)
        assert index.downloads(wheel) - before == 3

        index.corrupt(wheel, build_wheel(tmp_path / "evil", "beta", "1.0").read_bytes())
        fresh = isolated_env(tmp_path / "fresh")
        result = run_uv(
            ["sync", "--frozen", "--project", project, "--reinstall"], fresh, check=False
        )
    assert result.returncode != 0 and "Hash mismatch" in result.stderr


def test_real_pip_writes_its_http_cache_from_the_index(registry: Path, tmp_path: Path) -> None:
    env = isolated_env(tmp_path)
    cache = tmp_path / "pip-cache"
    with LoopbackIndex(registry) as index:
        pip_download(index.url, cache, tmp_path / "d", env, "beta")
    bodies = {sha256_of(p) for p in (cache / "http-v2").rglob("*.body")}
    assert sha256_of(registry / "beta-1.0-py3-none-any.whl") in bodies


# --- environment and isolation ------------------------------------------------------------------


def test_isolated_env_keeps_nothing_of_this_machines_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PIP_FIND_LINKS", "/opt/wheels")
    monkeypatch.setenv("UV_INDEX_URL", "https://example.invalid/simple")
    monkeypatch.setenv("https_proxy", "http://proxy.invalid:3128")
    env = isolated_env(tmp_path, EXTRA="1")
    assert "PIP_FIND_LINKS" not in env and "UV_INDEX_URL" not in env and "https_proxy" not in env
    assert env["PIP_CONFIG_FILE"] == os.devnull and env["UV_NO_CONFIG"] == "1"
    assert env["UV_PYTHON"] == sys.executable and env["UV_PYTHON_DOWNLOADS"] == "never"
    assert Path(env["UV_CACHE_DIR"]).is_relative_to(tmp_path)
    assert Path(env["HOME"]).is_relative_to(tmp_path) and env["PATH"] == os.environ["PATH"]
    assert env["EXTRA"] == "1"
    assert isolated_env(tmp_path, keep_home=True).get("HOME") == os.environ.get("HOME")


@needs_unshare
def test_offline_command_cuts_even_loopback(tmp_path: Path) -> None:
    assert can_unshare_net()
    probe = "import socket, sys; socket.create_connection(('127.0.0.1', int(sys.argv[1])), 2)"
    with LoopbackIndex(tmp_path) as index:
        command = [sys.executable, "-c", probe, str(index.port)]
        assert subprocess.run(command, capture_output=True).returncode == 0
        assert subprocess.run(offline_command(command), capture_output=True).returncode != 0


# --- hatchling, offline -------------------------------------------------------------------------


def test_hatchling_project_syncs_editable_offline(
    hatchling_wheelhouse: Path, tmp_path: Path
) -> None:
    names = {parse_wheel_filename(p.name)[0] for p in hatchling_wheelhouse.glob("*.whl")}
    assert {
        "hatchling",
        "editables",
        "packaging",
        "pathspec",
        "pluggy",
        "trove-classifiers",
    } <= names
    env = isolated_env(tmp_path)
    project = make_project(tmp_path / "hatched", "hatched")
    uv_lock(project, None, env)
    sync = ["sync", "--offline", "--frozen", "--project", project]
    missing = run_uv(sync, env, check=False, offline=True)
    assert missing.returncode != 0 and "build-system.requires" in missing.stderr
    run_uv([*sync, "--find-links", hatchling_wheelhouse], env, offline=True)
    python = project / ".venv" / "bin" / "python"
    assert _python(python, "import hatched; print(hatched.__file__)") == str(
        project / "src" / "hatched" / "__init__.py"
    )


Fixture = Callable[..., Path]


def test_fixtures_work_together(
    wheel_factory: Fixture,
    sdist_factory: Fixture,
    loopback_index: LoopbackIndex,
    isolated_env: dict[str, str],
    uv_bin: str,
) -> None:
    wheel = wheel_factory("one", "1.0")
    sdist = sdist_factory("two", "2.0")
    assert wheel.parent == sdist.parent == loopback_index.folder
    assert _get(loopback_index.url + "/")[1].decode().count("<a ") == 2
    assert Path(uv_bin).is_file() and isolated_env["UV_NO_CONFIG"] == "1"
