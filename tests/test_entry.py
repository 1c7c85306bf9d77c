"""The click-free start of `lockshim sync` reads command lines exactly as click does."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from lockshim.cli.main import sync as sync_command
from lockshim.entry import SYNC_FLAGS, SYNC_OPTIONS, parse_sync

ACCEPTED = [
    [],
    ["-q"],
    ["--mirror", "https://m.example/simple", "--mirror-for", "https://pypi.org/simple", "-q"],
    ["--mirror=http://u:p@m:8080/root/pypi/+simple/"],
    ["--", "--all-extras", "--group", "dev"],
    ["-w", "a", "--wheelhouse", "b c", "--wheelhouse=d", "--", "-q"],
    ["--project", "p", "--project=q"],
    ["--pip-cache", "/c", "--no-pip-cache", "--online", "--quiet"],
    ["--uv", "/opt/uv/bin/uv", "-w", "wh", "--", "--", "--frozen"],
    ["--online", "--", "--project", "elsewhere"],
]
FOR_CLICK = [
    ["--help"],
    ["-h"],
    ["--bogus"],
    ["-w"],
    ["-w", "--online"],
    ["-wdir"],
    ["-qw", "dir"],
    ["--project="],
    ["--online=yes"],
    ["stray"],
    ["--all-extras"],
]


def _click_params(args: list[str]) -> dict[str, object]:
    context = sync_command.make_context("sync", list(args))
    return dict(context.params)


def _normalized(params: dict[str, object]) -> dict[str, object]:
    defaults: dict[str, object] = {
        "project": None,
        "wheelhouse": (),
        "pip_cache": None,
        "no_pip_cache": False,
        "uv_path": None,
        "mirror": None,
        "mirror_for": (),
        "online": False,
        "quiet": False,
        "uv_args": (),
    }
    return {**defaults, **params}


@pytest.mark.parametrize("args", ACCEPTED, ids=lambda a: " ".join(a) or "(none)")
def test_fast_parser_agrees_with_click(args: list[str]) -> None:
    fast = parse_sync(args)
    assert fast is not None
    assert _normalized(fast) == _click_params(args)


@pytest.mark.parametrize("args", FOR_CLICK, ids=lambda a: " ".join(a))
def test_anything_else_goes_to_click(args: list[str]) -> None:
    assert parse_sync(args) is None


def test_the_fast_parser_knows_every_sync_option() -> None:
    names = {
        opt
        for param in sync_command.params
        for opt in (*getattr(param, "opts", ()), *getattr(param, "secondary_opts", ()))
        if opt.startswith("-") and opt not in ("-h", "--help")
    }
    assert names == set(SYNC_OPTIONS) | set(SYNC_FLAGS)


def test_sync_does_not_import_click(tmp_path: Path) -> None:
    """A plain `lockshim sync` never loads click (it fails here: no uv.lock, which is fine)."""
    probe = (
        "import sys, runpy; sys.argv = ['lockshim', 'sync', '-q']\n"
        "try:\n    runpy.run_module('lockshim', run_name='__main__')\n"
        "except SystemExit as e:\n    print(e.code, 'click' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    assert result.stdout.split() == ["3", "False"]
    assert "no uv.lock" in result.stderr


def test_the_download_bar_counts_files_that_join_a_batch_after_its_bar_ended(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Build requirements join a fetch's batch after the lock's own files are all done: the
    bar drawn for them goes on from where the batch is, to its new total."""
    from lockshim.cli import options

    class Bar:
        def __init__(self, length: int) -> None:
            self.length, self.pos, self.finished = length, 0, False

        def update(self, n: int) -> None:
            self.pos += n

        def render_finish(self) -> None:
            self.finished = True

    drawn: list[Bar] = []

    def bar(total: int, label: str) -> Bar:
        drawn.append(Bar(total))
        return drawn[-1]

    monkeypatch.setattr(options, "progress_bar", bar)
    progress = options.download_bar()
    for done in (1, 2, 3):
        progress(None, done, 3)  # the lock's own files
    for done in (4, 5):
        progress(None, done, 5)  # two build requirements, added later
    assert [(b.length, b.pos, b.finished) for b in drawn] == [(3, 3, True), (5, 5, True)]


def test_the_jobs_options_default_is_the_downloaders() -> None:
    """The CLI does not import the downloader to start (it says its default as a literal):
    the two stay one number."""
    from lockshim.cli.main import cli
    from lockshim.sources.download import AT_ONCE

    for name in ("fetch", "bundle"):
        (jobs,) = [p for p in cli.commands[name].params if p.name == "jobs"]
        assert jobs.default == AT_ONCE, name
