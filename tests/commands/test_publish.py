"""`lockshim publish`: a bundle's registry files into the far side's own index — a real
pypiserver that takes uploads only with a password, and a real devpi-server — then a fresh
copy of the project installs from it with `--mirror` (127.0.0.1 only)."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from support import servers
from support.projects import clean_env, lockshim

PASSWORD = "s3cr3t-upload"


@contextmanager
def _pypiserver(served: Path, *options: str) -> Iterator[str]:
    """A real pypiserver (its simple API root); the test is skipped where it cannot start."""
    try:
        server = servers.pypiserver(served, *options)
        simple = server.__enter__()
    except servers.ServerUnavailable as error:
        pytest.skip(str(error))
    try:
        yield simple
    finally:
        server.__exit__(None, None, None)


def _bundle(project: Path, wheelhouse: Path, tmp_path: Path) -> Path:
    bundle = tmp_path / "app.zip"
    made = lockshim(
        ["bundle", "-o", str(bundle), "--no-pip-cache", "-w", str(wheelhouse)],
        project,
        clean_env(tmp_path / "bundle-env"),
    )
    assert made.returncode == 0, made.stderr
    return bundle


def _publish(bundle: Path, to: str, tmp_path: Path, **env: str) -> tuple[int, dict, str]:  # type: ignore[type-arg]
    ran = lockshim(
        ["publish", str(bundle), "--to", to, "--json"],
        tmp_path,
        clean_env(tmp_path / "publish-env", **env),
        offline=False,
    )
    assert PASSWORD not in ran.stdout + ran.stderr
    return ran.returncode, json.loads(ran.stdout), ran.stderr


def _statuses(report: dict) -> dict[str, str]:  # type: ignore[type-arg]
    return {row["filename"]: row["status"] for row in report["files"]}


def test_publish_fills_a_pypiserver_then_a_fresh_copy_installs_from_it(
    project: Path, wheelhouse: Path, tmp_path: Path
) -> None:
    bundle = _bundle(project, wheelhouse, tmp_path)
    served = tmp_path / "served"
    served.mkdir()
    sha1 = base64.b64encode(hashlib.sha1(PASSWORD.encode()).digest()).decode()
    (tmp_path / "htpasswd").write_text(f"alice:{{SHA}}{sha1}\n")
    with _pypiserver(served, "-a", "update", "-P", str(tmp_path / "htpasswd")) as simple:
        upload = simple.removesuffix("simple/")
        status, denied, _ = _publish(bundle, upload, tmp_path / "a")
        assert status == 1 and any(r["status"] == "failed" for r in denied["files"])
        assert not any(p.suffix == ".whl" for p in served.iterdir())

        creds = {"TWINE_USERNAME": "alice", "TWINE_PASSWORD": PASSWORD}
        status, report, said = _publish(bundle, upload, tmp_path / "b", **creds)
        assert status == 0, said
        statuses = _statuses(report)
        assert statuses["direct-1.0-py3-none-any.whl"] == "left out"  # a direct URL source
        uploaded = {name for name, s in statuses.items() if s == "uploaded"}
        assert {"alpha-1.0-py3-none-any.whl", "sdisty-1.0.tar.gz"} <= uploaded
        assert {p.name for p in served.iterdir()} == uploaded
        for name in uploaded:
            assert (served / name).read_bytes() == (wheelhouse / name).read_bytes()

        status, again, _ = _publish(bundle, upload, tmp_path / "c", **creds)
        assert (
            status == 0 and {n for n, s in _statuses(again).items() if s == "present"} == uploaded
        )  # the same digest: nothing uploaded twice

        # a fresh copy of the project installs from the index alone (the direct URL package,
        # never published, from a folder of its own)
        fresh = tmp_path / "fresh"
        shutil.copytree(project, fresh, ignore=shutil.ignore_patterns(".venv"))
        own = tmp_path / "direct-only"
        own.mkdir()
        shutil.copy(wheelhouse / "direct-1.0-py3-none-any.whl", own)
        synced = lockshim(
            ["sync", "--no-pip-cache", "--mirror", simple, "-w", str(own)],
            fresh,
            clean_env(tmp_path / "sync-env"),
            offline=False,
        )
        assert synced.returncode == 0, synced.stderr
        assert (fresh / "uv.lock").read_bytes() == (project / "uv.lock").read_bytes()


def test_other_bytes_under_a_published_name_are_refused_by_name(
    project: Path, wheelhouse: Path, tmp_path: Path
) -> None:
    bundle = _bundle(project, wheelhouse, tmp_path)
    served = tmp_path / "served"
    served.mkdir()
    (served / "devtool-1.0-py3-none-any.whl").write_bytes(os.urandom(2000))  # planted before
    with _pypiserver(served, "-a", ".", "-P", ".") as simple:
        status, report, _ = _publish(bundle, simple.removesuffix("simple/"), tmp_path)
    assert status == 1
    devtool = next(r for r in report["files"] if r["filename"] == "devtool-1.0-py3-none-any.whl")
    assert devtool["status"] == "refused" and "other bytes under that name" in devtool["detail"]
    assert _statuses(report)["alpha-1.0-py3-none-any.whl"] == "uploaded"


def test_publish_into_devpi(project: Path, wheelhouse: Path, tmp_path: Path) -> None:
    """devpi: its upload URL is the index's own (`root/dev/`), its pages `+simple/`."""
    bundle = _bundle(project, wheelhouse, tmp_path)
    with servers.devpi(None, tmp_path, PASSWORD) as (_, upload):
        creds = {"TWINE_USERNAME": "root", "TWINE_PASSWORD": PASSWORD}
        status, report, said = _publish(bundle, upload, tmp_path, **creds)
        assert status == 0, (said, report)
        uploaded = {n for n, s in _statuses(report).items() if s == "uploaded"}
        assert "alpha-1.0-py3-none-any.whl" in uploaded
        status, again, _ = _publish(bundle, upload, tmp_path / "again", **creds)
        assert status == 0
        assert {n for n, s in _statuses(again).items() if s == "present"} == uploaded


def test_a_self_contained_bundle_publishes_itself(
    project: Path, wheelhouse: Path, tmp_path: Path
) -> None:
    """The far side may have only Python and the bundle: `python3 app.pyz publish --to URL`."""
    import subprocess
    import sys

    from support.wheels import uv_wheel

    house = tmp_path / "house"
    shutil.copytree(wheelhouse, house)
    uv_wheel(house)
    bundle = tmp_path / "app.pyz"
    made = lockshim(
        ["bundle", "-o", str(bundle), "--self-contained", "--no-pip-cache", "-w", str(house)],
        project,
        clean_env(tmp_path / "bundle-env"),
    )
    assert made.returncode == 0, made.stderr
    served = tmp_path / "served"
    served.mkdir()
    with _pypiserver(served, "-a", ".", "-P", ".") as simple:
        ran = subprocess.run(
            [sys.executable, "-I", "-S", str(bundle), "publish", "--to", simple[: -len("simple/")]],
            capture_output=True,
            text=True,
            env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path / "home")},
        )
    assert ran.returncode == 0, ran.stderr
    assert (served / "alpha-1.0-py3-none-any.whl").is_file()
    assert not (served / "direct-1.0-py3-none-any.whl").exists()


@pytest.mark.parametrize("same", [True, False])
def test_an_index_that_gives_no_digest_is_asked_for_the_bytes(tmp_path: Path, same: bool) -> None:
    """A page without a sha256 (some Artifactory setups): the file is downloaded into a private
    folder and checked against the bundle's digest before anything is uploaded over it."""
    import http.server

    from lockshim.commands.publish import _held
    from lockshim.sources.credentials import Credentials
    from lockshim.sources.download import Downloader
    from lockshim.sources.upload import Upload

    ours = tmp_path / "alpha-1.0-py3-none-any.whl"
    ours.write_bytes(b"the bundle's bytes")
    served = ours.read_bytes() if same else b"other bytes here!!"

    class Index(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            if self.path.startswith("/simple/alpha"):
                body = b'<a href="/files/alpha-1.0-py3-none-any.whl">alpha-1.0-py3-none-any.whl</a>'
                kind = "text/html"
            else:
                body, kind = served, "application/octet-stream"
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    item = Upload(
        ours,
        ours.name,
        "alpha",
        "1.0",
        "bdist_wheel",
        "py3",
        hashlib.sha256(ours.read_bytes()).hexdigest(),
    )
    with servers.handling(Index) as origin:
        held = _held(
            Downloader(tmp_path, Credentials({}), 1, keep=False), f"{origin}/simple/", item
        )
    assert held is not None
    assert held.status == ("present" if same else "refused"), held


@pytest.mark.skipif(shutil.which("ip") is None, reason="needs ip(8) to bring loopback up")
def test_publish_with_no_network_but_loopback(tmp_path: Path) -> None:
    """The publish tests above again, inside a network namespace whose only network is
    loopback (`unshare -n`, then `ip link set lo up`): the servers, lockshim and uv all run
    there, nothing else can be reached."""
    import subprocess
    import sys

    from support import can_unshare_net

    if os.environ.get("LOCKSHIM_TEST_IN_NAMESPACE"):
        pytest.skip("already inside the namespace")
    if not can_unshare_net():
        pytest.skip("`unshare -n` is not permitted here")
    inner = [
        *(sys.executable, "-m", "pytest", "-q", "-rA", "-p", "no:cacheprovider", __file__),
        *("-k", "pypiserver or devpi or refused", "--basetemp", str(tmp_path / "inner")),
    ]
    ran = subprocess.run(
        ["unshare", "-n", "sh", "-c", 'ip link set lo up && exec "$@"', "sh", *inner],
        capture_output=True,
        text=True,
        env={**os.environ, "LOCKSHIM_TEST_IN_NAMESPACE": "1"},
        cwd=Path(__file__).parents[2],
    )
    assert ran.returncode == 0, ran.stdout[-4000:] + ran.stderr[-2000:]
    passed = [line for line in ran.stdout.splitlines() if line.startswith("PASSED")]
    for name in ("fills_a_pypiserver", "refused_by_name"):  # devpi's: where it is installed
        assert any(name in line for line in passed), ran.stdout[-2000:]
