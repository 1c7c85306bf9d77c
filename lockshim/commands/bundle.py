"""`lockshim bundle`: one file that carries a project's locked files across an air gap.

A bundle is a zip file whose members are stored as they are (wheels are compressed already):
``files/<name>`` for every wheel, sdist and git bundle `sync` will need on the targets asked
for, ``project/uv.lock`` and ``project/pyproject.toml`` as they were, and a manifest
(``lockshim-manifest.json``: the lock's sha256, each member's sha256 and size, the targets, the
uv arguments, lockshim's version). It is made from the local sources first (a bundle made from
a full wheelhouse downloads nothing) and `fetch` brings the rest. `sync` and `plan` read it as
a wheelhouse (``--wheelhouse FILE``): :mod:`lockshim.sources.bundlefile`.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
import zipfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from lockshim.atomic import atomic_write
from lockshim.commands.session import prepared
from lockshim.errors import LockshimError
from lockshim.filenames import unsafe
from lockshim.plan import verdict
from lockshim.plan.builds import SDIST_SUFFIXES, BuildPlan
from lockshim.plan.project_files import project_tree
from lockshim.plan.pylock import PYLOCK_NAME, pylock
from lockshim.plan.sbom import SBOM_NAME, GitInstalled, Installed, installed_of, sbom, subject
from lockshim.report import Reporter
from lockshim.signature import sign
from lockshim.sources import git as gitsources
from lockshim.sources.bundlefile import write_bundle
from lockshim.sources.copying import copy_bytes
from lockshim.sources.download import AT_ONCE, Outcome
from lockshim.sources.hashindex import sha256_file
from lockshim.sources.local import Found, SourceOptions, find_local
from lockshim.sources.uvwheels import uv_wheels as find_uv_wheels
from lockshim.uv import argv
from lockshim.uv.select import export
from lockshim.uv.target import Requested

if TYPE_CHECKING:
    from lockshim.plan.files import Plan


class BundleReport(NamedTuple):
    output: Path
    members: tuple[tuple[str, int], ...]  # (file name, size)
    from_local: int
    downloaded: int
    failures: tuple[str, ...]
    project_files: int = 0  # the project's own files carried (--with-project)
    signature: Path | None = None  # FILE.sig (--sign)

    @property
    def status(self) -> int:
        return 1 if self.failures else 0

    def text(self) -> str:
        size = sum(s for _, s in self.members)
        lines = [f"not bundled: {failure}" for failure in self.failures]
        try:  # what the file itself holds (a self-contained one: uv and lockshim too)
            whole = f" ({os.stat(self.output).st_size / 1e6:.1f} MB)"
        except OSError:
            whole = ""
        lines.append(
            f"wrote {self.output}{whole}: {len(self.members)} package files "
            f"({size / 1e6:.1f} MB), {self.from_local} from local sources, "
            f"{self.downloaded} downloaded"
            + (f"; the project's {self.project_files} files" if self.project_files else "")
            + "."
        )
        if self.signature is not None:
            lines.append(f"signed: {self.signature} (ssh-keygen -Y, namespace lockshim-bundle).")
        return "\n".join(lines)

    def json(self) -> str:
        return json.dumps(
            {
                "output": str(self.output),
                "members": [{"name": n, "size": s} for n, s in self.members],
                "from_local": self.from_local,
                "downloaded": self.downloaded,
                "failures": list(self.failures),
                "project_files": self.project_files,
                "signature": str(self.signature) if self.signature else None,
            },
            indent=2,
        )


class BundleOptions(NamedTuple):
    """What one bundle is asked for, beyond the project, uv and uv's arguments."""

    output: Path  # -o FILE
    sources: SourceOptions  # the local sources (and mirror) to take files from first
    targets: Sequence[Requested] = (Requested(None, None),)  # each --python x --python-platform
    all_platforms: bool = False
    build_deps: bool = True
    jobs: int = AT_ONCE
    self_contained: bool = False  # also carry lockshim and uv: the far side needs only Python
    with_project: bool = False  # also carry the project's own files (what git tracks)
    sign: Path | None = None  # an ssh key to sign the finished file with


def make_bundle(
    project_dir: Path | None,
    uv_path: str | None,
    uv_args: Sequence[str],
    asked: BundleOptions,
    reporter: Reporter,
    on_done: Callable[[Outcome, int, int], None] | None = None,
) -> BundleReport:
    """Write the bundle: local files first, then `fetch` for what the targets still lack."""
    from lockshim.commands.fetch import FetchOptions, run_fetch
    from lockshim.plan.files import plan_for

    output, sources, all_platforms = asked.output.absolute(), asked.sources, asked.all_platforms
    build_deps, self_contained = asked.build_deps, asked.self_contained
    _refuse_to_overwrite(output)
    with _workspace(output) as work:
        with prepared(project_dir, uv_path, reporter, uv_args) as (project, uv):
            verdict.ask_ahead(project.lock_path, uv.path, uv_args)
            found = find_local(project, sources, reporter.hashing)
            judged = verdict.judge(found.lock, uv.path, uv_args)
        if judged.refusal:  # the far side would install the old lock, or refuse it
            raise LockshimError(judged.refusal)
        if judged.warning:
            reporter.warn(judged.warning)
        tree = project_tree(found.project, found.lock) if asked.with_project else None
        for note in tree.notes if tree is not None else ():
            reporter.info(note)
        failures: list[str] = []
        made_for: list[str] = []  # each target as it was resolved (named in the manifest)
        contents = _Contents()  # what the bundle installs: its SBOM and pylock.toml
        downloaded = from_local = 0
        args = argv.for_project(project_dir, uv_args)
        for target in [Requested(None, None)] if all_platforms else asked.targets:
            builds_lacking = build_deps
            if all_platforms:
                from_local += _seed(found, work, None)
                contents.add_export(export(uv.path, args))
            else:  # what this target needs, from the local sources first
                plan = plan_for(found, uv, args, target.python, target.platform, every_patch=True)
                made_for.append(plan.target)
                contents.add_plan(plan)
                from_local += _seed(found, work, {e.digest for e in plan.served if e.digest})
                if build_deps:
                    from_local += _seed_builds(plan.build, work)
                    # an sdist that is not local yet: what builds it is known once it is here
                    builds_lacking = bool(plan.build.missing) or any(
                        (e.filename or "").endswith(SDIST_SUFFIXES) for e in plan.missing
                    )
            fetch = FetchOptions(
                work,
                target.python,
                target.platform,
                all_platforms,
                builds_lacking,
                jobs=asked.jobs,
                mirror=sources.mirror,
                mirror_for=sources.mirror_for,
                every_patch=True,
            )
            report = run_fetch(project_dir, uv_path, uv_args, fetch, reporter, on_done)
            downloaded += len(report.downloaded) + sum(g.status == "downloaded" for g in report.git)
            from_local += len(report.cached)  # lockshim's own download cache
            failures += [
                f"{o.wanted.name} {o.wanted.version} ({o.wanted.filename}): {o.detail}"
                for o in report.failed
            ]
            failures += [f"build requirement {item}" for item in report.unresolved]
            failures += [
                f"git {label} @ {commit}: {why}" for label, commit, _, why in report.git_failed
            ]
        carried = _seed_built(found, work) if self_contained else {}
        uv_wheels: list[Path] = []
        if self_contained:
            uv_wheels, lacking, local_uv = find_uv_wheels(
                found, asked.targets, uv.version, work / ".uv"
            )
            from_local += local_uv
            if lacking:  # a zipapp without uv cannot run on the far side: none is written
                raise LockshimError(
                    f"{output} was not written: it would carry no uv for "
                    + "; ".join(lacking)
                    + ". Put uv's wheel for each target (`pip download --no-deps "
                    "--only-binary=:all: uv==VERSION --platform TAG -d DIR`) in a wheelhouse "
                    "given with -w, or reach an index that has it."
                )
        documents, left_out = contents.documents(found, work)
        members = write_bundle(
            output,
            work,
            found.project,
            found.original,
            made_for if not all_platforms else ["all"],
            uv_args,
            uv_wheels if self_contained else None,
            carried,
            (tree.project, tree.files) if tree is not None else None,
            documents,
            left_out,
        )
    signed = sign(output, asked.sign) if asked.sign is not None else None
    return BundleReport(
        output,
        tuple(members),
        from_local,
        downloaded,
        tuple(dict.fromkeys(failures)),
        len(tree.files) if tree is not None else 0,
        signed,
    )


class _Contents:
    """What a bundle installs, gathered target by target: the files (as the lock records
    them), git sources, and each target's `uv export` and marker (for pylock.toml)."""

    def __init__(self) -> None:
        self.files: list[Installed] = []
        self.git: list[GitInstalled] = []
        self.exports: list[Mapping[str, Any]] = []
        self.environments: list[str] = []

    def add_plan(self, plan: Plan) -> None:
        files, git = installed_of(plan)
        self.files += files
        self.git += git
        self.exports.append(plan.exported)
        if plan.environment:
            self.environments.append(plan.environment)

    def add_export(self, exported: Mapping[str, Any]) -> None:
        from lockshim.plan.downloads import wanted_from_export

        wanted, _ = wanted_from_export(exported, None)
        self.files += [Installed(w.name, w.version, w.filename, w.url, w.digest) for w in wanted]
        self.exports.append(exported)

    def documents(self, found: Found, work: Path | None) -> tuple[dict[str, bytes], list[str]]:
        """(``sbom.cdx.json`` and ``pylock.toml``, what pylock.toml leaves out); with ``work``,
        of the files there (what the bundle holds), else of every file the targets install."""
        held = [f for f in self.files if work is None or (work / f.filename).is_file()]
        project = subject(found.project.root / "pyproject.toml", found.project.root.name)
        text = sbom(project, {(f.filename, f.digest): f for f in held}.values(), _unique(self.git))
        documents = {SBOM_NAME: text.encode()}
        locked = pylock(
            self.exports,
            {f.filename: str(f.digest) for f in held if f.digest},
            self.environments,
            next((str(e["requires-python"]) for e in self.exports if "requires-python" in e), None),
        )
        documents[PYLOCK_NAME] = locked.text.encode()
        return documents, list(locked.left_out)


def _unique(pins: Sequence[GitInstalled]) -> list[GitInstalled]:
    return list(dict.fromkeys(pins))


def write_sbom(
    project_dir: Path | None,
    uv_path: str | None,
    uv_args: Sequence[str],
    asked: BundleOptions,
    reporter: Reporter,
    path: Path,
) -> Path:
    """`lockshim bundle --sbom FILE`: the SBOM alone, of every file the targets install
    (nothing downloaded)."""
    from lockshim.plan.files import plan_for

    with prepared(project_dir, uv_path, reporter, uv_args) as (project, uv):
        found = find_local(project, asked.sources, reporter.hashing)
    args = argv.for_project(project_dir, uv_args)
    contents = _Contents()
    if asked.all_platforms:
        contents.add_export(export(uv.path, args))
    for target in () if asked.all_platforms else asked.targets:
        contents.add_plan(plan_for(found, uv, args, target.python, target.platform, True))
    documents, _ = contents.documents(found, None)
    atomic_write(path.absolute(), documents[SBOM_NAME], 0o644)
    return path


def copy_sbom(bundle: Path, path: Path) -> None:
    """The SBOM a bundle just written carries, also as a file of its own."""
    with zipfile.ZipFile(bundle) as archive:
        atomic_write(path.absolute(), archive.read(SBOM_NAME), 0o644)


def _refuse_to_overwrite(output: Path) -> None:
    """A bundle is written only where nothing is, or over another bundle: never over the
    project's uv.lock or pyproject.toml after a tab-completion slip."""
    from lockshim.errors import UsageError

    if not os.path.lexists(output):
        return
    if output.is_symlink() or not output.is_file() or not zipfile.is_zipfile(output):
        raise UsageError(
            f"-o {output}: that file exists and is not a lockshim bundle; lockshim writes a "
            "bundle only over another bundle. Name a new file (e.g. app.lockshim.zip)."
        )


@contextlib.contextmanager
def _workspace(output: Path) -> Iterator[Path]:
    """A private folder beside the output (same file system: the final rename is atomic)."""
    output.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".lockshim-bundle-", dir=output.parent))
    try:
        yield work
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _seed(found: Found, work: Path, wanted: set[str] | None) -> int:
    """Copy the local files the lock pins (those with a sha256 in ``wanted``; all for None),
    verified by sha256 as they are copied, and local git bundles of the lock's commits, into
    ``work``; how many."""
    count = 0
    for served in found.result.served:
        if wanted is not None and served.artifact.digest not in wanted:
            continue
        name = served.artifact.filename
        target = work / name
        if unsafe(name) is not None or target.exists():
            continue
        pinned = served.artifact.digest
        if pinned is None:  # never served: matched by digest
            continue
        if copy_bytes(served.file, target, pinned.algorithm) != pinned:
            target.unlink()  # changed since it was hashed: fetch brings it
            continue
        count += 1
    git = gitsources.find(gitsources.pins_of_lock(found.lock), found.files)
    for item in git.served:
        if unsafe(item.pin.bundle_name) is not None:
            continue
        target = work / item.pin.bundle_name
        if not target.exists():
            shutil.copyfile(item.bundle, target)
            count += 1
    return count


def _seed_builds(built: BuildPlan, work: Path) -> int:
    count = 0
    for _, wheel in built.served:
        target = work / wheel.filename
        if unsafe(wheel.filename) is None and not target.exists():
            copy_bytes(wheel.file, target)
            count += 1
    return count


def _seed_built(found: Found, work: Path) -> dict[str, str]:
    """The wheels `fetch --build` made on this machine from the lock's sdists (its own
    records), copied in checked: wheel file name -> the sdist's digest. Carried only by a
    self-contained bundle, whose far side runs the bundle's own code and so may believe its
    record; any other reader of a bundle builds the sdist."""
    from lockshim.sources.built import served_built

    carried = {}
    for built in served_built(found).values():
        target = work / built.path.name
        if not target.exists():
            shutil.copyfile(built.path, target)
        if sha256_file(target) == built.sha256:
            carried[built.path.name] = built.sdist_digest
        else:
            target.unlink()
    return carried


def verify_bundle(path: Path, allowed_signers: Path | None) -> tuple[str, int]:
    """`lockshim bundle --verify`: with ``allowed_signers``, the signature beside the file
    first (it needs nothing of the file's contents to be readable), then every member against
    the manifest; (what was found, exit status)."""
    from lockshim.signature import check, signature_path
    from lockshim.sources.bundlefile import verify

    lines: list[str] = []
    status = 0
    if allowed_signers is not None:
        signed = check(path, allowed_signers)
        lines.append(signed.text)
        status = 0 if signed.good else 1
    try:
        checked = verify(path)
    except LockshimError as error:
        if allowed_signers is None:
            raise
        return "\n".join([*lines, f"damaged: {error}"]), 1
    lines.insert(0, checked.text())
    if allowed_signers is None and signature_path(path).is_file():
        lines.append(
            f"a signature lies beside it ({signature_path(path)}): check it with "
            "--allowed-signers FILE, or with `ssh-keygen -Y verify`."
        )
    return "\n".join(lines), status or checked.status
