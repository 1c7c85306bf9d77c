"""The options the commands share, and what the CLI draws: the progress bar, errors as one
line and an exit status.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from lockshim.report import StderrReporter, guarded

F = TypeVar("F", bound=Callable[..., Any])


def progress_bar(total: int, label: str) -> Any:
    """A click progress bar on stderr (shown while hashing and fetching)."""
    return click.progressbar(length=total, label=label, file=sys.stderr)


def errors(function: F) -> F:
    """Turn lockshim's errors and signals into a message and the documented exit status."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        status = guarded(lambda: function(*args, **kwargs))
        if status:
            sys.exit(status)

    return wrapper  # type: ignore[return-value]


def project_option(function: F) -> F:
    return click.option(
        "--project",
        type=click.Path(file_okay=False, path_type=Path),
        help="The project folder (default: the nearest folder with uv.lock, upward).",
    )(function)


def source_options(function: F) -> F:
    options = [
        click.option(
            "-w",
            "--wheelhouse",
            "wheelhouse",
            multiple=True,
            type=Folder(),
            help="A folder of wheels and sdists, searched recursively (repeatable). Default: "
            "[tool.lockshim] wheelhouses, else LOCKSHIM_WHEELHOUSE.",
        ),
        click.option(
            "--pip-cache",
            type=Folder(),
            help="pip's cache folder to serve from (default: the one pip uses).",
        ),
        click.option("--no-pip-cache", is_flag=True, help="Do not look in pip's cache."),
        *mirror_options(),
    ]
    for option in reversed(options):
        function = option(function)
    return function


def mirror_options() -> list[Callable[[F], F]]:
    return [
        click.option(
            "--mirror",
            metavar="URL",
            help="A company index (its simple API root) to take the locked registry files "
            "no local source holds from, by file name, checked by digest. Default: "
            "LOCKSHIM_MIRROR, else [tool.lockshim] mirror.",
        ),
        click.option(
            "--mirror-for",
            multiple=True,
            metavar="REGISTRY",
            help="Only the locked registries with this URL come from the mirror (repeatable; "
            "default: all).",
        ),
    ]


class Folder(click.ParamType):  # type: ignore[type-arg]  # generic only in click 8.2+
    """A folder name; an empty one (`--wheelhouse=`) is a mistake, never the current folder."""

    name = "folder"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Path:
        if isinstance(value, Path):
            return value
        if not str(value).strip():
            self.fail("an empty folder name; name the folder.", param, ctx)
        return Path(value)


def target_options(verb: str, *, repeatable: bool = False) -> Callable[[F], F]:
    """``--uv``, ``--python`` and ``--python-platform``, as plan, fetch and bundle take them
    (``repeatable``: each ``--python`` with each ``--python-platform``)."""
    more = " (repeatable; each with each --python)" if repeatable else ""

    def decorate(function: F) -> F:
        options = [
            click.option("--uv", "uv_path", metavar="PATH", help="The uv binary (as for sync)."),
            click.option(
                "--python",
                "pythons" if repeatable else "python",
                multiple=repeatable,
                metavar="X.Y",
                help=f"{verb} for this Python version{' (repeatable)' if repeatable else ''}.",
            ),
            click.option(
                "--python-platform",
                "platforms" if repeatable else "python_platform",
                multiple=repeatable,
                metavar="TRIPLE",
                help=f"{verb} for another platform, named as uv names it (e.g. "
                f"x86_64-manylinux_2_28, aarch64-apple-darwin, x86_64-pc-windows-msvc){more}.",
            ),
        ]
        for option in reversed(options):
            function = option(function)
        return function

    return decorate


def download_bar() -> Callable[[object, int, int], None]:
    """A progress bar per batch of downloads (fetch, bundle), on stderr."""
    bars: list[Any] = []

    def progress(outcome: object, done: int, total: int) -> None:
        if not bars:
            bars.append(progress_bar(total, "lockshim: fetching"))
            bars[-1].update(done - 1)  # a batch that files joined after the last bar ended
        bars[-1].length = total  # files join a batch while it runs (build requirements)
        bars[-1].update(1)
        if done >= total:
            bars.pop().render_finish()

    return progress


def make_reporter(quiet: bool = False) -> StderrReporter:
    return StderrReporter(quiet, bar=progress_bar)


def download_options(leave_out: str) -> Callable[[F], F]:
    """``--all-platforms``, ``--no-build-deps`` and ``--jobs``, as fetch and bundle take them."""

    def decorate(function: F) -> F:
        options = [
            click.option(
                "--all-platforms", is_flag=True, help="Every file of the selected packages."
            ),
            click.option(
                "--no-build-deps",
                is_flag=True,
                help=f"{leave_out} what building the project and sdists needs.",
            ),
            click.option(
                "--jobs",
                "-j",
                type=click.IntRange(1, 64),
                default=16,  # lockshim.sources.download.AT_ONCE
                show_default=True,
                help="Downloads at once.",
            ),
            click.option(
                "-q",
                "--quiet",
                is_flag=True,
                help="Print only warnings, errors and what failed (no progress bar).",
            ),
        ]
        for option in reversed(options):
            function = option(function)
        return function

    return decorate


def pip_cache_choice(pip_cache: Path | None, no_pip_cache: bool) -> bool | Path | None:
    if no_pip_cache:
        return False
    return pip_cache


class PassesToUv(click.Command):
    """A command whose uv arguments follow `--`: an unknown option gets that hint."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except click.NoSuchOption as error:
            close = sorted(error.possibilities or ())
            hint = f"No such option: {error.option_name}."
            if close:  # a lockshim option mistyped, most likely
                hint += f" Did you mean {' or '.join(close)}?"
            hint += (
                f" If it is a uv option, put it after `--`: "
                f"`lockshim {self.name} [OPTIONS] -- {error.option_name} ...`"
            )
            raise click.UsageError(hint, ctx) from None
