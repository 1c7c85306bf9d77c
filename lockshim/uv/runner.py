"""Finding uv, checking its version, building the `uv sync` command line, and running uv."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

from lockshim.errors import Interrupted, LockshimError, UsageError
from lockshim.paths import user_cache_dir

#: The oldest uv checked to install a shimmed lock offline (file:// artifacts and find-links;
#: 0.3.x honours file:// artifacts too, but cannot read locks with `virtual` sources).
#: The oldest uv lockshim runs: `uv export --format pylock.toml` (the plan of what a sync
#: installs) came with 0.6.15; `--project` with 0.4.16. Checked once, when uv is found.
MINIMUM_UV = (0, 6, 15)
#: How long uv gets to stop after a signal is passed on to it, before it is killed.
STOP_GRACE_SECONDS = 10

#: `uv sync` flags that would re-resolve or write uv.lock, or fight `--frozen`.
_LOCK_WRITING_FLAGS = {
    "--upgrade": "it re-resolves and rewrites uv.lock",
    "-U": "it re-resolves and rewrites uv.lock",
    "--upgrade-package": "it re-resolves and rewrites uv.lock",
    "--upgrade-group": "it re-resolves and rewrites uv.lock",
    "-P": "it re-resolves and rewrites uv.lock",
    "--locked": "it checks the lock against the index; lockshim always installs with --frozen",
    "--no-frozen": "lockshim always installs with --frozen, from the lock as it is",
    "--refresh": "it asks uv to refetch everything from the index",
    "--refresh-package": "it asks uv to refetch from the index",
}
#: uv flags that name another project: lockshim would serve one lock while uv syncs another.
_OTHER_PROJECT_FLAGS = ("--directory", "--project")
#: uv's short options that take a value: in a cluster (`-vP alpha`), what follows is the value.
_SHORT_WITH_VALUE = set("Ppe")


class Uv(NamedTuple):
    path: Path
    version: tuple[int, ...]

    @property
    def version_text(self) -> str:
        return ".".join(map(str, self.version))


def find_uv(explicit: str | None = None) -> Uv:
    """``--uv PATH``, else ``LOCKSHIM_UV``, else ``uv`` on PATH, else the ``uv`` Python package."""
    tried = []
    candidate: str | None = None
    if explicit:
        candidate = explicit
        tried.append(f"--uv {explicit}")
    elif os.environ.get("LOCKSHIM_UV"):
        candidate = os.environ["LOCKSHIM_UV"]
        tried.append(f"LOCKSHIM_UV={candidate}")
    else:
        candidate = _which("uv")
        tried.append("`uv` on PATH")
        if candidate is None:
            tried.append("the `uv` Python package")
            candidate = _uv_from_package()
    if candidate is None or not (resolved := _which(candidate)):
        where = candidate if candidate else "uv"
        raise LockshimError(
            f"uv was not found ({where} tried via {', '.join(tried)}; lockshim looks at "
            "--uv PATH, "
            "then LOCKSHIM_UV, then `uv` on PATH, then the `uv` Python package). "
            "Install uv (`pip install uv`) or name it with --uv PATH."
        )
    path = Path(resolved)
    version = uv_version(path)
    if version < MINIMUM_UV:
        minimum = ".".join(map(str, MINIMUM_UV))
        raise LockshimError(
            f"{path} is uv {'.'.join(map(str, version))}; lockshim needs uv {minimum} or newer "
            "(its `uv export --format pylock.toml` tells what a sync installs). Upgrade it "
            f"(`pip install 'uv>={minimum}'` or `uv self update`) or name another with --uv PATH."
        )
    return Uv(path, version)


def _which(name: str) -> str | None:
    """``shutil.which`` without importing shutil (which costs more than this whole search)."""
    if os.name == "nt":  # PATHEXT and friends
        import shutil

        return shutil.which(name)
    if os.sep in name:
        return name if os.path.isfile(name) and os.access(name, os.X_OK) else None
    for folder in os.get_exec_path():
        candidate = os.path.join(folder, name)
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None


def _uv_from_package() -> str | None:
    try:
        from uv import find_uv_bin  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        return None
    try:
        return str(find_uv_bin())
    except FileNotFoundError:
        return None


def uv_version(path: Path) -> tuple[int, ...]:
    """The version of the uv binary at ``path``; remembered by the binary's size and mtime."""
    try:
        info = path.stat()
    except OSError as error:
        raise LockshimError(f"{path}: cannot run uv ({error.strerror}).") from None
    from lockshim.atomic import atomic_write
    from lockshim.trust import read_private

    key = f"{path}:{info.st_size}:{info.st_mtime_ns}"
    memo = user_cache_dir() / "uv-versions.json"
    try:  # believed only as a file of yours nobody else can have written (lockshim.trust)
        known = json.loads(read_private(memo).decode("utf-8"))
    except (OSError, ValueError):
        known = {}
    if not isinstance(known, dict):
        known = {}
    cached = known.get(key)
    if isinstance(cached, list) and cached and all(isinstance(p, int) for p in cached):
        return tuple(cached)
    version = _ask_version(path)
    with contextlib.suppress(OSError):  # a temp file made exclusively, then renamed
        known[key] = list(version)
        atomic_write(memo, json.dumps(known).encode("utf-8"), 0o600, durable=False)
    return version


def _ask_version(path: Path) -> tuple[int, ...]:
    try:
        result = subprocess.run(
            [str(path), "--version"], capture_output=True, text=True, check=False, timeout=30
        )
    except subprocess.TimeoutExpired:
        raise LockshimError(
            f"{path} --version did not answer within 30 s; is it really uv? Name the uv binary "
            "with --uv PATH (or LOCKSHIM_UV)."
        ) from None
    except OSError as error:
        raise LockshimError(f"{path}: cannot run uv ({error.strerror}).") from None
    match = re.match(r"uv (\d+)\.(\d+)\.(\d+)", result.stdout.strip())
    if result.returncode != 0 or match is None:
        raise LockshimError(
            f"{path} --version printed {result.stdout.strip() or result.stderr.strip()!r}, "
            "not a uv version. Name the uv binary with --uv PATH."
        )
    return tuple(int(part) for part in match.groups())


def check_platform(uv: Uv, triple: str) -> None:
    """Refuse a ``--python-platform`` this uv does not know, before anything is done: uv's
    own answer decides (its names change between versions)."""
    try:
        answer = subprocess.run(
            [
                str(uv.path),
                "pip",
                "compile",
                "-",
                "--quiet",
                "--offline",
                "--no-index",
                "--python-platform",
                triple,
            ],
            input="",
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )
    except (OSError, subprocess.SubprocessError):
        return  # uv's own run will say it
    if "invalid value" in answer.stderr:
        found = re.search(r"\[possible values: ([^\]]*)\]", answer.stderr)
        known = found.group(1) if found else "see `uv pip compile --help`"
        raise UsageError(
            f"--python-platform {triple}: uv {uv.version_text} does not know this platform. "
            f"Its names: {known}."
        )


def check_python(lock_text: str, python: str | None, lock_name: str = "uv.lock") -> None:
    """Refuse ``--python X.Y`` outside the lock's ``requires-python``: no file would fit."""
    if not python:
        return
    from packaging.specifiers import InvalidSpecifier, SpecifierSet
    from packaging.version import InvalidVersion, Version

    head = lock_text.split("\n[[package]]", 1)[0]
    found = re.search(r'^requires-python = "([^"]*)"', head, re.M)
    if found is None:
        return
    try:
        allowed = SpecifierSet(found.group(1))
        version = Version(python)
    except (InvalidSpecifier, InvalidVersion):
        return
    parts = (*version.release, 0, 0)
    first = f"{parts[0]}.{parts[1]}.{parts[2]}"
    last = f"{parts[0]}.{parts[1]}.999" if len(version.release) < 3 else first
    if not (allowed.contains(first, prereleases=True) or allowed.contains(last, prereleases=True)):
        raise UsageError(
            f"--python {python}: outside what {lock_name} supports (requires-python = "
            f'"{found.group(1)}"), so nothing in it is for that Python. Name a Python it '
            "supports."
        )


def check_sync_args(args: Sequence[str]) -> None:
    """Refuse `uv sync` flags that would make uv resolve again or write the lock."""
    for arg in args:
        if arg == "--":
            break
        flag = arg.split("=", 1)[0]
        if flag in _OTHER_PROJECT_FLAGS:
            raise UsageError(
                f"`{arg}` after `--` would make uv sync another project than the one whose lock "
                "lockshim serves. Give the project to lockshim instead, before `--`: "
                "`lockshim sync --project DIR -- ...`."
            )
        reason = _LOCK_WRITING_FLAGS.get(flag)
        if reason is None and len(flag) > 2 and flag[0] == "-" and flag[1] != "-":
            for letter in flag[1:]:  # a cluster of short flags: -qU, -vP alpha, -Palpha
                reason = _LOCK_WRITING_FLAGS.get(f"-{letter}")
                if reason is not None or letter in _SHORT_WITH_VALUE:
                    break
        if reason is not None:
            advice = (
                "to upgrade, run `uv lock --upgrade` (or `--upgrade-package NAME`) with network "
                "first, then `lockshim sync`"
                if "re-resolves" in reason
                else "to change the lock, run `uv lock` (with network) first, then `lockshim sync`"
            )
            raise UsageError(
                f"`{arg}` cannot go to `uv sync` through lockshim: {reason}. lockshim installs "
                f"exactly what uv.lock pins; {advice}."
            )


def script_arg(args: Sequence[str]) -> str | None:
    """The script of `--script PATH` (or `--script=PATH`) among uv arguments, if any."""
    for position, arg in enumerate(args):
        if arg == "--":
            break
        if arg == "--script" and position + 1 < len(args):
            return args[position + 1]
        if arg.startswith("--script="):
            return arg.partition("=")[2]
    return None


#: Flags with which the user chose the indexes of builds themselves.
_INDEX_FLAGS = (
    "--no-index",
    "--index",
    "--index-url",
    "--default-index",
    "--extra-index-url",
    "-i",
)


def sync_command(
    uv: Uv,
    args: Sequence[str],
    find_links: Sequence[Path],
    *,
    online: bool,
    builds_local: bool = True,
) -> list[str]:
    """`uv sync --offline --frozen --no-index --find-links W ... ARGS`, without repeating a
    flag given.

    ``--no-index`` (offline, when ``builds_local``: every build requirement has a local wheel)
    makes uv take build requirements from the find-links folders alone. Without it, uv also
    reads the index pages its cache kept from earlier online work, picks the newest version
    either names, and fails offline when only the page has it. The lock's own packages are
    not resolved (``--frozen``): those not served locally still come from uv's cache by their
    locked URL. Where a build requirement has no local wheel, uv's cache is the only hope, so
    the index stays.
    """
    command = [str(uv.path), "sync"]
    given = set(args)
    if not online and "--offline" not in given:
        command.append("--offline")
    if "--frozen" not in given:
        command.append("--frozen")
    chosen = any(arg.split("=", 1)[0] in _INDEX_FLAGS for arg in args)
    if not online and builds_local and not chosen and not os.environ.get("UV_NO_INDEX"):
        command.append("--no-index")
    for folder in find_links:
        command += ["--find-links", folder.absolute().as_uri()]
    command += args
    return command


#: `uv sync` options that choose what is installed -> what `uv export` calls them.
_VALUE_OPTIONS = {
    **{
        name: name
        for name in (
            "--extra",
            "--no-extra",
            "--group",
            "--no-group",
            "--only-group",
            "--package",
            "--project",
            "--directory",
            "--script",
        )
    },
    "--no-install-package": "--no-emit-package",
}
_FLAG_OPTIONS = {
    **{
        name: name
        for name in (
            "--all-extras",
            "--all-groups",
            "--no-default-groups",
            "--dev",
            "--no-dev",
            "--only-dev",
            "--all-packages",
            "--no-editable",
        )
    },
    "--no-install-project": "--no-emit-project",
    "--no-install-workspace": "--no-emit-workspace",
    "--no-install-local": "--no-emit-local",
}


def export_args(sync_args: Sequence[str]) -> list[str]:
    """The `uv export` arguments that select what `uv sync SYNC_ARGS` would install."""
    result: list[str] = []
    for name, value, _ in _options(sync_args):
        if name in _FLAG_OPTIONS:
            result.append(_FLAG_OPTIONS[name])
        elif name in _VALUE_OPTIONS and value is not None:
            result += [_VALUE_OPTIONS[name], value]
    return result


def export_command(uv: Path, sync_args: Sequence[str]) -> list[str]:
    """`uv export` of what `uv sync SYNC_ARGS` would install (pylock.toml on stdout)."""
    options = export_args(sync_args)
    return [str(uv), "export", "--frozen", "--format", "pylock.toml", "--quiet", *options]


#: `uv sync` options that `uv lock` shares and that change its verdict on the lock.
_LOCK_VALUE_OPTIONS = frozenset(
    {
        "--python",
        "-p",
        "--cache-dir",
        "--config-file",
        "--index",
        "--default-index",
        "--index-url",
        "-i",
        "--extra-index-url",
        "--find-links",
        "-f",
        "--index-strategy",
        "--keyring-provider",
        "--prerelease",
        "--resolution",
        "--exclude-newer",
        "--python-preference",
        "--allow-insecure-host",
    }
)
_LOCK_FLAGS = frozenset(
    {"--no-cache", "-n", "--no-config", "--no-index", "--no-sources", "--preview", "--native-tls"}
)
#: Options that take a value, as far as lockshim reads `uv sync` arguments.
_VALUED = frozenset(_VALUE_OPTIONS) | _LOCK_VALUE_OPTIONS
_SHORT_VALUED = frozenset(name for name in _VALUED if len(name) == 2)


def lock_check_args(sync_args: Sequence[str]) -> list[str]:
    """The `uv lock` options among ``sync_args`` (the rest choose what is installed)."""
    return [
        token
        for name, value, tokens in _options(sync_args)
        if (name in _LOCK_FLAGS and value is None) or name in _LOCK_VALUE_OPTIONS
        for token in tokens
    ]


def _options(sync_args: Sequence[str]) -> Iterator[tuple[str, str | None, list[str]]]:
    """Each option of ``sync_args`` up to ``--``: (its name, its value or None, its tokens as
    given), ``--name=value``, ``--name value`` and a short option's ``-p3.12`` alike."""
    args = list(sync_args)
    position = 0
    while position < len(args):
        arg = args[position]
        position += 1
        if arg == "--":
            return
        name, equals, value = arg.partition("=")
        if not equals and not arg.startswith("--") and arg[:2] in _SHORT_VALUED and arg[2:]:
            yield arg[:2], arg[2:], [arg]  # -p3.12
        elif equals or name not in _VALUED:
            yield name, value if equals else None, [arg]
        elif position < len(args):
            yield name, args[position], [arg, args[position]]
            position += 1
        else:
            yield name, None, [arg]


def lock_check_command(uv: Path, project: Path, sync_args: Sequence[str]) -> list[str]:
    """`uv lock --check --offline` of the project whose lock is in ``project``: is the lock up
    to date with pyproject.toml, in uv's own words (rc 0 fresh, 1 out of date, 2 uv could not
    tell). ``--locked`` is `--check`'s older name, which every uv lockshim runs with knows."""
    options = lock_check_args(sync_args)
    return [str(uv), "lock", "--locked", "--offline", "--project", str(project), *options]


def dry_run_command(uv: Path, sync_args: Sequence[str]) -> list[str]:
    """`uv sync --dry-run` (offline): it says which interpreter the sync would use. A flag the
    user gave already is not given twice (uv refuses `--frozen --frozen`)."""
    given = set(sync_args)
    ours = [flag for flag in ("--dry-run", "--offline", "--frozen") if flag not in given]
    return [str(uv), "sync", *ours, "--color", "never", *sync_args]


def without_python(sync_args: Sequence[str]) -> list[str]:
    """``sync_args`` less any ``--python``/``-p`` (uv refuses the option twice)."""
    return [
        token
        for name, _, tokens in _options(sync_args)
        if name not in ("--python", "-p")
        for token in tokens
    ]


def no_interpreter(project_root: Path, uv: Path, sync_args: Sequence[str]) -> str | None:
    """uv's own words when it finds no interpreter for this sync (its offline dry run, the
    same discovery as the sync's), else None."""
    try:
        result = answer(dry_run_command(uv, sync_args), project_root)
    except (OSError, subprocess.SubprocessError):
        return None
    if result.returncode == 0:
        return None
    said = next((line for line in result.stderr.splitlines() if "No interpreter found" in line), "")
    return said.removeprefix("error:").strip() or None


#: uv runs asked ahead (lockshim.sync starts the plan's two uv runs before it has imported what
#: reads their answers): (command, cwd) -> (the thread reading the answer, where it lands).
_AHEAD: dict[
    tuple[tuple[str, ...], str | None],
    tuple[threading.Thread, list[subprocess.CompletedProcess[str] | BaseException]],
] = {}


def ask_ahead(command: Sequence[str], cwd: Path | None = None) -> None:
    """Start ``command`` now, in the background; :func:`answer` takes its answer later."""
    key = (tuple(command), str(cwd) if cwd is not None else None)
    if key in _AHEAD:
        return
    landed: list[subprocess.CompletedProcess[str] | BaseException] = []

    def read() -> None:
        try:
            landed.append(_run_captured(command, cwd))
        except BaseException as error:  # said by answer()
            landed.append(error)

    thread = threading.Thread(target=read, name="lockshim-uv-ahead", daemon=True)
    _AHEAD[key] = (thread, landed)
    thread.start()


def answer(command: Sequence[str], cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """uv's answer to ``command`` (output captured, NO_COLOR): from the run asked ahead with
    the same command and folder (kept for the rest of the run), else from running it now."""
    ahead = _AHEAD.get((tuple(command), str(cwd) if cwd is not None else None))
    if ahead is None:
        return _run_captured(command, cwd)
    thread, landed = ahead
    thread.join()
    if isinstance(landed[0], BaseException):
        raise landed[0]
    return landed[0]


def _run_captured(command: Sequence[str], cwd: Path | None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        list(command),
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
        stdin=subprocess.DEVNULL,
        env={**os.environ, "NO_COLOR": "1"},
    )


def _kill(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.kill()


def run(command: Sequence[str], env: Mapping[str, str] | None = None) -> int:
    """Run uv in the foreground, passing SIGINT, SIGTERM, SIGHUP and SIGQUIT on to it.

    uv's output streams through unchanged. When a signal comes, uv gets it and up to
    ``STOP_GRACE_SECONDS`` to stop (then it is killed), and :class:`Interrupted` is raised so
    that the caller restores uv.lock and exits 128 + signal.
    """
    received: list[int] = []
    process: subprocess.Popen[bytes] | None = None

    def forward(signum: int, frame: object) -> None:
        received.append(signum)
        if process is None or process.poll() is not None:
            return
        if sys.platform == "win32":
            # Ctrl-C reaches every process on the console, uv included: lockshim only waits
            # for uv to stop (uv.lock is restored after it), and ends it after the grace time.
            threading.Timer(STOP_GRACE_SECONDS, _kill, (process,)).start()
        else:
            process.send_signal(signum)
            signal.alarm(STOP_GRACE_SECONDS)

    def kill(signum: int, frame: object) -> None:
        if process is not None and process.poll() is None:
            process.kill()

    stops = [s for s in ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGALRM") if hasattr(signal, s)]
    previous = {
        getattr(signal, name): signal.signal(
            getattr(signal, name), kill if name == "SIGALRM" else forward
        )
        for name in stops
    }
    try:
        if received:
            raise Interrupted(received[0])
        try:
            process = subprocess.Popen(list(command), env=dict(env) if env is not None else None)
        except OSError as error:
            raise LockshimError(f"{command[0]}: cannot run uv ({error.strerror}).") from None
        returncode = process.wait()
    finally:
        if sys.platform != "win32":
            signal.alarm(0)
        for signum, old in previous.items():
            signal.signal(signum, old)
    if received:
        raise Interrupted(received[0])
    return returncode
