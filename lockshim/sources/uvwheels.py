"""uv's own wheel for each target of a self-contained bundle: from the local sources (the uv in
use, by version), else from the simple API of the indexes the project uses, checked by the
digest the index gives.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from lockshim.digests import parse as parse_digest
from lockshim.sources.base import LocalFile
from lockshim.sources.copying import copy_bytes
from lockshim.sources.credentials import redact
from lockshim.sources.local import Found
from lockshim.sources.simple import IndexFile
from lockshim.uv.target import Requested, Target, accepting


def uv_wheels(
    found: Found, aims: Sequence[Requested], uv_version: Sequence[int], folder: Path
) -> tuple[list[Path], list[str], int]:
    """The uv wheel (of the uv in use) for each target: from the local sources (wheelhouses by
    name, pip's cache by the name read from inside each body), else from the simple API of the
    indexes the project uses (checked by the digest the index gives); and what could not be
    had."""
    from packaging.utils import InvalidWheelFilename, parse_wheel_filename

    from lockshim.sources.wheelnames import read_names

    version = ".".join(map(str, uv_version))
    files = [*found.files, *found.more({"uv"})]  # uv's wheel: listed by name only
    names = read_names(files)
    local: list[tuple[str, LocalFile]] = []
    for file in files:
        filename = file.name if file.name.endswith(".whl") else names.get(file.key, "")
        if filename.startswith("uv-") and filename.endswith(".whl"):
            try:
                name, wheel_version, _, _ = parse_wheel_filename(filename)
            except InvalidWheelFilename:
                continue
            if name == "uv" and str(wheel_version) == version:
                local.append((filename, file))
    folder.mkdir(parents=True, exist_ok=True)
    chosen: list[Path] = []
    lacking: list[str] = []
    from_local = 0
    listed: dict[str, list[IndexFile] | str] = {}
    for aim in aims:
        environment = accepting(aim)
        fits = [(n, f) for n, f in local if environment.rank(n) is not None]
        wheel: Path | None = None
        why = "no wheel for it in the local sources"
        if fits:
            filename, best = min(fits, key=lambda item: environment.rank(item[0]) or 0)
            wheel = folder / filename
            if not wheel.exists():
                copy_bytes(best, wheel)
                from_local += 1
        else:
            wheel, why = _uv_from_index(found, version, environment, folder, listed)
        if wheel is None:
            lacking.append(f"uv {version} for {aim.name}: {why}")
        elif wheel not in chosen:
            chosen.append(wheel)
    return chosen, lacking, from_local


#: Where uv's own wheel is looked for last: the package index's simple API.
PYPI_SIMPLE = "https://pypi.org/simple"


def uv_indexes(found: Found) -> list[str]:
    """The simple API roots to ask for uv's wheel: the index most of the lock's packages come
    from first, then the lock's other indexes, uv's and pip's configured index, then
    ``LOCKSHIM_UV_INDEX`` (default: PyPI's)."""
    registries = [
        p.source.value
        for p in found.lock.packages
        if p.source is not None
        and p.source.kind == "registry"
        and p.source.value.startswith(("http://", "https://"))
    ]
    ordered = sorted(dict.fromkeys(registries), key=registries.count, reverse=True)
    for variable in ("UV_DEFAULT_INDEX", "UV_INDEX_URL", "PIP_INDEX_URL"):
        if os.environ.get(variable, "").startswith(("http://", "https://")):
            ordered.append(os.environ[variable])
    ordered.append(os.environ.get("LOCKSHIM_UV_INDEX") or PYPI_SIMPLE)
    return list(dict.fromkeys(url.rstrip("/") for url in ordered))


def _uv_from_index(
    found: Found,
    version: str,
    environment: Target,
    folder: Path,
    listed: dict[str, list[IndexFile] | str],
) -> tuple[Path | None, str]:
    """The uv wheel for ``environment`` from the first index whose uv page lists one (its
    digest checked while it streams); else None and why. ``listed`` remembers each index's
    answer across targets."""
    from lockshim.sources.credentials import credentials_for
    from lockshim.sources.download import Downloader, PageFailure, Wanted
    from lockshim.sources.simple import ACCEPT, PAGE_LIMIT, PageError, parse, project_url

    downloader = Downloader(folder, credentials_for(found.project), 1)
    reasons = []
    for index in uv_indexes(found):
        if index not in listed:
            try:
                url, kind, body = downloader.read_page(project_url(index, "uv"), ACCEPT, PAGE_LIMIT)
                listed[index] = parse(body, kind, url)
            except (PageFailure, PageError) as error:
                listed[index] = str(error)
        answer = listed[index]
        if isinstance(answer, str):
            reasons.append(f"{redact(index)}: {answer}")
            continue
        fits = [
            f
            for f in answer
            if f.filename.startswith(f"uv-{version}-")
            and f.filename.endswith(".whl")
            and f.hashes.get("sha256")
            and environment.rank(f.filename) is not None
        ]
        if not fits:
            reasons.append(f"{redact(index)}: no uv {version} wheel for it")
            continue
        best = min(fits, key=lambda f: environment.rank(f.filename) or 0)
        sha256 = parse_digest(f"sha256:{best.hashes['sha256']}")
        if sha256 is None:
            reasons.append(f"{redact(index)}: its uv {version} wheel names no valid sha256")
            continue
        wanted = Wanted("uv", version, best.filename, best.url, sha256, best.size)
        outcome = downloader.fetch(wanted)
        if outcome.status in ("downloaded", "cached"):
            return folder / wanted.filename, ""
        reasons.append(f"{redact(best.url)}: {outcome.detail}")
    return None, "not in the local sources; " + "; ".join(reasons)
