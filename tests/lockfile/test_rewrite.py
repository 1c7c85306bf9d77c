"""The shimmed lock: only the chosen artifact URLs change, and they are valid file:// URLs."""

from __future__ import annotations

import difflib
from pathlib import Path, PurePosixPath, PureWindowsPath
from urllib.parse import unquote, urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pytest_regressions.file_regression import FileRegressionFixture

from lockshim.errors import LockError
from lockshim.lockfile.model import Lock
from lockshim.lockfile.read import parse_lock, read_lock
from lockshim.lockfile.rewrite import file_url, rewrite

FIXTURES = Path(__file__).parents[2] / "fixtures" / "locks"
LOCKS = sorted(FIXTURES.glob("*.lock"))
WHEELHOUSE = PurePosixPath("/srv/wheel house/ü#1")


def _serve_everything(lock: Lock) -> dict[tuple[int, int], PurePosixPath]:
    """A local file for every artifact lockshim may serve (remote source, sha256 pinned)."""
    return {
        (package.position, artifact.position): WHEELHOUSE / artifact.filename
        for package, artifact in lock.servable()
        if artifact.sha256
    }


@pytest.mark.parametrize("path", LOCKS, ids=[p.stem for p in LOCKS])
def test_shimmed_lock_snapshot(path: Path, file_regression: FileRegressionFixture) -> None:
    lock = read_lock(path)
    shimmed = rewrite(lock, _serve_everything(lock))
    file_regression.check(shimmed, binary=True, extension=".lock")


@pytest.mark.parametrize("path", LOCKS, ids=[p.stem for p in LOCKS])
def test_only_the_served_locations_change(path: Path) -> None:
    lock = read_lock(path)
    served = _serve_everything(lock)
    shimmed = rewrite(lock, served).decode("utf-8")
    registry = [key for key in served if lock.packages[key[0]].source_kind == "registry"]
    assert shimmed.count("file://") == len(registry)
    # Undo each change by plain text replacement: the files must then be identical.
    restored = shimmed
    for (package_index, artifact_index), local in served.items():
        package = lock.packages[package_index]
        artifact = package.artifacts[artifact_index]
        assert package.source is not None
        if package.source_kind == "registry":
            restored = restored.replace(f'"{file_url(local)}"', f'"{artifact.url}"', 1)
        else:  # a direct URL source became a path source, wherever it is referenced
            restored = restored.replace(
                f'source = {{ path = "{local}" }}', f'source = {{ url = "{package.source.value}" }}'
            )
            if artifact.url is not None:
                restored = restored.replace(f'path = "{local}"', f'url = "{artifact.url}"', 1)
    if lock.fast:
        assert restored == lock.text
    changed = [
        line
        for line in difflib.unified_diff(
            lock.text.splitlines(keepends=True), shimmed.splitlines(keepends=True), n=0
        )
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]
    assert all(
        "file://" in line or str(WHEELHOUSE) in line or "https://" in line for line in changed
    )


def test_nothing_to_serve_gives_the_same_bytes() -> None:
    lock = read_lock(FIXTURES / "mirror-crlf-no-newline.lock")
    assert rewrite(lock, {}) == (FIXTURES / "mirror-crlf-no-newline.lock").read_bytes()


def test_crlf_survives_the_rewrite() -> None:
    lock = read_lock(FIXTURES / "mirror-crlf-no-newline.lock")
    shimmed = rewrite(lock, _serve_everything(lock))
    assert shimmed.count(b"\r\n") == lock.text.count("\r\n")
    assert not shimmed.endswith(b"\n")


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (
            PurePosixPath("/tmp/w h#1ü/six-1.17.0-py2.py3-none-any.whl"),
            "file:///tmp/w%20h%231%C3%BC/six-1.17.0-py2.py3-none-any.whl",
        ),
        (
            PurePosixPath("/tmp/100%/\"q\"/'s'/torch-2.5.1+cpu-cp311-cp311-linux_x86_64.whl"),
            "file:///tmp/100%25/%22q%22/%27s%27/torch-2.5.1%2Bcpu-cp311-cp311-linux_x86_64.whl",
        ),
        (
            PureWindowsPath(r"C:\Users\Zoë\wheel house\idna-3.10-py3-none-any.whl"),
            "file:///C:/Users/Zo%C3%AB/wheel%20house/idna-3.10-py3-none-any.whl",
        ),
        (
            PureWindowsPath(r"\\server\share\wheels\idna-3.10-py3-none-any.whl"),
            "file://server/share/wheels/idna-3.10-py3-none-any.whl",
        ),
    ],
)
def test_file_urls_are_percent_encoded(path: PurePosixPath, expected: str) -> None:
    url = file_url(path)
    assert url == expected
    # The last segment decodes back to the wheel's own file name, which uv parses.
    assert unquote(urlsplit(url).path).rsplit("/", 1)[1] == path.name


@settings(max_examples=300, deadline=None)
@given(
    parts=st.lists(
        st.text(
            st.characters(blacklist_categories=("Cs",), blacklist_characters="/\0"), min_size=1
        ).filter(lambda part: part not in (".", "..")),
        min_size=1,
        max_size=4,
    )
)
def test_posix_file_urls_are_pathlibs_own(parts: list[str]) -> None:
    """The folder is quoted once for all its files: the URL is still exactly pathlib's."""
    path = PurePosixPath("/", *parts)
    assert file_url(path) == path.as_uri()


def test_relative_paths_are_refused() -> None:
    with pytest.raises(ValueError, match="absolute"):
        file_url(PurePosixPath("wheels/x.whl"))


def test_a_tomlkit_rewrite_that_would_change_more_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    lock = read_lock(FIXTURES / "hand-edited.lock")
    assert not lock.fast
    from lockshim.lockfile import rewrite as module

    real = module._through_tomlkit
    monkeypatch.setattr(
        module, "_through_tomlkit", lambda lock, plan: real(lock, plan).replace('"2.2.1"', '"9"')
    )
    with pytest.raises(LockError, match="could not rewrite this lock safely"):
        rewrite(lock, _serve_everything(lock))


def test_a_span_that_does_not_hold_a_url_is_refused() -> None:
    lock = read_lock(FIXTURES / "forked-universal.lock")
    package = lock.packages[2]
    wrong = package.artifacts[0]._replace(span=(0, 7))  # not where a url stands
    packages = (*lock.packages[:2], package._replace(artifacts=(wrong,)), *lock.packages[3:])
    broken = lock._replace(packages=packages)
    with pytest.raises(LockError, match="unexpected layout"):
        rewrite(broken, {(package.position, 0): WHEELHOUSE / wrong.filename})


def test_a_direct_url_sdist_in_a_hand_edited_lock_becomes_a_path_source() -> None:
    """Not uv's layout (single quotes): the tomlkit path; the sdist has no url of its own."""
    digest = "a" * 64
    text = (
        "version = 1\nrevision = 3\nrequires-python = '>=3.9'\n\n[[package]]\nname = 'direct'\n"
        "version = '1.0'\nsource = { url = 'https://example.org/direct-1.0.tar.gz' }\n"
        f"sdist = {{ hash = 'sha256:{digest}' }}\n"
    )
    lock = parse_lock(text.encode(), Path("uv.lock"))
    assert not lock.fast
    assert len(lock.packages) == 1
    shimmed = rewrite(lock, {(0, 0): Path("/wheels/direct-1.0.tar.gz")})
    assert b"/wheels/direct-1.0.tar.gz" in shimmed and b"https://example.org" not in shimmed


def test_a_url_with_a_slash_in_its_query_is_still_matched_by_name(tmp_path: Path) -> None:
    from lockshim.sources.local import _could_serve
    from lockshim.sources.wheelhouse import Wheelhouse

    house = tmp_path / "wheels"
    house.mkdir()
    (house / "foo-1.0-py3-none-any.whl").write_bytes(b"x" * 55)  # named like it, other size
    keep, _ = _could_serve([Wheelhouse(house, lambda path, reason: None).scan()])
    url = "https://h/dl/foo-1.0-py3-none-any.whl?sig=a/b"
    assert keep("url", url, "sha256:" + "b" * 64, "100")
    assert not keep(
        "url", "https://h/dl/bar-1.0-py3-none-any.whl?sig=a/b", "sha256:" + "b" * 64, "100"
    )
