"""pip's HTTP cache as a source: downloaded files kept by pip, with no file names.

Bodies are matched by size and sha256 alone: ``http-v2/**/<key>.body`` (pip 23.3 and newer),
and the responses pip kept whole in ``http/`` before that, wherever the body can be located
exactly. Where pip keeps its cache is found the way pip finds it.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from lockshim.paths import user_cache_base
from lockshim.sources.base import PIP_CACHE, LocalFile
from lockshim.sources.hashindex import HashIndex
from lockshim.sources.walk import OnSkip, walk

if TYPE_CHECKING:
    import configparser


class PipCache:
    kind = PIP_CACHE
    rank = 2  # a named wheelhouse file is preferred: it needs no staging under another name

    def __init__(self, root: Path, on_skip: OnSkip) -> None:
        self.root = root
        # pip's cache is the user's own: its index never lives beside it.
        self.index = HashIndex.for_folder(root, shared=False)
        self._on_skip = on_skip

    @property
    def label(self) -> str:
        return "pip's cache"

    @property
    def find_links(self) -> Path | None:
        return None  # bodies carry no file names: uv cannot read them as --find-links

    def scan(self) -> list[LocalFile]:
        files: list[LocalFile] = []
        if (self.root / "http-v2").is_dir():
            for path, info, relative in walk(
                self.root / "http-v2", "pip cache", self._on_skip, ".body"
            ):
                files.append(self._file(path, info, "http-v2/" + relative))
        if (self.root / "http").is_dir():
            for path, info, relative in walk(self.root / "http", "pip cache", self._on_skip):
                body = _old_body(path, info.st_size)
                if body is not None:
                    file = self._file(path, info, "http/" + relative)
                    files.append(file._replace(offset=body[0], size=body[1]))
        return files

    def _file(self, path: Path, info: os.stat_result, relative: str) -> LocalFile:
        return LocalFile(path, self, info.st_size, info.st_mtime_ns, info.st_ino, relative)

    def __repr__(self) -> str:
        return f"PipCache({str(self.root)!r})"


def _old_body(path: Path, file_size: int) -> tuple[int, int] | None:
    """(offset, length) of the body in a pip < 23.3 cache entry, else None.

    Such an entry is cachecontrol's ``cc=4,`` and then msgpack of
    ``{"response": {"body": <bytes>, ...}, ...}``, the body first: its place and length are in
    the first bytes. Anything else (older formats, other layouts) is not guessed at; a body that
    is located wrongly could never match a sha256 anyway.
    """
    try:
        with open(path, "rb") as stream:
            head = stream.read(64)
    except OSError:
        return None
    if not head.startswith(b"cc=4,"):
        return None
    try:
        position = _msgpack_map(head, 5)
        key, position = _msgpack_bytes(head, position, strings=True)
        if key != b"response":
            return None
        position = _msgpack_map(head, position)
        key, position = _msgpack_bytes(head, position, strings=True)
        if key != b"body":
            return None
        length, position = _msgpack_length(head, position, binary=True)
    except (IndexError, ValueError):
        return None
    return (position, length) if position + length <= file_size else None


def _msgpack_map(data: bytes, position: int) -> int:
    marker = data[position]
    if 0x80 <= marker <= 0x8F:
        return position + 1
    widths = {0xDE: 2, 0xDF: 4}
    if marker not in widths:
        raise ValueError("not a map")
    return position + 1 + widths[marker]


def _msgpack_length(data: bytes, position: int, *, binary: bool) -> tuple[int, int]:
    """The length of a str (or, with ``binary``, a bin or str) and where its bytes start."""
    marker = data[position]
    if 0xA0 <= marker <= 0xBF:
        return marker & 0x1F, position + 1
    widths = {0xD9: 1, 0xDA: 2, 0xDB: 4}
    if binary:
        widths.update({0xC4: 1, 0xC5: 2, 0xC6: 4})
    if marker not in widths:
        raise ValueError("not a string")
    width = widths[marker]
    length = int.from_bytes(data[position + 1 : position + 1 + width], "big")
    if len(data) < position + 1 + width:
        raise IndexError("cut short")
    return length, position + 1 + width


def _msgpack_bytes(data: bytes, position: int, *, strings: bool) -> tuple[bytes, int]:
    length, start = _msgpack_length(data, position, binary=not strings)
    return data[start : start + length], start + length


# --- where pip keeps its cache, found the way pip finds it ---------------------------------------


def pip_cache_dir(environ: Mapping[str, str] | None = None) -> Path | None:
    """pip's cache folder: PIP_CACHE_DIR, pip's config ``cache-dir``, or pip's default.

    None when pip's cache is turned off (PIP_NO_CACHE_DIR, ``no-cache-dir`` in pip's config).
    """
    env = os.environ if environ is None else environ
    if _truthy(env.get("PIP_NO_CACHE_DIR")):
        return None
    if env.get("PIP_CACHE_DIR"):
        return Path(env["PIP_CACHE_DIR"]).expanduser()
    config = _pip_config(env)
    for section in ("install", "download", "global"):
        if config.has_option(section, "no-cache-dir") and _truthy(
            config.get(section, "no-cache-dir")
        ):
            return None
        if config.has_option(section, "cache-dir"):
            return Path(os.path.expandvars(config.get(section, "cache-dir"))).expanduser()
    base = user_cache_base(env) / "pip"
    return base / "Cache" if sys.platform == "win32" else base


def _truthy(value: str | None) -> bool:
    return value is not None and value.strip().lower() in ("1", "true", "yes", "on")


def _pip_config_files(env: Mapping[str, str]) -> Sequence[Path]:
    """pip's configuration files, lowest priority first (pip's own order)."""
    config_file = env.get("PIP_CONFIG_FILE")
    if config_file == os.devnull:
        return ()
    home = Path(env.get("HOME", "~")).expanduser()
    files: list[Path] = []
    if sys.platform == "win32":
        files.append(Path(env.get("ProgramData", "C:/ProgramData")) / "pip" / "pip.ini")
        appdata = Path(env.get("APPDATA", home / "AppData" / "Roaming"))
        files += [home / "pip" / "pip.ini", appdata / "pip" / "pip.ini"]
        name = "pip.ini"
    else:
        xdg_dirs = env.get("XDG_CONFIG_DIRS", "/etc/xdg").split(os.pathsep)
        files += [Path(d) / "pip" / "pip.conf" for d in reversed(xdg_dirs) if d]
        files.append(Path("/etc/pip.conf"))
        if sys.platform == "darwin":
            files.append(home / "Library" / "Application Support" / "pip" / "pip.conf")
        files.append(home / ".pip" / "pip.conf")
        xdg_home = Path(env.get("XDG_CONFIG_HOME", home / ".config"))
        files.append(xdg_home / "pip" / "pip.conf")
        name = "pip.conf"
    if env.get("VIRTUAL_ENV"):
        files.append(Path(env["VIRTUAL_ENV"]) / name)
    if config_file:
        files.append(Path(config_file))
    return files


def _pip_config(env: Mapping[str, str]) -> configparser.RawConfigParser:
    import configparser  # only when PIP_CACHE_DIR does not already say where the cache is

    parser = configparser.RawConfigParser()
    for path in _pip_config_files(env):
        try:
            parser.read(path, encoding="utf-8")
        except (configparser.Error, UnicodeDecodeError):
            continue  # pip would refuse it; lockshim just does not learn a cache folder from it
    return parser
