"""What `fetch` and `bundle` download: the files uv would install for a target (or every
file of the lock), from `uv export`, with a mirror's URLs for the registries it stands in for.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from lockshim.digests import from_hashes
from lockshim.sources.credentials import Credentials
from lockshim.sources.download import Outcome, Wanted
from lockshim.sources.mirror import PAGES_AT_ONCE, Mirror
from lockshim.uv.select import entry_filename, select
from lockshim.uv.target import Target


def wanted_from_export(
    exported: Mapping[str, Any], target: Target | None
) -> tuple[list[Wanted], list[str]]:
    """The files to fetch (and the packages skipped for want of a sha256).

    With a target, the file uv would install for each package that applies; with None, every
    file of every package.
    """
    wanted: list[Wanted] = []
    unverifiable: list[str] = []
    if target is not None:
        for item in select(exported, target):
            if item.kind in ("local", "none") or item.url is None or item.filename is None:
                continue
            if item.digest is None:
                unverifiable.append(f"{item.name} {item.version} ({item.filename})")
                continue
            wanted.append(
                Wanted(item.name, item.version, item.filename, item.url, item.digest, item.size)
            )
        return wanted, unverifiable
    for package in exported.get("packages", []):
        entries = list(package.get("wheels", []))
        entries += [package[key] for key in ("sdist", "archive") if key in package]
        for entry in entries:
            sha = from_hashes(entry.get("hashes"))
            name, version = str(package["name"]), package.get("version")
            if "url" not in entry:
                continue
            if sha is None:
                unverifiable.append(f"{name} {version} ({entry_filename(entry)})")
                continue
            size = entry.get("size")
            wanted.append(
                Wanted(
                    name,
                    version,
                    entry_filename(entry),
                    str(entry["url"]),
                    sha,
                    size if isinstance(size, int) else None,
                )
            )
    return wanted, unverifiable


def redirect_to_mirror(
    mirror: Mirror,
    wanted: list[Wanted],
    exported: Mapping[str, Any],
    dest: Path,
    credentials: Credentials,
) -> tuple[list[Wanted], list[Outcome]]:
    """The downloads with the mirror's URLs for the registry files it stands in for (looked
    up by name, digest compared), and a failure for each file it cannot serve."""
    from packaging.utils import canonicalize_name

    from lockshim.sources.download import Downloader
    from lockshim.sources.mirror import Sought, lookup, redirected

    index = {
        canonicalize_name(str(p.get("name"))): p.get("index") for p in exported.get("packages", [])
    }
    covered = [w for w in wanted if mirror.covers(index.get(canonicalize_name(w.name)))]
    if not covered:
        return wanted, []
    dest.mkdir(parents=True, exist_ok=True)
    found = lookup(
        mirror,
        [Sought(w.name, w.filename, w.digest, w.size) for w in covered],
        Downloader(dest, mirror.credentials(credentials), PAGES_AT_ONCE),
    )
    others = [w for w in wanted if w not in covered]
    failed = [
        Outcome(w, "failed", found.problems[w.filename])
        for w in covered
        if w.filename in found.problems
    ]
    return [*others, *redirected(covered, found.found)], failed


def index_url(exported: Mapping[str, Any]) -> str | None:
    """The index most of the lock's packages come from: where build requirements are looked up."""
    indexes = [str(p["index"]) for p in exported.get("packages", []) if p.get("index")]
    return max(set(indexes), key=indexes.count) if indexes else None
