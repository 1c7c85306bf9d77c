"""The environment an install is for: its marker values and the wheel tags it accepts.

By default that is the interpreter uv would use for the project (its `.venv`, else what
`uv python find` picks), read by running it; ``--python X.Y`` keeps this machine and changes the
Python version; ``--python-platform`` takes uv's target names for another machine.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

from packaging import tags as wheeltags
from packaging.markers import InvalidMarker, Marker
from packaging.tags import Tag
from packaging.utils import InvalidWheelFilename, parse_wheel_filename

from lockshim.errors import LockshimError, UsageError
from lockshim.project import Project
from lockshim.uv import argv, runner
from lockshim.uv.dryrun import interpreter
from lockshim.uv.runner import Uv

#: What an interpreter tells about itself (stdlib only, so any interpreter can answer).
_PROBE = """
import json, os, platform, sys, sysconfig
i = sys.implementation
v = i.version
iv = "%d.%d.%d" % (v.major, v.minor, v.micro)
if v.releaselevel != "final":
    iv += v.releaselevel[0] + str(v.serial)
print(json.dumps({
    "markers": {
        "implementation_name": i.name,
        "implementation_version": iv,
        "os_name": os.name,
        "platform_machine": platform.machine(),
        "platform_release": platform.release(),
        "platform_system": platform.system(),
        "platform_version": platform.version(),
        "python_full_version": platform.python_version(),
        "platform_python_implementation": platform.python_implementation(),
        "python_version": ".".join(platform.python_version_tuple()[:2]),
        "sys_platform": sys.platform,
    },
    "abiflags": getattr(sys, "abiflags", ""),
    "gil_disabled": bool(sysconfig.get_config_var("Py_GIL_DISABLED")),
}))
"""

#: uv's --python-platform names -> (sys_platform, platform_system, platform_machine, os_name).
_PLATFORMS: Mapping[str, tuple[str, str, str, str]] = {
    "linux": ("linux", "Linux", "", "posix"),
    "darwin": ("darwin", "Darwin", "", "posix"),
    "windows": ("win32", "Windows", "", "nt"),
}
_MACHINES = {"x86_64": "x86_64", "aarch64": "aarch64", "i686": "i686", "arm64": "arm64"}


class Target(NamedTuple):
    """Marker values and accepted wheel tags (most preferred first) of one environment."""

    name: str
    markers: Mapping[str, str]
    tags: tuple[Tag, ...]
    priority: Mapping[Tag, int]  # tag -> its place in ``tags`` (0 is the most preferred)
    #: other ``python_full_version`` values the environment stands for (every patch release of
    #: its minor version, for a bundle): a marker applies when it applies to any of them
    full_versions: tuple[str, ...] = ()

    def applies(self, marker: str | None, extras: Sequence[str] = ()) -> bool:
        if not marker:
            return True
        try:
            parsed = Marker(marker)
        except InvalidMarker:
            return True  # uv wrote it; when in doubt, count the package in
        environments = [dict(self.markers)]
        environments += [{**self.markers, "python_full_version": v} for v in self.full_versions]
        return any(
            parsed.evaluate({**environment, "extra": extra})
            for environment in environments
            for extra in (extras or [""])
        )

    def marker(self) -> str:
        """This environment as one PEP 508 marker: its Python's minor version and platform."""
        keys = ("python_version", "sys_platform", "platform_machine", "implementation_name")
        return " and ".join(f"{k} == '{self.markers[k]}'" for k in keys if self.markers.get(k))

    def rank(self, wheel_filename: str) -> int | None:
        """How much this environment prefers a wheel (0 best), or None if it cannot install it."""
        try:
            wheel_tags = parse_wheel_filename(wheel_filename)[3]
        except InvalidWheelFilename:
            return None
        known = [self.priority[tag] for tag in wheel_tags if tag in self.priority]
        return min(known) if known else None


def target(name: str, markers: Mapping[str, str], accepted: Sequence[Tag]) -> Target:
    priority: dict[Tag, int] = {}
    for position, tag in enumerate(accepted):
        priority.setdefault(tag, position)
    return Target(name, markers, tuple(accepted), priority)


def every_patch(base: Target, lock_text: str) -> Target:
    """``base`` standing for every patch release of its Python's minor version: the lock's
    ``python_full_version`` markers of that minor version are evaluated at each side of each
    bound they name (a bundle made on 3.11.7 also carries what 3.11.2 needs)."""
    import re

    major, minor = base.markers.get("python_version", "0.0").split(".")[:2]
    bounds = {
        int(found[1])
        for found in re.finditer(
            rf"python_full_version\s*[<>=!~]+\s*'{major}\.{minor}\.(\d+)", lock_text
        )
    }
    patches = sorted({0} | {p for b in bounds for p in (b - 1, b, b + 1) if p >= 0})
    versions = tuple(f"{major}.{minor}.{p}" for p in patches)
    return base._replace(
        name=f"{base.name}, every {major}.{minor} patch release", full_versions=versions
    )


def _cpython_tags(
    version: tuple[int, int], platforms: Sequence[str], abiflags: str = "", free: bool = False
) -> tuple[Tag, ...]:
    nodot = f"{version[0]}{version[1]}"
    abi = f"cp{nodot}{'t' if free else ''}{abiflags.replace('t', '')}"
    return tuple(wheeltags.cpython_tags(version, [abi], platforms)) + tuple(
        wheeltags.compatible_tags(version, f"cp{nodot}", platforms)
    )


def _asked_here() -> str:
    """What the running interpreter answers to the probe (no second Python start)."""
    import contextlib
    import io

    answer = io.StringIO()
    with contextlib.redirect_stdout(answer):
        exec(compile(_PROBE, "<lockshim probe>", "exec"), {})  # lockshim's own constant
    return answer.getvalue()


def _is_running(python: Path) -> bool:
    """``python`` is the very binary lockshim runs on (a venv's link to it counts)."""
    import os
    import sys

    try:
        return bool(sys.executable) and os.path.samefile(
            os.path.realpath(python), os.path.realpath(sys.executable)
        )
    except OSError:
        return False


def probe(python: Path) -> Target:
    """The target of an installed interpreter, asked directly (in this process when it is
    the interpreter lockshim runs on)."""
    try:
        if _is_running(python):
            data = json.loads(_asked_here())
        else:
            result = subprocess.run(
                [str(python), "-I", "-c", _PROBE], capture_output=True, text=True, check=True
            )
            data = json.loads(result.stdout)
    except (OSError, subprocess.CalledProcessError, ValueError) as error:
        raise LockshimError(
            f"{python}: cannot ask this interpreter about itself ({error})."
        ) from None
    markers = data["markers"]
    version = tuple(int(p) for p in markers["python_version"].split("."))[:2]
    platforms = list(wheeltags.platform_tags())  # the same machine: its glibc, its macOS
    if markers["implementation_name"] == "cpython":
        accepted = _cpython_tags(
            (version[0], version[1]), platforms, data["abiflags"], data["gil_disabled"]
        )
    else:
        accepted = tuple(wheeltags.compatible_tags((version[0], version[1]), None, platforms))
    return target(f"{python} (Python {markers['python_full_version']})", markers, accepted)


def for_python(base: Target, version: str) -> Target:
    """``base`` with another CPython version (``--python 3.12``)."""
    try:
        major, minor = (int(p) for p in version.split(".")[:2])
    except ValueError:
        raise UsageError(f"--python {version}: expected a version such as 3.12.") from None
    markers = dict(base.markers)
    markers.update(
        python_version=f"{major}.{minor}",
        python_full_version=f"{major}.{minor}.0",
        implementation_name="cpython",
        implementation_version=f"{major}.{minor}.0",
        platform_python_implementation="CPython",
    )
    platforms = _platforms_of(base)
    return target(f"Python {major}.{minor}", markers, _cpython_tags((major, minor), platforms))


def _platforms_of(target: Target) -> list[str]:
    seen: dict[str, None] = {}
    for tag in target.tags:
        if tag.platform != "any":
            seen.setdefault(tag.platform, None)
    return list(seen)


def for_platform(base: Target, triple: str) -> Target:
    """``base``'s Python on another machine, named as uv names it (``--python-platform``)."""
    name = triple.lower()
    arch = name.split("-", 1)[0]
    if arch not in _MACHINES:
        raise UsageError(_unknown_platform(triple))
    if "-apple-darwin" in name or name.startswith(("macos", "aarch64-macos", "x86_64-macos")):
        system = "darwin"
        mac_arch = "arm64" if arch in ("aarch64", "arm64") else "x86_64"
        platforms = list(
            wheeltags.mac_platforms((13, 0) if mac_arch == "arm64" else (10, 15), mac_arch)
        )
        machine = "arm64" if mac_arch == "arm64" else "x86_64"
    elif "windows" in name:
        system = "windows"
        platforms = [{"x86_64": "win_amd64", "aarch64": "win_arm64", "i686": "win32"}[arch]]
        machine = {"x86_64": "AMD64", "aarch64": "ARM64", "i686": "x86"}[arch]
    elif "musl" in name:
        system = "linux"
        minor = _trailing_version(name, default=(1, 2))[1]
        platforms = [f"musllinux_1_{m}_{arch}" for m in range(minor, -1, -1)] + [f"linux_{arch}"]
        machine = arch
    elif "linux" in name:
        system = "linux"
        glibc = _trailing_version(name, default=(2, 28))[1]
        platforms = [f"manylinux_2_{m}_{arch}" for m in range(glibc, 4, -1)]
        legacy = {17: "manylinux2014", 12: "manylinux2010", 5: "manylinux1"}
        platforms += [f"{alias}_{arch}" for minimum, alias in legacy.items() if glibc >= minimum]
        platforms.append(f"linux_{arch}")
        machine = arch
    else:
        raise UsageError(_unknown_platform(triple))
    sys_platform, platform_system, _, os_name = _PLATFORMS[system]
    markers = dict(base.markers)
    markers.update(
        sys_platform=sys_platform,
        platform_system=platform_system,
        platform_machine=machine,
        os_name=os_name,
        platform_release="",
        platform_version="",
    )
    version = tuple(int(p) for p in markers["python_version"].split("."))
    accepted = _cpython_tags((version[0], version[1]), platforms)
    return target(f"Python {markers['python_version']} on {triple}", markers, accepted)


def _trailing_version(name: str, default: tuple[int, int]) -> tuple[int, int]:
    last = name.rsplit("_", 2)
    try:
        return int(last[-2]), int(last[-1])
    except (ValueError, IndexError):
        return default


def _unknown_platform(triple: str) -> str:
    return (
        f"--python-platform {triple}: not a platform lockshim knows. Use uv's names, e.g. "
        "x86_64-unknown-linux-gnu, x86_64-manylinux_2_28, aarch64-unknown-linux-gnu, "
        "x86_64-unknown-linux-musl, aarch64-apple-darwin, x86_64-apple-darwin, "
        "x86_64-pc-windows-msvc."
    )


def project_interpreter(project_root: Path, uv: Path, sync_args: Sequence[str] = ()) -> Path:
    """The interpreter `uv sync SYNC_ARGS` would use, as uv itself reports it.

    uv's dry run says which interpreter it would create or replace the environment with
    (`--python 3.12`, a `.python-version` the `.venv` no longer matches), or that it would keep
    the project's environment. Where it says neither: the `.venv`, else `uv python find`.
    """
    said = interpreter(project_root, uv, sync_args)
    if said is not None:
        return said
    for candidate in (
        project_root / ".venv" / "bin" / "python",
        project_root / ".venv" / "Scripts" / "python.exe",
    ):
        if candidate.exists():
            return candidate
    result = subprocess.run(
        [str(uv), "--directory", str(project_root), "python", "find", "--offline"],
        capture_output=True,
        text=True,
        check=False,
    )
    found = result.stdout.strip()
    if result.returncode != 0 or not found:
        raise LockshimError(
            f"uv found no interpreter for {project_root} ({result.stderr.strip()}). "
            "Name a Python version with --python X.Y."
        )
    return Path(found)


def resolve_target(
    project: Project,
    uv: Uv,
    python: str | None,
    platform: str | None,
    sync_args: Sequence[str] = (),
    patches_of: str | None = None,
) -> Target:
    """The interpreter uv would use for the project, changed by --python / --python-platform;
    with ``patches_of`` (the lock's text), standing for every patch release of its Python's
    minor version (unless --python names a patch release itself).

    With both given, the target is fully named: no interpreter is run (least of all one that
    came with the repository's `.venv`).
    """
    found = _resolve_target(project, uv, python, platform, sync_args)
    if patches_of is None or (python is not None and python.count(".") >= 2):
        return found
    return every_patch(found, patches_of)


def _resolve_target(
    project: Project,
    uv: Uv,
    python: str | None,
    platform: str | None,
    sync_args: Sequence[str],
) -> Target:
    if platform:
        runner.check_platform(uv, platform)
    if python and platform:
        return for_platform(for_python(target("", {}, ()), python), platform)
    asked = _interpreter_args(python, sync_args)
    if python:  # an explicit --python wins, as in uv (over a .python-version, say)
        try:
            found = project_interpreter(project.root, uv.path, asked)
        except LockshimError:  # none of that version installed: judge for it all the same
            found = Path(sys.executable)
        base = for_python(probe(found), python)
    else:
        base = probe(project_interpreter(project.root, uv.path, asked))
    if platform:
        base = for_platform(base, platform)
    return base


def _interpreter_args(python: str | None, sync_args: Sequence[str]) -> list[str]:
    """The arguments of the uv dry run that names the target's interpreter."""
    return [*argv.without_python(sync_args), "--python", python] if python else list(sync_args)


def ask_ahead(
    project: Project, uv: Uv, python: str | None, platform: str | None, sync_args: Sequence[str]
) -> None:
    """Start now the uv run :func:`resolve_target` will read (its dry run), so that what comes
    before (reading `uv export`'s answer, say) runs beside it."""
    if not (python and platform):  # else no interpreter is asked
        asked = _interpreter_args(python, sync_args)
        runner.ask_ahead(argv.dry_run_command(uv.path, asked), project.root)


class Requested(NamedTuple):
    """A target as asked on the command line: ``--python`` and ``--python-platform`` (None:
    this machine's)."""

    python: str | None
    platform: str | None

    @property
    def name(self) -> str:
        parts = [f"Python {self.python}" if self.python else "", self.platform or ""]
        return " on ".join(p for p in parts if p) or "this machine"


def accepting(requested: Requested) -> Target:
    """The wheel tags a requested target accepts (this machine's own when nothing is named)."""
    here = target("this machine", {}, list(wheeltags.sys_tags()))
    if requested.platform:
        python = requested.python or f"{sys.version_info.major}.{sys.version_info.minor}"
        return for_platform(for_python(here, python), requested.platform)
    if requested.python:
        return for_python(here, requested.python)
    return here
