"""The wheel inside a file with no wheel's name (a pip cache body, a bundle member): its name and
requirements read from its own ``*.dist-info``, once, and remembered in its source's hash index.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from packaging.utils import (
    canonicalize_name,
)
from packaging.version import InvalidVersion, Version

from lockshim.filenames import unsafe
from lockshim.sources.base import LocalFile

if TYPE_CHECKING:
    pass


#: The most a wheel's WHEEL or METADATA file may be when lockshim reads it.
_METADATA_LIMIT = 16 << 20


def wheel_identity(file: LocalFile) -> tuple[str, str] | None:
    """(file name, Requires-Dist text) of the wheel whose bytes ``file`` holds, from its own
    ``*.dist-info`` (WHEEL and METADATA); None when it holds no wheel."""
    try:
        with open(file.path, "rb") as stream:
            stream.seek(file.offset)  # a body inside a file (old pip cache, bundle) starts there
            if stream.read(2) != b"PK":
                return None
            stream.seek(file.offset)
            data = stream.read(file.size) if file.offset else None
        source: Any = io.BytesIO(data) if data is not None else file.path
        with zipfile.ZipFile(source) as archive:
            infos = [n for n in archive.namelist() if n.count("/") == 1]
            wheel = next((n for n in infos if n.endswith(".dist-info/WHEEL")), None)
            metadata = next((n for n in infos if n.endswith(".dist-info/METADATA")), None)
            if wheel is None or metadata is None:
                return None
            if max(archive.getinfo(n).file_size for n in (wheel, metadata)) > _METADATA_LIMIT:
                return None  # no wheel's metadata is this large: a compression bomb
            tags = header_values(archive.read(wheel).decode("utf-8"), "Tag")
            meta = archive.read(metadata).decode("utf-8")
    except (OSError, zipfile.BadZipFile, UnicodeDecodeError, KeyError):
        return None
    name = header_values(meta, "Name")
    version = header_values(meta, "Version")
    if not tags or not name or not version:
        return None
    parts = [tag.split("-") for tag in tags if tag.count("-") == 2]
    if not parts:
        return None
    columns = [".".join(dict.fromkeys(p[i] for p in parts)) for i in range(3)]
    try:
        normalized = str(Version(version[0]))
    except InvalidVersion:
        return None
    stem = canonicalize_name(name[0]).replace("-", "_")
    return f"{stem}-{normalized}-{'-'.join(columns)}.whl", meta


def header_values(text: str, key: str) -> list[str]:
    head = text.split("\n\n", 1)[0]
    prefix = f"{key}:"
    return [line[len(prefix) :].strip() for line in head.splitlines() if line.startswith(prefix)]


def read_names(files: Iterable[LocalFile]) -> dict[tuple[Path, int], str]:
    """The wheel file name inside each unnamed file (pip cache bodies), read once per file and
    remembered in its source's hash index."""
    names: dict[tuple[Path, int], str] = {}
    touched = {}
    for file in files:
        if file.name.endswith((".whl", ".tar.gz", ".zip")):
            continue
        index = file.source.index
        known = index.known_name(file)
        if known is None:
            identity = wheel_identity(file)
            known = identity[0] if identity is not None else ""
            index.remember_name(file, known)
            touched[id(index)] = index
        if known and unsafe(known) is None:
            names[file.key] = known
    for index in touched.values():
        index.save()
    return names
