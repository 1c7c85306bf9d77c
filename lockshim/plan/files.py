"""For what `uv sync` would install here, where each file comes from: the plan `lockshim plan`
prints and `sync`, `fetch` and `bundle` work from.

Served: a local file holds the exact bytes uv would use. Missing: nothing local holds them
(name, version, the file uv wants, its sha256). Mismatched: files named like an artifact whose
bytes differ. Packages built from local source (the project, workspace members, path and git
sources) are not files to serve and are listed apart.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from packaging.utils import canonicalize_name

from lockshim.digests import Digest, sha256_hex
from lockshim.plan.builds import (
    BuildPlan,
    Need,
    Wheel,
    build_constraints,
    git_needs,
    local_needs,
    local_sdist_needs,
    local_wheels,
    satisfy,
)
from lockshim.sources import git as gitsources
from lockshim.sources.base import PIP_CACHE
from lockshim.sources.git import NO_GIT, GitPlan
from lockshim.sources.local import Found
from lockshim.sources.match import Ignored
from lockshim.sources.mirror import Mirror
from lockshim.sources.wheelnames import read_names
from lockshim.uv import argv, runner
from lockshim.uv.runner import Uv
from lockshim.uv.select import Selected, export, select
from lockshim.uv.target import Target, resolve_target
from lockshim.uv.target import ask_ahead as ask_target_ahead


class Entry(NamedTuple):
    name: str
    version: str | None
    filename: str | None
    digest: Digest | None  # as the lock pins it
    url: str | None
    path: Path | None = None  # the local file, when served
    origin: str | None = None  # wheelhouse or pip cache
    size: int | None = None  # as the lock pins it, where it does


class Plan(NamedTuple):
    target: str
    served: tuple[Entry, ...]
    missing: tuple[Entry, ...]
    mismatched: tuple[Ignored, ...]
    local: tuple[str, ...]
    build: BuildPlan = BuildPlan((), ())
    git: GitPlan = NO_GIT
    stale: str = ""  # uv.lock is out of date with pyproject.toml: what differs, and the fix
    #: files a mirror (lockshim.sources.mirror) serves, and why those it cannot are missing
    mirrored: tuple[Entry, ...] = ()
    why_missing: tuple[tuple[str, str], ...] = ()
    build_mirror: str = ""  # build requirements not local come from this mirror (uv resolves)
    environment: str = ""  # the target as one PEP 508 marker
    exported: Mapping[str, Any] = {}  # what `uv export` said the target installs (pylock.toml)

    @property
    def status(self) -> int:
        builds = self.build.missing and not self.build_mirror
        return 1 if self.missing or builds or self.git.missing or self.stale else 0

    def text(self) -> str:
        lines = [f"STALE    {self.stale}"] if self.stale else []
        lines.append(f"for {self.target}:")
        for entry in self.served:
            where = _where(entry.path, entry.origin)
            lines.append(f"  served   {_label(entry)}  {entry.filename}  <- {where}")
        for entry in self.mirrored:
            lines.append(f"  mirror   {_label(entry)}  {entry.filename}  <- {entry.url}")
        why = dict(self.why_missing)
        for entry in self.missing:
            lines.append(
                f"  MISSING  {_label(entry)}  {entry.filename or '(no file fits this target)'}"
                + (f"  {entry.digest}" if entry.digest else "")
                + (f"  ({why[entry.filename]})" if entry.filename in why else "")
            )
        for item in self.mismatched:
            lines.append(f"  ignored  {item.file.where}: {item.reason} ({item.package.label})")
        for served in self.git.served:
            pin = served.pin
            lines.append(f"  git      {pin.label}  {pin.commit[:12]}  <- {served.bundle}")
        for missing in self.git.missing:
            lines.append(
                f"  MISSING  git {missing.label}  {missing.commit}  ({missing.repository})"
            )
        lines += [f"  note     {note}" for note in self.git.notes]
        if self.local:
            lines.append(f"  built from local source: {', '.join(self.local)}")
        for need, wheel in self.build.served:
            lines.append(
                f"  build    {wheel.name} {wheel.version}  {wheel.filename}  "
                f"<- {_where(wheel.file.path, wheel.file.origin)}  ({need.why})"
            )
        for need in self.build.missing:
            if self.build_mirror:
                lines.append(
                    f"  mirror   build requirement {need.requirement}  ({need.why}; uv takes it "
                    f"from {self.build_mirror})"
                )
            else:
                lines.append(f"  MISSING  build requirement {need.requirement}  ({need.why})")
        builds_missing = (
            f"{len(self.build.missing)} from the mirror"
            if self.build_mirror
            else f"{len(self.build.missing)} missing"
        )
        lines.append(
            f"{len(self.served)} served, {len(self.missing)} missing, "
            f"{len(self.mismatched)} mismatched; builds: {len(self.build.served)} served, "
            f"{builds_missing}."
        )
        if self.build.missing and not self.build_mirror:
            lines.append(
                "a build uv may have to run lacks files: `lockshim fetch --dest DIR` (where you "
                "have a network) brings build requirements too."
            )
        return "\n".join(lines)

    def json(self) -> str:
        def entry(e: Entry) -> dict[str, object]:
            return {
                "name": e.name,
                "version": e.version,
                "filename": e.filename,
                "sha256": sha256_hex(e.digest),
                "digest": e.digest,
                "url": e.url,
                **({"path": str(e.path), "origin": e.origin} if e.path else {}),
            }

        return json.dumps(
            {
                "target": self.target,
                "stale": self.stale or None,
                "served": [entry(e) for e in self.served],
                "mirrored": [entry(e) for e in self.mirrored],
                "missing": [
                    {
                        **entry(e),
                        **(
                            {"why": w}
                            if (w := dict(self.why_missing).get(e.filename or ""))
                            else {}
                        ),
                    }
                    for e in self.missing
                ],
                "mismatched": [
                    {
                        "name": i.package.name,
                        "version": i.package.version,
                        "filename": i.artifact.filename,
                        "path": i.file.where,
                        "reason": i.reason,
                    }
                    for i in self.mismatched
                ],
                "local": list(self.local),
                "git": {
                    "served": [
                        {
                            "name": s.pin.name,
                            "version": s.pin.version,
                            "repository": s.pin.repository,
                            "commit": s.pin.commit,
                            "bundle": str(s.bundle),
                        }
                        for s in self.git.served
                    ],
                    "missing": [
                        {
                            "name": p.name,
                            "version": p.version,
                            "repository": p.repository,
                            "commit": p.commit,
                        }
                        for p in self.git.missing
                    ],
                    "notes": list(self.git.notes),
                },
                "build": {
                    "served": [
                        {
                            "requirement": need.requirement,
                            "why": need.why,
                            "filename": wheel.filename,
                            "path": str(wheel.file.path),
                            "origin": wheel.file.origin,
                        }
                        for need, wheel in self.build.served
                    ],
                    "missing": [
                        {"requirement": need.requirement, "why": need.why}
                        for need in self.build.missing
                    ],
                },
            },
            indent=2,
        )


def _where(path: Path | None, origin: str | None) -> str:
    return "pip's cache" if origin == PIP_CACHE else str(path)


def _label(entry: Entry) -> str:
    return f"{entry.name} {entry.version}" if entry.version else entry.name


def make_plan(
    found: Found,
    selected: Sequence[Selected],
    target: Target,
    needs: Sequence[Need] = (),
    git: GitPlan = NO_GIT,
) -> Plan:
    """Sort the selected files into served and missing, by sha256 against the matched files."""
    served_by_sha = {s.artifact.digest: s for s in found.result.served if s.artifact.digest}
    served, missing, local = [], [], []
    for item in selected:
        if item.kind == "local":
            local.append(item.name)
            continue
        hit = served_by_sha.get(item.digest) if item.digest else None
        entry = Entry(item.name, item.version, item.filename, item.digest, item.url, size=item.size)
        if hit is not None:
            served.append(entry._replace(path=hit.file.path, origin=hit.file.origin))
        else:
            missing.append(entry)
    wanted = {item.digest for item in selected if item.digest}
    mismatched = tuple(i for i in found.result.ignored if i.artifact.digest in wanted)
    for item in selected:  # an sdist the target builds: what its own build needs
        hit = served_by_sha.get(item.digest) if item.kind == "sdist" and item.digest else None
        if hit is not None:
            label = f"{item.name} {item.version}"
            needs = [*needs, *local_sdist_needs(hit.file, label)]
    return Plan(
        target.name,
        tuple(served),
        tuple(missing),
        mismatched,
        tuple(n for n in local if n not in {*git_names(git)}),
        _builds(found, needs, target),
        git,
    )


def _builds(found: Found, needs: Sequence[Need], target: Target) -> BuildPlan:
    """The needs satisfied from local wheels; pip cache bodies are opened only when the named
    wheels are not enough (the name read from inside each is remembered)."""
    if not needs:
        return BuildPlan((), ())
    files = found.for_builds()  # never from a folder others can write: nothing pins them
    limits = build_constraints(found.lock.text, found.project.root / "pyproject.toml")

    def more(name: str) -> list[Wheel]:  # other projects' wheels, looked at by name
        return local_wheels(found.for_builds(found.more({name})), {})

    built = satisfy(needs, local_wheels(files, {}), target, limits, more)
    if built.missing and any(not f.name.endswith(".whl") for f in files):
        built = satisfy(needs, local_wheels(files, read_names(files)), target, limits, more)
    return built


def plan_for(
    found: Found,
    uv: Uv,
    sync_args: Sequence[str],
    python: str | None = None,
    platform: str | None = None,
    every_patch: bool = False,
) -> Plan:
    """``every_patch``: for every patch release of the target Python's minor version."""
    argv.check_python(found.lock.text, python, found.project.lock_path.name)
    # uv's export and its dry run naming the interpreter side by side; the export is read
    # while the dry run goes on
    runner.ask_ahead(argv.export_command(uv.path, sync_args))
    ask_target_ahead(found.project, uv, python, platform, sync_args)
    exported = export(uv.path, sync_args)
    patches_of = found.lock.text if every_patch else None
    target = resolve_target(found.project, uv, python, platform, sync_args, patches_of)
    needs = local_needs((Path.cwd(), found.project.root), exported, uv.version)
    selected = select(exported, target)
    git, git_builds = _git_plan(found, selected, uv)
    made = make_plan(found, selected, target, [*needs, *git_builds], git)
    return made._replace(environment=target.marker(), exported=exported)


def git_names(git: GitPlan) -> list[str]:
    """The git packages of a plan (listed as git, not among those built from local source)."""
    return [s.pin.name for s in git.served] + [p.name for p in git.missing]


def _git_plan(found: Found, selected: Sequence[Selected], uv: Uv) -> tuple[GitPlan, list[Need]]:
    """The git packages the target installs (served from a local bundle, or missing), and what
    building the served checkouts needs (read from the commit, never run)."""
    local = {canonicalize_name(item.name) for item in selected if item.kind == "local"}
    pins = [p for p in gitsources.pins_of_lock(found.lock) if canonicalize_name(p.name) in local]
    plan = gitsources.find(pins, found.files)
    if not plan.served:
        return plan, []
    copies = gitsources.prepare(plan.served)
    needs = git_needs(plan.served, copies, uv.version)
    notes = [*gitsources.skipped(), *gitsources.checkout_notes(plan.served, copies)]
    return plan._replace(notes=tuple(notes)), needs


def with_mirror(plan: Plan, found: Found, mirror: Mirror) -> Plan:
    """The missing registry files looked up on the mirror (its pages only, nothing
    downloaded): those it has move to ``mirrored``; the others say why."""
    from lockshim.sources.credentials import credentials_for
    from lockshim.sources.download import Downloader
    from lockshim.sources.mirror import PAGES_AT_ONCE, Sought, covered_files, lookup

    files = {(e.filename, e.digest) for e in plan.missing if e.filename and e.digest}
    covered = covered_files(mirror, found.original, found.project.lock_path, files)
    asked = [e for e in plan.missing if (e.filename, e.digest) in covered]
    if not asked:
        return plan
    credentials = mirror.credentials(credentials_for(found.project))
    found_on = lookup(
        mirror,
        [Sought(e.name, str(e.filename), e.digest, e.size) for e in asked if e.digest],
        Downloader(mirror.folder(), credentials, PAGES_AT_ONCE),
    )
    mirrored = tuple(
        e._replace(url=found_on.found[str(e.filename)].url, origin="mirror")
        for e in asked
        if e.filename in found_on.found
    )
    still = tuple(e for e in plan.missing if e not in mirrored and e.filename not in found_on.found)
    return plan._replace(
        missing=still, mirrored=mirrored, why_missing=tuple(found_on.problems.items())
    )
