"""Targets (markers and tags of an environment) and which file uv takes for each package."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from lockshim.errors import UsageError
from lockshim.uv.argv import export_args
from lockshim.uv.select import select
from lockshim.uv.target import Target, for_platform, for_python, probe


@pytest.fixture(scope="module")
def here() -> Target:
    return probe(Path(sys.executable))


def test_probe_reads_this_interpreter(here: Target) -> None:
    assert here.markers["python_version"] == f"{sys.version_info[0]}.{sys.version_info[1]}"
    assert here.markers["sys_platform"] == sys.platform
    assert here.rank("x-1.0-py3-none-any.whl") is not None


@pytest.mark.parametrize(
    ("triple", "fits", "does_not_fit", "sys_platform"),
    [
        (
            "x86_64-pc-windows-msvc",
            "x-1-cp311-cp311-win_amd64.whl",
            "x-1-cp311-cp311-manylinux_2_17_x86_64.whl",
            "win32",
        ),
        (
            "aarch64-apple-darwin",
            "x-1-cp311-cp311-macosx_11_0_arm64.whl",
            "x-1-cp311-cp311-macosx_10_9_x86_64.whl",
            "darwin",
        ),
        (
            "x86_64-manylinux_2_28",
            "x-1-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
            "x-1-cp311-cp311-manylinux_2_31_x86_64.whl",
            "linux",
        ),
        (
            "aarch64-unknown-linux-musl",
            "x-1-cp311-cp311-musllinux_1_1_aarch64.whl",
            "x-1-cp311-cp311-musllinux_1_1_x86_64.whl",
            "linux",
        ),
    ],
)
def test_platforms_named_as_uv_names_them(
    here: Target, triple: str, fits: str, does_not_fit: str, sys_platform: str
) -> None:
    target = for_python(here, "3.11")
    target = for_platform(target, triple)
    assert target.markers["sys_platform"] == sys_platform
    assert target.rank(fits) is not None
    assert target.rank(does_not_fit) is None
    assert target.rank("x-1-py3-none-any.whl") is not None
    assert target.rank(fits) < target.rank("x-1-py3-none-any.whl")  # type: ignore[operator]


def test_another_python_version(here: Target) -> None:
    target = for_platform(for_python(here, "3.10"), "x86_64-manylinux_2_28")
    assert target.markers["python_version"] == "3.10"
    assert target.rank("x-1-cp310-cp310-manylinux_2_17_x86_64.whl") is not None
    assert target.rank("x-1-cp311-cp311-manylinux_2_17_x86_64.whl") is None
    assert target.rank("x-1-cp37-abi3-manylinux_2_17_x86_64.whl") is not None
    assert target.applies("python_version < '3.11'")
    assert not target.applies("python_version >= '3.11'")


def test_unknown_platform_names_the_fix(here: Target) -> None:
    with pytest.raises(UsageError, match="x86_64-pc-windows-msvc"):
        for_platform(here, "sparc-sun-solaris")
    with pytest.raises(UsageError, match=r"3\.12"):
        for_python(here, "three")


def test_select_takes_the_wheel_uv_prefers(here: Target) -> None:
    linux = for_platform(for_python(here, "3.11"), "x86_64-manylinux_2_28")
    exported = {
        "packages": [
            {
                "name": "fast",
                "version": "1.0",
                "wheels": [
                    {"url": "https://x/fast-1.0-py3-none-any.whl", "hashes": {"sha256": "A"}},
                    {
                        "url": "https://x/fast-1.0-cp311-cp311-manylinux_2_17_x86_64.whl",
                        "hashes": {"sha256": "B" * 64},
                        "size": 10,
                    },
                    {
                        "url": "https://x/fast-1.0-cp311-cp311-win_amd64.whl",
                        "hashes": {"sha256": "C"},
                    },
                ],
                "sdist": {"url": "https://x/fast-1.0.tar.gz", "hashes": {"sha256": "D"}},
            },
            {"name": "only-sdist", "version": "2", "sdist": {"url": "https://x/o-2.tar.gz"}},
            {
                "name": "windows-only",
                "version": "3",
                "marker": "sys_platform == 'win32'",
                "wheels": [{"url": "https://x/w-3-py3-none-any.whl"}],
            },
            {
                "name": "nothing-fits",
                "version": "4",
                "wheels": [{"url": "https://x/n-4-cp311-cp311-win_amd64.whl"}],
            },
            {"name": "app", "directory": {"path": ".", "editable": True}},
        ]
    }
    chosen = {s.name: (s.kind, s.filename, s.digest) for s in select(exported, linux)}
    assert chosen == {
        "fast": ("wheel", "fast-1.0-cp311-cp311-manylinux_2_17_x86_64.whl", "sha256:" + "b" * 64),
        "only-sdist": ("sdist", "o-2.tar.gz", None),
        "nothing-fits": ("none", None, None),
        "app": ("local", None, None),
    }


def test_sync_arguments_become_export_arguments() -> None:
    assert export_args(
        [
            "--extra",
            "x",
            "--all-groups",
            "--no-install-project",
            "--reinstall",
            "--no-install-package=foo",
            "--python",
            "3.12",
            "--package",
            "member",
        ]
    ) == [
        "--extra",
        "x",
        "--all-groups",
        "--no-emit-project",
        "--no-emit-package",
        "foo",
        "--package",
        "member",
    ]


def test_the_interpreter_lockshim_runs_on_answers_the_probe_in_process_as_it_would_apart() -> None:
    """The plan probes the interpreter uv picks; when that is lockshim's own (its venv's link
    counts), the probe runs in this process, and must say what a separate run says."""
    import json
    import subprocess

    from lockshim.uv import target as targets

    apart = subprocess.run(
        [sys.executable, "-I", "-c", targets._PROBE], capture_output=True, text=True, check=True
    )
    assert json.loads(targets._asked_here()) == json.loads(apart.stdout)
    assert targets._is_running(Path(sys.executable))
    assert not targets._is_running(Path(sys.executable).parent / "no-such-python")
