"""A self-contained bundle: the bundle file is also a zipapp that needs only Python.

`lockshim bundle --self-contained` adds to the bundle lockshim itself and its pure-Python
dependencies (``lib/``, imported from the zip), the ``uv`` wheel of each target platform
(``uv/<wheel>``, listed with its sha256 in the manifest) and a ``__main__.py``. On a machine
with a plain Python 3.10+ (no pip, no uv, no network), ``python FILE sync -- UV_SYNC_ARGS`` in
the project folder (or ``python FILE sync --into DIR -- ...`` anywhere, for a bundle made
``--with-project``: the project is unpacked into DIR, checked member by member) picks the uv
wheel for this machine, checks it against the manifest, unpacks its binary once into
lockshim's cache, and runs `lockshim sync` with the bundle as the wheelhouse.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import sys
import zipfile
from collections.abc import Sequence
from pathlib import Path

from lockshim.atomic import atomic_write
from lockshim.errors import LockshimError
from lockshim.runtime import RUNNING_BUNDLE, UV_PREFIX, uv_binary_name


def run(bundle: str, argv: Sequence[str]) -> None:
    """The far side: uv from the bundle, then `lockshim ARGS` with the bundle as wheelhouse."""
    from lockshim.report import guarded

    def start() -> int:
        if "LOCKSHIM_UV" not in os.environ:
            os.environ["LOCKSHIM_UV"] = str(unpack_uv(Path(bundle)))
        # this run's code is the bundle's own: it may believe the bundle's build records
        os.environ[RUNNING_BUNDLE] = str(Path(bundle).resolve())
        return 0

    status = guarded(start)
    if status:
        sys.exit(status)
    args = list(argv)
    if args[:1] == ["unpack"]:
        sys.exit(guarded(lambda: unpack_for_installers(Path(bundle), args[1:])))
    if args[:1] == ["publish"]:  # this bundle's files, into the far side's own index
        args[1:1] = [bundle]
    if args[:1] in (["sync"], ["plan"]):  # the bundle is always a source, -w DIR adds more
        into, args = _into(args)
        if into is not None:
            unpacked: list[Path] = []

            def unpack() -> int:
                unpacked.append(unpack_project(Path(bundle), into))
                return 0

            status = guarded(unpack)
            if status:
                sys.exit(status)
            args[1:1] = ["--project", str(unpacked[0])]
        args[1:1] = ["--wheelhouse", bundle]
    from lockshim.entry import main

    main(args)


def _into(args: list[str]) -> tuple[Path | None, list[str]]:
    """``--into DIR`` (a self-contained bundle's own option, before ``--``) taken out of the
    command line: (DIR or None, the rest)."""
    end = args.index("--") if "--" in args else len(args)
    for position in range(1, end):
        arg = args[position]
        if arg == "--into" and position + 1 < end:
            return Path(args[position + 1]), args[:position] + args[position + 2 :]
        if arg.startswith("--into="):
            return Path(arg.partition("=")[2]), args[:position] + args[position + 1 :]
    return None, args


def unpack_project(bundle: Path, into: Path) -> Path:
    """The project a bundle carries (--with-project), unpacked into ``into``; its folder."""
    from lockshim.sources.bundlefile import manifest_of
    from lockshim.sources.bundletree import unpack

    manifest = manifest_of(bundle)
    if manifest.tree is None:
        raise LockshimError(
            f"{bundle} carries no project (made without --with-project): run it in the "
            "project's folder instead, or make the bundle again with --with-project."
        )
    return unpack(bundle, into, manifest.tree, manifest.code or {})


def unpack_for_installers(bundle: Path, args: Sequence[str]) -> int:
    """`python3 FILE unpack DIR`: the bundle's files, its pylock.toml and its SBOM into DIR,
    for the far side's own tools (pip, uv pip, an auditor): no lockshim needed afterwards."""
    from lockshim.report import StderrReporter
    from lockshim.sources.bundlefile import manifest_of
    from lockshim.sources.bundletree import unpack_files

    if len(args) != 1 or args[0].startswith("-"):
        raise LockshimError("usage: python3 BUNDLE unpack DIR (a new or empty folder).")
    into = Path(args[0])
    manifest = manifest_of(bundle)
    documents = ("pylock.toml", "sbom.cdx.json")
    written = unpack_files(bundle, into, manifest.files, manifest.code or {}, documents)
    reporter = StderrReporter()
    lock = into / "pylock.toml"
    reporter.info(
        f"unpacked {sum(w.startswith('files/') for w in written)} files into {into / 'files'}"
        + (f", with {lock} and {into / 'sbom.cdx.json'}." if "pylock.toml" in written else ".")
    )
    if "pylock.toml" in written:
        reporter.info(
            f"install with no index: `python3 -m pip install --no-index -r {lock}` (pip 26.3 or "
            f"newer; pip calls pylock.toml support experimental) or `uv pip install -r {lock}`."
        )
    for item in manifest.left_out:
        reporter.warn(f"not in pylock.toml: {item}.")
    return 0


#: No uv binary is this large (0.13.9's is about 40 MB): a wheel claiming one is refused.
UV_BINARY_LIMIT = 512 << 20


def unpack_uv(bundle: Path) -> Path:
    """The uv binary for this machine, from the bundle's uv wheels (checked against the
    manifest), unpacked once into lockshim's cache."""
    from packaging.tags import sys_tags
    from packaging.utils import parse_wheel_filename

    from lockshim.paths import user_cache_dir
    from lockshim.sources.bundlefile import member_offset, read_manifest
    from lockshim.sources.hashindex import sha256_file

    with open(bundle, "rb") as stream, zipfile.ZipFile(stream) as archive:
        manifest = read_manifest(archive, bundle)  # stored, bounded, every field checked
        wheels = manifest.uv
        rank = {tag: position for position, tag in enumerate(sys_tags())}
        best: tuple[int, str] | None = None
        for member in wheels:
            tags = parse_wheel_filename(member.removeprefix(UV_PREFIX))[3]
            known = [rank[t] for t in tags if t in rank]
            if known and (best is None or min(known) < best[0]):
                best = (min(known), member)
        if not wheels:
            raise LockshimError(
                f"{bundle} carries no uv: it was made without --self-contained, or uv's wheel "
                "could not be had when it was made. Run it with a uv of this machine's "
                "(`lockshim sync -w BUNDLE`), or make it again with --self-contained."
            )
        if best is None:
            raise LockshimError(
                f"{bundle} carries uv for {', '.join(sorted(wheels))}, none of which runs "
                "here. Make the bundle with --python-platform for this machine."
            )
        member = best[1]
        expected, size = wheels[member]
        if not re.fullmatch(r"[0-9a-f]{64}", expected):
            raise LockshimError(f"{bundle}: the manifest's sha256 of {member} is not a sha256.")
        binary = user_cache_dir() / "uv" / expected[:16] / uv_binary_name(member)
        if binary.is_file() and _unchanged(binary, archive, member):
            return binary  # unpacked before, and still the bytes the wheel's RECORD names
        info = archive.getinfo(member)
        if info.compress_type != zipfile.ZIP_STORED or info.file_size != size:
            raise LockshimError(f"{bundle}: {member} is not stored as its manifest says.")
        offset = member_offset(stream, info)
        if sha256_file(bundle, offset, size) != expected:  # checked where it lies, then read
            raise LockshimError(
                f"{bundle}: {member} is not the uv wheel its manifest names (sha256 differs); "
                "the bundle is damaged. `lockshim bundle --verify` names every damaged member."
            )
        stream.seek(offset)
        data = stream.read(size)
    with zipfile.ZipFile(io.BytesIO(data)) as wheel:
        name = next(
            (
                n
                for n in wheel.namelist()
                if n.count("/") == 2 and ".data/scripts/" in n and n.endswith(("/uv", "/uv.exe"))
            ),
            None,
        )
        if name is None:
            raise LockshimError(f"{bundle}: {member} holds no uv binary.")
        if wheel.getinfo(name).file_size > UV_BINARY_LIMIT:
            raise LockshimError(f"{bundle}: {member}'s uv binary is larger than any uv; not read.")
        content = wheel.read(name)
        if _recorded(wheel, name) != hashlib.sha256(content).hexdigest():
            raise LockshimError(f"{bundle}: {member}'s uv binary is not the one its RECORD names.")
    binary.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(binary, content, 0o755, durable=False)
    return binary


def _recorded(wheel: zipfile.ZipFile, name: str) -> str | None:
    """The sha256 (hex) a wheel's RECORD gives for its member ``name``."""
    import base64
    import csv

    record = next((n for n in wheel.namelist() if n.endswith(".dist-info/RECORD")), None)
    if record is None or wheel.getinfo(record).file_size > 1 << 20:
        return None
    for row in csv.reader(io.StringIO(wheel.read(record).decode("utf-8", "replace"))):
        if len(row) >= 2 and row[0] == name and row[1].startswith("sha256="):
            raw = row[1].removeprefix("sha256=")
            try:
                return base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).hex()
            except ValueError:
                return None
    return None


def _unchanged(binary: Path, archive: zipfile.ZipFile, member: str) -> bool:
    """The uv binary unpacked before is still the one the bundle's uv wheel records (checked
    on every run: 0.04 s for uv 0.13.9's 38 MB; the folder is private, this is a second layer)."""
    from lockshim.sources.hashindex import sha256_file

    try:
        with archive.open(member) as stored, zipfile.ZipFile(stored) as wheel:
            name = next(
                (n for n in wheel.namelist() if n.endswith(("/uv", "/uv.exe")) and ".data/" in n),
                None,
            )
            expected = _recorded(wheel, name) if name is not None else None
        return expected is not None and sha256_file(binary, 0, binary.stat().st_size) == expected
    except (OSError, zipfile.BadZipFile, ValueError):
        return False
