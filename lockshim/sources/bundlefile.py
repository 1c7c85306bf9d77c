"""A lockshim bundle, read as a source and written: one zip file carrying a project's files
across an air gap.

The members are stored, not compressed (wheels already are), so each member's bytes lie in the
bundle at a known offset: they are hashed and staged from there, never extracted as a whole.
Only members the manifest lists, with the size it gives and a plain file name, are offered; the
sha256 of each is checked like any local file's (the manifest's own hashes are not trusted for
serving). `lockshim bundle` (lockshim/commands/bundle.py) makes one; :func:`write_bundle`
writes the file.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import struct
import zipfile
import zlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from lockshim import __version__
from lockshim.errors import LockshimError
from lockshim.filenames import unsafe
from lockshim.project import Project
from lockshim.sources.base import LocalFile
from lockshim.sources.bundletree import ProjectFile, open_bundle, write_tree
from lockshim.sources.hashindex import HashIndex, sha256_file
from lockshim.sources.walk import OnSkip

BUNDLE = "bundle"
MANIFEST = "lockshim-manifest.json"
FILES = "files/"
MANIFEST_FORMAT = 1


class Manifest(NamedTuple):
    lock_sha256: str
    lock_name: str
    files: Mapping[str, tuple[str, int]]  # member name -> (sha256, size)
    targets: tuple[str, ...]
    uv_args: tuple[str, ...]
    made_by: str
    uv: Mapping[str, tuple[str, int]] = {}  # a self-contained bundle's uv wheels
    #: wheels `fetch --build` made from the lock's sdists: member -> the sdist's digest
    built: Mapping[str, str] = {}
    #: every other member (the project's files, a self-contained bundle's code): member ->
    #: (sha256, size); None in a bundle made before lockshim listed them
    code: Mapping[str, tuple[str, int]] | None = None
    #: the project's folder inside ``tree/`` (made --with-project); None: no project inside
    tree: str | None = None
    #: what the bundle's pylock.toml leaves out, and why
    left_out: tuple[str, ...] = ()


#: The most a bundle's manifest, or the lock it carries, may be (they are read whole).
MANIFEST_LIMIT = 64 << 20
LOCK_LIMIT = 256 << 20


def read_stored(archive: zipfile.ZipFile, name: str, limit: int, path: Path) -> bytes:
    """A member a bundle stores as it is (its manifest, its lock), read whole but never more
    than ``limit`` bytes, whatever the zip's directory claims; LockshimError otherwise."""
    try:
        info = archive.getinfo(name)
    except KeyError:
        raise LockshimError(
            f"{path}: not a lockshim bundle (no {name} in it). A bundle is made with "
            "`lockshim bundle -o FILE`."
        ) from None
    if info.compress_type != zipfile.ZIP_STORED or info.file_size > limit:
        raise LockshimError(
            f"{path}: {name} is compressed or larger than {limit} bytes ({info.file_size}); a "
            "lockshim bundle stores it as it is. The file is damaged or not a lockshim bundle: "
            "make it again with `lockshim bundle -o FILE`."
        )
    with archive.open(info) as stream:
        data = stream.read(limit + 1)
    if len(data) > limit:
        raise LockshimError(f"{path}: {name} is larger than {limit} bytes; not read.")
    return data


def duplicates(archive: zipfile.ZipFile) -> set[str]:
    """Member names the zip's directory lists more than once (a reader takes either)."""
    seen: set[str] = set()
    twice: set[str] = set()
    for info in archive.infolist():
        (twice if info.filename in seen else seen).add(info.filename)
    return twice


def read_manifest(archive: zipfile.ZipFile, path: Path) -> Manifest:
    """The bundle's manifest, every field checked; LockshimError naming the file otherwise."""
    try:
        raw = read_stored(archive, MANIFEST, MANIFEST_LIMIT, path)
        if MANIFEST in duplicates(archive):
            raise ValueError(f"{MANIFEST} appears twice")
        data: Any = json.loads(raw.decode("utf-8"))
        if data.get("format") != MANIFEST_FORMAT:
            raise ValueError(f"manifest format {data.get('format')!r}")
        files = {
            str(name): (str(entry["sha256"]), int(entry["size"]))
            for name, entry in data["files"].items()
        }
        uv = {
            str(name): (str(entry["sha256"]), int(entry["size"]))
            for name, entry in data.get("uv", {}).items()
        }
        built = {str(name): str(digest) for name, digest in data.get("built", {}).items()}
        code = (
            {
                str(name): (str(entry["sha256"]), int(entry["size"]))
                for name, entry in data["code"].items()
            }
            if "code" in data
            else None
        )
        tree = data.get("tree")
        return Manifest(
            str(data["lock_sha256"]),
            str(data.get("lock_name", "uv.lock")),
            files,
            tuple(str(t) for t in data.get("targets", [])),
            tuple(str(a) for a in data.get("uv_args", [])),
            str(data.get("lockshim", "?")),
            uv,
            built,
            code,
            str(tree["project"]) if tree is not None else None,
            tuple(str(item) for item in data.get("pylock_left_out", [])),
        )
    except KeyError as error:
        reason = f"no {error.args[0]}"
    except (ValueError, TypeError, AttributeError, UnicodeDecodeError) as error:
        reason = str(error)
    raise LockshimError(
        f"{path}: not a lockshim bundle, or a damaged one ({reason}). Make it again with "
        "`lockshim bundle -o FILE`."
    )


def manifest_of(path: Path) -> Manifest:
    """The manifest of the bundle at ``path``, or LockshimError naming it."""
    with open_bundle(path) as archive:
        try:
            return read_manifest(archive, path)
        except (OSError, zipfile.BadZipFile) as error:
            raise LockshimError(f"{path}: cannot be read as a lockshim bundle ({error}).") from None


def member_offset(stream: Any, info: zipfile.ZipInfo) -> int:
    """Where a stored member's bytes start: after its local header (whose name and extra
    field may differ in length from the central directory's)."""
    stream.seek(info.header_offset)
    header = stream.read(30)
    if len(header) != 30 or header[:4] != b"PK\x03\x04":
        raise zipfile.BadZipFile(f"no local header for {info.filename}")
    flags, method = struct.unpack("<HH", header[6:10])
    compressed = struct.unpack("<I", header[18:22])[0]
    name_length, extra_length = struct.unpack("<HH", header[26:30])
    name = stream.read(name_length)
    expected = info.orig_filename.encode("utf-8" if flags & 0x800 else "cp437", "replace")
    if (
        name != expected
        or method != info.compress_type
        or (not flags & 0x08 and compressed not in (info.compress_size, 0xFFFFFFFF))
    ):  # the directory says one thing and the bytes another: a reader could take either
        raise zipfile.BadZipFile(f"the local header of {info.filename} differs from the directory")
    return int(info.header_offset + 30 + name_length + extra_length)


class BundleSource:
    """The files of one bundle, offered as local files at their offsets inside it."""

    kind = BUNDLE
    rank = 1  # a named wheelhouse file is preferred: it can be linked, not copied

    def __init__(self, path: Path, on_skip: OnSkip) -> None:
        self.root = path
        self.index = HashIndex.for_folder(path, shared=False)
        self.manifest: Manifest | None = None
        self._on_skip = on_skip

    @property
    def label(self) -> str:
        return str(self.root)

    @property
    def find_links(self) -> Path | None:
        return None  # members reach uv through the staging folder

    @property
    def made_for(self) -> str | None:
        """The sha256 of the lock this bundle was made for."""
        return self.manifest.lock_sha256 if self.manifest else None

    def scan(self) -> list[LocalFile]:
        try:
            info = os.stat(self.root)
            with open(self.root, "rb") as stream, zipfile.ZipFile(stream) as archive:
                self.manifest = read_manifest(archive, self.root)
                return self._members(archive, stream, info)
        except (OSError, zipfile.BadZipFile) as error:
            raise LockshimError(
                f"{self.root}: cannot be read as a lockshim bundle ({error}). Check the file "
                "(`lockshim bundle --verify FILE`), or make it again."
            ) from None

    def _members(
        self, archive: zipfile.ZipFile, stream: Any, info: os.stat_result
    ) -> list[LocalFile]:
        assert self.manifest is not None
        files = []
        twice = duplicates(archive)
        for member in archive.infolist():
            if not member.filename.startswith(FILES) or member.is_dir():
                continue
            name = member.filename[len(FILES) :]
            listed = self.manifest.files.get(member.filename)
            where = Path(f"{self.root}:{member.filename}")
            if member.filename in twice:
                self._on_skip(where, "the bundle holds two members of that name")
            elif unsafe(name) is not None:
                self._on_skip(where, "not a plain file name")
            elif listed is None:
                self._on_skip(where, "not in the bundle's manifest")
            elif member.compress_type != zipfile.ZIP_STORED:
                self._on_skip(where, "compressed (a bundle stores its members as they are)")
            elif member.file_size != listed[1] or member.compress_size != listed[1]:
                self._on_skip(where, f"{member.file_size} bytes, the manifest says {listed[1]}")
            else:
                offset = member_offset(stream, member)
                files.append(
                    LocalFile(
                        self.root,
                        self,
                        member.file_size,
                        info.st_mtime_ns,
                        info.st_ino,
                        member.filename,
                        offset,
                        name,
                    )
                )
        return files

    def __repr__(self) -> str:
        return f"BundleSource({str(self.root)!r})"


class Verified(NamedTuple):
    path: Path
    good: int
    damaged: tuple[str, ...]  # "member: why"
    sha256: str = ""  # of the whole file, to compare with the one taken where it was made
    unlisted_code: bool = False  # made before the manifest listed the code's digests

    @property
    def status(self) -> int:
        return 1 if self.damaged else 0

    def text(self) -> str:
        lines = [f"damaged: {item}" for item in self.damaged]
        lines.append(
            f"{self.path}: {self.good} members match the manifest"
            + (f", {len(self.damaged)} do not." if self.damaged else "; the bundle is whole.")
        )
        if self.unlisted_code:
            lines.append(
                "its code and project files carry no digests (made by an older lockshim): "
                "only the package files were checked."
            )
        lines.append(
            f"sha256 of the whole file: {self.sha256}. This check finds damage and mistakes, "
            "not an attacker (who edits the code edits the manifest too): compare that sha256 "
            "with the one taken where the bundle was made, or check its signature."
        )
        return "\n".join(lines)


def verify(path: Path) -> Verified:
    """Check every member of a bundle against its manifest (sha256 and size), and the copy of
    the lock against the lock's sha256."""
    damaged: list[str] = []
    good = 0
    try:
        with open(path, "rb") as stream, zipfile.ZipFile(stream) as archive:
            manifest = read_manifest(archive, path)
            members = {info.filename: info for info in archive.infolist()}
            damaged += [
                f"{name}: the bundle holds two members of that name"
                for name in sorted(duplicates(archive))
            ]
            for name, (sha, size) in sorted((manifest.code or {}).items()):
                info = members.get(name)  # code may be compressed: read as the zip gives it
                if info is None:
                    damaged.append(f"{name}: missing")
                    continue
                if info.file_size != size:
                    damaged.append(f"{name}: {info.file_size} bytes, the manifest says {size}")
                    continue
                try:
                    with archive.open(info) as member:
                        actual = hashlib.sha256(member.read(size + 1)).hexdigest()
                except (zipfile.BadZipFile, zlib.error, EOFError) as error:
                    damaged.append(f"{name}: cannot be read ({error})")
                    continue
                if actual != sha:
                    damaged.append(f"{name}: sha256 {actual}, the manifest says {sha}")
                else:
                    good += 1
            listed = {**manifest.files, **manifest.uv, **(manifest.code or {})}
            for name, (sha, size) in sorted({**manifest.files, **manifest.uv}.items()):
                info = members.get(name)
                if info is None:
                    damaged.append(f"{name}: missing")
                    continue
                if info.compress_type != zipfile.ZIP_STORED or info.file_size != size:
                    damaged.append(f"{name}: {info.file_size} bytes, the manifest says {size}")
                    continue
                actual = sha256_file(path, member_offset(stream, info), size)
                if actual != sha:
                    damaged.append(f"{name}: sha256 {actual}, the manifest says {sha}")
                else:
                    good += 1
            extra = [
                n
                for n in members
                if n != MANIFEST
                and n not in listed
                and (manifest.code is not None or n.startswith(FILES))
            ]
            damaged += [f"{name}: not in the manifest" for name in extra]
            lock = members.get("project/" + manifest.lock_name)
            if lock is None:
                damaged.append(f"project/{manifest.lock_name}: missing")
            elif (
                hashlib.sha256(read_stored(archive, lock.filename, LOCK_LIMIT, path)).hexdigest()
                != manifest.lock_sha256
            ):
                damaged.append(f"project/{manifest.lock_name}: not the lock the manifest names")
    except (OSError, zipfile.BadZipFile) as error:
        raise LockshimError(f"{path}: cannot be read as a lockshim bundle ({error}).") from None
    whole = sha256_file(path, 0, path.stat().st_size)
    return Verified(path, good, tuple(damaged), whole, manifest.code is None)


def write_bundle(
    output: Path,
    work: Path,
    project: Project,
    original: bytes,
    targets: Sequence[str],
    uv_args: Sequence[str],
    uv_wheels: Sequence[Path] | None = None,
    built: Mapping[str, str] | None = None,
    tree: tuple[str, Sequence[ProjectFile]] | None = None,
    documents: Mapping[str, bytes] | None = None,
    left_out: Sequence[str] = (),
) -> list[tuple[str, int]]:
    """The zip file, written beside ``output`` and renamed into place; ``tree``: the project's
    folder in its repository and the project's own files (--with-project); ``documents``: what
    the far side's own tools read (``sbom.cdx.json``, ``pylock.toml``), at the top, and what
    ``pylock.toml`` leaves out."""
    files = sorted(
        p
        for p in work.iterdir()
        if p.is_file() and unsafe(p.name) is None and not p.name.startswith(".")
    )
    listed: dict[str, dict[str, object]] = {}
    temp = work / f".{output.name}.part"
    with zipfile.ZipFile(temp, "x", compression=zipfile.ZIP_STORED) as archive:
        for path in files:
            member = FILES + path.name
            listed[member] = {"sha256": sha256_file(path), "size": path.stat().st_size}
            archive.write(path, member)
        archive.writestr("project/" + project.lock_path.name, original)
        with contextlib.suppress(OSError):
            archive.write(project.root / "pyproject.toml", "project/pyproject.toml")
        uv: dict[str, dict[str, object]] = {}
        if uv_wheels is not None:  # self-contained: uv for each target, and lockshim itself
            from lockshim import runtime

            for wheel in uv_wheels:
                member = runtime.UV_PREFIX + wheel.name
                uv[member] = {"sha256": sha256_file(wheel), "size": wheel.stat().st_size}
                archive.write(wheel, member)
            runtime.write_runtime(archive)
        if tree is not None:
            write_tree(archive, tree[1])
        for name, data in (documents or {}).items():
            archive.writestr(name, data)
        manifest = {
            "format": MANIFEST_FORMAT,
            "uv": uv,
            "lockshim": __version__,
            "lock_name": project.lock_path.name,
            "lock_sha256": hashlib.sha256(original).hexdigest(),
            "targets": list(targets),
            "uv_args": list(uv_args),
            "files": listed,
            "built": {FILES + name: digest for name, digest in (built or {}).items()},
            **({"tree": {"project": tree[0]}} if tree is not None else {}),
            "pylock_left_out": list(left_out),
        }
    with zipfile.ZipFile(temp) as written:  # every other member, by its digest
        code = {}
        for info in written.infolist():
            if info.filename in listed or info.filename in uv or info.is_dir():
                continue
            with written.open(info) as stream:
                digest = hashlib.sha256(stream.read()).hexdigest()
            code[info.filename] = {"sha256": digest, "size": info.file_size}
    manifest["code"] = code
    with zipfile.ZipFile(temp, "a", compression=zipfile.ZIP_STORED) as archive:
        archive.writestr(MANIFEST, json.dumps(manifest, indent=1))
    os.replace(temp, output)
    return [(p.name, p.stat().st_size) for p in files]
