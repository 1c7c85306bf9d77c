"""The command line: a thin layer over the commands (lockshim.commands), and with
:mod:`lockshim.cli.options` the only place that knows click.

`lockshim sync` usually starts in lockshim.entry without loading this module at all.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from lockshim import __version__
from lockshim.cli.options import (
    PassesToUv,
    download_bar,
    download_options,
    errors,
    make_reporter,
    mirror_options,
    pip_cache_choice,
    project_option,
    source_options,
    target_options,
)
from lockshim.report import guarded
from lockshim.sources.local import SourceOptions


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="lockshim")
def cli() -> None:
    """Serve uv.lock from local files: offline `uv sync` from wheelhouses and pip's cache."""


@cli.command(cls=PassesToUv, context_settings={"ignore_unknown_options": False})
@project_option
@source_options
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
                    wheelhouse, pip_cache_choice(pip_cache, no_pip_cache), mirror, mirror_for
                ),
                uv_path=uv_path,
                online=online,
                uv_args=list(uv_args),
                reporter=make_reporter(quiet),
                quiet=quiet,
            )
        )
    )


@cli.command()
@project_option
@click.option(
    "--force",
    is_flag=True,
    help="Write the original back even if uv.lock was changed meanwhile "
    "(the current file is saved as uv.lock.lockshim-replaced).",
)
@errors
def restore(project: Path | None, force: bool) -> None:
    """Finish the restore of uv.lock after an interrupted `lockshim sync`.

    Every lock with a journal in the project's folder is restored (uv.lock and PEP 723 script
    locks), also when the lock itself was deleted.
    """
    from lockshim.commands.restore import run_restore

    run_restore(project, force, make_reporter())


@cli.command(cls=PassesToUv)
@project_option
@source_options
@target_options("Plan")
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON.")
@click.argument("uv_args", nargs=-1, type=click.UNPROCESSED, metavar="[-- UV_SYNC_ARGS...]")
@errors
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
        sources=SourceOptions(
            wheelhouse, pip_cache_choice(pip_cache, no_pip_cache), mirror, mirror_for
        ),
        uv_path=uv_path,
        python=python,
        platform=python_platform,
        uv_args=uv_args,
        reporter=make_reporter(quiet=as_json),
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
@errors
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


@cli.command(cls=PassesToUv)
@click.option(
    "--dest",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="The wheelhouse to fill (created if needed).",
)
@project_option
@target_options("Fetch", repeatable=True)
@mirror_options()[0]
@mirror_options()[1]
@download_options("Do not fetch")
@click.option(
    "--build",
    is_flag=True,
    help="Also build a wheel from each sdist the target installs, once, for sync to use "
    "(this machine's Python, or --python).",
)
@click.option("--json", "as_json", is_flag=True, help="Print what was done as JSON.")
@click.argument("uv_args", nargs=-1, type=click.UNPROCESSED, metavar="[-- UV_SYNC_ARGS...]")
@errors
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
    from lockshim.commands.fetch import FetchOptions, fetch_targets
    from lockshim.uv.target import Requested

    if build and (platforms or all_platforms):
        raise click.UsageError(
            "--build builds with an interpreter here: not with --python-platform or "
            "--all-platforms."
        )
    targets = [
        Requested(python, platform)
        for python in (pythons or (None,))
        for platform in (platforms or (None,))
    ]
    asked = FetchOptions(
        dest,
        all_platforms=all_platforms,
        build_deps=not no_build_deps,
        build_wheels=build,
        jobs=jobs,
        mirror=mirror,
        mirror_for=mirror_for,
    )
    report = fetch_targets(
        project,
        uv_path,
        uv_args,
        asked,
        [Requested(None, None)] if all_platforms else targets,
        make_reporter(quiet=as_json or quiet),
        download_bar() if not (as_json or quiet) and sys.stderr.isatty() else None,
    )
    if quiet and not as_json and report.status == 0:
        sys.exit(0)
    click.echo(report.json() if as_json else report.text(), err=not as_json)
    sys.exit(report.status)


@cli.command(cls=PassesToUv)
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
@project_option
@source_options
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
@download_options("Leave out")
@click.option(
    "--self-contained",
    is_flag=True,
    help="Also carry lockshim and uv: `python FILE sync` then needs nothing but Python.",
)
@click.option(
    "--with-project",
    is_flag=True,
    help="Also carry the project's own files (what git tracks): `python FILE sync --into DIR` "
    "then needs no copy of the project.",
)
@click.option(
    "--sign",
    "sign_key",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    metavar="KEY",
    help="Sign the finished file with this ssh key (a private key, or a public key whose "
    "private half is in ssh-agent): FILE.sig, checked with `ssh-keygen -Y verify`.",
)
@click.option(
    "--sbom",
    "sbom_path",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Write the CycloneDX SBOM of what the bundle installs to FILE (alone, without -o).",
)
@click.option(
    "--allowed-signers",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    metavar="FILE",
    help="With --verify: also check FILE.sig against these signers (ssh-keygen's format).",
)
@click.option("--json", "as_json", is_flag=True, help="Print what was done as JSON.")
@click.argument("uv_args", nargs=-1, type=click.UNPROCESSED, metavar="[-- UV_SYNC_ARGS...]")
@errors
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
    with_project: bool,
    sign_key: Path | None,
    sbom_path: Path | None,
    allowed_signers: Path | None,
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

    if (output is None and sbom_path is None) == (verify_path is None):
        raise click.UsageError(
            "give -o FILE (to write a bundle), --sbom FILE (its SBOM alone) or --verify FILE."
        )
    if verify_path is not None:
        from lockshim.commands.bundle import verify_bundle

        text, status = verify_bundle(verify_path, allowed_signers)
        click.echo(text)
        sys.exit(status)
    if allowed_signers is not None:
        raise click.UsageError("--allowed-signers goes with --verify FILE.")
    targets = [
        Requested(python, platform)
        for python in (pythons or (None,))
        for platform in (platforms or (None,))
    ]
    asked = bundles.BundleOptions(
        output or Path(),
        SourceOptions(wheelhouse, pip_cache_choice(pip_cache, no_pip_cache), mirror, mirror_for),
        targets,
        all_platforms,
        not no_build_deps,
        jobs,
        self_contained,
        with_project,
        sign_key,
    )
    if output is None:
        assert sbom_path is not None
        written = bundles.write_sbom(
            project, uv_path, uv_args, asked, make_reporter(quiet), sbom_path
        )
        click.echo(f"wrote {written}: the CycloneDX SBOM of what the bundle would install.")
        sys.exit(0)
    report = bundles.make_bundle(
        project,
        uv_path,
        uv_args,
        asked,
        make_reporter(quiet=as_json or quiet),
        download_bar() if not (as_json or quiet) and sys.stderr.isatty() else None,
    )
    if sbom_path is not None:
        bundles.copy_sbom(report.output, sbom_path)
    if not (quiet and not as_json and report.status == 0):
        click.echo(report.json() if as_json else report.text(), err=not as_json)
    sys.exit(report.status)


@cli.command()
@click.argument(
    "bundle_path", metavar="BUNDLE", type=click.Path(dir_okay=False, exists=True, path_type=Path)
)
@click.option(
    "--to", "to", required=True, metavar="URL", help="The index's upload URL (as twine takes it)."
)
@click.option("--simple", metavar="URL", help="Its simple API, where not beside the upload URL.")
@click.option("--with-built", is_flag=True, help="Also publish wheels lockshim built from sdists.")
@click.option("--json", "as_json", is_flag=True, help="Print what was done as JSON.")
@errors
def publish(
    bundle_path: Path, to: str, simple: str | None, with_built: bool, as_json: bool
) -> None:
    """Upload a bundle's registry files to an index (pypiserver, devpi, Nexus, Artifactory).

    A file the index holds with the same digest is skipped; one it holds under the same name
    with other bytes is refused. Credentials: TWINE_USERNAME/TWINE_PASSWORD, UV_INDEX_<NAME>_*,
    netrc.
    """
    from lockshim.commands.publish import run_publish

    report = run_publish(bundle_path, to, make_reporter(quiet=as_json), simple, with_built)
    click.echo(report.json() if as_json else report.text(), err=not as_json)
    sys.exit(report.status)


@cli.group()
def cache() -> None:
    """lockshim's download cache: what fetch, bundle and a mirror downloaded, kept by digest."""


@cache.command()
@click.option("--max-size", type=float, default=0, metavar="MB", help="Keep at most this (MB).")
@errors
def prune(max_size: float) -> None:
    """Remove the least recently used downloads until the cache is within --max-size."""
    from lockshim.commands.cache import run_prune

    click.echo(run_prune(max_size))


def main(args: list[str] | None = None) -> None:
    cli.main(args=args, prog_name="lockshim")
