"""`lockshim check`: a uv.lock that only works on one machine must not be committed.

uv writes machine-local sources into the lock when someone runs `uv lock --find-links DIR
--no-index` (a registry that is a folder, wheels given by path), and a lock left shimmed by an
interrupted `lockshim sync` carries `file://` URLs. Both break every other machine and leak
folder names. Each finding is one line: ``FILE:LINE: NAME VERSION: what is wrong — how to fix it``.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Sequence
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Literal, NamedTuple

from packaging.utils import canonicalize_name

from lockshim.errors import LockshimError
from lockshim.lockfile.model import Lock, Package
from lockshim.lockfile.read import read_lock
from lockshim.project import MIRROR_ENV, git_work_tree, read_settings
from lockshim.shim.journal import foreign, journal_path
from lockshim.shim.swap import MARKER, marker_count

CLEAN, FINDINGS, UNREADABLE = 0, 1, 2

RESTORE = (
    "run `lockshim restore` (it puts back the lock as it was before the run), then `git add "
    "{name}` if the shimmed one was staged (restore leaves git's index alone)"
)


#: What a finding is about.
Kind = Literal[
    "interrupted-shim",
    "foreign-journal",
    "stale-journal",
    "shimmed-lock",
    "file-url",
    "local-registry",
    "local-path",
    "local-source",
    "mirror-url",
    "damaged-member",
    "leftover",
]


class Finding(NamedTuple):
    file: Path
    line: int
    package: str
    version: str | None
    kind: Kind
    problem: str
    fix: str

    def render(self) -> str:
        who = f"{self.package} {self.version}" if self.version else self.package
        return f"{self.file}:{self.line}: {who}: {self.problem} — {self.fix}"


class Unreadable(NamedTuple):
    file: Path
    message: str


class Report(NamedTuple):
    findings: tuple[Finding, ...]
    unreadable: tuple[Unreadable, ...]

    @property
    def status(self) -> int:
        if self.unreadable:
            return UNREADABLE
        return FINDINGS if self.findings else CLEAN

    def text(self) -> str:
        lines = [_render_group(group) for group in _groups(self.findings)]
        lines += [f"{u.file}: cannot be checked: {u.message}" for u in self.unreadable]
        return "\n".join(lines)

    def json(self) -> str:
        return json.dumps(
            {
                "findings": [
                    {**f._asdict(), "file": str(f.file), "message": f.render()}
                    for f in self.findings
                ],
                "unreadable": [
                    {"file": str(u.file), "message": u.message} for u in self.unreadable
                ],
            },
            indent=2,
        )


def _groups(findings: Sequence[Finding]) -> list[list[Finding]]:
    """The findings, those of one lock re-locked against one local folder (one cause, one
    fix, a line a package otherwise) together, in order of their first."""
    groups: dict[object, list[Finding]] = {}
    for finding in findings:
        key: object = id(finding)
        if finding.kind == "local-registry":
            key = (finding.file, finding.problem.partition(" with ")[0], finding.fix)
        elif finding.kind == "mirror-url":
            key = (finding.file, finding.kind)
        groups.setdefault(key, []).append(finding)
    return list(groups.values())


def _render_group(group: Sequence[Finding]) -> str:
    first = group[0]
    if len(group) == 1:
        return first.render()
    names = ", ".join(dict.fromkeys(f.package for f in group))
    names = names if len(names) < 60 else names[:57] + "..."
    cause = first.problem.partition(" with ")[0]
    if first.kind == "mirror-url":
        return (
            f"{first.file}:{first.line}: {len(group)} artifact URLs ({names}): "
            f"{first.problem} — {first.fix}"
        )
    return f"{first.file}:{first.line}: {len(group)} packages ({names}): {cause} — {first.fix}"


#: What lockshim leaves beside a lock: a journal, or a copy saved during a conflict.
_LEFTOVER = re.compile(r"(^\..+\.lockshim-(journal|saved)|\.lockshim-(original|replaced))$")


def check(paths: Sequence[Path], allow: Iterable[str] = ()) -> Report:
    """Check each lock file; ``allow`` names packages whose local sources are intended."""
    findings: list[Finding] = []
    unreadable: list[Unreadable] = []
    allowed = {_normalize(name) for name in allow}
    for path in paths:
        if _LEFTOVER.search(path.name):
            findings.append(
                Finding(
                    path,
                    1,
                    "(file)",
                    None,
                    "leftover",
                    "a file lockshim keeps for you after an interrupted run or a conflict, not "
                    "one to commit",
                    f"`git rm --cached {path.name}`; keep or delete it once uv.lock is as you "
                    "want it",
                )
            )
            continue
        if not path.name.endswith(".lock") and _is_zip(path):
            try:
                findings += _bundle_findings(path)
            except LockshimError as error:
                unreadable.append(Unreadable(path, str(error).removeprefix(f"{path}: ")))
            continue
        try:
            settings = read_settings(path.parent / "pyproject.toml")
            lock = read_lock(path, strict=True)
        except LockshimError as error:
            message = str(error)
            prefix = f"{path}: "
            unreadable.append(Unreadable(path, message.removeprefix(prefix)))
            continue
        these = allowed | {_normalize(name) for name in settings.check_allow}
        mirror = os.environ.get(MIRROR_ENV) or settings.mirror
        findings += [
            f
            for f in check_lock(lock, repository_root(path), mirror)
            if _normalize(f.package) not in these
        ]
    return Report(tuple(findings), tuple(unreadable))


def _is_zip(path: Path) -> bool:
    import zipfile

    try:
        return zipfile.is_zipfile(path)
    except OSError:
        return False


def _bundle_findings(path: Path) -> list[Finding]:
    """A lockshim bundle: every member against its manifest, and the lock it carries."""
    import zipfile

    from lockshim.lockfile.read import parse_lock
    from lockshim.sources.bundlefile import LOCK_LIMIT, read_manifest, read_stored, verify

    verified = verify(path)
    findings = [
        Finding(path, 1, "(bundle)", None, "damaged-member", item, "make the bundle again")
        for item in verified.damaged
    ]
    with zipfile.ZipFile(path) as archive:
        manifest = read_manifest(archive, path)
        data = read_stored(archive, "project/" + manifest.lock_name, LOCK_LIMIT, path)
    lock = parse_lock(data, Path(f"{path}:project/{manifest.lock_name}"), strict=True)
    return findings + check_lock(lock, path.absolute().parent)


def check_lock(lock: Lock, root: Path, mirror: str | None = None) -> list[Finding]:
    """The findings of one lock; ``root`` is the folder relative paths must stay inside;
    ``mirror``: the mirror configured for it, whose URLs must not stay in the lock."""
    findings = []
    journal = journal_path(lock.path)
    shimmed = os.path.lexists(journal)
    whose = foreign(journal) if shimmed else None
    if whose is not None:
        findings.append(
            Finding(
                lock.path,
                1,
                "(lock)",
                None,
                "foreign-journal",
                f"a lockshim journal {journal.name} is {whose}; lockshim never writes one to "
                "keep, so it will not act on it",
                f"`git rm --cached {journal.name}` and delete it (it must never be committed)",
            )
        )
    elif shimmed and _journal_only(lock):
        findings.append(
            Finding(
                lock.path,
                1,
                "(lock)",
                None,
                "stale-journal",
                f"{lock.path.name} is as it was, but the journal {journal.name} of an "
                "interrupted run is still there",
                "run `lockshim restore` (it checks the journal and removes it)",
            )
        )
    elif shimmed:
        local = marker_count(lock.text)
        if local is None:  # shimmed by a lockshim before the marker
            local = sum(
                1 for _, a in lock.artifacts() if a.url is not None and _scheme(a.url) == "file"
            )
        findings.append(
            Finding(
                lock.path,
                1,
                "(lock)",
                None,
                "interrupted-shim",
                "left shimmed by an interrupted `lockshim sync` "
                f"(journal {journal_path(lock.path).name}; {local} artifact URL"
                f"{'s' if local != 1 else ''} point{'s' if local == 1 else ''} at local files "
                "or a mirror)",
                RESTORE.format(name=lock.path.name),
            )
        )
    elif (count := marker_count(lock.text)) is not None:  # no journal: committed or copied
        findings.append(
            Finding(
                lock.path,
                lock.line_of(lock.text.rfind(MARKER)),
                "(lock)",
                None,
                "shimmed-lock",
                f"left shimmed by a `lockshim sync` ({count} artifact URL"
                f"{'s' if count != 1 else ''} point{'s' if count == 1 else ''} at local files or "
                "a mirror; its marker says so) with no journal beside it",
                f"restore the committed lock ({_RESTORE_COMMITTED.format(lock.path.name)}), or "
                "`lockshim restore` where the interrupted run was",
            )
        )
        shimmed = True  # that one finding covers its file URLs
    for package in lock.packages:
        findings += _package_findings(lock, package, root, shimmed)
    if mirror:
        findings += _mirror_findings(lock, mirror)
    return findings


def _mirror_findings(lock: Lock, mirror: str) -> list[Finding]:
    """Artifacts at the configured mirror's origin whose package's registry is elsewhere: a
    lock left with mirror mode's URLs (a later `uv sync` would go to the mirror). Nothing when
    the mirror is the lock's own registry (a company's default index)."""
    from lockshim.sources.credentials import origin, redact

    found = []
    home = origin(mirror.strip())
    for package in lock.packages:
        source = package.source
        if source is None or source.kind != "registry" or origin(source.value) == home:
            continue
        for artifact in package.artifacts:
            if artifact.url is not None and origin(artifact.url.strip()) == home:
                found.append(
                    Finding(
                        lock.path,
                        lock.line_of(artifact.offset),
                        package.name,
                        package.version,
                        "mirror-url",
                        f"artifact URL is on the mirror {redact(mirror.strip()).rstrip('/')} "
                        f"while its registry is {source.value} (mirror mode's URL left in the "
                        "lock)",
                        f"restore the committed lock ({_RESTORE_COMMITTED.format(lock.path.name)})",
                    )
                )
    return found


def _journal_only(lock: Lock) -> bool:
    """The lock holds the journal's original bytes: only the journal is left to clear."""
    import hashlib

    from lockshim.shim.journal import Journal

    try:
        journal = Journal.read(journal_path(lock.path), lock.path)
    except LockshimError:
        return False
    return hashlib.sha256(lock.text.encode("utf-8")).hexdigest() == journal.original_sha256


def _package_findings(lock: Lock, package: Package, root: Path, shimmed: bool) -> list[Finding]:
    found = []

    def add(offset: int, kind: Kind, problem: str, fix: str) -> None:
        found.append(
            Finding(
                lock.path, lock.line_of(offset), package.name, package.version, kind, problem, fix
            )
        )

    source = package.source
    if source is not None and source.kind == "registry" and not _is_url(source.value):
        paths = [a for a in package.artifacts if a.path is not None]
        add(
            _source_offset(lock, package),
            "local-registry",
            f"registry is a local folder ({source.value})"
            + (f" with {len(paths)} artifact(s) given by path" if paths else ""),
            f"restore the committed lock ({_RESTORE_COMMITTED.format(lock.path.name)}), or "
            "re-lock it from your index with `uv lock --refresh`",
        )
    elif source is not None and source.kind in ("git", "url") and not _is_remote(source.value):
        add(
            _source_offset(lock, package),
            "local-source",
            f"{source.kind} source is on this machine ({source.value})",
            "point it at the shared repository or URL in pyproject.toml, then run `uv lock`",
        )
    elif source is not None and source.kind in ("path", "directory", "editable", "virtual"):
        where = _outside(source.value, lock.path.absolute().parent, root)
        if where:
            add(
                _source_offset(lock, package),
                "local-path",
                f"{source.kind} source {source.value!r} {where}",
                "use a path inside the repository (or publish the package to an index), "
                "then run `uv lock`",
            )
    for artifact in package.artifacts:
        if shimmed:  # the interrupted run's one finding covers its file URLs
            break
        if artifact.url is not None and _scheme(artifact.url) == "file":
            add(
                artifact.offset,
                "file-url",
                f"artifact URL is a local file ({artifact.url.strip()})",
                f"restore the committed lock ({_RESTORE_COMMITTED.format(lock.path.name)}) or "
                f"re-lock it from the index (`uv lock --upgrade-package {package.name}`)",
            )
    return found


#: Restores the committed lock also when the bad one is staged (`git checkout -- FILE` would
#: copy the staged, bad lock back).
_RESTORE_COMMITTED = "`git checkout HEAD -- {0}`"


def _scheme(url: str) -> str:
    """A URL's scheme as uv reads it (WHATWG rules): spaces and control characters around it
    stripped, tabs and newlines inside dropped, any case; "" when it has none."""
    cleaned = re.sub(r"[\t\n\r]", "", url.strip(_C0_AND_SPACE))
    scheme, colon, _ = cleaned.partition(":")
    return scheme.lower() if colon and re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]*", scheme) else ""


_C0_AND_SPACE = "".join(map(chr, range(0x21)))


def _source_offset(lock: Lock, package: Package) -> int:
    at = lock.text.find("\nsource", package.offset)
    return at + 1 if at >= 0 else package.offset


def _outside(value: str, base: Path, root: Path) -> str | None:
    """Why a path source is machine-local: absolute, or leaving the repository; else None."""
    if (
        PurePosixPath(value).is_absolute()
        or PureWindowsPath(value).is_absolute()
        or (len(value) > 1 and value[1] == ":")
    ):
        return "is an absolute path"
    # uv writes forward slashes everywhere; a backslash is a Windows separator, never a name
    target = os.path.normpath(os.path.join(base, value.replace("\\", "/")))
    try:
        inside = os.path.commonpath([target, os.path.normpath(root)]) == os.path.normpath(root)
    except ValueError:  # another drive
        inside = False
    return None if inside else f"leaves the repository ({root})"


def repository_root(lock_path: Path) -> Path:
    """The git work tree holding the lock, else the lock's own folder."""
    folder = lock_path.absolute().parent
    return git_work_tree(folder) or folder


def _is_remote(value: str) -> bool:
    """A source URL other machines can reach too (not file:, not a bare path)."""
    scheme = _scheme(value).removeprefix("git+")
    return scheme in ("http", "https", "ssh", "git") or (scheme == "" and "@" in value)


def _is_url(value: str) -> bool:
    return _scheme(value) in ("http", "https")


def _normalize(name: str) -> str:
    return canonicalize_name(name) if name != "(lock)" else name
