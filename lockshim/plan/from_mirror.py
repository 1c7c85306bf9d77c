"""What a company mirror brings to a sync: the registry files the environment needs and no local
source holds, downloaded into the mirror's folder or left for uv to download from the mirror
(the lock's entry then points at the mirror's URL for the run); uv's cache is asked first.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from lockshim.digests import Digest
from lockshim.errors import LockshimError
from lockshim.lockfile.model import Lock
from lockshim.plan.advice import Advice
from lockshim.report import Reporter
from lockshim.sources.local import Found, SourceOptions, find_local
from lockshim.uv.runner import Uv

if TYPE_CHECKING:
    from lockshim.sources.mirror import Mirror, Pages


def prefetch(found: Found, mirror: Mirror, uv: Uv, uv_args: Sequence[str]) -> Pages:
    """Start reading, while uv works out the plan, the mirror's pages of the packages it
    stands in for that no local file serves and uv's cache knows nothing of (those the plan
    will most likely find missing)."""
    from packaging.utils import canonicalize_name

    from lockshim.sources.credentials import credentials_for
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


def through_mirror(
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
    rest = advice._replace(missing=tuple(m for m in advice.missing if m.filename not in kept))
    taken, by_name = set[str](), dict[str, str]()
    if rest.missing_files:
        taken, by_name = _from_mirror(found, mirror, rest, reporter, pages)
    if taken:  # the files came: match again
        found = find_local(found.project, sources, reporter.hashing)
    digests = {m.filename: m.digest for m in advice.missing_files}
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
    from lockshim.sources.credentials import credentials_for
    from lockshim.sources.download import Wanted
    from lockshim.sources.mirror import covered_files, fetch_into, remember_links

    missing = {(m.filename, m.digest) for m in advice.missing_files if m.digest is not None}
    versions = covered_files(mirror, found.original, found.project.lock_path, missing)
    wanted = []
    for m in advice.missing_files:
        if m.digest is not None and (m.filename, m.digest) in versions:  # the page gives the URL
            version = versions[m.filename, m.digest]
            wanted.append(Wanted(m.name, version, m.filename, "", m.digest, m.size))
    if not wanted:
        return set(), {}
    credentials = credentials_for(found.project)  # UV_INDEX_<NAME>_* of an index at its URL
    taken = fetch_into(
        mirror, wanted, mirror.folder(), credentials=credentials, link=True, pages=pages
    )
    remember_links(mirror, taken.linked)
    got = [o for o in taken.outcomes if o.status in ("downloaded", "cached")]
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
        m.filename: links[m.filename]
        for m in advice.missing_files
        if m.filename in links
        and m.digest is not None
        and uvcache.holds(cache, m.name, m.filename, m.digest, links[m.filename])
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
        missing=tuple(m for m in advice.missing if m.filename not in came),
        here=(here[0] + len(came), here[1]),
        places=tuple(places),
    )


def _linked(
    found: Found, mirror: Mirror, by_name: dict[str, str], digests: dict[str, Digest | None]
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
