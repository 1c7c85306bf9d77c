"""What sync says before uv runs: what the environment needs that no local file holds, and
the build wheels uv gets, worked out from the plan (lockshim.plan.files) and remembered per lock,
arguments, served files and interpreter, so that a re-sync of an unchanged project does not
ask uv again.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from lockshim.atomic import atomic_write
from lockshim.digests import Digest, parse
from lockshim.paths import user_cache_dir
from lockshim.report import Reporter
from lockshim.sources.local import Found
from lockshim.sources.match import Served
from lockshim.trust import private_folder, read_private
from lockshim.uv import argv, runner
from lockshim.uv.runner import Uv

if TYPE_CHECKING:
    from lockshim.plan.files import Plan

#: Changed whenever what a memo holds changes meaning (2: the lock's own file names; 3: the
#: sdists whose build lacks a requirement; 4: each missing file as one record).
_MEMO_FORMAT = "4"


class Missing(NamedTuple):
    """A file the target environment needs that no local file holds."""

    name: str
    version: str | None
    filename: str  # empty: no file of the package fits the target
    digest: Digest | None
    size: int | None
    url: str | None

    @property
    def label(self) -> str:
        return f"{self.name} {self.version} ({self.filename or 'no file fits this target'})"


class Advice(NamedTuple):
    """What sync says before uv runs, and the build wheels it hands uv."""

    missing: tuple[Missing, ...]  # what no local file holds
    build_missing: list[str]  # "requirement (who needs it)" a build would lack
    build_files: list[tuple[str, int, int, str]]  # (path, offset, size, wheel file name)
    target: str = ""
    here: tuple[int, int] | None = None  # (local, needed) files of the target environment
    #: where the local files of the target environment are: (place, files)
    places: tuple[tuple[str, int], ...] | None = None
    #: (build requirement, package, version) of each locked sdist the environment builds
    #: whose build lacks that requirement (no local wheel fits)
    sdist_builds: tuple[tuple[str, str, str], ...] = ()

    @property
    def missing_files(self) -> tuple[Missing, ...]:
        """The missing files the lock names (those a mirror or uv's cache may hold)."""
        return tuple(m for m in self.missing if m.filename)

    def say(
        self,
        reporter: Reporter,
        held: Mapping[str, bool | None] | None = None,
        mirror: str | None = None,
    ) -> None:
        """``held``: file name -> whether uv's cache holds it (None: cannot tell); ``mirror``:
        where uv's builds take what is not local."""
        if self.missing:
            held = held or {}
            reporter.info(
                f"not found locally for {self.target}:"
                + "".join(
                    f"\n    {m.label}" + ("  [in uv's cache]" if held.get(m.filename) else "")
                    for m in self.missing
                )
            )
        if self.build_missing and mirror is not None:
            reporter.info(
                f"if uv has to build, it takes from the mirror {mirror} what no local wheel "
                f"gives ({self.target}):" + "".join(f"\n    {item}" for item in self.build_missing)
            )
        elif self.build_missing:
            reporter.warn(
                f"if uv has to build, it will lack (no local wheel fits {self.target}):"
                + "".join(f"\n    {item}" for item in self.build_missing)
                + "\n  `lockshim fetch --dest DIR` (where you have a network) brings them."
            )


def needed(found: Found) -> bool:
    """Some remote package has nothing served, or something may be built (a local package, a
    served sdist)."""
    served = found.result.served_packages
    complete = all(p.position in served for p in found.lock.packages if p.servable)
    builds = any(
        p.source_kind in ("editable", "directory", "git") for p in found.lock.packages
    ) or any(s.artifact.kind == "sdist" for s in found.result.served)
    return not complete or builds


def ask_plan_ahead(found: Found, uv: Uv, uv_args: Sequence[str]) -> Path | None:
    """Where the advice is remembered (None: none is needed). When it must be worked out,
    the plan's two uv runs (the dry run naming the interpreter, the export) start now, on the
    other core, while the code that reads their answers is imported."""
    if not needed(found):
        return None
    memo = user_cache_dir() / "missing" / f"{_missing_key(found, uv, uv_args)}.json"
    if not memo.exists():
        runner.ask_ahead(argv.dry_run_command(uv.path, uv_args), found.project.root)
        runner.ask_ahead(argv.export_command(uv.path, uv_args))
    return memo


def advise(
    found: Found, uv: Uv, uv_args: Sequence[str], reporter: Reporter, memo: Path | None
) -> Advice:
    """What uv will need that no local file holds, and what its builds need, before uv runs.

    Worked out only when some remote package has nothing served, or something may be built
    (``memo``: where the answer is remembered, None when none is needed); never in the way of
    the sync itself. The answer depends only on the lock, the arguments, the files served and
    the interpreter, so it is remembered under those: a re-sync of an unchanged project does
    not ask uv again.
    """
    if memo is None:
        return Advice((), [], [])
    try:  # it lists files to stage as build wheels: only a memo nobody else can have written
        data = json.loads(read_private(memo).decode("utf-8"))
        here = data["here"]
        advice = Advice(
            tuple(
                Missing(
                    str(n),
                    str(v) if v is not None else None,
                    str(f),
                    parse(d),
                    int(z) if z is not None else None,
                    str(u) if u else None,
                )
                for n, v, f, d, z, u in data["missing"]
            ),
            [str(m) for m in data["build_missing"]],
            [(str(p), int(o), int(n), str(f)) for p, o, n, f in data["build_files"]],
            str(data["target"]),
            (int(here[0]), int(here[1])) if here else None,
            tuple((str(w), int(n)) for w, n in data["places"]) if here else None,
            tuple((str(r), str(n), str(v)) for r, n, v in data["sdist_builds"]),
        )
    except (OSError, ValueError, TypeError, KeyError):
        from lockshim.plan.files import plan_for

        try:
            plan = plan_for(found, uv, uv_args)
        except Exception as error:  # advisory only: it must never stop the sync itself
            reporter.warn(f"could not work out what is missing ({error}).")
            return Advice((), [], [])
        advice = Advice(
            tuple(
                Missing(e.name, e.version, e.filename or "", e.digest, e.size, e.url)
                for e in plan.missing
            ),
            [f"{n.requirement} ({n.why})" for n in plan.build.missing],
            [
                (str(w.file.path), w.file.offset, w.file.size, w.filename)
                for _, w in plan.build.served
                if w.file.source.find_links is None  # pip cache bodies, bundle members
            ],
            plan.target,
            (len(plan.served), len(plan.served) + len(plan.missing)),
            places(found, {e.digest for e in plan.served if e.digest}),
            _sdist_builds(plan),
        )
        with contextlib.suppress(OSError):
            private_folder(memo.parent)
            payload = json.dumps(advice._asdict()).encode()
            atomic_write(memo, payload, 0o600, durable=False)
    return advice


def _sdist_builds(plan: Plan) -> tuple[tuple[str, str, str], ...]:
    """(requirement, package, version) of each build requirement the plan finds no local wheel
    for, where what is built is a locked sdist the environment installs."""
    sdists = {
        f"builds {e.name} {e.version}": (e.name, str(e.version))
        for e in plan.served
        if e.filename and e.filename.endswith((".tar.gz", ".zip"))
    }
    return tuple((n.requirement, *sdists[n.why]) for n in plan.build.missing if n.why in sdists)


def places(found: Found, digests: set[str | None] | None) -> tuple[tuple[str, int], ...]:
    """How many of the served files (those with these digests; all for None) each place
    serves, places in the lock's order."""
    counts: dict[str, int] = {}
    files = {(s.package.position, s.artifact.position): s for s in found.result.served}
    for served in files.values():
        if digests is None or served.artifact.digest in digests:
            counts[_place(served)] = counts.get(_place(served), 0) + 1
    return tuple(counts.items())


def _missing_key(found: Found, uv: Uv, uv_args: Sequence[str]) -> str:
    """Everything the missing list depends on: lock bytes, arguments, served files, uv and the
    interpreter it would use (the project's .venv, by its identity)."""
    parts = [
        _MEMO_FORMAT,
        hashlib.sha256(found.original).hexdigest(),
        str(uv.path),
        uv.version_text,
        json.dumps(list(uv_args)),
        str(found.project.root),
    ]
    parts += [f"{s.package.position}:{s.artifact.position}" for s in found.result.served]
    # what the sources hold (build requirements are looked for among all their files)
    parts += [f"{len(found.files)}:{sum(f.mtime_ns + f.size for f in found.files)}"]
    listed = found.listed_names  # other projects' files, by name (build requirements among them)
    parts.append(hashlib.sha256("\0".join(sorted(listed)).encode()).hexdigest() if listed else "")
    with contextlib.suppress(OSError):  # uv picks the interpreter by it too
        parts.append((found.project.root / ".python-version").read_text(encoding="utf-8"))
    for python in (".venv/bin/python", ".venv/Scripts/python.exe"):
        with contextlib.suppress(OSError):
            info = os.stat(found.project.root / python)
            parts.append(f"{python}:{info.st_ino}:{info.st_mtime_ns}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:32]


def _place(served: Served) -> str:
    return served.file.source.label
