"""The command line: a thin layer over the library, and the only module that knows click.

`lockshim sync` usually starts in lockshim.entry without loading this module at all.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from lockshim import __version__
from lockshim.report import StderrReporter, guarded
from lockshim.sources.local import SourceOptions

F = TypeVar("F", bound=Callable[..., Any])


def progress_bar(total: int, label: str) -> Any:
    """A click progress bar on stderr (shown while hashing and fetching)."""
    return click.progressbar(length=total, label=label, file=sys.stderr)


def _errors(function: F) -> F:
    """Turn lockshim's errors and signals into a message and the documented exit status."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        status = guarded(lambda: function(*args, **kwargs))
        if status:
            sys.exit(status)

    return wrapper  # type: ignore[return-value]


def _project_option(function: F) -> F:
    return click.option(
        "--project",
        type=click.Path(file_okay=False, path_type=Path),
        help="The project folder (default: the nearest folder with uv.lock, upward).",
    )(function)


def _source_options(function: F) -> F:
    options = [
        click.option(
            "-w",
            "--wheelhouse",
            "wheelhouse",
            multiple=True,
            type=_Folder(),
            help="A folder of wheels and sdists, searched recursively (repeatable). Default: "
            "[tool.lockshim] wheelhouses, else LOCKSHIM_WHEELHOUSE.",
        ),
        click.option(
            "--pip-cache",
            type=_Folder(),
            help="pip's cache folder to serve from (default: the one pip uses).",
        ),
        click.option("--no-pip-cache", is_flag=True, help="Do not look in pip's cache."),
        *_mirror_options(),
    ]
    for option in reversed(options):
        function = option(function)
    return function


def _mirror_options() -> list[Callable[[F], F]]:
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


class _Folder(click.ParamType):  # type: ignore[type-arg]  # generic only in click 8.2+
    """A folder name; an empty one (`--wheelhouse=`) is a mistake, never the current folder."""

    name = "folder"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Path:
        if isinstance(value, Path):
            return value
        if not str(value).strip():
            self.fail("an empty folder name; name the folder.", param, ctx)
        return Path(value)


def _target_options(verb: str, *, repeatable: bool = False) -> Callable[[F], F]:
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


def _download_bar() -> Callable[[object, int, int], None]:
    """A progress bar per batch of downloads (fetch, bundle), on stderr."""
    bars: list[Any] = []

    def progress(outcome: object, done: int, total: int) -> None:
        if not bars:
            bars.append(progress_bar(total, "lockshim: fetching"))
        bars[-1].update(1)
        if done >= total:
            bars.pop().render_finish()

    return progress


def _reporter(quiet: bool = False) -> StderrReporter:
    return StderrReporter(quiet, bar=progress_bar)


def _download_options(leave_out: str) -> Callable[[F], F]:
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
                default=8,
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


def _pip_cache(pip_cache: Path | None, no_pip_cache: bool) -> bool | Path | None:
    if no_pip_cache:
        return False
    return pip_cache


class _PassesToUv(click.Command):
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


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="lockshim")
def cli() -> None:
    """Serve uv.lock from local files: offline `uv sync` from wheelhouses and pip's cache."""


@cli.command(cls=_PassesToUv, context_settings={"ignore_unknown_options": False})
@_project_option
@_source_options
@click.option(
    "--uv",
    "uv_path",
    metavar="PATH",
    help="The uv binary (default: LOCKSHIM_UV, else `uv` on PATH, else the `uv` Python package).",
)
@click.option("--online", is_flag=True, help="Let uv fetch what is not found locally.")
@click.option("-q", "--quiet", is_flag=True, help="Print only warnings and errors (uv's too).")
@click.argument("uv_args", nargs=-1, type=click.UNPROCESSED, metavar="[-- UV_SYNC_ARGS...]")
def sync(
    project: Path | None,
    wheelhouse: tuple[Path, ...],
    pip_cache: Path | None,
    no_pip_cache: bool,
    mirror: str | None,
    mirror_for: tuple[str, ...],
    uv_path: str | None,
    online: bool,
    quiet: bool,
    uv_args: tuple[str, ...],
) -> None:
    """Run `uv sync --offline --frozen` with uv.lock served from local files.

    Artifacts whose sha256 (and size) match a local file are rewritten to file:// URLs for the
    length of the run; uv.lock is put back byte for byte afterwards, whatever happens.
    Everything after `--` goes to `uv sync`.
    """
    from lockshim.commands.sync import sync as run_sync

    sys.exit(
        guarded(
            lambda: run_sync(
                project_dir=project,
                sources=SourceOptions(
                    wheelhouse, _pip_cache(pip_cache, no_pip_cache), mirror, mirror_for
                ),
                uv_path=uv_path,
                online=online,
                uv_args=list(uv_args),
                reporter=_reporter(quiet),
                quiet=quiet,
            )
        )
    )


@cli.command()
@_project_option
@click.option(
    "--force",
    is_flag=True,
    help="Write the original back even if uv.lock was changed meanwhile "
    "(the current file is saved as uv.lock.lockshim-replaced).",
)
@_errors
def restore(project: Path | None, force: bool) -> None:
    """Finish the restore of uv.lock after an interrupted `lockshim sync`.

    Every lock with a journal in the project's folder is restored (uv.lock and PEP 723 script
    locks), also when the lock itself was deleted.
    """
    from lockshim.commands.restore import run_restore

    run_restore(project, force, _reporter())


@cli.command(cls=_PassesToUv)
@_project_option
@_source_options
@_target_options("Plan")
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON.")
@click.argument("uv_args", nargs=-1, type=click.UNPROCESSED, metavar="[-- UV_SYNC_ARGS...]")
@_errors
def plan(
    project: Path | None,
    wheelhouse: tuple[Path, ...],
    pip_cache: Path | None,
    no_pip_cache: bool,
    mirror: str | None,
    mirror_for: tuple[str, ...],
    uv_path: str | None,
    python: str | None,
    python_platform: str | None,
    as_json: bool,
    uv_args: tuple[str, ...],
) -> None:
    """Show what `uv sync` would install here and where each file would come from.

    Exit 0 when every file uv needs is local, 1 when some are missing (each named, with the
    file uv wants and its sha256).
    """
    from lockshim.commands.plan import run_plan

    result = run_plan(
        project_dir=project,
        sources=SourceOptions(wheelhouse, _pip_cache(pip_cache, no_pip_cache), mirror, mirror_for),
        uv_path=uv_path,
        python=python,
        platform=python_platform,
        uv_args=uv_args,
        reporter=_reporter(quiet=as_json),
    )
    click.echo(result.json() if as_json else result.text())
    sys.exit(result.status)


@cli.command()
@click.argument("files", nargs=-1, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--allow",
    multiple=True,
    metavar="PACKAGE",
    help="A package whose local source is intended (repeatable; also [tool.lockshim] check-allow).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the findings as JSON.")
@_errors
def check(files: tuple[Path, ...], allow: tuple[str, ...], as_json: bool) -> None:
    """Refuse a uv.lock with machine-local sources, or one left shimmed by lockshim.

    FILES default to the uv.lock of the project found from the current folder. Exit 0 when
    clean, 1 with findings, 2 when a file cannot be read. For pre-commit: hook id
    `lockshim-check`.
    """
    from lockshim.commands.check import check as run_check
    from lockshim.project import find_project

    paths = list(files) or [find_project().lock_path]
    report = run_check(paths, allow)
    output = report.json() if as_json else report.text()
    if not output and report.status == 0:
        names = ", ".join(str(p) for p in paths)
        output = f"{names}: clean (no machine-local sources, no interrupted lockshim run)."
    if output:
        click.echo(output, err=not as_json and report.status == 2)
    sys.exit(report.status)


@cli.command(cls=_PassesToUv)
@click.option(
    "--dest",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="The wheelhouse to fill (created if needed).",
)
@_project_option
@_target_options("Fetch", repeatable=True)
@_mirror_options()[0]
@_mirror_options()[1]
@_download_options("Do not fetch")
@click.option(
    "--build",
    is_flag=True,
    help="Also build a wheel from each sdist the target installs, once, for sync to use "
    "(this machine's Python, or --python).",
)
@click.option("--json", "as_json", is_flag=True, help="Print what was done as JSON.")
@click.argument("uv_args", nargs=-1, type=click.UNPROCESSED, metavar="[-- UV_SYNC_ARGS...]")
@_errors
def fetch(
    dest: Path,
    project: Path | None,
    uv_path: str | None,
    pythons: tuple[str, ...],
    platforms: tuple[str, ...],
    mirror: str | None,
    mirror_for: tuple[str, ...],
    all_platforms: bool,
    no_build_deps: bool,
    jobs: int,
    quiet: bool,
    build: bool,
    as_json: bool,
    uv_args: tuple[str, ...],
) -> None:
    """Fill a wheelhouse with the files uv.lock pins, checked by sha256 as they stream.

    By default the files `uv sync UV_SYNC_ARGS` would install on the interpreter uv would use
    here, plus what building the project and any sdist needs; with --python and
    --python-platform (both repeatable), for each target. Files already there are skipped.
    """
    from lockshim.commands.fetch import merged, run_fetch

    reporter = _reporter(quiet=as_json or quiet)
    progress = _download_bar() if not (as_json or quiet) and sys.stderr.isatty() else None

    if build and (platforms or all_platforms):
        raise click.UsageError(
            "--build builds with an interpreter here: not with --python-platform or "
            "--all-platforms."
        )
    targets = (
        [(None, None)]
        if all_platforms
        else [
            (python, platform)
            for python in (pythons or (None,))
            for platform in (platforms or (None,))
        ]
    )
    reports = [
        run_fetch(
            project_dir=project,
            dest=dest,
            uv_path=uv_path,
            python=python,
            platform=platform,
            all_platforms=all_platforms,
            build_deps=not no_build_deps,
            jobs=jobs,
            uv_args=uv_args,
            reporter=reporter,
            on_done=progress,
            build_wheels=build,
            mirror_url=mirror,
            mirror_for=mirror_for,
        )
        for python, platform in targets
    ]
    report = merged(reports)
    if quiet and not as_json and report.status == 0:
        sys.exit(0)
    click.echo(report.json() if as_json else report.text(), err=not as_json)
    sys.exit(report.status)


@cli.command(cls=_PassesToUv)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The bundle file to write.",
)
@click.option(
    "--verify",
    "verify_path",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Check every member of this bundle against its manifest instead.",
)
@_project_option
@_source_options
@click.option("--uv", "uv_path", metavar="PATH", help="The uv binary (as for sync).")
@click.option(
    "--python", "pythons", multiple=True, metavar="X.Y", help="A target Python (repeatable)."
)
@click.option(
    "--python-platform",
    "platforms",
    multiple=True,
    metavar="TRIPLE",
    help="A target platform, as uv names it (repeatable; each with each --python).",
)
@_download_options("Leave out")
@click.option(
    "--self-contained",
    is_flag=True,
    help="Also carry lockshim and uv: `python FILE sync` then needs nothing but Python.",
)
@click.option("--json", "as_json", is_flag=True, help="Print what was done as JSON.")
@click.argument("uv_args", nargs=-1, type=click.UNPROCESSED, metavar="[-- UV_SYNC_ARGS...]")
@_errors
def bundle(
    output: Path | None,
    verify_path: Path | None,
    project: Path | None,
    wheelhouse: tuple[Path, ...],
    pip_cache: Path | None,
    no_pip_cache: bool,
    mirror: str | None,
    mirror_for: tuple[str, ...],
    uv_path: str | None,
    pythons: tuple[str, ...],
    platforms: tuple[str, ...],
    all_platforms: bool,
    no_build_deps: bool,
    self_contained: bool,
    jobs: int,
    quiet: bool,
    as_json: bool,
    uv_args: tuple[str, ...],
) -> None:
    """Write one file with everything `lockshim sync UV_SYNC_ARGS` needs on the targets.

    The bundle holds the lock's files (stored as they are), their build requirements, git
    sources as bundles, a copy of uv.lock and pyproject.toml, and a manifest of sha256 values.
    Local sources are used first; what they lack is fetched. On the far side:
    `lockshim sync --wheelhouse FILE`. `--verify FILE` checks a bundle.
    """
    from lockshim.commands import bundle as bundles
    from lockshim.uv.target import Requested

    if (output is None) == (verify_path is None):
        raise click.UsageError("give either -o FILE (to write a bundle) or --verify FILE.")
    if verify_path is not None:
        from lockshim.sources.bundlefile import verify

        checked = verify(verify_path)
        click.echo(checked.text())
        sys.exit(checked.status)
    assert output is not None
    targets = [
        Requested(python, platform)
        for python in (pythons or (None,))
        for platform in (platforms or (None,))
    ]
    report = bundles.make_bundle(
        project_dir=project,
        output=output,
        sources=SourceOptions(wheelhouse, _pip_cache(pip_cache, no_pip_cache), mirror, mirror_for),
        uv_path=uv_path,
        targets=targets,
        all_platforms=all_platforms,
        build_deps=not no_build_deps,
        jobs=jobs,
        uv_args=uv_args,
        reporter=_reporter(quiet=as_json or quiet),
        self_contained=self_contained,
        on_done=_download_bar() if not (as_json or quiet) and sys.stderr.isatty() else None,
    )
    if not (quiet and not as_json and report.status == 0):
        click.echo(report.json() if as_json else report.text(), err=not as_json)
    sys.exit(report.status)


def main(args: list[str] | None = None) -> None:
    cli.main(args=args, prog_name="lockshim")
