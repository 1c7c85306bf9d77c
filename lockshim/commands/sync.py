"""`lockshim sync`: lock -> local files -> match -> shim -> uv -> restore.

The plan's guards (:mod:`lockshim.plan.stops`) and the mirror's files
(:mod:`lockshim.plan.from_mirror`) come before the shim; the shim puts uv.lock back after uv.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from lockshim.commands import resync
from lockshim.commands.session import prepared
from lockshim.errors import LockshimError
from lockshim.lockfile.model import PROJECT_SOURCES
from lockshim.lockfile.rewrite import rewrite
from lockshim.plan import verdict
from lockshim.plan.advice import advise, ask_plan_ahead
from lockshim.plan.advice import places as advice_places
from lockshim.project import environment_of
from lockshim.report import Reporter
from lockshim.shim.staging import staged
from lockshim.shim.swap import marked, shimmed
from lockshim.sources import git as gitsources
from lockshim.sources.base import PIP_CACHE
from lockshim.sources.built import planted_records, served_built
from lockshim.sources.local import Found, SourceOptions, find_local
from lockshim.uv import argv, runner
from lockshim.uv.runner import Uv

if TYPE_CHECKING:
    pass
from lockshim.plan import stops
from lockshim.plan.from_mirror import prefetch, through_mirror


def summary(
    found: Found,
    here: tuple[int, int] | None = None,
    places: tuple[tuple[str, int], ...] | None = None,
) -> list[str]:
    """The short report printed before uv runs; ``here``: (local, needed) files of the target
    environment and ``places`` where those local ones are, when known (the lock also holds
    other platforms' files). Every count is of files."""
    result = found.result
    servable = [p for p in found.lock.packages if p.servable]
    served = result.served_packages
    complete = len(served) == len(servable)
    if places is None:
        places = advice_places(found, None)
    where = ", ".join(
        f"{count} from the mirror {place} (uv downloads them)"
        if place.startswith(("http://", "https://"))
        else f"{count} from {place}"
        for place, count in places
    )
    if here is not None:
        counted = (
            f"served from local files: {here[0]} of the {here[1]} files this environment needs"
        )
        if any(place.startswith(("http://", "https://")) for place, _ in places):
            counted = counted.replace("from local files", "from local files and the mirror")
    elif complete:
        counted = "served from local files: every file uv.lock pins, so all this environment needs"
    else:
        total = sum(1 for p in servable for a in p.artifacts if a.digest)
        served_files = sum(count for _, count in places)
        counted = (
            f"served from local files: {served_files} of the lock's {total} files (all platforms)"
        )
    lines = [counted + (f" ({where})" if where else "") + "; uv.lock is restored afterwards."]
    if (here[0] < here[1]) if here is not None else len(served) < len(servable):
        searched = ", ".join(
            f"{source.kind} {source.root} ({count} file{'s' if count != 1 else ''})"
            for source, count in zip(found.sources, found.counts, strict=True)
        )
        empty_cache = [
            s
            for s, n in zip(found.sources, found.counts, strict=True)
            if n == 0 and s.kind == PIP_CACHE
        ]
        if empty_cache:
            searched += (
                " (pip's cache holds no downloads: pip keeps none with --no-cache-dir, or when "
                "a proxy strips the caching headers; `pip download -d DIR` or `lockshim fetch` "
                "makes a wheelhouse instead)"
            )
        lines.append(
            f"searched: {searched}."
            if searched
            else "no local source to search: pass --wheelhouse DIR, set [tool.lockshim] "
            "wheelhouses or LOCKSHIM_WHEELHOUSE, or fill pip's cache."
        )
    direct = sorted({s.package.label for s in result.served if s.package.source_kind == "url"})
    if direct:
        lines.append(
            f"direct URL packages ({', '.join(direct)}) are installed from local files as path "
            "sources; a later plain `uv sync` or `uv run` would fetch them from their URL "
            "again: offline, use `uv run --no-sync` (or `lockshim sync` again)."
        )
    for item in result.ignored:
        lines.append(
            f"ignored {item.file.where}: {item.reason} for {item.package.label} "
            f"({item.artifact.filename})."
        )
    for package, artifact, file in result.unverifiable:
        lines.append(
            f"not used {file.where}: uv.lock pins "
            + (f"only {artifact.hash.partition(':')[0]}" if artifact.hash else "no digest")
            + f" for {package.label} ({artifact.filename}), which lockshim cannot check "
            "(it checks sha256, sha384 and sha512)."
        )
    return lines


def _git_sources(found: Found, reporter: Reporter) -> dict[str, str] | None:
    """uv's environment with the git sources found in local bundles (None: nothing to add)."""
    pins = gitsources.pins_of_lock(found.lock)
    if not pins:
        return None
    plan = gitsources.find(pins, found.files)
    if plan.served:
        copies = gitsources.prepare(plan.served)
        for line in gitsources.skipped():
            reporter.warn(line)
        served = ", ".join(f"{s.pin.label} @ {s.pin.commit[:12]}" for s in plan.served)
        reporter.info(f"git sources served from local bundles: {served}.")
        for note in gitsources.checkout_notes(plan.served, copies):
            reporter.warn(note)
    if plan.missing:
        missing = ", ".join(f"{p.label} @ {p.commit[:12]}" for p in plan.missing)
        reporter.info(
            f"git sources with no local bundle: {missing} (`lockshim fetch --dest DIR` "
            "bundles them where the remote can be reached)."
        )
    if not plan.served:
        return None
    others = [pin.repository for pin in pins]
    return gitsources.environment(copies, os.environ, others)


def _settled(found: Found) -> bool:
    """The synced environment matches the lock as it is restored (no path sources, which a
    plain sync would reinstall from their URL; no custom uv cache keys, which lockshim cannot
    watch)."""
    if any(s.package.source_kind == "url" for s in found.result.served):
        return False
    return all("cache-keys" not in text for text in _pyprojects(found).values())


def _local_folders(found: Found) -> list[Path]:
    """The project's folder and each local package's (uv builds and checks them)."""
    base = found.project.lock_path.parent
    folders = [found.project.root]
    for package in found.lock.packages:
        if package.source is not None and package.source.kind in ("editable", "directory"):
            folders.append((base / package.source.value).resolve())
    return list(dict.fromkeys(folders))


def _pyprojects(found: Found) -> dict[Path, str]:
    texts = {}
    for folder in _local_folders(found):
        with contextlib.suppress(OSError):
            texts[folder] = (folder / "pyproject.toml").read_text(encoding="utf-8")
    return texts


def _watched(found: Found, uv: Uv, project_dir: Path | None) -> list[str]:
    """The files an unchanged re-sync depends on (lockshim.commands.resync compares their stat)."""
    from lockshim.shim.journal import journal_path

    lock = found.project.lock_path
    paths = [lock, journal_path(lock), uv.path, found.project.root / ".python-version"]
    for folder in _local_folders(found):
        paths += [folder / name for name in ("pyproject.toml", "setup.py", "setup.cfg")]
    venv = environment_of(found.project.root)
    paths += [venv, venv / "pyvenv.cfg", venv / "bin" / "python"]
    paths += sorted(venv.glob("lib/*/site-packages"))
    start = (project_dir or Path.cwd()).absolute()
    for folder in (start, *start.parents):  # where a new uv.lock would be found first
        if folder == found.project.root:
            break
        paths.append(folder / lock.name)
    return [str(path) for path in paths]


def sync(
    *,
    project_dir: Path | None,
    sources: SourceOptions,
    uv_path: str | None,
    online: bool,
    uv_args: Sequence[str],
    reporter: Reporter,
    quiet: bool = False,
    request: str | None = None,
) -> int:
    """Serve the lock from local files, run `uv sync`, put uv.lock back; uv's exit status.

    ``request``: the command line's key (lockshim.commands.resync); after a success, what the run
    depends on is remembered under it, so an unchanged re-sync goes straight to uv.
    """
    argv.check_sync_args(uv_args)
    with prepared(project_dir, uv_path, reporter, uv_args) as (project, uv):
        verdict.ask_ahead(project.lock_path, uv.path, uv_args)
        found = find_local(project, sources, reporter.hashing)
        lock_args = uv_args
        uv_args = argv.for_project(project_dir, uv_args)
        memo = ask_plan_ahead(found, uv, uv_args)  # uv's runs for the plan, while uv checks
        if not online:  # is there a Python for it? (uv's dry run, asked ahead by the plan too)
            runner.ask_ahead(argv.dry_run_command(uv.path, uv_args), found.project.root)
        if any(p.source_kind in PROJECT_SOURCES for p in found.lock.packages):
            judged = verdict.judge(found.lock, uv.path, lock_args)
            if judged.refusal:  # uv would install the old lock without a word (--frozen)
                raise LockshimError(judged.refusal)
            if judged.warning:
                reporter.warn(judged.warning)
        mirror = sources.mirror_of(project)
        pages = prefetch(found, mirror, uv, uv_args) if mirror is not None else None
        advice = advise(found, uv, uv_args, reporter, memo)
        lock, linked, mirror_asked = found.lock, dict[tuple[int, int], str](), False
        if mirror is not None:
            found, advice, lock, linked, mirror_asked = through_mirror(
                found, sources, mirror, advice, uv, uv_args, reporter, pages
            )
        for line in summary(found, advice.here, advice.places):
            reporter.info(line)
        built = served_built(found)
        for record in planted_records(found):
            reporter.warn(
                f"{record} is not used: lockshim believes only the build records it keeps in "
                "its own cache (`lockshim fetch --build` on this machine), so its wheels are "
                "not taken for the sdists they claim to come from."
            )
        if built:
            labels = ", ".join(found.lock.packages[p].label for p in sorted(built))
            reporter.info(f"installed from wheels built once from their locked sdists: {labels}.")
        held = stops.held(uv, uv_args, advice) if not online or mirror is not None else {}
        advice.say(reporter, held, mirror.label if mirror is not None else None)
        uv_env = _git_sources(found, reporter)
        for path, reason in found.skipped:
            reporter.warn(f"skipped {path}: {reason}.")
        for note in found.notes:
            reporter.warn(note)
        for source in found.shared:
            where = (
                source.label
                if source.label == str(source.root)
                else (f"{source.label} ({source.root})")
            )
            reporter.warn(
                f"{where} can be written by others: its files serve only what uv.lock "
                "pins (checked by digest); build requirements, which uv.lock does not pin, are "
                "not taken from it (a planted build backend would run). Keep build wheels in a "
                "folder only you can write."
            )
        missing = advice.missing
        if not online:
            stops.stop_without_interpreter(found, uv, uv_args)
        if not online or mirror is not None:
            stops.stop_if_hopeless(found, uv, uv_args, advice, held, reporter)
        if not online and mirror is None:
            stops.stop_if_a_build_fails(found, uv, uv_args, advice, built)
        if mirror is not None:  # builds resolve against the mirror (never the locked index)
            uv_env = {
                **(uv_env if uv_env is not None else os.environ),
                "UV_DEFAULT_INDEX": mirror.url,
            }
            # offline when uv's cache holds every file under the URL it came from
            online = online or mirror_asked or not linked
        if quiet and not {"-q", "--quiet"} & set(uv_args):
            uv_args = ["--quiet", *uv_args]  # lockshim's -q quiets uv too
        lock_name = str(project.lock_path)
        environment = environment_of(project.root)
        made_here = not os.path.lexists(environment)
        with staged(found.result.served, lock_name, advice.build_files) as staging:
            find_links = found.find_links
            if advice.build_files and staging.folder is not None:
                find_links += (staging.folder,)
            command = argv.sync_command(
                uv, uv_args, find_links, online=online, builds_local=not advice.build_missing
            )
            added = {p: (b.path.absolute(), b.sha256, b.size) for p, b in built.items()}
            shimmed_bytes = rewrite(lock, staging.paths, added, linked)
            if shimmed_bytes == found.original:  # nothing served: uv.lock is left alone
                status = runner.run(command, uv_env)
            else:
                changed = len(staging.paths) + len(linked) + len(added)
                shimmed_bytes = marked(shimmed_bytes, changed)
                _say_links(project.lock_path, reporter)
                with shimmed(
                    project.lock_path,
                    found.original,
                    shimmed_bytes,
                    (staging.folder, staging.token),
                ):
                    status = runner.run(command, uv_env)
        if status != 0 and made_here:
            _remove_half_made(environment, reporter)
        # A staging folder is gone after the run: a command naming it cannot be replayed.
        replayable = not (advice.build_files and staging.folder is not None)
        if status == 0 and request is not None and replayable and _settled(found):
            resync.record(request, _watched(found, uv, project_dir), command, uv_args)
        if status != 0 and missing:
            reporter.info(
                f"uv failed; {len(missing)} file(s) it needs are not local (listed above). "
                + stops.way_on(found, uv_args, online, advice.target)
            )
        return status


def _remove_half_made(environment: Path, reporter: Reporter) -> None:
    """uv failed and left an environment where there was none: remove it (a later run starts
    clean, and nothing looks installed that is not)."""
    import shutil

    if environment.is_symlink() or not (environment / "pyvenv.cfg").is_file():
        return
    shutil.rmtree(environment, ignore_errors=True)
    if not os.path.lexists(environment):
        reporter.info(f"removed {environment}, which the failed uv run had made.")


def _say_links(lock: Path, reporter: Reporter) -> None:
    """A lock with other names (hard links) comes back as a file of its own: say so."""
    try:
        links = os.stat(lock).st_nlink
    except OSError:
        return
    if links > 1:
        reporter.warn(
            f"{lock} has {links - 1} other name(s) (hard links). While uv runs it is replaced, "
            "and afterwards it is a file of its own with the same bytes: the other names keep "
            "the original file, no longer shared with it."
        )
