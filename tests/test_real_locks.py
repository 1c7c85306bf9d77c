"""Every reader of uv.lock against the corpus of real locks beside the project
(``../shared/real-locks``: 24 locks from public repositories, each with the pyproject.toml files
of its workspace, and uv 0.13.9's own verdict on each in INDEX.md).

Each entry is copied before anything runs in it (the corpus is read-only). Skipped as a whole
where the corpus is absent (a bare clone).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

import pytest
from packaging.specifiers import SpecifierSet
from packaging.version import Version
from support.uvenv import uv_bin

from lockshim.commands.check import check
from lockshim.lockfile import freshness
from lockshim.lockfile.model import Lock
from lockshim.lockfile.read import read_lock
from lockshim.lockfile.rewrite import rewrite
from lockshim.plan import verdict as verdicts
from lockshim.shim.swap import shimmed
from lockshim.sources.mirror import Mirror, covered_files

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "real-locks"

pytestmark = pytest.mark.skipif(
    not (CORPUS / "INDEX.md").is_file(), reason=f"the corpus of real locks is not at {CORPUS}"
)


def _verdicts() -> dict[str, str]:
    """Entry -> uv's verdict ('fresh', 'stale', 'cannot tell'), from INDEX.md's first table."""
    if not (CORPUS / "INDEX.md").is_file():
        return {}
    out: dict[str, str] = {}
    for line in (CORPUS / "INDEX.md").read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if not line.startswith("| `") or len(cells) < 7 or cells[0].strip("`") in out:
            continue
        word = cells[-1].split(":")[0].strip("* ").lower()
        out[cells[0].strip("`")] = "cannot tell" if word.startswith("cannot") else word
    return out


VERDICTS = _verdicts()
ENTRIES = sorted(VERDICTS)


@pytest.fixture(params=ENTRIES)
def entry(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A private copy of one corpus entry, made a git repository; the path of its uv.lock."""
    name = str(request.param)
    dest = tmp_path_factory.mktemp("real") / name
    shutil.copytree(CORPUS / name, dest)
    for path in [dest, *dest.rglob("*")]:
        path.chmod(path.stat().st_mode | 0o200)  # the corpus is read-only in CI
    subprocess.run(["git", "init", "-q", str(dest)], check=True)
    return next(dest.rglob("uv.lock"))


def _name(lock_path: Path) -> str:
    return next(part for part in lock_path.parts if part in VERDICTS)


def _interpreter(lock: Lock) -> str | None:
    """A Python of this machine the lock's requires-python admits (uv needs one to judge)."""
    import re

    found = re.search(r'^requires-python = "([^"]*)"', lock.text, re.M)
    wanted = SpecifierSet(found[1] if found else "")
    here = Version(".".join(map(str, sys.version_info[:3])))
    if here in wanted:
        return sys.executable
    candidates = sorted(Path.home().glob(".pyenv/versions/3.1[0-9]*/bin/python3"))
    candidates += sorted(Path("/usr/bin").glob("python3.1[0-9]"))
    for python in candidates:
        answer = subprocess.run(
            [str(python), "-c", "import platform; print(platform.python_version())"],
            capture_output=True,
            text=True,
        )
        if answer.returncode == 0 and Version(answer.stdout.strip()) in wanted:
            return str(python)
    return None


def test_the_comparison_names_no_requirement_uv_would_not(entry: Path) -> None:
    """lockshim's own comparison of pyproject.toml with the lock (no uv): a lock uv calls
    fresh has no requirement named as changed (workspace members, editable paths and git
    sources are recorded without their specifiers); the two locks uv calls stale moved the
    project's own version on, and that is what is named."""
    verdict = VERDICTS[_name(entry)]
    if verdict == "cannot tell":
        pytest.skip("uv gives no verdict to hold the comparison against")
    found = freshness.differences(read_lock(entry))
    if verdict == "fresh":
        assert found == [], found
    else:
        assert [d.where for d in found] == ["version"], found


def test_the_verdict_is_uvs(entry: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The verdict sync, plan and bundle act on, with the real uv (offline, an empty cache):
    fresh where uv says fresh; a warning and no refusal where uv says stale for the project's
    own version, or cannot tell."""
    lock = read_lock(entry)
    python = _interpreter(lock)
    if python is None:
        pytest.skip(f"no Python on this machine fits {_name(entry)}'s requires-python")
    monkeypatch.setenv("UV_CACHE_DIR", str(entry.parent / ".uv-cache"))
    monkeypatch.setenv("UV_PYTHON_DOWNLOADS", "never")
    # not UV_NO_CONFIG: it drops the project's own [tool.uv] settings (exclude-newer ...) too
    judged = verdicts.judge(lock, Path(uv_bin()), ["--python", python])
    verdict = VERDICTS[_name(entry)]
    assert judged.refusal == "", judged
    if verdict == "fresh":
        assert judged.warning == "", judged
    elif verdict == "stale":
        assert "another version of the project itself" in judged.warning, judged
    else:
        assert "cannot tell" in judged.warning, judged


def _registry_artifacts(lock: Lock) -> Iterator[tuple[int, int, str, str]]:
    for package, artifact in lock.servable():
        if package.source_kind == "registry" and artifact.digest:
            yield package.position, artifact.position, artifact.filename, artifact.digest


def test_every_artifact_is_shimmed_and_restored_byte_for_byte(entry: Path) -> None:
    """Every servable artifact of the lock pointed at a local file, the shimmed lock read back
    (rewrite verifies it), put in place and taken out: uv.lock is byte-identical."""
    lock = read_lock(entry)
    original = entry.read_bytes()
    served = {
        (package.position, artifact.position): PurePosixPath("/srv/wheel house") / artifact.filename
        for package, artifact in lock.servable()
        if artifact.digest
    }
    assert served, "no servable artifact"
    shimmed_bytes = rewrite(lock, served)
    # a registry artifact gets a file:// URL, a direct URL source a path for the run
    direct = sum(1 for p, _ in served if lock.packages[p].source_kind == "url")
    assert shimmed_bytes.count(b"file:///srv/wheel%20house/") == len(served) - direct
    assert shimmed_bytes.count(b'path = "/srv/wheel house/') >= direct
    with shimmed(entry, original, shimmed_bytes):
        assert entry.read_bytes() == shimmed_bytes
    assert entry.read_bytes() == original


def test_a_mirror_links_every_artifact_of_every_entry(entry: Path) -> None:
    """Mirror mode finds the lock entry of every registry file by file name and digest, so a
    forked package (one name, two versions) and one name from two registries have every file
    linked; the shimmed lock names the mirror for each, and is restored byte for byte."""
    lock = read_lock(entry)
    original = entry.read_bytes()
    files = list(_registry_artifacts(lock))
    if not files:
        pytest.skip("no registry artifact")
    mirror = Mirror("http://127.0.0.1:9/simple")
    wanted = {(filename, digest) for _, _, filename, digest in files}
    covered = covered_files(mirror, original, entry, wanted)
    assert set(covered) == wanted
    versions = {(p.name, p.version) for p in lock.packages if p.source_kind == "registry"}
    names = [name for name, _ in versions]
    forked = {name for name in names if names.count(name) > 1}
    for package_position, _, filename, digest in files:
        package = lock.packages[package_position]
        if package.name in forked:
            assert covered[filename, digest] == package.version, filename
    linked = {
        (package, artifact): f"http://127.0.0.1:9/packages/{filename}"
        for package, artifact, filename, _ in files
    }
    shimmed_bytes = rewrite(lock, {}, linked=linked)
    assert shimmed_bytes.count(b'url = "http://127.0.0.1:9/packages/') == len(linked)
    with shimmed(entry, original, shimmed_bytes):
        pass
    assert entry.read_bytes() == original


def test_check_is_quiet_on_every_committed_lock(entry: Path) -> None:
    """`lockshim check` finds nothing machine-local in the locks real projects committed, but
    for the one source that lies outside its repository (``../aic-noise-filter/…``, a sibling
    checkout uv itself cannot read in a clone), which is named once and allowed by name."""
    report = check([entry])
    assert report.unreadable == ()
    if _name(entry) != "livekit-directory-outside-repo":
        assert report.findings == (), report.findings
        return
    assert [(f.package, f.kind) for f in report.findings] == [
        ("livekit-plugins-ai-coustics", "local-path")
    ]
    assert "leaves the repository" in report.findings[0].problem
    assert check([entry], allow=["livekit-plugins-ai-coustics"]).findings == ()
