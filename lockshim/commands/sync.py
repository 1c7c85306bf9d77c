"""`lockshim sync`: lock -> local files -> match -> shim -> uv -> restore."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from lockshim.commands import resync
from lockshim.commands.session import prepared
from lockshim.errors import LockshimError
from lockshim.lockfile.model import PROJECT_SOURCES, Lock
from lockshim.lockfile.rewrite import rewrite
from lockshim.plan import verdict
from lockshim.plan.advice import Advice, advise, ask_plan_ahead
from lockshim.plan.advice import places as advice_places
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
    from lockshim.sources.mirror import Mirror, Pages


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
        for line in gitsources.skipped:
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
    """The files an unchanged re-sync depends on (lockshim.resync compares their stat)."""
    from lockshim.shim.journal import journal_path

    lock = found.project.lock_path
    paths = [lock, journal_path(lock), uv.path, found.project.root / ".python-version"]
    for folder in _local_folders(found):
        paths += [folder / name for name in ("pyproject.toml", "setup.py", "setup.cfg")]
    environment = os.environ.get("UV_PROJECT_ENVIRONMENT")
    venv = found.project.root / (environment or ".venv")
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

    ``request``: the command line's key (lockshim.resync); after a success, what the run
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
        pages = _prefetch(found, mirror, uv, uv_args) if mirror is not None else None
        advice = advise(found, uv, uv_args, reporter, memo)
        lock, linked, mirror_asked = found.lock, dict[tuple[int, int], str](), False
        if mirror is not None:
            found, advice, lock, linked, mirror_asked = _through_mirror(
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
        held = _held(uv, uv_args, advice) if not online or mirror is not None else {}
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
            _stop_without_interpreter(found, uv, uv_args)
        if not online or mirror is not None:
            _stop_if_hopeless(found, uv, uv_args, advice, held, reporter)
        if not online and mirror is None:
            _stop_if_a_build_fails(found, uv, uv_args, advice, built)
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
        environment = _environment(project.root)
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
                + _way_on(found, uv_args, online, advice.target)
            )
        return status


def _environment(root: Path) -> Path:
    """The project environment uv syncs (``UV_PROJECT_ENVIRONMENT``, else ``.venv``)."""
    return root / (os.environ.get("UV_PROJECT_ENVIRONMENT") or ".venv")


def _remove_half_made(environment: Path, reporter: Reporter) -> None:
    """uv failed and left an environment where there was none: remove it (a later run starts
    clean, and nothing looks installed that is not)."""
    import shutil

    if environment.is_symlink() or not (environment / "pyvenv.cfg").is_file():
        return
    shutil.rmtree(environment, ignore_errors=True)
    if not os.path.lexists(environment):
        reporter.info(f"removed {environment}, which the failed uv run had made.")


def _prefetch(found: Found, mirror: Mirror, uv: Uv, uv_args: Sequence[str]) -> Pages:
    """Start reading, while uv works out the plan, the mirror's pages of the packages it
    stands in for that no local file serves and uv's cache knows nothing of (those the plan
    will most likely find missing)."""
    from packaging.utils import canonicalize_name

    from lockshim.sources.download import credentials_for
    from lockshim.sources.mirror import prefetch
    from lockshim.uv import cache as uvcache

    served = found.result.served_packages
    cache = uvcache.cache_dir(uv.path, uv_args)
    projects = sorted(
        {
            str(canonicalize_name(package.name))
            for package in mirror.packages(found.lock)
            if package.position not in served
            and (cache is None or not uvcache.knows_project(cache, package.name))
        }
    )
    return prefetch(mirror, projects, credentials_for(found.project))


def _through_mirror(
    found: Found,
    sources: SourceOptions,
    mirror: Mirror,
    advice: Advice,
    uv: Uv,
    uv_args: Sequence[str],
    reporter: Reporter,
    pages: Pages | None,
) -> tuple[Found, Advice, Lock, dict[tuple[int, int], str], bool]:
    """The missing files from the mirror: those uv's cache holds under a URL an earlier run
    linked, linked again; the others looked up on its pages. (the files found, the advice
    once they are had, the lock to shim, its linked artifacts, whether the mirror was asked)."""
    kept = _kept_links(mirror, uv, uv_args, advice)
    rest = advice._replace(missing_files=tuple(m for m in advice.missing_files if m[1] not in kept))
    taken, by_name = set[str](), dict[str, str]()
    if rest.missing_files:
        taken, by_name = _from_mirror(found, mirror, rest, reporter, pages)
    if taken:  # the files came: match again
        found = find_local(found.project, sources, reporter.hashing)
    digests = {m[1]: m[2] for m in advice.missing_files}
    lock, linked = _linked(found, mirror, {**kept, **by_name}, digests)
    asked = bool(rest.missing_files)
    return found, _came(advice, mirror, taken, by_name, kept), lock, linked, asked


def _from_mirror(
    found: Found, mirror: Mirror, advice: Advice, reporter: Reporter, pages: Pages | None = None
) -> tuple[set[str], dict[str, str]]:
    """The registry files the environment needs and no local source holds, from the mirror
    (by file name, checked by digest): (the names of those downloaded into its private folder,
    file name -> the mirror's URL of each left for uv to download itself). A file the mirror
    lacks, or lists with other bytes, stops the run before uv."""
    from lockshim.sources.download import Wanted, credentials_for
    from lockshim.sources.mirror import covered_files, fetch_into, remember_links

    missing = {(m[1], m[2]) for m in advice.missing_files if m[2] is not None}
    versions = covered_files(mirror, found.original, found.project.lock_path, missing)
    wanted = []
    for name, filename, digest, size, _ in advice.missing_files:
        if digest is not None and (filename, digest) in versions:  # the page gives the URL
            wanted.append(Wanted(name, versions[filename, digest], filename, "", digest, size))
    if not wanted:
        return set(), {}
    credentials = credentials_for(found.project)  # UV_INDEX_<NAME>_* of an index at its URL
    taken = fetch_into(
        mirror, wanted, mirror.folder(), credentials=credentials, link=True, pages=pages
    )
    remember_links(mirror, taken.linked)
    got = [o for o in taken.outcomes if o.status == "downloaded"]
    problems = taken.problems
    if (got or taken.linked) and not problems:  # said only when the run goes on to uv
        reporter.info(
            f"from the mirror {mirror.label}: {len(taken.linked) + len(got)} file(s)"
            + (f", {len(taken.linked)} for uv to download from it" if taken.linked else "")
            + (f", {len(got)} taken into {mirror.folder()}" if got else "")
            + "."
        )
    if problems:
        causes = {why.partition("cannot be read: ")[2] for why in problems.values()}
        lines = (
            [f"{len(problems)} files: the mirror's pages cannot be read: {causes.pop()}"]
            if len(problems) > 1 and len(causes) == 1 and "" not in causes
            else [f"{name}: {why}" for name, why in sorted(problems.items())]
        )
        raise LockshimError(
            f"the mirror {mirror.label} cannot serve what this environment needs:"
            + "".join(f"\n    {line}" for line in lines)
            + "\n  Nothing was changed. "
            + (
                _password_advice(mirror)
                if any(c in why for why in problems.values() for c in ("HTTP 401", "HTTP 403"))
                else "Check the mirror's URL (its simple API root) and that it proxies the "
                "index uv.lock was made against; `--mirror-for REGISTRY` limits which locked "
                "registries it stands in for; a file it cannot have can come from a wheelhouse "
                "(-w DIR)."
            )
        )
    return {o.wanted.filename for o in got}, taken.linked


def _password_advice(mirror: Mirror) -> str:
    """The ways to give the mirror a password, as uv takes them."""
    from urllib.parse import urlsplit

    host = urlsplit(mirror.url).hostname or "HOST"
    return (
        "The mirror wants a password (or another one). Give it as uv takes it: a netrc entry "
        f"(`machine {host} login USER password ...` in ~/.netrc, or the file NETRC names); "
        "UV_INDEX_<NAME>_USERNAME and UV_INDEX_<NAME>_PASSWORD for an index of that URL "
        "named in [[tool.uv.index]] or in UV_INDEX=NAME=URL; or a user in the URL "
        "(`--mirror https://USER@host/...`) with UV_KEYRING_PROVIDER=subprocess and the "
        "password in the keyring. Never put the password itself in the URL."
    )


def _kept_links(mirror: Mirror, uv: Uv, uv_args: Sequence[str], advice: Advice) -> dict[str, str]:
    """The missing files an earlier sync left uv to download from the mirror and uv's cache
    still holds under that URL: file name -> URL (linked again, with no page read)."""
    from lockshim.sources.mirror import remembered_links
    from lockshim.uv import cache as uvcache

    links = remembered_links(mirror) if advice.missing_files else {}
    if not links:
        return {}

    cache = uvcache.cache_dir(uv.path, uv_args)
    if cache is None:
        return {}
    return {
        filename: links[filename]
        for name, filename, digest, _, _ in advice.missing_files
        if filename in links
        and digest is not None
        and uvcache.holds(cache, name, filename, digest, links[filename])
    }


def _came(
    advice: Advice,
    mirror: Mirror,
    taken: set[str],
    linked: dict[str, str],
    kept: dict[str, str],
) -> Advice:
    """The advice once the mirror's files are had (``taken`` into its folder, ``linked`` for
    uv to download, ``kept`` in uv's cache): they are no longer missing."""
    came = taken | set(linked) | set(kept)
    if not came:
        return advice
    here = advice.here or (0, 0)
    places = list(advice.places or ())
    if taken:
        places.append((str(mirror.folder()), len(taken)))
    if linked:
        places.append((mirror.label, len(linked)))
    if kept:
        places.append(("uv's cache (downloaded from the mirror before)", len(kept)))
    return advice._replace(
        missing=[m for m in advice.missing if not m.endswith(tuple(f"({c})" for c in came))],
        missing_files=tuple(m for m in advice.missing_files if m[1] not in came),
        here=(here[0] + len(came), here[1]),
        places=tuple(places),
    )


def _linked(
    found: Found, mirror: Mirror, by_name: dict[str, str], digests: dict[str, str | None]
) -> tuple[Lock, dict[tuple[int, int], str]]:
    """The lock to shim and (package, artifact) position -> the mirror's URL of each file
    left to uv (the entry of that file name pinning the digest it was looked up by). The
    first reading of the lock kept only the entries a local file could serve; it is read
    again keeping those and the linked ones."""
    from lockshim.lockfile.model import named
    from lockshim.lockfile.read import parse_lock

    if not by_name:
        return found.lock, {}
    names = {s.artifact.filename for s in found.result.served} | set(by_name)
    lock = parse_lock(found.original, found.project.lock_path, keep=named(names))
    return lock, {
        (package.position, artifact.position): by_name[artifact.filename]
        for package in mirror.packages(lock)
        for artifact in package.artifacts
        if artifact.filename in by_name and artifact.digest == digests.get(artifact.filename)
    }


def _stop_without_interpreter(found: Found, uv: Uv, uv_args: Sequence[str]) -> None:
    """Stop before uv when uv finds no Python for the project (offline it cannot download
    one): uv would fail on it after the shim."""
    said = runner.no_interpreter(found.project.root, uv.path, uv_args)
    if said is None:
        return
    raise LockshimError(
        f"stopped before uv: {said}. Nothing was changed. Name an installed Python that fits "
        "(`lockshim sync ... -- --python /path/to/python` or `--python X.Y`), or install one "
        "where there is a network (`uv python install X.Y`)."
    )


def _stop_if_a_build_fails(
    found: Found, uv: Uv, uv_args: Sequence[str], advice: Advice, built: Mapping[int, object]
) -> None:
    """Stop before uv when a locked sdist the environment installs is certain to fail to
    build offline: its build requirement has no local wheel and uv's cache knows nothing of
    it, uv's cache holds no wheel built from that sdist, lockshim brings none (`fetch
    --build`), and the environment does not have the package at that version already."""
    if not advice.sdist_builds:
        return
    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.utils import canonicalize_name

    from lockshim.uv import cache as uvcache

    cache = uvcache.cache_dir(uv.path, uv_args)
    if cache is not None and not uvcache.known_layout(cache):
        return
    prebuilt = {
        (canonicalize_name(found.lock.packages[p].name), found.lock.packages[p].version)
        for p in built
    }
    installed = _installed(_environment(found.project.root))
    certain = []
    for requirement, name, version in advice.sdist_builds:
        try:
            backend = Requirement(requirement).name
        except InvalidRequirement:
            return  # not one lockshim can judge
        key = (canonicalize_name(name), version)
        if key in prebuilt or key in installed:
            continue
        if cache is not None and (
            uvcache.knows_project(cache, backend) or uvcache.built(cache, name, version)
        ):
            continue
        certain.append(f"{name} {version} (its build needs {requirement})")
    if certain:
        raise LockshimError(
            f"stopped before uv: {len(certain)} sdist(s) this environment builds cannot be "
            f"built offline: {', '.join(certain)}; no local wheel fits, and uv's cache holds "
            "neither the build requirement nor a wheel built before. Nothing was changed. "
            + _way_on(found, uv_args, online=False, target=advice.target)
        )


def _installed(environment: Path) -> set[tuple[str, str]]:
    """(normalized name, version) of what the environment has installed."""
    from packaging.utils import canonicalize_name

    found = set()
    for info in [
        *environment.glob("lib/python*/site-packages/*.dist-info"),
        *environment.glob("Lib/site-packages/*.dist-info"),
    ]:
        name, _, version = info.name.removesuffix(".dist-info").partition("-")
        found.add((str(canonicalize_name(name)), version))
    return found


def _held(uv: Uv, uv_args: Sequence[str], advice: Advice) -> dict[str, bool | None]:
    """File name -> whether uv's cache holds each missing file (None: lockshim cannot tell)."""
    if not advice.missing_files:
        return {}
    from lockshim.uv import cache as uvcache

    cache = uvcache.cache_dir(uv.path, uv_args)
    if cache is None:  # --no-cache: uv keeps nothing to take
        return {m[1]: False for m in advice.missing_files}
    if not uvcache.known_layout(cache):
        return {m[1]: None for m in advice.missing_files}
    return {
        filename: uvcache.holds(cache, name, filename, digest, url)
        for name, filename, digest, _, url in advice.missing_files
    }


def _stop_if_hopeless(
    found: Found,
    uv: Uv,
    uv_args: Sequence[str],
    advice: Advice,
    held: dict[str, bool | None],
    reporter: Reporter,
) -> None:
    """Stop before uv when a file the environment needs is certainly neither local nor in
    uv's cache: offline, uv would make a half environment, build for a while, then fail.
    Where lockshim cannot tell (a cache it cannot read), uv is let run and say. When uv's
    cache holds them all, say so."""
    lacking = [
        f"{name} ({filename})"
        for name, filename, *_ in advice.missing_files
        if held.get(filename) is False
    ]
    if not lacking:
        if advice.missing_files and all(held.get(m[1]) for m in advice.missing_files):
            count = len(advice.missing_files)
            reporter.info(
                f"uv's cache holds the {count} file(s) not found locally (uv downloaded them "
                "before): uv installs them from there."
            )
        elif advice.missing_files:
            reporter.info(
                "lockshim cannot tell whether uv's cache holds the other files: uv is let run "
                "and says."
            )
        return
    from lockshim.uv import cache as uvcache

    cache = uvcache.cache_dir(uv.path, uv_args)
    where = f"uv's cache ({cache})" if cache is not None else "uv's cache (--no-cache: none)"
    raise LockshimError(
        f"stopped before uv: {len(lacking)} file(s) this environment needs are neither local "
        f"nor in {where}, so an offline sync cannot succeed: {', '.join(lacking)}. Nothing was "
        "changed. " + _way_on(found, uv_args, online=False, target=advice.target)
    )


def _way_on(found: Found, uv_args: Sequence[str], online: bool, target: str = "") -> str:
    """How to get the files that are missing: from a network, or a complete bundle
    (``target``: the environment this sync is for, as the plan named it)."""
    import re

    from lockshim.sources.bundlefile import BundleSource

    args = " ".join(a for a in uv_args if a != "--frozen")
    bundles = [s for s in found.sources if isinstance(s, BundleSource)]
    if bundles:
        made = bundles[0].manifest
        made_args = " ".join(made.uv_args) if made is not None else ""
        different = (
            f" It was made for `-- {made_args}`; this sync asks for `-- {args}`."
            if made is not None and made_args != args
            else ""
        )
        if made is not None and made.targets and target:
            different += f" It was made for {'; '.join(made.targets)}; this sync is for {target}."
        version = re.search(r"Python (\d+\.\d+(?:\.\d+)?)", target)
        python = f" --python {version[1]}" if version else ""
        damaged = [i for i in found.result.ignored if i.file.source is bundles[0]]
        if damaged:  # it was complete, but some of it changed on the way
            names = ", ".join(i.artifact.filename for i in damaged)
            return (
                f"The bundle {bundles[0].root} is damaged: {len(damaged)} member(s) are not "
                f"the bytes uv.lock pins ({names}); `lockshim bundle --verify "
                f"{bundles[0].root}` names each. Copy it again from where it was made (compare "
                "its sha256), or make it again there (`lockshim bundle -o FILE"
                f"{python}{' -- ' + args if args else ''}`)."
            )
        return (
            f"The bundle {bundles[0].root} is incomplete for this environment.{different} Make "
            f"a complete one where there is a network (`lockshim bundle -o FILE{python}"
            f"{' -- ' + args if args else ''}`, with `--python-platform` too for another "
            "machine), or add a folder with the missing files (`-w DIR`)."
        )
    return (
        "Fetch them where you have a network (`lockshim fetch --dest DIR"
        f"{' -- ' + args if args else ''}`), then sync again with `-w DIR`"
        + ("." if online else "; or let uv download them: `lockshim sync --online`.")
    )


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
