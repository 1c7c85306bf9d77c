"""The guards that stop a sync before uv, only where uv is certain to fail: no Python, a file
neither local nor in uv's cache, an sdist that cannot build offline. Where lockshim cannot
tell, uv is let run and say; each stop names the way on.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from lockshim.errors import LockshimError
from lockshim.plan.advice import Advice
from lockshim.project import environment_of
from lockshim.report import Reporter
from lockshim.sources.local import Found
from lockshim.uv.dryrun import no_interpreter
from lockshim.uv.runner import Uv

if TYPE_CHECKING:
    pass


def stop_without_interpreter(found: Found, uv: Uv, uv_args: Sequence[str]) -> None:
    """Stop before uv when uv finds no Python for the project (offline it cannot download
    one): uv would fail on it after the shim."""
    said = no_interpreter(found.project.root, uv.path, uv_args)
    if said is None:
        return
    raise LockshimError(
        f"stopped before uv: {said}. Nothing was changed. Name an installed Python that fits "
        "(`lockshim sync ... -- --python /path/to/python` or `--python X.Y`), or install one "
        "where there is a network (`uv python install X.Y`)."
    )


def stop_if_a_build_fails(
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
    installed = _installed(environment_of(found.project.root))
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
            + way_on(found, uv_args, online=False, target=advice.target)
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


def held(uv: Uv, uv_args: Sequence[str], advice: Advice) -> dict[str, bool | None]:
    """File name -> whether uv's cache holds each missing file (None: lockshim cannot tell)."""
    if not advice.missing_files:
        return {}
    from lockshim.uv import cache as uvcache

    cache = uvcache.cache_dir(uv.path, uv_args)
    if cache is None:  # --no-cache: uv keeps nothing to take
        return {m.filename: False for m in advice.missing_files}
    if not uvcache.known_layout(cache):
        return {m.filename: None for m in advice.missing_files}
    return {
        m.filename: uvcache.holds(cache, m.name, m.filename, m.digest, m.url)
        for m in advice.missing_files
    }


def stop_if_hopeless(
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
        f"{m.name} ({m.filename})" for m in advice.missing_files if held.get(m.filename) is False
    ]
    if not lacking:
        if advice.missing_files and all(held.get(m.filename) for m in advice.missing_files):
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
        "changed. " + way_on(found, uv_args, online=False, target=advice.target)
    )


def way_on(found: Found, uv_args: Sequence[str], online: bool, target: str = "") -> str:
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
