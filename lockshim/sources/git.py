"""git sources across an air gap: a package pinned to a commit, carried as a git bundle.

For a git source the commit is the pin, as the sha256 is for a file: uv.lock names the
repository and the full commit id (``git = "URL?subdirectory=..&rev=..#<commit>"``), and git
itself checks every object of a fetch against its id. `lockshim fetch` writes one bundle per
locked commit into the wheelhouse (``<name>-<version>-git-<commit12>.bundle``: a file a person
recognises, that `git` reads); a bundle is used only when its own list of heads holds exactly
the locked commit.

uv fetches git sources with the git CLI, and offline it allows only git's file protocol. So for
the run uv.lock stays exactly as it is and git is told, through ``GIT_CONFIG_*`` variables in
uv's environment, to read the repository's URL from a local copy
(``url.<copy>.insteadOf <URL>``): uv checks out the locked commit from it and records the
original URL, so a later plain `uv sync` sees nothing to change. The copy is a bare repository
in lockshim's cache, filled from the bundles once per commit.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import parse_qs, unquote, urlsplit

from lockshim import context
from lockshim.errors import LockshimError
from lockshim.filenames import unsafe
from lockshim.lockfile.model import Lock
from lockshim.paths import user_cache_dir
from lockshim.sources.base import LocalFile
from lockshim.sources.copying import copy_out

BUNDLE_SUFFIX = ".bundle"
_COMMIT = re.compile(r"[0-9a-f]{40}([0-9a-f]{24})?\Z")  # SHA-1 or SHA-256 object ids
_GIT_TIMEOUT = 600


class GitPin(NamedTuple):
    """A package uv.lock takes from git: its repository and the exact commit."""

    name: str
    version: str | None
    repository: str  # the URL git fetches (no query, no fragment)
    commit: str
    subdirectory: str | None = None

    @property
    def label(self) -> str:
        return f"{self.name} {self.version}" if self.version else self.name

    @property
    def bundle_name(self) -> str:
        version = f"-{self.version}" if self.version else ""
        return f"{self.name}{version}-git-{self.commit[:12]}{BUNDLE_SUFFIX}"


class GitServed(NamedTuple):
    pin: GitPin
    bundle: Path
    #: Other local bundles whose heads list the commit too: tried when ``bundle`` cannot
    #: deliver it (a thin or damaged bundle).
    others: tuple[Path, ...] = ()


class GitPlan(NamedTuple):
    served: tuple[GitServed, ...]
    missing: tuple[GitPin, ...]
    notes: tuple[str, ...] = ()  # what a served checkout needs that lockshim does not carry


NO_GIT = GitPlan((), ())


def pins_of_lock(lock: Lock) -> list[GitPin]:
    """Every git source of the lock."""
    found = []
    for package in lock.packages:
        if package.source is None or package.source.kind != "git":
            continue
        pin = parse_source(package.name, package.version, package.source.value)
        if pin is not None:
            found.append(pin)
    return found


def parse_source(name: str, version: str | None, value: str) -> GitPin | None:
    """A lock's ``git = "URL?subdirectory=..&rev=..#commit"``; None without a full commit."""
    parts = urlsplit(value)
    commit = parts.fragment.lower()
    if not _COMMIT.match(commit):
        return None
    query = parse_qs(parts.query)
    subdirectory = query.get("subdirectory", [None])[0]
    repository = parts._replace(query="", fragment="").geturl()
    if repository.startswith("-"):
        return None  # never something git would read as an option
    return GitPin(
        name, version, repository, commit, unquote(subdirectory) if subdirectory else None
    )


def pins_of_export(exported: Mapping[str, Any], names: Iterable[str] | None = None) -> list[GitPin]:
    """The git packages of a `uv export --format pylock.toml` (only ``names``, when given)."""
    wanted = set(names) if names is not None else None
    found = []
    for package in exported.get("packages", []):
        vcs = package.get("vcs")
        if not isinstance(vcs, Mapping) or vcs.get("type") != "git":
            continue
        name = str(package.get("name"))
        commit = str(vcs.get("commit-id", "")).lower()
        if (wanted is not None and name not in wanted) or not _COMMIT.match(commit):
            continue
        if str(vcs.get("url", "")).startswith("-"):
            continue
        subdirectory = vcs.get("subdirectory")
        found.append(
            GitPin(
                name,
                package.get("version"),
                str(vcs.get("url")),
                commit,
                str(subdirectory) if subdirectory else None,
            )
        )
    return found


# --- bundles --------------------------------------------------------------------------------------


def _git(
    *args: str, cwd: Path | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"}
    # the repositories are lockshim's own, in its private cache (lockshim.paths); no hook of
    # theirs runs all the same (a second layer)
    try:
        result = subprocess.run(
            ["git", "-c", f"core.hooksPath={os.devnull}", *args],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=_GIT_TIMEOUT,
            check=False,
        )
    except FileNotFoundError:
        raise LockshimError(
            "git sources need git, and `git` is not on PATH. Install git, or leave the git "
            "packages out (`-- --no-install-package NAME`)."
        ) from None
    except subprocess.TimeoutExpired:
        raise LockshimError(
            f"`git {' '.join(args[:2])}` did not finish in {_GIT_TIMEOUT} s."
        ) from None
    if check and result.returncode != 0:
        raise LockshimError(f"`git {' '.join(args[:2])}` failed: {_first_line(result.stderr)}")
    return result


def _first_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else "no message"


def heads(bundle: Path) -> frozenset[str]:
    """The commits a bundle holds as heads (empty when it is not a bundle git can read); git
    is asked once per run for each bundle as it is (sync's advice and uv's run share it)."""
    try:
        info = bundle.stat()
    except OSError:
        return frozenset()
    return _heads(str(bundle), info.st_size, info.st_mtime_ns)


@functools.cache
def _heads(bundle: str, size: int, mtime_ns: int) -> frozenset[str]:
    try:
        result = _git("bundle", "list-heads", bundle, check=False)
    except LockshimError:
        return frozenset()
    if result.returncode != 0:
        return frozenset()
    return frozenset(line.split()[0].lower() for line in result.stdout.splitlines() if line.strip())


def find(pins: Sequence[GitPin], files: Iterable[LocalFile]) -> GitPlan:
    """Which pins a local bundle serves (by its heads, never by its name)."""
    bundles = [_as_file(f) for f in files if f.name.endswith(BUNDLE_SUFFIX)]
    if not pins or not bundles:
        return GitPlan((), tuple(pins))
    held = {path: heads(path) for path in bundles}
    served, missing = [], []
    for pin in pins:
        # a bundle named for the pin first, then any other that holds the commit
        ordered = sorted(held, key=lambda p: p.name != pin.bundle_name)
        holding = [p for p in ordered if pin.commit in held[p]]
        if not holding:
            missing.append(pin)
        else:
            served.append(GitServed(pin, holding[0], tuple(holding[1:])))
    return GitPlan(tuple(served), tuple(missing))


def _as_file(file: LocalFile) -> Path:
    """A git bundle as a file git can read: itself, or a member of a lockshim bundle copied
    out once into lockshim's cache."""
    if file.member is None and not file.offset:
        return file.path
    key = hashlib.sha256(f"{file.path}:{file.offset}:{file.size}:{file.mtime_ns}".encode())
    target = user_cache_dir() / "git-bundles" / f"{key.hexdigest()[:24]}{BUNDLE_SUFFIX}"
    if not target.is_file() or target.stat().st_size != file.size:
        copy_out(file, target)  # git checks every object it reads from it
    return target


def _mirror(repository: str) -> Path:
    key = hashlib.sha256(repository.encode("utf-8")).hexdigest()[:20]
    return user_cache_dir() / "git" / f"{key}.git"


def _has_commit(repo: Path, commit: str) -> bool:
    if not repo.is_dir():
        return False
    return (
        _git(
            "--git-dir", str(repo), "cat-file", "-e", f"{commit}^{{commit}}", check=False
        ).returncode
        == 0
    )


def prepare(served: Sequence[GitServed]) -> dict[str, Path]:
    """The local copy of each served repository (in lockshim's cache), holding every served
    commit; filled from the bundles once per commit. A bundle that lists the commit but
    cannot deliver it (thin, damaged) is skipped, said in :func:`skipped` (once a run), and
    the next bundle holding the commit is tried; LockshimError when none can."""
    copies: dict[str, Path] = {}
    run = context.current()
    for item in served:
        repo = _mirror(item.pin.repository)
        if (repo, item.pin.commit) in run.git_held or _has_commit(repo, item.pin.commit):
            run.git_held.add((repo, item.pin.commit))
            copies[item.pin.repository] = repo
            continue
        if not repo.is_dir():
            repo.parent.mkdir(parents=True, exist_ok=True)
            _git("init", "--quiet", "--bare", str(repo))
        tried = []
        for bundle in (item.bundle, *item.others):
            fetched = _git(
                "--git-dir",
                str(repo),
                "fetch",
                "--quiet",
                str(bundle),
                f"+{item.pin.commit}:refs/lockshim/{item.pin.commit}",
                check=False,
            )
            if _has_commit(repo, item.pin.commit):
                break
            why = _first_line(fetched.stderr) or "git fetched nothing"
            tried.append(f"{bundle} ({why})")
            line = (
                f"skipped {bundle}: it lists commit {item.pin.commit[:12]} of "
                f"{item.pin.label} but git cannot take it from there ({why})."
            )
            if line not in run.notes:
                run.notes.append(line)
        else:
            raise LockshimError(
                f"no local bundle delivers commit {item.pin.commit} of {item.pin.label}: "
                + "; ".join(tried)
                + ". Make a bundle from any clone that has it (`git bundle create FILE.bundle "
                "--all`) and put it in a wheelhouse, or fetch it again (`lockshim fetch`)."
            )
        run.git_held.add((repo, item.pin.commit))
        copies[item.pin.repository] = repo
    return copies


def skipped() -> list[str]:
    """The bundles that named a commit they could not deliver, in this run (for people)."""
    return list(context.current().notes)


def environment(
    copies: Mapping[str, Path], environ: Mapping[str, str], others: Iterable[str] = ()
) -> dict[str, str]:
    """``GIT_CONFIG_*`` variables that make git read each repository URL from its local copy
    (added after any the user already set).

    git rewrites by prefix, the longest rule winning: another repository URL of the lock that
    merely starts with a served one (``.../proj-assets`` beside ``.../proj``) gets a rule of
    its own that keeps it as it is.
    """
    env = dict(environ)
    try:
        count = int(env.get("GIT_CONFIG_COUNT", "0"))
    except ValueError:
        count = 0
    rules = {repository: copy.as_uri() for repository, copy in copies.items()}
    for other in others:
        if other not in rules and any(other.startswith(r) for r in copies):
            rules[other] = other
    for repository, target in sorted(rules.items()):
        env[f"GIT_CONFIG_KEY_{count}"] = f"url.{target}.insteadOf"
        env[f"GIT_CONFIG_VALUE_{count}"] = repository
        count += 1
    env["GIT_CONFIG_COUNT"] = str(count)
    return env


def checkout_notes(served: Sequence[GitServed], copies: Mapping[str, Path]) -> list[str]:
    """What a served checkout needs that a bundle does not carry (submodules, LFS)."""
    notes = []
    for item in served:
        repo = copies.get(item.pin.repository)
        if repo is None:
            continue
        if _show(repo, item.pin.commit, ".gitmodules") is not None:
            notes.append(
                f"{item.pin.label} uses git submodules, which a bundle does not carry: uv will "
                "need their remotes."
            )
        attributes = _show(repo, item.pin.commit, ".gitattributes") or ""
        if "filter=lfs" in attributes:
            notes.append(
                f"{item.pin.label} keeps files in Git LFS, which a bundle does not carry: uv "
                "will need the LFS server."
            )
    return notes


def _show(repo: Path, commit: str, path: str) -> str | None:
    result = _git("--git-dir", str(repo), "show", f"{commit}:{path}", check=False)
    return result.stdout if result.returncode == 0 else None


def pyproject(served: GitServed, copies: Mapping[str, Path]) -> str | None:
    """The pyproject.toml of the served checkout (its subdirectory), read from the copy."""
    repo = copies.get(served.pin.repository)
    if repo is None:
        return None
    sub = (served.pin.subdirectory or "").strip("/")
    return _show(repo, served.pin.commit, f"{sub}/pyproject.toml" if sub else "pyproject.toml")


# --- fetching -------------------------------------------------------------------------------------


def fetch_bundle(pin: GitPin, dest: Path) -> str:
    """Write the bundle of ``pin`` into ``dest``: "downloaded", or raise LockshimError."""
    name = pin.bundle_name
    if unsafe(name) is not None:
        raise LockshimError(f"{pin.label}: {name!r} is not a plain file name; not fetched.")
    dest.mkdir(parents=True, exist_ok=True)
    import tempfile

    work = Path(tempfile.mkdtemp(prefix=".lockshim-git-", dir=dest))
    try:
        repo = work / "repo.git"
        _git("init", "--quiet", "--bare", str(repo))
        result = _git(
            "--git-dir",
            str(repo),
            "fetch",
            "--quiet",
            "--",
            pin.repository,
            f"+{pin.commit}:refs/lockshim/{pin.commit}",
            check=False,
        )
        if result.returncode != 0 or not _has_commit(repo, pin.commit):
            raise LockshimError(
                f"commit {pin.commit} not fetched from {_redact(pin.repository)}: "
                f"{_first_line(result.stderr)}"
            )
        part = work / name
        _git(
            "--git-dir",
            str(repo),
            "bundle",
            "create",
            "--quiet",
            str(part),
            f"refs/lockshim/{pin.commit}",
        )
        if pin.commit not in heads(part):
            raise LockshimError(f"the bundle of {pin.label} does not list commit {pin.commit}.")
        os.replace(part, dest / name)
        return "downloaded"
    finally:
        import shutil

        shutil.rmtree(work, ignore_errors=True)


def _redact(url: str) -> str:
    from lockshim.sources.credentials import redact

    return redact(url)
