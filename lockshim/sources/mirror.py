"""Mirror mode: the lock's registry files from a company's own index, found by file name.

A lock made against PyPI names PyPI's file URLs; inside a company only a mirror can be reached
(Artifactory, Nexus, devpi, CodeArtifact, GitLab, pypiserver), and most of them spell their
file URLs otherwise. So each file the target needs and no local source holds is looked up by
its file name on the mirror's page for its project (PEP 691 JSON or PEP 503 HTML, one request
a project, several at once, bounded in size and time), never another version or another wheel.
The page's digest must be the lock's where the page gives one in the lock's algorithm.

For `sync`, a file whose page vouches for the lock's digest is left to uv: the shimmed lock
names the mirror's own URL for it (the lock's digest kept, which uv checks as it streams the
file), so it is downloaded once, by uv, straight into its cache. Every other file (a page with
no digest in the lock's algorithm, a mirror lockshim holds the password of, a URL that is not
plain) is downloaded into a private folder in lockshim's cache, checked against the lock's
digest as it arrives, and then served like any local file. uv.lock is shimmed and restored as
always, and never holds a credential. Only registry packages are redirected, and with
``--mirror-for`` only those of the named registries.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple
from urllib.parse import urlsplit

from packaging.utils import canonicalize_name

from lockshim.digests import Digest
from lockshim.errors import UsageError
from lockshim.filenames import PLAIN_URL

if TYPE_CHECKING:
    from lockshim.lockfile.model import Lock, Package
    from lockshim.sources.credentials import Credentials
    from lockshim.sources.download import Downloader, Outcome, Wanted
    from lockshim.sources.simple import IndexFile, Listing

#: Project pages asked at once.
PAGES_AT_ONCE = 8


class Mirror(NamedTuple):
    """A mirror's simple API root, and the locked registries it stands in for (empty: all)."""

    url: str
    only: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        """The root without a user or password (for messages)."""
        from lockshim.sources.credentials import redact

        return redact(self.url).rstrip("/")

    def covers(self, registry: str | None) -> bool:
        if not registry or not registry.startswith(("http://", "https://")):
            return False
        return not self.only or registry.rstrip("/") in {r.rstrip("/") for r in self.only}

    def packages(self, lock: Lock) -> list[Package]:
        """The lock's registry packages this mirror stands in for: every entry, so a name
        locked at two versions (a fork) or from two registries is there twice (the lock's
        own entries are not all read in full, its packages always are)."""
        return [
            p
            for p in lock.packages
            if p.source is not None and p.source.kind == "registry" and self.covers(p.source.value)
        ]

    def credentials(self, project: Credentials | None = None) -> Credentials:
        """A user and password in the URL, for the mirror's own origin only; else those of
        the project's ``[[tool.uv.index]]`` of the same URL (``UV_INDEX_<NAME>_*``); else
        netrc."""
        from lockshim.sources.credentials import Credentials

        known = dict(project.by_prefix) if project is not None else {}
        parts = urlsplit(self.url)
        if parts.username is not None:
            password = parts.password
            if password is None:  # a user without a password: the keyring, as uv asks it
                password = _keyring_password(self.url, parts.username)
            known[self.label] = (parts.username or "", password or "")
        return Credentials(known)

    def folder(self) -> Path:
        """The private folder of what was taken from this mirror (kept across runs: a second
        sync of the same lock needs no network)."""
        from lockshim.paths import user_cache_dir

        key = hashlib.sha256(self.label.encode()).hexdigest()[:16]
        return user_cache_dir() / "mirror" / key


def covered_files(
    mirror: Mirror, original: bytes, lock_path: Path, files: set[tuple[str, Digest]]
) -> dict[tuple[str, Digest], str | None]:
    """(file name, digest) -> the locked version, of each of ``files`` whose lock entry is a
    registry package the mirror stands in for. By entry, not by name: a fork locks one name at
    two versions, and one name may come from two registries (``--mirror-for`` one of them)."""
    from lockshim.lockfile.model import named
    from lockshim.lockfile.read import parse_lock

    lock = parse_lock(original, lock_path, keep=named({filename for filename, _ in files}))
    return {
        (artifact.filename, artifact.digest): package.version
        for package in mirror.packages(lock)
        for artifact in package.artifacts
        if artifact.digest is not None and (artifact.filename, artifact.digest) in files
    }


#: The mirror URLs earlier runs left uv to download, in the mirror's private folder.
LINKS = "links.json"


def remembered_links(mirror: Mirror) -> dict[str, str]:
    """File name -> the mirror's URL an earlier sync linked it to (uv's cache keeps a download
    under its URL: with the same URL, a later sync needs no page, and offline no mirror).
    Read only from the private folder, and only plain URLs: the file is data."""
    import json

    from lockshim.trust import read_private

    try:
        data = json.loads(read_private(mirror.folder() / LINKS).decode("utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {
        name: url
        for name, url in data.items()
        if isinstance(name, str) and isinstance(url, str) and PLAIN_URL.match(url)
    }


def remember_links(mirror: Mirror, links: Mapping[str, str]) -> None:
    """Add these links to those remembered (best effort: a folder that cannot be written
    only costs the next run its page lookups)."""
    import contextlib
    import json

    from lockshim.atomic import atomic_write
    from lockshim.trust import private_folder

    if not links:
        return
    with contextlib.suppress(OSError):
        folder = private_folder(mirror.folder())
        merged = {**remembered_links(mirror), **links}
        data = json.dumps(merged, indent=0, sort_keys=True).encode()
        atomic_write(folder / LINKS, data, 0o600, durable=False)


def resolve(url: str, only: Sequence[str]) -> Mirror:
    """The mirror at ``url`` (as lockshim.project.mirror_url chose it), standing in for the
    locked registries ``only`` (empty: all)."""
    if urlsplit(url).scheme.lower() not in ("http", "https"):
        raise UsageError(
            f"--mirror {url}: not an http(s) URL. Give the mirror's simple API root, e.g. "
            "https://artifactory.example/artifactory/api/pypi/pypi-remote/simple."
        )
    return Mirror(url, tuple(only))


class Lookup(NamedTuple):
    """What the mirror has of the files asked for."""

    found: Mapping[str, IndexFile]  # file name -> the mirror's entry (its digest checked)
    problems: Mapping[str, str]  # file name -> why it cannot come from the mirror


class Sought(NamedTuple):
    """A file looked up on the mirror's pages, as the lock pins it."""

    project: str
    filename: str
    digest: Digest
    size: int | None


def lookup(mirror: Mirror, wanted: Sequence[Sought], downloader: Downloader) -> Lookup:
    """For each file sought: the mirror's entry for that very file name, when its digest
    (where the page gives one in the lock's algorithm) and size (where both give one) are the
    lock's. One page a project, several at once."""
    from concurrent.futures import ThreadPoolExecutor

    projects = sorted({str(canonicalize_name(item.project)) for item in wanted})
    with ThreadPoolExecutor(max_workers=min(PAGES_AT_ONCE, max(1, len(projects)))) as pool:
        pages = dict(
            zip(projects, pool.map(lambda p: _page(mirror, p, downloader), projects), strict=True)
        )
    found: dict[str, IndexFile] = {}
    problems: dict[str, str] = {}
    for name, filename, digest, size in wanted:
        listed = pages[str(canonicalize_name(name))]
        entry, problem = _judge(mirror, name, filename, digest, size, listed)
        if entry is not None:
            found[filename] = entry
        else:
            problems[filename] = problem
    return Lookup(found, problems)


class Pages:
    """Project pages read in the background (while uv works out the plan), several at once,
    each once. Daemon threads: a mirror that does not answer never holds up the end of a run
    that turns out not to need it."""

    def __init__(self, mirror: Mirror, projects: Sequence[str], downloader: Downloader) -> None:
        import threading

        self.mirror = mirror
        self.downloader = downloader
        self._read: dict[str, Listing | str] = {}
        self._done = {project: threading.Event() for project in projects}
        waiting = list(reversed(projects))
        guard = threading.Lock()

        def work() -> None:
            while True:
                with guard:
                    if not waiting:
                        return
                    project = waiting.pop()
                try:
                    self._read[project] = _page(mirror, project, downloader)
                except Exception as error:  # said where the page is asked for
                    self._read[project] = str(error)
                finally:
                    self._done[project].set()

        for _ in range(min(PAGES_AT_ONCE, len(projects))):
            threading.Thread(target=work, name="lockshim-page", daemon=True).start()

    def get(self, project: str) -> Listing | str:
        """The page of ``project`` (a normalized name): read already, or now."""
        done = self._done.get(project)
        if done is None:
            return _page(self.mirror, project, self.downloader)
        done.wait()
        return self._read[project]


def prefetch(mirror: Mirror, projects: Sequence[str], credentials: Credentials | None) -> Pages:
    """Start reading these projects' pages (normalized names) in the background."""
    from lockshim.sources.download import Downloader

    downloader = Downloader(mirror.folder(), mirror.credentials(credentials), PAGES_AT_ONCE)
    return Pages(mirror, projects, downloader)


def _page(mirror: Mirror, project: str, downloader: Downloader) -> Listing | str:
    """The files the mirror's page for ``project`` lists, or why it cannot be read."""
    from lockshim.sources.download import PageFailure
    from lockshim.sources.simple import ACCEPT, PAGE_LIMIT, PageError, listing, project_url

    try:
        url, kind, body = downloader.read_page(
            project_url(mirror.label, project), ACCEPT, PAGE_LIMIT
        )
        return listing(body, kind, url)
    except (PageFailure, PageError) as error:
        return str(error)


def _judge(
    mirror: Mirror,
    name: str,
    filename: str,
    digest: Digest,
    size: int | None,
    listed: Listing | str,
) -> tuple[IndexFile | None, str]:
    """The page's entry for exactly this file, when its digest allows; else why not."""
    where = f"{mirror.label}/{canonicalize_name(name)}/"
    if isinstance(listed, str):
        if listed.startswith("HTTP 404"):
            return None, f"not on the mirror ({where} does not exist)"
        if listed.startswith("it redirects to "):  # pypiserver's fallback to the public index
            return None, f"not on the mirror itself ({where}: {listed})"
        return None, f"the mirror's page {where} cannot be read: {listed}"
    entry = listed.find(filename)
    if entry is None:
        return None, f"not on the mirror ({where} lists no file of that name)"
    algorithm, value = digest.algorithm, digest.hex
    given = entry.hashes.get(algorithm)
    if given is not None and given != value:
        return None, (
            f"the mirror lists other bytes under that name ({algorithm} {given}, uv.lock pins "
            f"{value}): not used"
        )
    if size is not None and entry.size is not None and entry.size != size:
        return None, f"the mirror lists {entry.size} bytes under that name, uv.lock pins {size}"
    return entry, ""


def redirected(wanted: Sequence[Wanted], found: Mapping[str, IndexFile]) -> list[Wanted]:
    """The downloads of the files the mirror has, from the mirror's URL (still checked against
    the lock's digest and size as they arrive)."""
    result = []
    for item in wanted:
        entry = found.get(item.filename)
        if entry is not None:
            size = item.size if item.size is not None else entry.size
            result.append(item._replace(url=entry.url, size=size))  # never a credential in it
    return result


class Taken(NamedTuple):
    """What :func:`fetch_into` got of the files asked for."""

    outcomes: list[Outcome]  # the downloads into the folder
    problems: dict[str, str]  # file name -> why it cannot be had
    linked: dict[str, str]  # file name -> the mirror's URL, left for uv to download


def linkable(entry: IndexFile, digest: Digest) -> bool:
    """The page vouches for exactly the lock's digest, and its URL can stand in uv.lock."""
    vouched = entry.hashes.get(digest.algorithm) == digest.hex
    return vouched and PLAIN_URL.match(entry.url) is not None


def fetch_into(
    mirror: Mirror,
    wanted: Sequence[Wanted],
    dest: Path,
    jobs: int = PAGES_AT_ONCE,
    credentials: Credentials | None = None,
    link: bool = False,
    pages: Pages | None = None,
) -> Taken:
    """Look the files up on the mirror and download those it has into ``dest``, each
    project's files as soon as its page is read (pages and downloads overlap).

    ``link``: a file the page vouches for (:func:`linkable`) is not downloaded but left for uv
    to download from the mirror itself, unless lockshim holds a password for the mirror
    (uv would not send it there; netrc uv reads itself). ``pages``: those read already."""
    from concurrent.futures import ThreadPoolExecutor

    from lockshim.sources.credentials import origin
    from lockshim.sources.download import Downloader
    from lockshim.sources.wheelhouse import remember_downloads

    dest.mkdir(mode=0o700, parents=True, exist_ok=True)
    known = mirror.credentials(credentials)
    if any(origin(prefix) == origin(mirror.url) for prefix in known.by_prefix):
        link = False
    downloader = Downloader(dest, known, jobs)
    by_project: dict[str, list[Wanted]] = {}
    for item in wanted:
        by_project.setdefault(str(canonicalize_name(item.name)), []).append(item)
    problems: dict[str, str] = {}
    linked: dict[str, str] = {}
    outcomes: list[Outcome] = []

    def one(project: str) -> list[Outcome]:
        listed = pages.get(project) if pages is not None else _page(mirror, project, downloader)
        done = []
        for item in by_project[project]:
            entry, problem = _judge(
                mirror, item.name, item.filename, item.digest, item.size, listed
            )
            if entry is None:
                problems[item.filename] = problem
            elif link and linkable(entry, item.digest):
                linked[item.filename] = entry.url
            else:
                done.append(downloader.fetch(redirected([item], {item.filename: entry})[0]))
        return done

    pool = ThreadPoolExecutor(max_workers=max(1, min(jobs, len(by_project))))
    try:
        for done in pool.map(one, sorted(by_project)):
            outcomes += done
    except BaseException:  # Ctrl-C: downloads in flight end, their .part files go
        downloader.halt()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        downloader.pool.clear()
    remember_downloads(dest, [o for o in outcomes if o.status in ("downloaded", "cached")])
    for outcome in outcomes:
        if outcome.status == "failed":
            problems[outcome.wanted.filename] = f"from {mirror.label}: {outcome.detail}"
    return Taken(outcomes, problems, linked)


def _keyring_password(url: str, username: str) -> str | None:
    """The password the keyring holds for ``username`` at ``url``, asked the way uv asks it
    with ``UV_KEYRING_PROVIDER=subprocess`` (`keyring get SERVICE USERNAME` for the URL as
    given, then its host, then its origin); None when that is not set, there is no `keyring`
    command, or it knows none. Never printed."""
    import shutil
    import subprocess

    from lockshim.sources.credentials import redact

    if os.environ.get("UV_KEYRING_PROVIDER") != "subprocess":
        return None
    command = shutil.which("keyring")
    if command is None:
        return None
    given = redact(url)
    parts = urlsplit(given)
    for service in (given, parts.netloc, f"{parts.scheme}://{parts.netloc}"):
        try:
            answer = subprocess.run(
                [command, "get", service, username],
                capture_output=True,
                text=True,
                timeout=60,
                stdin=subprocess.DEVNULL,
            )
        except (OSError, subprocess.SubprocessError):
            return None
        password = answer.stdout.rstrip("\r\n")
        if answer.returncode == 0 and password:
            return password
    return None
