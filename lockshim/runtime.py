"""What a self-contained bundle carries to run with only Python: lockshim and its pure-Python
dependencies (``lib/``), a ``__main__.py``, and where uv's wheels go (``uv/``).

Written by `lockshim bundle --self-contained` (lockshim/commands/bundle.py); read on the far side by
lockshim/selfcontained.py, the zipapp's start, which sits above everything else.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # zipfile costs start-up on every command that finds a project
    import zipfile

UV_PREFIX = "uv/"
#: Set by the zipapp's start to the bundle it runs from (lockshim.sources.built believes its
#: records).
RUNNING_BUNDLE = "LOCKSHIM_RUNNING_BUNDLE"
LIB_PREFIX = "lib/"
#: What lockshim imports on the far side (tomli only where it is installed: Python < 3.11).
PACKAGES = ("lockshim", "click", "packaging", "tomlkit", "urllib3", "tomli")

MAIN = '''\
"""A lockshim bundle that runs itself: python THIS_FILE sync [-- UV_SYNC_ARGS...]"""
import os
import sys

bundle = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(bundle, "lib"))
from lockshim.selfcontained import run

run(bundle, sys.argv[1:])
'''


def library_files() -> Iterable[tuple[str, Path]]:
    """(member name, file) of every source file of lockshim and its dependencies, as installed
    here. tomli (what Python 3.10 reads TOML with) comes from pip's own vendored copy when it
    is not installed here: pip is nearly always at hand, and tomli is pure Python."""
    for name in PACKAGES:
        root = _package_root(name)
        if root is None and name == "tomli":
            root = _package_root("pip._vendor.tomli")
        if root is None:
            continue
        for path in sorted(root.rglob("*")):
            if "__pycache__" in path.parts or not path.is_file() or path.suffix in (".pyc", ".so"):
                continue
            relative = f"{name}/{path.relative_to(root).as_posix()}"
            yield LIB_PREFIX + relative, path


def _package_root(name: str) -> Path | None:
    try:
        import importlib.util

        spec = importlib.util.find_spec(name)
    except ModuleNotFoundError:
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def write_runtime(archive: zipfile.ZipFile) -> None:
    """``__main__.py`` and ``lib/``: what makes the bundle run with only Python. Each module
    also goes in compiled by this Python (``NAME.pyc`` beside ``NAME.py``, where zipimport
    looks): a far side on the same minor version imports without compiling (0.2 s a run);
    any other compiles from the source as before."""
    import tempfile

    with tempfile.TemporaryDirectory() as folder:  # where each .pyc is made, then read
        for member, path in library_files():
            archive.write(path, member)
            if member.endswith(".py"):
                compiled = _compiled(path, member, Path(folder) / "module.pyc")
                if compiled is not None:
                    archive.writestr(member + "c", compiled)
    archive.writestr("__main__.py", MAIN)


def _compiled(path: Path, member: str, target: Path) -> bytes | None:
    """``path`` as an unchecked hash-based .pyc (zipimport takes it as it is), made at
    ``target``; or None."""
    import py_compile

    try:
        py_compile.compile(
            str(path),
            cfile=str(target),
            dfile=member,
            doraise=True,
            invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
        )
        return target.read_bytes()
    except (py_compile.PyCompileError, OSError, ValueError):
        return None


def uv_binary_name(wheel_member: str) -> str:
    return "uv.exe" if "win" in wheel_member.rsplit("-", 1)[-1] else "uv"
