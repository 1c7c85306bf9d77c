"""The `lockshim` command's front door: `lockshim sync` starts without loading click.

`lockshim sync` sits in the inner loop beside uv, which answers a no-op sync in tens of
milliseconds; importing click alone takes longer than that. So a `lockshim sync` command line
made only of the options `lockshim sync` defines (in lockshim/cli/main.py) is parsed here, by a
parser that accepts exactly those; anything else (help, a typo, a missing value, another
command) goes to click, which owns the command line's help and error messages.
tests/test_entry.py checks that both read every accepted command line alike.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False  # not `typing`'s: an unchanged re-sync imports almost nothing
if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path
    from typing import Any

#: `lockshim sync` options that take a value -> parameter name (as click names them).
SYNC_OPTIONS = {
    "--project": "project",
    "-w": "wheelhouse",
    "--wheelhouse": "wheelhouse",
    "--pip-cache": "pip_cache",
    "--uv": "uv_path",
    "--mirror": "mirror",
    "--mirror-for": "mirror_for",
}
#: `lockshim sync` flags -> parameter name.
SYNC_FLAGS = {
    "--no-pip-cache": "no_pip_cache",
    "--online": "online",
    "-q": "quiet",
    "--quiet": "quiet",
}


def run_sync(
    *,
    project: Path | None = None,
    wheelhouse: Sequence[Path] = (),
    pip_cache: Path | None = None,
    no_pip_cache: bool = False,
    uv_path: str | None = None,
    mirror: str | None = None,
    mirror_for: Sequence[str] = (),
    online: bool = False,
    quiet: bool = False,
    uv_args: Sequence[str] = (),
    request: str | None = None,
) -> int:
    """`lockshim sync` with its command-line parameters, read here; the exit status."""
    from lockshim.commands.sync import sync
    from lockshim.report import StderrReporter, guarded
    from lockshim.sources.local import SourceOptions

    def run() -> int:
        return sync(
            project_dir=project,
            sources=SourceOptions(
                tuple(wheelhouse),
                False if no_pip_cache else pip_cache,
                mirror,
                tuple(mirror_for),
            ),
            uv_path=uv_path,
            online=online,
            uv_args=list(uv_args),
            reporter=StderrReporter(quiet, bar=_click_bar),
            quiet=quiet,
            request=request,
        )

    return guarded(run)


def _click_bar(total: int, label: str) -> Any:
    from lockshim.cli.options import progress_bar  # click, only when a bar is shown

    return progress_bar(total, label)


def parse_sync(args: Sequence[str]) -> dict[str, Any] | None:
    """The parameters of `lockshim sync ARGS`, or None when click should read the line."""
    from pathlib import Path

    params: dict[str, Any] = {"wheelhouse": [], "mirror_for": []}
    position = 0
    while position < len(args):
        arg = args[position]
        position += 1
        if arg == "--":
            params["uv_args"] = tuple(args[position:])
            break
        name, equals, value = arg.partition("=")
        if name in SYNC_OPTIONS and name.startswith("--") and equals:
            pass
        elif arg in SYNC_OPTIONS and position < len(args) and not args[position].startswith("-"):
            name, value = arg, args[position]
            position += 1
        elif arg in SYNC_FLAGS:
            params[SYNC_FLAGS[arg]] = True
            continue
        else:
            return None  # help, an unknown option, a missing value, a bare argument: click's
        key = SYNC_OPTIONS[name]
        if not value:
            return None
        if key == "wheelhouse":
            params["wheelhouse"].append(Path(value))
        elif key == "mirror_for":
            params["mirror_for"].append(value)
        elif key in ("uv_path", "mirror"):
            params[key] = value
        else:
            params[key] = Path(value)
    params["wheelhouse"] = tuple(params["wheelhouse"])
    params["mirror_for"] = tuple(params["mirror_for"])
    return params


def main(argv: Sequence[str] | None = None) -> None:
    try:
        _main(argv)
    except KeyboardInterrupt:  # Ctrl-C before any handler is in place: nothing was changed yet
        print("lockshim: stopped by SIGINT; uv.lock is as it was.", file=sys.stderr, flush=True)
        sys.exit(130)


def _main(argv: Sequence[str] | None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["sync"]:
        from lockshim.commands import resync

        resync.try_resync(args)  # returns only when something changed since the last sync
        params = parse_sync(args[1:])
        if params is not None:
            request = resync.key(args, os.getcwd(), os.environ)
            sys.exit(run_sync(**params, request=request))
    from lockshim.cli.main import main as click_main

    click_main(args)
