"""Windows and macOS, as far as they can be shown from Linux: the branches type checkers
follow, Windows' file URLs and path spellings, files another process holds open, and the cache
folders each platform uses. (No Windows or macOS machine runs these; README says so.)"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path, PureWindowsPath

import pytest

from lockshim import atomic
from lockshim.lockfile.rewrite import file_url

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("platform", ["win32", "darwin", "linux"])
def test_every_platforms_branches_type_check(platform: str) -> None:
    mypy = shutil.which("mypy", path=str(Path(sys.executable).parent))
    if mypy is None:
        pytest.skip("mypy is not installed here")
    result = subprocess.run(
        [mypy, "--platform", platform], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout


@pytest.mark.parametrize(
    ("path", "url"),
    [
        (
            "C:/Users/Me/wheel house/a+1-1.0-py3-none-any.whl",
            "file:///C:/Users/Me/wheel%20house/a%2B1-1.0-py3-none-any.whl",
        ),
        (
            "D:\\wh\\ü#1\\six-1.17.0-py2.py3-none-any.whl",
            "file:///D:/wh/%C3%BC%231/six-1.17.0-py2.py3-none-any.whl",
        ),
        (
            "\\\\server\\share\\wheels\\six-1.17.0-py2.py3-none-any.whl",
            "file://server/share/wheels/six-1.17.0-py2.py3-none-any.whl",
        ),
    ],
)
def test_windows_file_urls_are_the_forms_uv_reads(path: str, url: str) -> None:
    """A drive is file:///C:/..., a UNC share file://server/share/... (never file://C:/...)."""
    assert file_url(PureWindowsPath(path)) == url


def _held_open(times: int) -> tuple[list[int], object]:
    """os.replace failing ``times`` times as Windows does while another process holds the
    file (a sharing violation), then working."""
    calls: list[int] = []
    real = atomic.os.replace

    def flaky(source: object, target: object) -> None:
        calls.append(1)
        if len(calls) <= times:
            error = PermissionError(13, "The process cannot access the file")
            error.winerror = 32  # type: ignore[attr-defined]
            raise error
        real(source, target)  # type: ignore[arg-type]

    return calls, flaky


def test_a_file_held_open_elsewhere_is_replaced_once_it_is_let_go(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls, flaky = _held_open(3)
    monkeypatch.setattr(atomic.os, "replace", flaky)
    target = tmp_path / "uv.lock"
    target.write_bytes(b"before")
    atomic.atomic_write(target, b"after", 0o644)
    assert target.read_bytes() == b"after" and len(calls) == 4


def test_a_file_held_open_for_good_is_an_error_after_a_while(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls, flaky = _held_open(1000)
    monkeypatch.setattr(atomic.os, "replace", flaky)
    source, target = tmp_path / "a", tmp_path / "b"
    source.write_bytes(b"x")
    with pytest.raises(PermissionError):
        atomic.replace(source, target, patience=0.2)
    assert 2 < len(calls) < 1000
    other = PermissionError(13, "denied")  # a real permission problem: no retry at all
    calls.clear()

    def denied(source: object, target: object) -> None:
        calls.append(1)
        raise other

    monkeypatch.setattr(atomic.os, "replace", denied)
    with pytest.raises(PermissionError):
        atomic.replace(source, target)
    assert len(calls) == 1


@pytest.mark.parametrize(
    ("platform", "env", "expected"),
    [
        (
            "win32",
            {"LOCALAPPDATA": "C:/Users/me/AppData/Local", "HOME": "/h"},
            ("C:/Users/me/AppData/Local/lockshim", "C:/Users/me/AppData/Local/pip/Cache"),
        ),
        (
            "darwin",
            {"HOME": "/Users/me"},
            ("/Users/me/Library/Caches/lockshim", "/Users/me/Library/Caches/pip"),
        ),
        ("linux", {"HOME": "/home/me"}, ("/home/me/.cache/lockshim", "/home/me/.cache/pip")),
        ("linux", {"HOME": "/home/me", "XDG_CACHE_HOME": "/x"}, ("/x/lockshim", "/x/pip")),
    ],
)
def test_lockshims_and_pips_cache_folders_are_where_each_platform_keeps_them(
    platform: str, env: dict[str, str], expected: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """(uv's own cache folder is asked of uv itself: `uv cache dir`.)"""
    from lockshim.paths import user_cache_base
    from lockshim.sources.pipcache import pip_cache_dir

    monkeypatch.setattr(sys, "platform", platform)
    ours = user_cache_base(env) / "lockshim"  # (made absolute where it runs)
    pips = pip_cache_dir({**env, "PIP_CONFIG_FILE": "/dev/null"})
    assert (ours.as_posix(), pips.as_posix() if pips else None) == expected


@pytest.mark.parametrize(
    "source",
    [
        '{ editable = "C:/Users/alice/src/outside" }',
        '{ directory = "D:\\\\work\\\\lib" }',
        '{ editable = "\\\\\\\\server\\\\share\\\\pkg" }',
        '{ directory = "//server/share/pkg" }',
        '{ editable = "..\\\\..\\\\..\\\\home\\\\alice\\\\src\\\\outside" }',
        '{ path = "C:wheels/pkg-1.0-py3-none-any.whl" }',
    ],
)
def test_check_flags_every_windows_spelling_of_a_local_source(source: str, tmp_path: Path) -> None:
    from support.projects import clean_env, lockshim

    repo = tmp_path / "repo"
    repo.mkdir()
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    lock = repo / "uv.lock"
    lock.write_text(
        'version = 1\nrevision = 3\nrequires-python = ">=3.10"\n\n'
        f'[[package]]\nname = "pkg"\nversion = "1.0"\nsource = {source}\n'
    )
    result = lockshim(["check", str(lock)], tmp_path, clean_env(tmp_path))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "pkg 1.0:" in result.stdout
    assert "is an absolute path" in result.stdout or "leaves the repository" in result.stdout


def test_every_file_lockshim_creates_is_binary_on_windows() -> None:
    """`os.open` without O_BINARY opens a file in the C runtime's text mode on Windows, which
    writes every LF as CRLF: a wheel, a bundle's member or a project file would change. Every
    file lockshim creates goes through atomic.new_file, which asks for binary mode."""
    creating = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in sorted((ROOT / "lockshim").rglob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if "O_CREAT" in line and path != ROOT / "lockshim" / "atomic.py"
    ]
    assert creating == []
