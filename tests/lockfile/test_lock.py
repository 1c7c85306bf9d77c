"""Reading uv.lock: the fast scan agrees with a real TOML parser, and bad input is named."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lockshim._compat import tomllib
from lockshim.errors import LockError
from lockshim.lockfile.model import Package
from lockshim.lockfile.read import parse_lock, read_lock
from lockshim.lockfile.scan import package_places, scan_only

FIXTURES = Path(__file__).parents[2] / "fixtures" / "locks"
LOCKS = sorted(FIXTURES.glob("*.lock"))


def _from_toml(path: Path) -> list[tuple[object, ...]]:
    """What tomllib sees: (name, version, source, [(kind, url or path or filename, hash, size)])."""
    text = path.read_bytes().decode("utf-8").removeprefix("\ufeff")
    rows = []
    for raw in tomllib.loads(text).get("package", []):
        entries = ([("sdist", raw["sdist"])] if "sdist" in raw else []) + [
            ("wheel", w) for w in raw.get("wheels", [])
        ]
        source = next(iter(raw["source"].items())) if "source" in raw else None
        rows.append(
            (
                raw["name"],
                raw.get("version"),
                source,
                [
                    (
                        kind,
                        e.get("url") or e.get("path") or e.get("filename"),
                        e.get("hash"),
                        e.get("size"),
                    )
                    for kind, e in entries
                ],
            )
        )
    return rows


def _from_lockshim(path: Path) -> list[tuple[object, ...]]:
    lock = read_lock(path)
    return [
        (
            p.name,
            p.version,
            (p.source.kind, p.source.value) if p.source else None,
            [(a.kind, a.url or a.path, a.hash, a.size) for a in p.artifacts],
        )
        for p in lock.packages
    ]


@pytest.mark.parametrize("path", LOCKS, ids=[p.stem for p in LOCKS])
def test_scan_agrees_with_tomllib(path: Path) -> None:
    assert _from_lockshim(path) == _from_toml(path)


def test_uv_layout_takes_the_fast_path_and_spans_point_at_urls() -> None:
    lock = read_lock(FIXTURES / "forked-universal.lock")
    assert lock.fast
    for _, artifact in lock.artifacts():
        assert artifact.span is not None
        assert lock.text[artifact.span[0] : artifact.span[1]] == artifact.url


def test_crlf_and_bom_keep_spans_exact() -> None:
    for name in ("mirror-crlf-no-newline.lock", "bom-comment.lock"):
        lock = read_lock(FIXTURES / name)
        assert lock.fast, name
        assert all(lock.text[a.span[0] : a.span[1]] == a.url for _, a in lock.artifacts() if a.span)


def test_hand_edited_lock_is_read_by_the_slow_path() -> None:
    lock = read_lock(FIXTURES / "hand-edited.lock")
    assert not lock.fast
    assert [p.label for p in lock.packages] == ["tomli 2.2.1", "zipp 3.21.0"]


def test_filenames_are_percent_decoded() -> None:
    lock = read_lock(FIXTURES / "sources-mixed.lock")
    torch = next(p for p in lock.packages if p.name == "torch")
    assert [a.filename for a in torch.artifacts] == [
        "torch-2.5.1+cpu-cp311-cp311-linux_x86_64.whl",
        "torch-2.5.1+cpu-cp312-cp312-linux_x86_64.whl",
        "torch-2.5.1+cpu-cp313-cp313-linux_x86_64.whl",
    ]
    assert torch.artifacts[2].sha256 is None  # a bare url: nothing to verify
    kinds = {p.name: (p.source.kind if p.source else None, p.servable) for p in lock.packages}
    assert kinds == {
        "demo": ("virtual", False),
        "anyio": ("git", False),
        "mylib": ("directory", False),
        "bar": ("url", True),
        "six": ("url", True),
        "torch": ("registry", True),
        "vendored": ("path", False),
    }


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "the file is empty"),
        (b"  \n", "the file is empty"),
        (
            b"version = 1\n<<<<<<< HEAD\nrevision = 2\n=======\nrevision = 3\n>>>>>>> x\n",
            ":2: git merge-conflict markers",
        ),
        (b"version = 1\n[[package]\nname = 'x'\n", "not valid TOML"),
        (b"version = 2\nrevision = 1\n", "lock version 2 is not one lockshim knows"),
        (b'requires-python = ">=3.9"\n', "no lock `version`"),
        (
            b'version = 1\n\n[[distribution]]\nname = "x"\nsource = "registry+https://x"\n',
            "pre-release uv lock",
        ),
        (b"\xff\xfeversion = 1\n", "not UTF-8"),
    ],
)
def test_bad_locks_get_a_clear_error(tmp_path: Path, content: bytes, expected: str) -> None:
    path = tmp_path / "uv.lock"
    path.write_bytes(content)
    with pytest.raises(LockError) as error:
        read_lock(path)
    assert str(path) in str(error.value)
    assert expected in str(error.value)
    assert path.read_bytes() == content


def test_missing_lock_names_the_fix(tmp_path: Path) -> None:
    with pytest.raises(LockError, match="uv lock"):
        read_lock(tmp_path / "uv.lock")


def test_script_lock_without_packages(tmp_path: Path) -> None:
    lock = parse_lock(
        b'version = 1\nrevision = 3\nrequires-python = ">=3.12"\n\n[manifest]\n'
        b'requirements = [{ name = "rich" }]\n',
        tmp_path / "script.py.lock",
    )
    assert lock.packages == ()
    assert lock.revision == 3


# --- the fast scan never misreads: generated locks, in uv's layout and perturbed ------------------

NAMES = st.from_regex(r"[a-z][a-z0-9_-]{0,12}", fullmatch=True)
VERSIONS = st.from_regex(r"[0-9]{1,2}\.[0-9]{1,2}(\.[0-9])?(\+cpu)?", fullmatch=True)
DIGESTS = st.binary(min_size=1, max_size=8).map(lambda b: hashlib.sha256(b).hexdigest())


@st.composite
def artifact_lines(draw: st.DrawFn, name: str, version: str) -> str:
    filename = f"{name.replace('-', '_')}-{version}-py3-none-any.whl"
    parts = [f'url = "https://files.example.org/{draw(NAMES)}/{filename}"']
    if draw(st.booleans()):
        parts.append(f'hash = "sha256:{draw(DIGESTS)}"')
        if draw(st.booleans()):
            parts.append(f"size = {draw(st.integers(0, 10**9))}")
            if draw(st.booleans()):
                parts.append('upload-time = "2024-01-02T03:04:05.678Z"')
            if draw(st.booleans()):
                parts.append(f'zstd = {{ hash = "sha256:{draw(DIGESTS)}", size = 12 }}')
    return "{ " + ", ".join(parts) + " }"


@st.composite
def locks(draw: st.DrawFn) -> str:
    out = ["version = 1", f"revision = {draw(st.integers(0, 5))}", 'requires-python = ">=3.9"', ""]
    for _ in range(draw(st.integers(0, 6))):
        name, version = draw(NAMES), draw(VERSIONS)
        kind = draw(st.sampled_from(["registry", "registry", "editable", "git", "virtual"]))
        value = {
            "registry": "https://pypi.org/simple",
            "editable": ".",
            "virtual": ".",
            "git": "https://example.org/repo?rev=v1#0123456789abcdef",
        }[kind]
        out += [
            "[[package]]",
            f'name = "{name}"',
            f'version = "{version}"',
            f'source = {{ {kind} = "{value}" }}',
        ]
        if draw(st.booleans()):
            out += ["dependencies = [", f'    {{ name = "{draw(NAMES)}" }},', "]"]
        if kind == "registry":
            if draw(st.booleans()):
                out.append(
                    "sdist = " + draw(artifact_lines(name, version)).replace(".whl", ".tar.gz")
                )
            wheels = draw(st.lists(artifact_lines(name, version), max_size=4))
            if wheels:
                out += ["wheels = [", *[f"    {w}," for w in wheels], "]"]
        if draw(st.booleans()):
            out += ["", "[package.metadata]", f'requires-dist = [{{ name = "{draw(NAMES)}" }}]']
        out.append("")
    return "\n".join(out)


PERTURBATIONS = [
    lambda t: t,
    lambda t: t.replace("\n", "\r\n"),
    lambda t: t.replace("{ url = ", "{url=", 1),
    lambda t: t.replace("wheels = [\n    ", "wheels = [", 1),
    lambda t: t.replace(", hash = ", ",  hash = ", 1),
    lambda t: t.replace('source = { registry = "', "source = { registry = '", 1).replace(
        'simple" }', "simple' }", 1
    ),
    lambda t: "\ufeff" + t,
    lambda t: t.rstrip("\n"),
]


@settings(max_examples=150, deadline=None)
@given(text=locks(), perturb=st.sampled_from(PERTURBATIONS))
def test_the_scan_agrees_with_tomllib_on_any_lock(
    text: str, perturb: object, tmp_path_factory: pytest.TempPathFactory
) -> None:
    text = perturb(text)  # type: ignore[operator]
    try:
        tomllib.loads(text.removeprefix("\ufeff"))
    except tomllib.TOMLDecodeError:
        return  # a perturbation that breaks TOML: read_lock must refuse it (tested elsewhere)
    path = tmp_path_factory.mktemp("lock") / "uv.lock"
    path.write_bytes(text.encode("utf-8"))
    assert _from_lockshim(path) == _from_toml(path)
    lock = read_lock(path)
    for _, artifact in lock.artifacts():
        if artifact.span is not None:
            assert lock.text[artifact.span[0] : artifact.span[1]] == artifact.url


def _hashed_everywhere(text: str) -> bool:
    return all(
        "sha256:" in line
        for line in text.splitlines()
        if "{ url = " in line and "source" not in line
    )


def _pinned(path: Path, digests: set[str] | None) -> list[tuple[object, ...]]:
    """What tomllib sees of the wheels pinning ``digests`` (None: all of them):
    (package, name, position, url, hash, size)."""
    rows = []
    for number, (name, _, _, entries) in enumerate(_from_toml(path)):
        for position, (kind, where, digest, size) in enumerate(entries):
            if kind == "wheel" and (
                digests is None or (isinstance(digest, str) and digest[7:] in digests)
            ):
                rows.append((number, name, position, where, digest, size))
    return rows


@settings(max_examples=150, deadline=None)
@given(
    text=locks(),
    perturb=st.sampled_from(
        [
            *PERTURBATIONS,
            # a digest where no entry pins it: in a url, in a comment
            lambda t: t.replace("https://files.example.org/", "https://m.example.org/sha256:", 1),
            lambda t: t.replace("\n]\n", "\n    # sha256:\n]\n", 1),
        ]
    ),
    data=st.data(),
)
def test_reading_only_what_local_files_pin_agrees_with_tomllib(
    text: str, perturb: object, data: st.DataObject, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """``only`` (every local file's sha256 known): the wheels pinning those digests are read,
    with the spans and positions a full reading gives; the rest of each package as before."""
    text = perturb(text)  # type: ignore[operator]
    pinned = sorted(set(re.findall(r"sha256:([0-9a-f]{64})", text)))
    if "# sha256:\n" in text and pinned:
        text = text.replace("# sha256:\n", f"# sha256:{pinned[0]}\n")
    try:
        tomllib.loads(text.removeprefix("\ufeff"))
    except tomllib.TOMLDecodeError:
        return
    path = tmp_path_factory.mktemp("lock") / "uv.lock"
    path.write_bytes(text.encode("utf-8"))
    chosen = set(data.draw(st.lists(st.sampled_from(pinned), unique=True))) if pinned else set()
    chosen |= set(data.draw(st.lists(DIGESTS, max_size=2)))  # files the lock does not pin
    only = {digest: [f"zz-unrelated-{n}.whl"] for n, digest in enumerate(sorted(chosen))}
    lock = parse_lock(text.encode("utf-8"), path, only=only)
    full = read_lock(path)
    read = [
        (p.position, p.name, a.position, a.url or a.path, a.hash, a.size)
        for p in lock.packages
        for a in p.artifacts
        if a.kind == "wheel"
    ]
    assert [(p.name, p.version, p.source) for p in lock.packages] == [
        (p.name, p.version, p.source) for p in full.packages
    ]
    # the slow path (a lock not in uv's layout) reads every entry
    assert read == _pinned(path, chosen if lock.fast else None)
    body = text.removeprefix("\ufeff")
    heads = package_places(body, 0)
    if "zz-" not in text and (heads is None or scan_only(body, 0, heads, only, None) is None):
        assert not lock.fast or not _hashed_everywhere(text) or "# sha256:" in text

    def sdists(package: Package) -> list[tuple[object, ...]]:
        return [(a.url, a.path, a.hash, a.size) for a in package.artifacts if a.kind == "sdist"]

    for package in lock.packages:
        assert sdists(package) == sdists(full.packages[package.position])
    for _, artifact in lock.artifacts():
        if artifact.span is not None:
            assert lock.text[artifact.span[0] : artifact.span[1]] == artifact.url


def test_a_file_named_like_a_wheel_with_other_bytes_is_still_read(tmp_path: Path) -> None:
    """With ``only``, a package named like a file whose sha256 the lock does not pin has all
    its wheels read (with ``keep``), so that the stale file is reported, not passed over."""
    digest, stale = "a" * 64, "b" * 64
    text = (
        'version = 1\nrevision = 3\nrequires-python = ">=3.9"\n\n[[package]]\nname = "foo-bar"\n'
        'version = "1.0"\nsource = { registry = "https://pypi.org/simple" }\nwheels = [\n'
        f'    {{ url = "https://h/foo_bar-1.0-py3-none-any.whl", hash = "sha256:{digest}", '
        "size = 3 },\n]\n"
    )
    only = {stale: ["foo_bar-1.0-py3-none-any.whl"]}
    lock = parse_lock(text.encode(), tmp_path / "uv.lock", only=only, keep=lambda *_: True)
    assert lock.fast
    assert [a.hash for _, a in lock.artifacts()] == [f"sha256:{digest}"]
    lock = parse_lock(text.encode(), tmp_path / "uv.lock", only={stale: ["other-1.0.whl"]})
    assert list(lock.artifacts()) == []


_REGISTRY = 'source = { registry = "https://pypi.org/simple" }'


def _wheel(name: str, digest: str, size: int, extra: str = "") -> str:
    return (
        f'{{ url = "https://h/{name}-1.0-py3-none-any.whl", hash = "sha256:{digest}", '
        f"size = {size}{extra} }}"
    )


@pytest.mark.parametrize(
    "rows",
    [
        # a row above the wanted one holds a multi-line array: the "row" after it is inside it
        [_wheel("a", "a" * 64, 1, ", x = [")[:-2], "    " + _wheel("w", "d" * 64, 2) + ",", "] },"],
        # two entries on one line above the wanted one: it is element 2, not 1
        [
            _wheel("a", "a" * 64, 1) + ", " + _wheel("b", "b" * 64, 3) + ",",
            _wheel("w", "d" * 64, 2) + ",",
        ],
    ],
)
def test_rows_above_a_wanted_one_that_are_not_one_entry_each_are_left_to_tomllib(
    rows: list[str], tmp_path: Path
) -> None:
    body = "\n".join(row if row.startswith("    ") else "    " + row for row in rows)
    text = (
        'version = 1\nrevision = 3\nrequires-python = ">=3.9"\n\n[[package]]\nname = "a"\n'
        f'version = "1.0"\n{_REGISTRY}\nwheels = [\n{body}\n]\n'
    )
    every = [
        (position, wheel["url"])
        for position, wheel in enumerate(tomllib.loads(text)["package"][0]["wheels"])
    ]
    lock = parse_lock(text.encode(), tmp_path / "uv.lock", only={"d" * 64: ["w.whl"]})
    assert not lock.fast  # read by tomllib: every entry, at tomllib's positions
    assert [(a.position, a.url) for _, a in lock.artifacts() if a.kind == "wheel"] == every


def test_a_package_table_before_the_first_package_line_is_read_by_tomllib(tmp_path: Path) -> None:
    """`[["package"]]` is a package too: no fast scan may skip it (or shift every position)."""
    text = (
        'version = 1\nrevision = 3\nrequires-python = ">=3.9"\n\n'
        f'[["package"]]\nname = "hidden"\nversion = "1.0"\n{_REGISTRY}\nwheels = [\n'
        f"    {_wheel('hidden', 'a' * 64, 1)},\n]\n\n"
        f'[[package]]\nname = "a"\nversion = "1.0"\n{_REGISTRY}\nwheels = [\n'
        f"    {_wheel('a', 'd' * 64, 2)},\n]\n"
    )
    for only in ({"d" * 64: ["hidden-1.0-py3-none-any.whl"]}, None):
        lock = parse_lock(text.encode(), tmp_path / "uv.lock", only=only)
        assert not lock.fast
        assert [(p.position, p.name) for p in lock.packages] == [(0, "hidden"), (1, "a")]


def test_a_digest_only_in_another_url_does_not_hide_a_stale_file(tmp_path: Path) -> None:
    """The stale file's bytes appear in the lock only inside another package's url: its
    namesake is still read in full, so the stale file is reported."""
    stale = "5" * 64
    text = (
        'version = 1\nrevision = 3\nrequires-python = ">=3.9"\n\n'
        f'[[package]]\nname = "foo-bar"\nversion = "1.0"\n{_REGISTRY}\nwheels = [\n'
        f"    {_wheel('foo_bar', 'a' * 64, 1)},\n]\n\n"
        f'[[package]]\nname = "other"\nversion = "1.0"\n{_REGISTRY}\nwheels = [\n'
        f'    {{ url = "https://h/sha256:{stale}/other-1.0-py3-none-any.whl", '
        f'hash = "sha256:{"b" * 64}", size = 2 }},\n]\n'
    )
    only = {stale: ["foo_bar-1.0-py3-none-any.whl"]}
    lock = parse_lock(text.encode(), tmp_path / "uv.lock", only=only, keep=lambda *_: True)
    assert lock.fast
    assert [(p.name, a.hash) for p, a in lock.artifacts()] == [("foo-bar", "sha256:" + "a" * 64)]


@pytest.mark.parametrize("path", LOCKS, ids=[p.name for p in LOCKS])
def test_reading_only_what_local_files_pin_agrees_on_real_locks(path: Path) -> None:
    """The shapes real locks take (CRLF, mirrors, forks, BOM, hand edits): with every digest a
    local file, each wheel the reading returns is the one tomllib sees at that position."""
    digests = set(re.findall(r"sha256:([0-9a-f]{64})", path.read_text(encoding="utf-8")))
    lock = parse_lock(path.read_bytes(), path, only={d: ["unrelated-0.whl"] for d in digests})
    expected = _pinned(path, digests if lock.fast else None)
    read = [
        (p.position, p.name, a.position, a.url or a.path, a.hash, a.size)
        for p in lock.packages
        for a in p.artifacts
        if a.kind == "wheel"
    ]
    assert read == expected
    for _, artifact in lock.artifacts():
        if artifact.span is not None:
            assert lock.text[artifact.span[0] : artifact.span[1]] == artifact.url
