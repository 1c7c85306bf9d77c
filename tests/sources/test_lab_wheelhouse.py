"""A lab's shared wheelhouse: thousands of other projects' wheels cost their names only. Only
files that can match are looked at and hashed; what a sync needs is served as before."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from support import index_entries, sha256_of
from support.projects import clean_env, lockshim

from lockshim.project import find_project
from lockshim.sources.hashindex import INDEX_NAME
from lockshim.sources.local import SourceOptions, find_local


def _lab(wheelhouse: Path, tmp_path: Path) -> Path:
    """The test wheelhouse's files, among 300 wheels of 60 other projects, 30 of them the size
    of alpha's wheel (other bytes)."""
    lab = tmp_path / "lab"
    alpha_size = (wheelhouse / "alpha-1.0-py3-none-any.whl").stat().st_size
    for number in range(300):
        folder = lab / f"group{number % 6}"
        folder.mkdir(parents=True, exist_ok=True)
        name = f"labpkg{number // 5:02d}-1.{number % 5}-py3-none-any.whl"
        size = alpha_size if number % 10 == 0 else 1000 + number
        (folder / name).write_bytes(os.urandom(size))
    shutil.copytree(wheelhouse, lab / "ours")
    return lab


def test_other_projects_wheels_are_listed_by_name_only(
    project: Path, wheelhouse: Path, tmp_path: Path
) -> None:
    lab = _lab(wheelhouse, tmp_path)
    found = find_local(find_project(project), SourceOptions((lab,), False))
    looked_at = {f.relative for f in found.files}
    assert not [r for r in looked_at if "labpkg" in r]  # not even a stat
    assert found.counts == (300 + len(list(wheelhouse.iterdir())),)  # all listed, all counted
    hashed = set(index_entries(lab))
    assert not [r for r in hashed if "labpkg" in r]  # sizes alike, never hashed
    assert {s.package.name for s in found.result.served} >= {"alpha", "forky"}
    assert {f.name for f in found.more({"labpkg07"})} == {
        f"labpkg07-1.{n}-py3-none-any.whl" for n in range(5)
    }


def test_a_renamed_file_is_served_unless_named_for_another_project(
    project: Path, wheelhouse: Path, tmp_path: Path
) -> None:
    """The one guarantee the name-first listing changes: a renamed artifact is still found by
    its size and digest, but not under another project's wheel name."""
    alpha = wheelhouse / "alpha-1.0-py3-none-any.whl"
    digest = sha256_of(alpha)
    plain = tmp_path / "plain"
    plain.mkdir()
    shutil.copy(alpha, plain / "downloaded.bin")  # renamed: served, by size and digest
    odd = tmp_path / "odd"
    odd.mkdir()
    shutil.copy(alpha, odd / "renamed.whl")  # ends like a wheel, is no wheel's name: served
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    shutil.copy(alpha, foreign / "zzz_other-9.9-py3-none-any.whl")  # another project's name
    for folder, served in ((plain, True), (odd, True), (foreign, False)):
        found = find_local(find_project(project), SourceOptions((folder,), False))
        alphas = [s for s in found.result.served if s.package.name == "alpha"]
        assert bool(alphas) == served, folder
        if served:
            assert alphas[0].renamed and sha256_of(alphas[0].file.path) == digest


def test_build_requirements_still_come_from_other_projects_wheels(
    project: Path, wheelhouse: Path, tmp_path: Path
) -> None:
    """The lock does not name the build backend: its wheel is listed by name only, and looked
    at when the plan's build asks for it."""
    lab = _lab(wheelhouse, tmp_path)
    backend = next(lab.glob("ours/minibackend-*.whl"))
    planned = lockshim(
        ["plan", "--json", "--no-pip-cache", "-w", str(lab)], project, clean_env(tmp_path)
    )
    assert planned.returncode == 0, planned.stderr
    served = json.loads(planned.stdout)["build"]["served"]
    assert backend.name in {item["filename"] for item in served}


def test_what_other_projects_hashed_stays_in_the_shared_index(
    project: Path, wheelhouse: Path, tmp_path: Path
) -> None:
    """A lab's index holds what every project's runs hashed: a run that lists other projects'
    files by name only keeps their entries when it saves what it hashed."""
    from lockshim.sources.wheelhouse import Wheelhouse

    lab = _lab(wheelhouse, tmp_path)
    everything = Wheelhouse(lab, lambda path, reason: None)
    everything.index.hash_all(everything.scan())  # another project hashed every file once
    everything.index.save()
    before = set(index_entries(lab))
    assert len([r for r in before if "labpkg" in r]) == 300
    alpha = lab / "ours" / "alpha-1.0-py3-none-any.whl"
    info = alpha.stat()
    os.utime(alpha, ns=(info.st_atime_ns, info.st_mtime_ns + 10**9))  # this run hashes it again
    found = find_local(find_project(project), SourceOptions((lab,), False))
    assert sum(s.index.hashed_files for s in found.sources) == 1
    assert set(index_entries(lab)) == before


def test_an_index_written_by_an_older_lockshim_is_still_read(tmp_path: Path) -> None:
    """Format 1 (each table one JSON object) is read as it is; the next save writes format 2
    (shards by folder, decoded when asked for)."""
    from lockshim.sources.wheelhouse import Wheelhouse

    folder = tmp_path / "house"
    (folder / "sub").mkdir(parents=True)
    wheel = folder / "sub" / "alpha-1.0-py3-none-any.whl"
    wheel.write_bytes(b"alpha bytes")
    info = wheel.stat()
    entry = [info.st_size, info.st_mtime_ns, info.st_ino, sha256_of(wheel)]
    (folder / INDEX_NAME).write_text(
        json.dumps({"format": 1, "files": {"sub/" + wheel.name: entry}})
    )
    house = Wheelhouse(folder, lambda path, reason: None)
    (file,) = house.scan()
    assert house.index.known(file) == sha256_of(wheel)
    house.index.remember_name(file, "")  # something fresh: the index is written again
    house.index.save()
    written = json.loads((folder / INDEX_NAME).read_text())
    assert written["format"] == 2 and set(written["files"]) == {"sub"}
    assert index_entries(folder) == {"sub/" + wheel.name: entry}
