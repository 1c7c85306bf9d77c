"""uv's command lines: the user's `uv sync` arguments checked and read, and each uv command
lockshim runs built from them (sync, export, lock --locked, a dry run).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from lockshim.errors import UsageError

if TYPE_CHECKING:
    from lockshim.uv.runner import Uv


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


def for_project(project_dir: Path | None, uv_args: Sequence[str]) -> list[str]:
    """The user's uv arguments for the project lockshim was pointed at with ``--project``
    (uv must work on that project, not the current folder's)."""
    if project_dir is None:
        return list(uv_args)
    return ["--project", str(project_dir), *uv_args]


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
