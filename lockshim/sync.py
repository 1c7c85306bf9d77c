"""`lockshim sync`: lock -> local files -> match -> shim -> uv -> restore."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import NamedTuple, Protocol

from lockshim import uv as uvmod
from lockshim.atomic import atomic_write
from lockshim.hashindex import HashIndex
from lockshim.localfiles import (
    PIP_CACHE,
    LocalFile,
    pip_cache_dir,
    scan_pip_cache,
    scan_wheelhouse,
    user_cache_dir,
)
from lockshim.lock import Lock, parse_lock
from lockshim.match import MatchResult, Served, match
from lockshim.project import Project, find_project, script_project, wheelhouses
from lockshim.rewrite import rewrite
from lockshim.shim import project_lock, restore, shimmed, signals_raise


class Reporter(Protocol):
    """Where lockshim's own messages go (the CLI prints them to stderr)."""

    def info(self, message: str) -> None: ...

    def warn(self, message: str) -> None: ...

    def hashing(self, done: int, total: int, file: LocalFile) -> None: ...


class Sources(NamedTuple):
    """Where local files are looked for."""

    wheelhouses: tuple[Path, ...] = ()
    pip_cache: bool | Path | None = None  # None: the project's setting, else pip's own cache


class Found(NamedTuple):
    """The outcome of looking for the lock's artifacts in the local sources."""

    project: Project
    lock: Lock
    original: bytes
    wheelhouses: tuple[Path, ...]
    pip_cache: Path | None
    result: MatchResult
    indexes: tuple[HashIndex, ...]


def resolve_pip_cache(option: bool | Path | None, project: Project) -> Path | None:
    setting = project.settings.pip_cache if option is None else option
    if setting is False:
        return None
    if isinstance(setting, Path):
        return setting.absolute()
    return pip_cache_dir()


def find_local(project: Project, sources: Sources, reporter: Reporter) -> Found:
    """Read the lock and match it against every local file (hashing only what it must)."""
    original = project.lock_path.read_bytes()
    lock = parse_lock(original, project.lock_path)
    folders = wheelhouses(sources.wheelhouses, project)
    cache = resolve_pip_cache(sources.pip_cache, project)
    files: list[LocalFile] = []
    indexes: dict[Path, HashIndex] = {}
    for folder in folders:
        files += scan_wheelhouse(folder)
        indexes[folder] = HashIndex.for_folder(folder)
    if cache is not None:
        files += scan_pip_cache(cache)
        for layout in ("http-v2", "http"):
            indexes[cache / layout] = HashIndex.for_folder(cache / layout, shared=False)
    result = match(lock, files, indexes, reporter.hashing)
    for index in indexes.values():
        index.save()
    return Found(project, lock, original, folders, cache, result, tuple(indexes.values()))


def summary(found: Found) -> list[str]:
    """The short report printed before uv runs."""
    result = found.result
    servable = [p for p in found.lock.packages if p.servable]
    served = result.served_packages
    by_place: dict[str, int] = {}
    for _, place in sorted({(s.package.position, _place(s)) for s in result.served}):
        by_place[place] = by_place.get(place, 0) + 1
    places = ", ".join(f"{count} from {place}" for place, count in by_place.items())
    lines = [
        f"{len(served)} of {len(servable)} locked packages served from local files"
        + (f" ({places})" if places else "")
        + "; uv.lock is restored afterwards."
    ]
    direct = sorted({s.package.label for s in result.served if s.package.source_kind == "url"})
    if direct:
        lines.append(
            f"direct URL packages ({', '.join(direct)}) are installed from local files as path "
            "sources; a later plain `uv sync` reinstalls them from their URL."
        )
    for item in result.ignored:
        lines.append(
            f"ignored {item.file.path}: {item.reason} for {item.package.label} "
            f"({item.artifact.filename})."
        )
    for package, artifact, file in result.unverifiable:
        lines.append(
            f"not used {file.path}: uv.lock pins no sha256 for {package.label} "
            f"({artifact.filename}), so it cannot be checked."
        )
    return lines


def _place(served: Served) -> str:
    return "pip's cache" if served.file.origin == PIP_CACHE else str(served.file.root)


@contextlib.contextmanager
def staged(served: Sequence[Served]) -> Iterator[tuple[dict[tuple[int, int], Path], Path | None]]:
    """The local path of each served artifact; files named otherwise get the lock's name.

    Renamed wheelhouse files and pip cache bodies are linked (or copied) under the artifact's
    file name into a private staging folder, which is removed afterwards.
    """
    paths: dict[tuple[int, int], Path] = {}
    staging: Path | None = None
    try:
        for item in served:
            path = item.file.path
            if item.renamed:
                if staging is None:
                    import tempfile

                    staging = Path(tempfile.mkdtemp(prefix="lockshim-staging-"))
                target = staging / item.artifact.filename
                if not target.exists():
                    _link_or_copy(item.file, target)
                path = target
            paths[(item.package.position, item.artifact.position)] = path.absolute()
        yield paths, staging
    finally:
        if staging is not None:
            import shutil

            shutil.rmtree(staging, ignore_errors=True)


def _link_or_copy(source: LocalFile, target: Path) -> None:
    """``target`` holding the artifact's bytes: a hard link where it can, else a copy."""
    if source.offset:  # the bytes sit inside an old pip cache entry: copy them out
        with open(source.path, "rb") as stream, open(target, "wb") as out:
            stream.seek(source.offset)
            out.write(stream.read(source.size))
        return
    try:
        os.link(source.path, target)
    except OSError:
        import shutil

        shutil.copyfile(source.path, target)


@contextlib.contextmanager
def prepared(
    project_dir: Path | None, uv_path: str | None, reporter: Reporter, uv_args: Sequence[str] = ()
) -> Iterator[tuple[Project, uvmod.Uv]]:
    """The project and uv, with this run holding the project's lock and any interrupted
    shim of it finished first (every command that reads the lock starts here).

    With ``--script PATH`` among the uv arguments, the lock is the script's (``PATH.lock``).
    """
    script = uvmod.script_arg(uv_args)
    project = script_project(Path(script)) if script else find_project(project_dir)
    uv = uvmod.find_uv(uv_path)

    def waiting() -> None:
        reporter.info(f"waiting for another lockshim run on {project.lock_path} to finish ...")

    with signals_raise(), project_lock(project.lock_path, waiting):
        if restore(project.lock_path) is not None:
            reporter.info(f"finished restoring {project.lock_path} after an interrupted run.")
        yield project, uv


def sync(
    *,
    project_dir: Path | None,
    sources: Sources,
    uv_path: str | None,
    online: bool,
    uv_args: Sequence[str],
    reporter: Reporter,
) -> int:
    """Serve the lock from local files, run `uv sync`, put uv.lock back; uv's exit status."""
    uvmod.check_sync_args(uv_args)
    with prepared(project_dir, uv_path, reporter, uv_args) as (project, uv):
        found = find_local(project, sources, reporter)
        for line in summary(found):
            reporter.info(line)
        if project_dir is not None:  # uv must sync the project lockshim found, not the cwd's
            uv_args = ["--project", str(project_dir), *uv_args]
        missing = _missing(found, uv, uv_args, reporter)
        command = uvmod.sync_command(uv, uv_args, found.wheelhouses, online=online)
        with staged(found.result.served) as (paths, staging):
            shimmed_bytes = rewrite(found.lock, paths)
            if shimmed_bytes == found.original:  # nothing served: uv.lock is left alone
                status = uvmod.run(command)
            else:
                with shimmed(project.lock_path, found.original, shimmed_bytes, staging):
                    status = uvmod.run(command)
        if status != 0 and missing:
            reporter.info(
                f"uv failed; {len(missing)} file(s) it needs are not local: "
                + ", ".join(missing)
                + ". Fetch them with `lockshim fetch --dest DIR` (where you have a network), "
                "then sync again with that wheelhouse."
            )
        return status


def _missing(found: Found, uv: uvmod.Uv, uv_args: Sequence[str], reporter: Reporter) -> list[str]:
    """What uv will need that no local file holds, said before uv runs (empty: all there).

    Worked out only when some remote package has nothing served at all (else every package
    has its file here), and never in the way of the sync itself. The answer depends only on
    the lock, the arguments, the files served and the interpreter, so it is remembered under
    those: a re-sync of an unchanged project does not ask uv again.
    """
    served = found.result.served_packages
    if all(p.position in served for p in found.lock.packages if p.servable):
        return []
    key = _missing_key(found, uv, uv_args)
    memo = user_cache_dir() / "missing" / f"{key}.json"
    try:
        target, missing = json.loads(memo.read_text(encoding="utf-8"))
    except (OSError, ValueError, TypeError):
        from lockshim.plan import plan_for  # packaging and uv export: only when needed

        try:
            plan = plan_for(found, uv, uv_args)
        except Exception as error:  # advisory only: it must never stop the sync itself
            reporter.warn(f"could not work out what is missing ({error}).")
            return []
        target = plan.target
        missing = [f"{e.name} {e.version} ({e.filename})" for e in plan.missing]
        with contextlib.suppress(OSError):
            memo.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(memo, json.dumps([target, missing]).encode(), 0o644, durable=False)
    if missing:
        reporter.info(f"not found locally for {target}: " + "; ".join(missing) + ".")
    return list(missing)


def _missing_key(found: Found, uv: uvmod.Uv, uv_args: Sequence[str]) -> str:
    """Everything the missing list depends on: lock bytes, arguments, served files, uv and the
    interpreter it would use (the project's .venv, by its identity)."""
    parts = [
        hashlib.sha256(found.original).hexdigest(),
        str(uv.path),
        uv.version_text,
        json.dumps(list(uv_args)),
        str(found.project.root),
    ]
    parts += [f"{s.package.position}:{s.artifact.position}" for s in found.result.served]
    for python in (".venv/bin/python", ".venv/Scripts/python.exe"):
        with contextlib.suppress(OSError):
            info = os.stat(found.project.root / python)
            parts.append(f"{python}:{info.st_ino}:{info.st_mtime_ns}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:32]
