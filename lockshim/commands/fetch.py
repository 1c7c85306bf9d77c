"""`lockshim fetch`: fill a wheelhouse straight from uv.lock, for any target.

The lock already names every file, its URL and its sha256: nothing is resolved for the lock's
own packages. What `uv sync ARGS` would install for the target is taken from `uv export`
(lockshim.uv.select); `--all-platforms` takes every file of those packages. Build requirements (the
project's backend, what it asks for an editable build, and those of every sdist fetched) are
resolved for the target by `uv pip compile` and fetched too, so that an offline
`lockshim sync` can build.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from lockshim.commands.session import prepared
from lockshim.digests import sha256_hex
from lockshim.errors import LockshimError
from lockshim.paths import user_cache_dir
from lockshim.plan.builds import (
    SDIST_SUFFIXES,
    Need,
    build_constraints,
    git_needs,
    local_needs,
    requirements_of,
    sdist_needs,
)
from lockshim.plan.downloads import index_url, redirect_to_mirror, wanted_from_export
from lockshim.project import mirror_url as project_mirror
from lockshim.report import Reporter
from lockshim.shim.guard import signals_raise
from lockshim.sources import git as gitsources
from lockshim.sources import tls
from lockshim.sources.batch import Batch
from lockshim.sources.built import build_from_sdists
from lockshim.sources.credentials import credentials_for, redact
from lockshim.sources.download import AT_ONCE, HOST_FAILURES, Outcome, Wanted
from lockshim.sources.mirror import resolve as resolve_mirror
from lockshim.sources.wheelhouse import bundles_in, present, remember_downloads
from lockshim.uv import argv, runner
from lockshim.uv.compile import in_background, resolve_build
from lockshim.uv.runner import Uv
from lockshim.uv.select import export, select
from lockshim.uv.target import Requested, Target, project_interpreter, resolve_target
from lockshim.uv.target import ask_ahead as ask_target_ahead

if TYPE_CHECKING:
    from concurrent.futures import Future


class GitFetched(NamedTuple):
    """A git source of the target, and what fetch did with it."""

    label: str  # name version
    commit: str
    bundle: str  # the git bundle's file name
    status: str  # "downloaded", "present", or why it failed


class Report(NamedTuple):
    dest: Path
    downloaded: tuple[Outcome, ...]
    present: tuple[Wanted, ...]
    failed: tuple[Outcome, ...]
    build_requirements: tuple[str, ...]  # "requirement (why)"
    unverifiable: tuple[str, ...]
    unresolved: tuple[str, ...] = ()  # build requirements uv could not resolve, with why
    git: tuple[GitFetched, ...] = ()
    built: tuple[str, ...] = ()  # wheels built from the lock's sdists (--build)
    cached: tuple[Outcome, ...] = ()  # taken from lockshim's download cache: not downloaded

    @property
    def git_failed(self) -> list[tuple[str, str, str, str]]:
        return [g for g in self.git if g.status not in ("downloaded", "present")]

    @property
    def status(self) -> int:
        return 1 if self.failed or self.unresolved or self.git_failed or self.unverifiable else 0

    def text(self) -> str:
        size = sum(o.size for o in self.downloaded)
        by_detail: dict[str, list[Outcome]] = {}
        for failure in self.failed:
            by_detail.setdefault(failure.detail, []).append(failure)
        lines = []
        for detail, failures in by_detail.items():
            if detail.startswith(HOST_FAILURES) and len(failures) > 1:
                lines.append(f"{len(failures)} files not fetched: {detail}.")
                continue
            lines += [
                f"{f.wanted.name} {f.wanted.version}: {redact(f.wanted.url)}: {f.detail}"
                for f in failures
            ]
        if self.build_requirements:
            lines.append("build requirements added: " + "; ".join(self.build_requirements))
        lines += [f"build requirement not resolved: {item}" for item in self.unresolved]
        if self.built:
            lines.append("wheels built from the lock's sdists: " + ", ".join(self.built))
        lines += [
            f"git {label} @ {commit}: {status}" for label, commit, _, status in self.git_failed
        ]
        bundled = [g for g in self.git if g.status == "downloaded"]
        if self.git:
            names = ", ".join(name for _, _, name, _ in bundled)
            lines.append(
                f"git sources: {len(bundled)} bundled"
                + (f" ({names})" if names else "")
                + f", {sum(g.status == 'present' for g in self.git)} already there, "
                f"{len(self.git_failed)} failed."
            )
        if self.git_failed:
            lines.append(
                "a git source that cannot be fetched here is served from a git bundle made by "
                "hand from any clone that has the commit (`git bundle create NAME.bundle --all`), "
                "put in a wheelhouse."
            )
        lines += [
            f"not fetched (uv.lock pins no digest lockshim checks: sha256, sha384, sha512): {name}"
            for name in self.unverifiable
        ]
        cached = (
            f", {len(self.cached)} more from lockshim's download cache (downloaded before)"
            if self.cached
            else ""
        )
        lines.append(
            f"fetched {len(self.downloaded)} files ({size / 1e6:.1f} MB) into {self.dest}"
            f"{cached}; {len(self.present)} already there; "
            f"{len(self.failed) + len(self.git_failed) + len(self.unverifiable)} failed."
            + ("" if self.downloaded or self.cached or self.status else " Nothing to download.")
        )
        return "\n".join(lines)

    def json(self) -> str:
        def row(wanted: Wanted, **extra: object) -> dict[str, object]:
            return {
                "name": wanted.name,
                "version": wanted.version,
                "filename": wanted.filename,
                "sha256": sha256_hex(wanted.digest),
                "digest": wanted.digest,
                "url": redact(wanted.url),
                **extra,
            }

        return json.dumps(
            {
                "dest": str(self.dest),
                "downloaded": [row(o.wanted, size=o.size) for o in self.downloaded],
                "cached": [row(o.wanted, size=o.size) for o in self.cached],
                "skipped": [row(w) for w in self.present],
                "failed": [row(o.wanted, reason=o.detail) for o in self.failed],
                "build_requirements": list(self.build_requirements),
                "unresolved": list(self.unresolved),
                "built": list(self.built),
                "unverifiable": list(self.unverifiable),
                "git": [
                    {"package": label, "commit": commit, "bundle": name, "status": status}
                    for label, commit, name, status in self.git
                ],
            },
            indent=2,
        )


def merged(reports: Sequence[Report]) -> Report:
    """One report for several targets: each file once, downloaded if any run downloaded it,
    failed only if no run got it."""
    if len(reports) == 1:
        return reports[0]
    downloaded = {o.wanted.filename: o for r in reports for o in r.downloaded}
    cached = {
        o.wanted.filename: o
        for r in reports
        for o in r.cached
        if o.wanted.filename not in downloaded
    }
    present = {
        w.filename: w
        for r in reports
        for w in r.present
        if w.filename not in downloaded and w.filename not in cached
    }
    failed = {
        o.wanted.filename: o
        for r in reports
        for o in r.failed
        if o.wanted.filename not in {**downloaded, **cached} and o.wanted.filename not in present
    }

    def union(values: Sequence[tuple[Any, ...]]) -> tuple[Any, ...]:
        return tuple(dict.fromkeys(item for value in values for item in value))

    return Report(
        reports[0].dest,
        tuple(downloaded.values()),
        tuple(present.values()),
        tuple(failed.values()),
        union([r.build_requirements for r in reports]),
        union([r.unverifiable for r in reports]),
        union([r.unresolved for r in reports]),
        tuple({(g.label, g.commit): g for r in reversed(reports) for g in r.git}.values())[::-1],
        union([r.built for r in reports]),
        tuple(cached.values()),
    )


def _is_sdist(wanted: Wanted) -> bool:
    return wanted.filename.endswith(SDIST_SUFFIXES)


def _sdists(wanted: Sequence[Wanted], dest: Path) -> list[Path]:
    """The lock's sdists that are in ``dest`` now."""
    found = (dest / w.filename for w in wanted if _is_sdist(w))
    return [path for path in found if path.exists()]


class FetchOptions(NamedTuple):
    """What one fetch is asked for, beyond the project, uv and uv's arguments."""

    dest: Path  # the wheelhouse to fill
    python: str | None = None  # --python
    platform: str | None = None  # --python-platform
    all_platforms: bool = False  # every file of every package the export names
    build_deps: bool = True  # build requirements too
    build_wheels: bool = False  # --build: a wheel built once from each locked sdist
    jobs: int = AT_ONCE
    mirror: str | None = None  # --mirror (else LOCKSHIM_MIRROR, [tool.lockshim] mirror)
    mirror_for: Sequence[str] = ()
    every_patch: bool = False  # for every patch release of the target's Python (a bundle)


def fetch_targets(
    project_dir: Path | None,
    uv_path: str | None,
    uv_args: Sequence[str],
    asked: FetchOptions,
    targets: Sequence[Requested],
    reporter: Reporter,
    on_done: Callable[[Outcome, int, int], None] | None = None,
) -> Report:
    """`lockshim fetch`: one fetch for each target (``--python`` with each
    ``--python-platform``), reported as one."""
    reports = [
        run_fetch(
            project_dir,
            uv_path,
            uv_args,
            asked._replace(python=target.python, platform=target.platform),
            reporter,
            on_done,
        )
        for target in targets
    ]
    return merged(reports)


def run_fetch(
    project_dir: Path | None,
    uv_path: str | None,
    uv_args: Sequence[str],
    asked: FetchOptions,
    reporter: Reporter,
    on_done: Callable[[Outcome, int, int], None] | None = None,
) -> Report:
    """Fill ``asked.dest`` with the files uv would install for one target (or every file of
    the lock), their build requirements and git sources; what was done."""
    python, platform, all_platforms = asked.python, asked.platform, asked.all_platforms
    build_deps, jobs = asked.build_deps, asked.jobs
    text = None
    with prepared(project_dir, uv_path, reporter, uv_args) as (project, uv):
        with contextlib.suppress(OSError, UnicodeDecodeError):
            text = project.lock_path.read_bytes().decode("utf-8")
            argv.check_python(text, python, project.lock_path.name)
        args = argv.for_project(project_dir, uv_args)
        # uv's export and its dry run naming the target's interpreter run side by side; the
        # export is read while the dry run goes on, and the https downloads' TLS set up
        runner.ask_ahead(argv.export_command(uv.path, args))
        if not all_platforms:
            ask_target_ahead(project, uv, python, platform, args)
        chosen = project_mirror(asked.mirror, project)
        tls.warm(_https(text, chosen))
        exported = export(uv.path, args)
        patches_of = text if asked.every_patch else None
        target = (
            None
            if all_platforms
            else resolve_target(project, uv, python, platform, args, patches_of)
        )
    wanted, unverifiable = wanted_from_export(exported, target)
    locked = list(wanted)  # the lock's own files, before any build requirement joins them
    credentials = credentials_for(project)
    mirror = resolve_mirror(chosen, asked.mirror_for) if chosen is not None else None
    dest = asked.dest.absolute()
    constraints_file = _constraints_file(project.lock_path, project.root / "pyproject.toml")
    build_index = mirror.url if mirror is not None else index_url(exported)  # for builds
    options = (build_index, python, platform, all_platforms, constraints_file)
    build: list[str] = []
    redirected: list[Outcome] = []
    if mirror is not None:  # the registry files come from the mirror, by name, or fail here
        wanted, redirected = redirect_to_mirror(mirror, wanted, exported, dest, credentials)
        credentials = mirror.credentials(credentials)
    # Ctrl-C ends the downloads in flight and removes their .part files
    with signals_raise(), Batch(dest, credentials, jobs, on_done) as batch:
        present_names = present(wanted, dest)
        # What is known to need building before anything is downloaded (the project's own
        # packages, sdists already here) is resolved by uv while the lock's files download.
        first: list[Need] = []
        read = _sdists(wanted, dest) if build_deps else []
        if build_deps:
            first = local_needs((Path.cwd(), project.root), exported, uv.version)
            first += [n for s in read for n in sdist_needs(s, s.name)]
        asked_first = requirements_of(first)
        early = in_background(resolve_build, uv, asked_first, *options)
        to_get = [w for w in wanted if w.filename not in present_names]
        # the sdists first: what building them needs is read while the wheels download
        sdist_files = batch.add([w for w in to_get if _is_sdist(w)])
        lock_files = sdist_files + batch.add([w for w in to_get if not _is_sdist(w)])
        git, git_builds = _fetch_git(exported, target, dest, uv)
        builds = _BuildFiles(batch, dest, target, {w.filename for w in wanted})
        resolved, unresolved = early.result() if early is not None else ([], [])
        builds.add(resolved)  # their files download beside the lock's own
        requirements: list[Need] = []
        if build_deps:
            # then what only the downloads show: git checkouts, and the sdists fetched now,
            # read as soon as they are in, resolved while the wheels still download
            batch.wait(sdist_files)
            requirements = [*first, *git_builds]
            requirements += [
                n for s in _sdists(wanted, dest) if s not in read for n in sdist_needs(s, s.name)
            ]
            unasked = [r for r in requirements_of(requirements) if r not in asked_first]
            if unasked:
                resolved, more_unresolved = resolve_build(uv, unasked, *options)
                builds.add(resolved)
                unresolved += more_unresolved
            failed = {item.partition(": ")[0] for item in unresolved}
            build = [f"{r} ({why})" for r, why in dict.fromkeys(requirements) if r not in failed]
        outcomes = redirected + batch.wait(lock_files) + batch.wait(builds.futures)
    unverifiable += builds.unverifiable
    wanted += builds.files
    present_names |= builds.present
    remember_downloads(dest, [o for o in outcomes if o.status in ("downloaded", "cached")])
    built: list[str] = []
    built_failures: list[str] = []
    if asked.build_wheels:
        to_build = [w for w in locked if _is_sdist(w)]
        interpreter = python or str(project_interpreter(project.root, uv.path, args))
        built, built_failures = build_from_sdists(uv, to_build, dest, interpreter, target)
    return Report(
        dest,
        tuple(o for o in outcomes if o.status == "downloaded"),
        tuple(w for w in wanted if w.filename in present_names),
        tuple(o for o in outcomes if o.status == "failed"),
        tuple(build),
        tuple(unverifiable),
        tuple(unresolved + built_failures),
        tuple(git),
        tuple(built),
        tuple(o for o in outcomes if o.status == "cached"),
    )


class _BuildFiles:
    """The files of resolved build requirements, each added to the running batch once, as
    soon as uv names it."""

    def __init__(self, batch: Batch, dest: Path, target: Target | None, known: set[str]):
        self.batch, self.dest, self.target, self.known = batch, dest, target, known
        self.files: list[Wanted] = []
        self.present: set[str] = set()  # those the folder holds already
        self.unverifiable: list[str] = []  # pinned by no digest lockshim checks
        self.futures: list[Future[Outcome]] = []

    def add(self, resolved: Sequence[Mapping[str, Any]]) -> None:
        """Start downloading the files of ``resolved`` (`uv pip compile`'s answers)."""
        files: dict[str, Wanted] = {}
        for compiled in resolved:
            found, skipped = wanted_from_export(compiled, self.target)
            files.update((w.filename, w) for w in found if w.filename not in self.known)
            self.unverifiable += skipped
        self.known |= set(files)
        there = present(list(files.values()), self.dest)
        self.futures += self.batch.add([w for w in files.values() if w.filename not in there])
        self.files += files.values()
        self.present |= there


def _constraints_file(lock_path: Path, pyproject: Path) -> Path | None:
    """The lock's build constraints as a file for `uv pip compile --constraint` (in lockshim's
    cache, named by its content), or None where there are none."""
    limits = build_constraints(lock_path.read_text(encoding="utf-8", errors="replace"), pyproject)
    if not limits:
        return None
    import hashlib

    text = "\n".join(str(c) for c in limits) + "\n"
    key = hashlib.sha256(text.encode()).hexdigest()[:24]
    path = user_cache_dir() / "build-constraints" / f"{key}.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def _https(lock_text: str | None, mirror: str | None) -> bool:
    """The downloads will be over https (as far as the lock and ``--mirror`` show)."""
    if mirror:
        return mirror.lower().startswith("https:")
    return lock_text is None or "https://" in lock_text


def _fetch_git(
    exported: Mapping[str, Any], target: Target | None, dest: Path, uv: Uv
) -> tuple[list[GitFetched], list[Need]]:
    """A bundle of each git source the target installs (skipping those ``dest`` holds), and
    what building their checkouts needs."""
    names = (
        None if target is None else [i.name for i in select(exported, target) if i.kind == "local"]
    )
    pins = gitsources.pins_of_export(exported, names)
    if not pins:
        return [], []
    held = gitsources.find(pins, bundles_in(dest)).served
    there = {s.pin for s in held}
    rows = []
    for pin in pins:
        status = "present" if pin in there else ""
        if not status:
            try:
                status = gitsources.fetch_bundle(pin, dest)
            except LockshimError as error:
                status = str(error)
        rows.append(GitFetched(pin.label, pin.commit, pin.bundle_name, status))
    served = gitsources.find(pins, bundles_in(dest)).served
    copies = gitsources.prepare(served) if served else {}
    return rows, git_needs(served, copies, uv.version)
