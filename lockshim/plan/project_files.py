"""Which of the project's own files a bundle carries (`lockshim bundle --with-project`).

In a git work tree: the files git tracks (never an ignored or untracked file, never ``.git``)
under the project's folder and under every local source the lock names (workspace members,
path and directory sources), as they are in the work tree, with their layout relative to the
repository kept. Outside git: every file under those folders but dot-files, environments and
build output, which is said. A local source outside the repository is refused by name: the far
side would have nothing to build it from.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator, Sequence
from pathlib import Path, PurePosixPath
from typing import NamedTuple

from lockshim.errors import LockshimError
from lockshim.lockfile.model import Lock
from lockshim.project import Project, git_work_tree
from lockshim.sources.bundletree import ProjectFile

#: The source kinds uv builds from a folder (or takes from a file) on this machine.
LOCAL_KINDS = ("editable", "directory", "virtual", "path")
#: Left out of a project outside git: environments, caches, build output, dot-folders.
_SKIPPED_DIRS = frozenset({"__pycache__", "node_modules", "build", "dist"})
_SKIPPED_SUFFIXES = (".pyc", ".pyo", ".egg-info")


class ProjectTree(NamedTuple):
    root: Path  # the repository (or, outside git, the project's folder)
    project: str  # the project's folder relative to ``root`` ("" for the root itself)
    files: tuple[ProjectFile, ...]
    notes: tuple[str, ...]  # what was left out, or taken as it is now, and why


def project_tree(project: Project, lock: Lock) -> ProjectTree:
    """The project's own files to carry; LockshimError naming a local source outside."""
    top = git_work_tree(project.root)
    root = top.absolute() if top is not None else None
    base = project.lock_path.parent.absolute()
    folders = [project.root.absolute()]
    for package in lock.packages:
        source = package.source
        if source is None or source.kind not in LOCAL_KINDS:
            continue
        target = Path(os.path.normpath(base / source.value.replace("\\", "/")))
        if not _inside(target, root if root is not None else project.root.absolute()):
            where = root if root is not None else project.root
            raise LockshimError(
                f"{project.lock_path}: {package.label} is a {source.kind} source at "
                f"{source.value!r} ({target}), outside the "
                f"{'repository' if root is not None else 'project folder'} {where}: a bundle "
                "made --with-project carries only the files inside it, so the far side could "
                "not build it. Move it inside, or make the bundle without --with-project and "
                "carry it beside the bundle."
            )
        folders.append(target)
    if root is None:
        return _plain_tree(project, folders)
    return _git_tree(root, project, folders)


def _inside(target: Path, root: Path) -> bool:
    try:
        return os.path.commonpath([target, root.absolute()]) == str(root.absolute())
    except ValueError:  # another drive
        return False


def _relative(path: Path, root: Path) -> str:
    return PurePosixPath(*path.absolute().relative_to(root.absolute()).parts).as_posix()


def _git_tree(root: Path, project: Project, folders: Sequence[Path]) -> ProjectTree:
    prefixes = sorted({_relative(f, root) for f in folders})
    listed = subprocess.run(
        ["git", "-c", "core.hooksPath=/dev/null", "ls-files", "-z", "--stage", "--"]
        + [p for p in prefixes if p != "."],
        cwd=root,
        capture_output=True,
        check=False,
    )
    if listed.returncode != 0:
        raise LockshimError(
            f"git cannot list the files of {root}: {listed.stderr.decode(errors='replace')}"
        )
    files: list[ProjectFile] = []
    left: list[str] = []
    for entry in listed.stdout.split(b"\0"):
        if not entry:
            continue
        head, _, name = entry.partition(b"\t")
        mode = head.split(b" ")[0]
        relative = name.decode("utf-8", "surrogateescape")
        path = root / relative
        if mode == b"160000":
            left.append(f"{relative} (a submodule)")
        elif mode == b"120000":
            left.append(f"{relative} (a symbolic link)")
        elif not path.is_file() or path.is_symlink():
            left.append(f"{relative} (deleted in the work tree)")
        elif not any(_under(relative, p) for p in prefixes):
            continue
        else:
            files.append(ProjectFile(relative, path, mode == b"100755"))
    inside = _relative(project.root, root)
    own = [f for f in files if _under(f.relative, inside)]
    if not own:
        raise LockshimError(
            f"git tracks no file under {project.root} (it is inside the repository {root}, "
            "ignored or never added): a bundle made --with-project carries what git tracks. "
            "`git add` the project (and commit it), or make the bundle without --with-project."
        )
    notes = []
    untracked = []
    for needed in ("pyproject.toml", project.lock_path.name):  # what the far side syncs from
        path = project.root / needed
        relative = _relative(path, root)
        if path.is_file() and not any(f.relative == relative for f in files):
            files.append(ProjectFile(relative, path, False))
            untracked.append(relative)
    if untracked:
        notes.append(f"not tracked by git, carried all the same: {', '.join(untracked)}.")
    if left:
        notes.append(f"not carried: {', '.join(left)}.")
    changed = _changed(root, prefixes)
    if changed:
        shown = ", ".join(changed[:5]) + (
            f" and {len(changed) - 5} more" if len(changed) > 5 else ""
        )
        notes.append(
            f"carried as they are now, with changes not committed: {shown} (the lock was made "
            "from these)."
        )
    return ProjectTree(root, "" if inside == "." else inside, tuple(files), tuple(notes))


def _under(relative: str, prefix: str) -> bool:
    return prefix == "." or relative == prefix or relative.startswith(prefix + "/")


def _changed(root: Path, prefixes: Sequence[str]) -> list[str]:
    """Tracked files whose work tree differs from HEAD (staged or not)."""
    diff = subprocess.run(
        ["git", "-c", "core.hooksPath=/dev/null", "diff", "--name-only", "-z", "HEAD", "--"]
        + [p for p in prefixes if p != "."],
        cwd=root,
        capture_output=True,
        check=False,
    )
    if diff.returncode != 0:  # no commit yet: nothing to differ from
        return []
    return [e.decode("utf-8", "replace") for e in diff.stdout.split(b"\0") if e]


def _plain_tree(project: Project, folders: Sequence[Path]) -> ProjectTree:
    root = project.root.absolute()
    seen: dict[str, ProjectFile] = {}
    for folder in folders:
        for path in _walk(folder) if folder.is_dir() else [folder]:
            relative = _relative(path, root)
            seen[relative] = ProjectFile(relative, path, os.access(path, os.X_OK))
    note = (
        f"{root} is not in a git work tree: carried every file under the project's folders "
        "but dot-files and dot-folders (.git, .venv, .env ...), __pycache__, build, dist and "
        "*.egg-info. In git, only the files git tracks are carried."
    )
    return ProjectTree(root, "", tuple(seen[k] for k in sorted(seen)), (note,))


def _kept_folder(name: str) -> bool:
    return not name.startswith(".") and name not in _SKIPPED_DIRS and not name.endswith(".egg-info")


def _walk(folder: Path) -> Iterator[Path]:
    for current, dirs, names in os.walk(folder):
        dirs[:] = sorted(
            d
            for d in dirs
            if not d.startswith(".")
            and d not in _SKIPPED_DIRS
            and not d.endswith(_SKIPPED_SUFFIXES)
        )
        for name in sorted(names):
            path = Path(current) / name
            if name.startswith(".") or name.endswith(_SKIPPED_SUFFIXES) or path.is_symlink():
                continue
            if path.is_file():
                yield path
