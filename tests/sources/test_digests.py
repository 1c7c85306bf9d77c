"""Locks that pin sha384 or sha512 (uv keeps the strongest digest an index offers): made by
the real uv against a loopback index that advertises them, then fetched, served offline with
an empty uv cache, a changed wheel with the right name refused, uv.lock byte-identical."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from support import LoopbackIndex, build_wheel, index_entries, make_project, uv_lock
from support.projects import clean_env, lockshim, venv_run

from lockshim.digests import of_file, parse


@pytest.fixture(params=["sha512", "sha384"])
def pinned(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[Path, Path, str]:
    """(a project locked against an index giving ``algorithm`` digests, its files, the
    algorithm)."""
    algorithm = str(request.param)
    registry = tmp_path / "registry"
    build_wheel(registry, "alpha", "1.0")
    build_wheel(registry, "beta", "2.0", requires=["alpha"])
    project = make_project(tmp_path / "app", "app", ["beta"], build_backend=None)
    with LoopbackIndex(registry, algorithm=algorithm) as index:
        uv_lock(project, index.url, clean_env(tmp_path / "lock"))
        text = (project / "uv.lock").read_text()
        assert f'hash = "{algorithm}:' in text and 'hash = "sha256:' not in text
        fetched = lockshim(
            ["fetch", "--dest", str(tmp_path / "fetched"), "--json"],
            project,
            clean_env(tmp_path / "f"),
            offline=False,
        )
    assert fetched.returncode == 0, fetched.stdout + fetched.stderr
    report = json.loads(fetched.stdout)
    assert {r["filename"] for r in report["downloaded"]} == {
        "alpha-1.0-py3-none-any.whl",
        "beta-2.0-py3-none-any.whl",
    }
    assert all(r["digest"].startswith(f"{algorithm}:") for r in report["downloaded"])
    return project, tmp_path / "fetched", algorithm


def test_a_lock_pinning_a_stronger_digest_is_fetched_and_served_offline(
    pinned: tuple[Path, Path, str], tmp_path: Path
) -> None:
    project, wheels, algorithm = pinned
    original = (project / "uv.lock").read_bytes()
    env = clean_env(tmp_path / "s")
    plan = lockshim(["plan", "--json", "--no-pip-cache", "-w", str(wheels)], project, env)
    assert plan.returncode == 0, plan.stdout + plan.stderr
    served = json.loads(plan.stdout)["served"]
    assert {row["digest"].partition(":")[0] for row in served} == {algorithm}
    result = lockshim(["sync", "--no-pip-cache", "-w", str(wheels)], project, env)
    assert result.returncode == 0, result.stderr
    assert "2 of the 2 files this environment needs" in result.stderr or (
        "every file uv.lock pins" in result.stderr
    )
    assert (project / "uv.lock").read_bytes() == original
    ran = venv_run(project, "import alpha, beta")
    assert ran.returncode == 0, ran.stderr
    # the hash index remembers that digest: nothing is hashed again
    assert set(index_entries(wheels, algorithm=algorithm)) >= {"alpha-1.0-py3-none-any.whl"}


def test_a_changed_wheel_with_the_right_name_is_refused_and_named(
    pinned: tuple[Path, Path, str], tmp_path: Path
) -> None:
    project, wheels, algorithm = pinned
    original = (project / "uv.lock").read_bytes()
    target = wheels / "alpha-1.0-py3-none-any.whl"
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0xFF  # the same size, other bytes
    target.write_bytes(bytes(data))
    actual = of_file(wheels / "alpha-1.0-py3-none-any.whl", (algorithm,))[algorithm]
    result = lockshim(["sync", "--no-pip-cache", "-w", str(wheels)], project, clean_env(tmp_path))
    assert result.returncode == 3, result.stderr  # alpha is missing now: stopped before uv
    assert f"{algorithm} {actual.partition(':')[2]}, but uv.lock pins " in result.stderr
    assert (project / "uv.lock").read_bytes() == original


def test_a_digest_lockshim_cannot_check_is_named_and_not_served(tmp_path: Path) -> None:
    """md5 (some old indexes): the file is never served; fetch says which and exits 1."""
    registry = tmp_path / "registry"
    wheel = build_wheel(registry, "alpha", "1.0")
    project = make_project(tmp_path / "app", "app", ["alpha"], build_backend=None)
    with LoopbackIndex(registry) as index:
        uv_lock(project, index.url, clean_env(tmp_path / "lock"))
    lock = project / "uv.lock"
    md5 = hashlib.md5(wheel.read_bytes()).hexdigest()
    text = lock.read_text()
    start = text.index('hash = "sha256:')
    end = text.index('"', start + 8)
    lock.write_text(text[:start] + f'hash = "md5:{md5}' + text[end:])
    result = lockshim(["sync", "--no-pip-cache", "-w", str(registry)], project, clean_env(tmp_path))
    assert "uv.lock pins only md5 for alpha 1.0 (alpha-1.0-py3-none-any.whl), which lockshim " in (
        result.stderr
    )
    assert parse(f"md5:{md5}") is None and parse("SHA512:" + "A" * 128) == "sha512:" + "a" * 128
