"""Unpacking a bundle on the far side: the project it carries (`lockshim bundle
--with-project`, written under ``tree/`` with the layout relative to its repository), or its
files with the ``pylock.toml`` and SBOM any installer and auditor reads (`python3 FILE unpack
DIR`), into a new or empty folder.

A bundle is data from a stranger: a member is unpacked only when the manifest lists it with
the sha256 its bytes have, its name is a plain relative path (no ``..``, no absolute or drive
path, no backslash), and it lands as a new regular file inside the folder.
"""

from __future__ import annotations

import hashlib
import zipfile
import zlib
from collections.abc import Iterable, Mapping
from pathlib import Path, PurePosixPath
from typing import NamedTuple

from lockshim.atomic import new_file
from lockshim.errors import LockshimError

TREE = "tree/"
#: The most one project file may be (read whole to check its digest before it is written).
FILE_LIMIT = 256 << 20


class ProjectFile(NamedTuple):
    relative: str  # forward slashes, relative to the tree's root
    path: Path
    executable: bool


def open_bundle(bundle: Path) -> zipfile.ZipFile:
    """The bundle opened as a zip file, or LockshimError naming it."""
    try:
        return zipfile.ZipFile(bundle)
    except (OSError, zipfile.BadZipFile) as error:
        raise LockshimError(f"{bundle}: cannot be read as a lockshim bundle ({error}).") from None


def write_tree(archive: zipfile.ZipFile, files: Iterable[ProjectFile]) -> None:
    """Each project file as ``tree/<relative>`` (deflated: source files compress well),
    with its executable bit."""
    for file in files:
        info = zipfile.ZipInfo.from_file(file.path, TREE + file.relative)
        info.external_attr = (0o100755 if file.executable else 0o100644) << 16
        info.compress_type = zipfile.ZIP_DEFLATED
        with open(file.path, "rb") as stream:
            archive.writestr(info, stream.read())


def plain_member(name: str) -> str | None:
    """The relative path a ``tree/`` member names, if it is a plain one; else None."""
    relative = name[len(TREE) :]
    parts = PurePosixPath(relative).parts
    if (
        not relative
        or "\\" in relative
        or "\0" in relative
        or relative.startswith("/")
        or ":" in parts[0]
        or any(part in ("", ".", "..") for part in parts)
        or relative != "/".join(parts)
    ):
        return None
    return relative


def unpack(bundle: Path, into: Path, project: str, code: Mapping[str, tuple[str, int]]) -> Path:
    """The bundle's project unpacked into ``into`` (made, or empty, or holding exactly this
    project already); the project's folder in it. Every member is checked first: nothing is
    written unless all of them pass."""
    into = into.absolute()
    wanted: dict[str, tuple[str, bytes, bool]] = {}  # relative -> (member, bytes, executable)
    archive = open_bundle(bundle)
    with archive:
        for info in archive.infolist():
            if not info.filename.startswith(TREE) or info.is_dir():
                continue
            relative = plain_member(info.filename)
            listed = code.get(info.filename)
            if relative is None:
                raise LockshimError(f"{bundle}: {info.filename} is not a plain relative path.")
            if listed is None or info.file_size != listed[1] or listed[1] > FILE_LIMIT:
                raise LockshimError(f"{bundle}: {info.filename} is not in its manifest as it is.")
            try:
                with archive.open(info) as stream:
                    data = stream.read(listed[1] + 1)
            except (zipfile.BadZipFile, zlib.error, EOFError):
                data = b""  # damaged on the way: said below, like other bytes
            if len(data) != listed[1] or hashlib.sha256(data).hexdigest() != listed[0]:
                raise LockshimError(
                    f"{bundle}: {info.filename} is not the file its manifest names (sha256 "
                    "differs); the bundle is damaged. `lockshim bundle --verify` names it."
                )
            wanted[relative] = (info.filename, data, bool((info.external_attr >> 16) & 0o100))
    if not wanted:
        raise LockshimError(f"{bundle} carries no project files.")
    folder = into / project if project else into
    if _holds_this_project(into, wanted):
        return folder
    if into.exists() and (not into.is_dir() or into.is_symlink() or any(into.iterdir())):
        raise LockshimError(
            f"--into {into}: that folder holds other files. Name a new or empty folder; the "
            "project is unpacked there (a folder holding this very project is used as it is)."
        )
    into.mkdir(parents=True, exist_ok=True)
    for relative, (_, data, executable) in sorted(wanted.items()):
        target = into.joinpath(*relative.split("/"))
        target.parent.mkdir(parents=True, exist_ok=True)
        with new_file(target, 0o755 if executable else 0o644) as out:
            out.write(data)
    return folder


def _holds_this_project(into: Path, wanted: Mapping[str, tuple[str, bytes, bool]]) -> bool:
    """Every project file is already there with its bytes (a second sync --into it)."""
    if not into.is_dir() or into.is_symlink():
        return False
    for relative, (_, data, _) in wanted.items():
        target = into.joinpath(*relative.split("/"))
        try:
            if target.is_symlink() or target.read_bytes() != data:
                return False
        except OSError:
            return False
    return True


def unpack_files(
    bundle: Path,
    into: Path,
    files: Mapping[str, tuple[str, int]],
    code: Mapping[str, tuple[str, int]],
    documents: Iterable[str],
) -> list[str]:
    """Every package file of the bundle into ``into/files/``, and ``documents`` (its
    ``pylock.toml`` and SBOM) into ``into``, each checked against the manifest first; the
    names written."""
    into = into.absolute()
    if into.exists() and (not into.is_dir() or into.is_symlink() or any(into.iterdir())):
        raise LockshimError(f"unpack {into}: that folder is not empty. Name a new or empty one.")
    wanted: list[tuple[str, str, str, int]] = []  # (member, relative target, sha256, size)
    for member, (sha, size) in sorted(files.items()):
        name = member.removeprefix("files/")
        if "/" in name or "\\" in name or name in ("", ".", ".."):
            raise LockshimError(f"{bundle}: {member} is not a plain file name.")
        wanted.append((member, f"files/{name}", sha, size))
    for name in documents:
        if name in code:
            wanted.append((name, name, *code[name]))
    archive = open_bundle(bundle)
    written = []
    with archive:
        (into / "files").mkdir(parents=True, exist_ok=True)
        for member, relative, sha, size in wanted:
            target = into.joinpath(*relative.split("/"))
            digest = hashlib.sha256()
            try:
                with archive.open(member) as stream, new_file(target) as out:
                    left = size + 1
                    while left > 0 and (chunk := stream.read(min(1 << 20, left))):
                        digest.update(chunk)
                        out.write(chunk)
                        left -= len(chunk)
            except (KeyError, zipfile.BadZipFile, zlib.error, EOFError) as error:
                target.unlink(missing_ok=True)
                raise LockshimError(f"{bundle}: {member} cannot be read ({error}).") from None
            if digest.hexdigest() != sha:
                target.unlink()
                raise LockshimError(
                    f"{bundle}: {member} is not the file its manifest names (sha256 differs); "
                    "the bundle is damaged. `lockshim bundle --verify` names every such member."
                )
            written.append(relative)
    return written
