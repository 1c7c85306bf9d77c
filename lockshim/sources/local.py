"""The local files step: gather the sources, list their files, match them against the lock."""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from lockshim.errors import LockshimError
from lockshim.filenames import normalized, project_head
from lockshim.lockfile.model import Keep, Lock, filename_of
from lockshim.lockfile.read import parse_lock, read_header
from lockshim.project import Project, mirror_url, wheelhouses
from lockshim.sources.base import FileSource, LocalFile
from lockshim.sources.match import MatchResult, OnHash, match
from lockshim.sources.pipcache import PipCache, pip_cache_dir
from lockshim.sources.wheelhouse import Wheelhouse
from lockshim.trust import open_to_others

if TYPE_CHECKING:
    from lockshim.sources.mirror import Mirror


class SourceOptions(NamedTuple):
    """Where local files are looked for, as the command line says."""

    wheelhouses: tuple[Path, ...] = ()
    pip_cache: bool | Path | None = None  # None: the project's setting, else pip's own cache
    mirror: str | None = None  # --mirror URL (else LOCKSHIM_MIRROR, [tool.lockshim] mirror)
    mirror_for: tuple[str, ...] = ()  # the locked registries it stands in for (empty: all)

    def mirror_of(self, project: Project) -> Mirror | None:
        """The mirror this run takes registry files from, if any (lockshim.sources.mirror)."""
        url = mirror_url(self.mirror, project)
        if url is None:
            return None  # the usual case: the mirror's module (packaging, urllib3) is not imported
        from lockshim.sources.mirror import resolve

        return resolve(url, self.mirror_for)


class Found(NamedTuple):
    """The outcome of looking for the lock's artifacts in the local sources."""

    project: Project
    lock: Lock
    original: bytes
    sources: tuple[FileSource, ...]
    counts: tuple[int, ...]  # files listed in each source
    result: MatchResult
    skipped: tuple[tuple[Path, str], ...]  # entries of a source that were not read, and why
    #: every file looked at, of every source (a wheelhouse's files of projects the lock does
    #: not name are listed by name only: :meth:`more` looks at them when a build asks)
    files: tuple[LocalFile, ...] = ()
    notes: tuple[str, ...] = ()  # what the sources say about themselves (a bundle's lock)

    def more(self, projects: Collection[str]) -> list[LocalFile]:
        """The files of these (normalized) projects that were listed by name only."""
        found: list[LocalFile] = []
        for source in self.sources:
            deferred = getattr(source, "more", None)
            if deferred is not None:
                found += deferred(projects)
        return found

    @property
    def listed_names(self) -> tuple[str, ...]:
        """The paths of the files listed by name only (what a memo depends on)."""
        return tuple(
            path
            for source in self.sources
            for paths in getattr(source, "deferred", {}).values()
            for path in paths
        )

    @property
    def shared(self) -> tuple[FileSource, ...]:
        """Sources others can write: their files serve only what the lock pins by sha256,
        never what it does not pin (build requirements)."""
        return tuple(s for s in self.sources if open_to_others(s.root))

    @property
    def find_links(self) -> tuple[Path, ...]:
        """Folders uv may read directly (``--find-links``) for what the lock does not pin:
        never one others can write (a build backend planted there would run)."""
        shared = self.shared
        return tuple(
            s.find_links for s in self.sources if s.find_links is not None and s not in shared
        )

    def for_builds(self, files: Iterable[LocalFile] | None = None) -> list[LocalFile]:
        """The files build requirements may come from (of ``files``, default: every file
        looked at): in sources nobody else can write, each behind folders (from its source's
        root down) and a file nobody else can write."""
        shared = self.shared
        verdicts: dict[Path, bool] = {}

        def closed(folder: Path, root: Path) -> bool:
            if folder not in verdicts:
                inside = folder != root and root in folder.parents
                verdicts[folder] = not open_to_others(folder) and (
                    not inside or closed(folder.parent, root)
                )
            return verdicts[folder]

        return [
            f
            for f in (self.files if files is None else files)
            if f.source not in shared
            and closed(f.path.parent, f.source.root)
            and not open_to_others(f.path)
        ]


def resolve_pip_cache(option: bool | Path | None, project: Project) -> Path | None:
    """pip's cache folder to read, or None. A folder named explicitly must exist."""
    setting = project.settings.pip_cache if option is None else option
    if setting is False:
        return None
    if isinstance(setting, Path):
        folder = setting.absolute()
        if not folder.is_dir():
            where = "--pip-cache" if option is not None else "[tool.lockshim] pip-cache"
            raise LockshimError(
                f"{folder}: no such pip cache folder (given by {where}). `pip cache dir` prints "
                "the one pip uses; or pass --no-pip-cache."
            )
        return folder
    found = pip_cache_dir()
    return found.absolute() if found is not None and found.is_dir() else None


def gather(
    project: Project, options: SourceOptions, skipped: list[tuple[Path, str]]
) -> list[FileSource]:
    """The sources to search, in the order they are reported."""

    def on_skip(path: Path, reason: str) -> None:
        skipped.append((path, reason))

    sources: list[FileSource] = []
    for folder in wheelhouses(options.wheelhouses, project):
        if folder.is_file():  # a bundle (zipfile and json: only when one is given)
            from lockshim.sources.bundlefile import BundleSource

            sources.append(BundleSource(folder, on_skip))
        else:
            sources.append(Wheelhouse(folder, on_skip))
    cache = resolve_pip_cache(options.pip_cache, project)
    if cache is not None:
        sources.append(PipCache(cache, on_skip))
    mirror = options.mirror_of(project)
    if mirror is not None:  # what earlier runs took from it is a source of its own
        from lockshim.trust import private_folder

        sources.append(Wheelhouse(private_folder(mirror.folder()), on_skip))
    return sources


def find_local(project: Project, options: SourceOptions, on_hash: OnHash | None = None) -> Found:
    """Read the lock and match it against every local file (hashing only what it must)."""
    original = project.lock_path.read_bytes()
    header = read_header(original, project.lock_path)  # a broken lock is said first
    skipped: list[tuple[Path, str]] = []
    sources = gather(project, options, skipped)
    defer = _named_in(header.text) if header.plain else None
    listed: list[Sequence[LocalFile]] = [
        source.scan(defer) if isinstance(source, Wheelhouse) else source.scan()
        for source in sources
    ]
    keep, only = _could_serve(listed)
    lock = parse_lock(original, project.lock_path, keep=keep, only=only, header=header)
    result = match(lock, [file for files in listed for file in files], on_hash)
    for source in sources:
        source.index.save()
    return Found(
        project,
        lock,
        original,
        tuple(sources),
        tuple(
            len(files) + getattr(source, "listed", 0)
            for source, files in zip(sources, listed, strict=True)
        ),
        result,
        tuple(dict.fromkeys(skipped)),
        tuple(file for files in listed for file in files),
        tuple(_notes(sources, original, project)),
    )


def _named_in(text: str) -> Callable[[str], str | None] | None:
    """Which file names are not worth a look yet: a wheel or sdist of a project the lock does
    not name (its project part, the key it is listed under); every other file is looked at (a
    package the lock names, a renamed file, a git bundle). None (look at every file) when the
    lock's package names cannot be read this way."""
    names = {normalized(m) for m in _PACKAGE_NAME.findall(text)}
    if not names:
        return None
    heads: dict[str, bool] = {}  # a lab's wheelhouse holds several versions of each project

    def defer(filename: str) -> str | None:
        head = project_head(filename)
        if head is None:
            return None
        if head not in heads:
            heads[head] = normalized(head) not in names
        return head if heads[head] else None

    return defer


#: A package's name, as uv writes each ``[[package]]`` table's first line.
_PACKAGE_NAME = re.compile(r'^name = "([^"\\\r\n]+)"\r?$', re.M)


def _could_serve(
    listed: Sequence[Sequence[LocalFile]],
) -> tuple[Keep, dict[str, list[str]] | None]:
    """Which wheel entries of the lock a local file could serve: one named like it, of its
    size, or (by the hash indexes) with its sha256; an entry with no size is always kept.
    Nothing else needs reading in full (a 16 MB lock has 59,000 entries).

    Also, when the indexes know every file's sha256: each sha256 -> the names of the files
    holding it (the lock is then searched for those alone; see :func:`parse_lock`)."""
    files = [file for group in listed for file in group]
    names = {file.name for file in files}
    sizes = {str(file.size) for file in files}
    digests = set()
    by_digest: dict[str, list[str]] | None = {}
    for file in files:
        known = file.source.index.known(file)
        if known is not None:
            digests.add(f"sha256:{known}")
            if by_digest is not None:
                by_digest.setdefault(known, []).append(file.name)
        else:
            by_digest = None

    def keep(key: str | None, location: str | None, digest: str | None, size: str | None) -> bool:
        if size is None or size in sizes or (digest is not None and digest.lower() in digests):
            return True
        if location is None:
            return True
        tail = location[location.rfind("/") + 1 :]
        if key != "url" or "%" in tail or "#" in location or "?" in location or "\\" in location:
            tail = filename_of(key or "url", location)
        return tail in names

    return keep, by_digest


def _notes(sources: Sequence[FileSource], original: bytes, project: Project) -> list[str]:
    """A bundle made for another lock serves only what still matches: say so, with both."""
    made_for = {s.label: getattr(s, "made_for", None) for s in sources}
    if not any(made_for.values()):
        return []
    import hashlib

    here = hashlib.sha256(original).hexdigest()
    return [
        f"{label} was made for a lock with sha256 {sha}; {project.lock_path} has sha256 {here}. "
        "Only its files that this lock still pins (by sha256) are served."
        for label, sha in made_for.items()
        if sha and sha != here
    ]
