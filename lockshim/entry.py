"""The `lockshim` command's front door: `lockshim sync` starts without loading click.

`lockshim sync` sits in the inner loop beside uv, which answers a no-op sync in tens of
milliseconds; importing click alone takes longer than that. So a `lockshim sync` command line
made only of the options `lockshim sync` defines (in lockshim/cli.py) is parsed here, by a parser
that accepts exactly those; anything else (help, a typo, a missing value, another command) goes
to click, which owns the command line's help and error messages. tests/test_entry.py checks
that both read every accepted command line alike.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from lockshim.errors import Interrupted, LockshimError

#: `lockshim sync` options that take a value -> parameter name (as click names them).
SYNC_OPTIONS = {
    "--project": "project",
    "-w": "wheelhouse",
    "--wheelhouse": "wheelhouse",
    "--pip-cache": "pip_cache",
    "--uv": "uv_path",
}
#: `lockshim sync` flags -> parameter name.
SYNC_FLAGS = {
    "--no-pip-cache": "no_pip_cache",
    "--online": "online",
    "-q": "quiet",
    "--quiet": "quiet",
}


class Reporter:
    """lockshim's messages on stderr, prefixed `lockshim:`; a progress bar while hashing a lot."""

    def __init__(self, quiet: bool = False) -> None:
        self.quiet = quiet
        self._bar: Any = None

    def info(self, message: str) -> None:
        if not self.quiet:
            print(f"lockshim: {message}", file=sys.stderr, flush=True)

    def warn(self, message: str) -> None:
        print(f"lockshim: warning: {message}", file=sys.stderr, flush=True)

    def hashing(self, done: int, total: int, file: object) -> None:
        if self.quiet or total < 20 or not sys.stderr.isatty():
            return
        if self._bar is None:
            from lockshim.cli import progress_bar  # click, only when a bar is shown

            self._bar = progress_bar(total, "lockshim: hashing local files")
        self._bar.update(1)
        if done >= total:
            self._bar.render_finish()
            self._bar = None


def guarded(function: Callable[[], int | None]) -> int:
    """Run a command; lockshim's errors and signals become a message and the exit status."""
    try:
        return function() or 0
    except LockshimError as error:
        print(f"lockshim: error: {error}", file=sys.stderr, flush=True)
        return error.exit_code
    except Interrupted as stop:
        name = signal.Signals(stop.signum).name
        print(f"lockshim: stopped by {name}; uv.lock is as it was.", file=sys.stderr, flush=True)
        return stop.exit_code


def run_sync(
    *,
    project: Path | None = None,
    wheelhouse: Sequence[Path] = (),
    pip_cache: Path | None = None,
    no_pip_cache: bool = False,
    uv_path: str | None = None,
    online: bool = False,
    quiet: bool = False,
    uv_args: Sequence[str] = (),
) -> int:
    """`lockshim sync` with its command-line parameters; the exit status."""
    from lockshim.sync import Sources, sync

    def run() -> int:
        return sync(
            project_dir=project,
            sources=Sources(tuple(wheelhouse), False if no_pip_cache else pip_cache),
            uv_path=uv_path,
            online=online,
            uv_args=list(uv_args),
            reporter=Reporter(quiet),
        )

    return guarded(run)


def parse_sync(args: Sequence[str]) -> dict[str, Any] | None:
    """The parameters of `lockshim sync ARGS`, or None when click should read the line."""
    params: dict[str, Any] = {"wheelhouse": []}
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
        elif key == "uv_path":
            params[key] = value
        else:
            params[key] = Path(value)
    params["wheelhouse"] = tuple(params["wheelhouse"])
    return params


def main(argv: Sequence[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["sync"]:
        params = parse_sync(args[1:])
        if params is not None:
            sys.exit(run_sync(**params))
    from lockshim.cli import main as click_main

    click_main(args)
