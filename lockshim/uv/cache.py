"""Does uv's own cache hold a file the lock pins? Asked before a sync that cannot succeed.

uv keeps each wheel it downloaded under ``wheels-v<N>/<index>/<name>/<version>-<tags>`` with a
``.http`` file beside it that records the URL and the archive's sha256 (checked with uv 0.13.9:
``pypi``, ``index/<hash>`` or ``url/<hash>`` for ``<index>``); offline, uv takes a locked wheel
from there only when that sha256 is the lock's and the URL is the one it was downloaded from
(uv 0.13.9: "Cached response doesn't match current request"). A wheel uv installed from a
``file://`` URL (a shimmed lock) is kept with a ``.rev`` file instead, which uv does not use
for the https URL of the restored lock: it does not count. The answer is only ever "no" where
the cache's layout is one this module knows: for a cache it cannot read, it answers "maybe",
and uv is asked.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence
from pathlib import Path

from packaging.utils import canonicalize_name

from lockshim import context
from lockshim.digests import Digest

#: The cache folders of uv's wheels and source builds lockshim knows the layout of.
_WHEELS = "wheels-v"
_SDISTS = "sdists-v"
#: What a wheels folder holds, one folder per kind of source.
_KINDS = {"pypi", "index", "url", "path", "git", "editable"}


def cache_dir(uv_path: Path, uv_args: Sequence[str]) -> Path | None:
    """The cache uv will use for these arguments; None when it uses none to keep
    (``--no-cache``) or it cannot be told. Asked of uv once a run."""
    settings = (os.environ.get("UV_NO_CACHE"), os.environ.get("UV_CACHE_DIR"))
    question = ("uv cache dir", uv_path, tuple(uv_args), settings)
    answers = context.current().answers
    if question not in answers:
        answers[question] = _cache_dir(uv_path, tuple(uv_args), settings)
    return answers[question]


def _cache_dir(
    uv_path: Path, uv_args: tuple[str, ...], settings: tuple[str | None, str | None]
) -> Path | None:
    for position, arg in enumerate(uv_args):
        if arg == "--":
            break
        if arg in ("--no-cache", "-n"):
            return None
        if arg == "--cache-dir" and position + 1 < len(uv_args):
            return Path(uv_args[position + 1])
        if arg.startswith("--cache-dir="):
            return Path(arg.partition("=")[2])
    no_cache, cache_env = settings  # UV_NO_CACHE, UV_CACHE_DIR
    if (no_cache or "").lower() in ("1", "true", "yes", "on"):
        return None
    if cache_env:
        return Path(cache_env)
    try:
        answer = subprocess.run(
            [str(uv_path), "cache", "dir"], capture_output=True, text=True, timeout=30
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return Path(answer.stdout.strip()) if answer.returncode == 0 and answer.stdout.strip() else None


def known_layout(cache: Path) -> bool:
    """The cache is empty (or not there yet), or laid out as this module expects."""
    try:
        names = os.listdir(cache)
    except FileNotFoundError:
        return True
    except OSError:
        return False
    folders = [cache / n for n in names if n.startswith((_WHEELS, _SDISTS))]
    try:
        return all(
            {e for e in os.listdir(folder) if not e.startswith(".")} <= _KINDS
            for folder in folders
            if folder.is_dir()
        )
    except OSError:
        return False


def holds(
    cache: Path, name: str, filename: str, digest: Digest | None, url: str | None = None
) -> bool | None:
    """Whether uv's cache has this wheel (with the lock's digest, ``"<algorithm>:<hex>"``,
    where the lock has one, downloaded from ``url`` where given: offline, uv takes a cached
    download only for the very URL it came from), or has built wheels from this sdist's
    version (any build counts). None: lockshim cannot tell (a record it cannot read).

    Every record of the project is looked at, whatever its entry is named: uv names an entry
    ``<version>-<tags>``, or ``<version>-<hash>`` when the tags make the name long (several
    platform tags), so the file name is not always in the path. Each record names the file,
    its URL and its digest."""
    value = digest.hex if digest else None
    project = canonicalize_name(name)
    if filename.endswith(".whl"):
        unreadable = False
        for entry in _candidates(cache, _WHEELS, project, "*.http"):
            try:
                record = entry.read_bytes()
            except OSError:
                unreadable = True
                continue
            # the digest or URL names the file; with neither, its name must (another version's
            # record is not this file's)
            if url is not None:
                named = url.encode() in record
            else:
                named = value is not None or filename.encode() in record
            if named and (value is None or value.encode() in record):
                return True
            unreadable = unreadable or b".whl" not in record  # not a record as lockshim knows
        return None if unreadable else False
    version = filename.rsplit("-", 1)[-1].removesuffix(".tar.gz").removesuffix(".zip")
    return built(cache, name, version)


def built(cache: Path, name: str, version: str) -> bool:
    """uv's cache holds wheels it built from this package version's source."""
    return any(_candidates(cache, _SDISTS, str(canonicalize_name(name)), version))


def knows_project(cache: Path, name: str) -> bool:
    """uv's cache holds some downloaded wheel of this project (any version, any index)."""
    return bool(_candidates(cache, _WHEELS, str(canonicalize_name(name)), "*.http"))


def _candidates(cache: Path, prefix: str, project: str, entry: str) -> list[Path]:
    found: list[Path] = []
    try:
        folders = [cache / n for n in os.listdir(cache) if n.startswith(prefix)]
    except OSError:
        return []
    for folder in folders:
        for index in ("pypi", "index/*", "url/*"):
            found += folder.glob(f"{index}/{project}/{entry}")
    return found
