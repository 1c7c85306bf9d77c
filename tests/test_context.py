"""Run-wide state lives in the run (a context variable), so a second run starts fresh."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from lockshim import context
from lockshim.sources import git as gitsources
from lockshim.uv import cache as uvcache
from lockshim.uv import runner


def test_what_one_run_said_is_not_said_for_the_next() -> None:
    context.start_run().notes.append("skipped A.bundle: ...")
    assert gitsources.skipped() == ["skipped A.bundle: ..."]
    context.start_run()
    assert gitsources.skipped() == []


def test_a_uv_run_asked_ahead_answers_its_own_run_only(tmp_path: Path) -> None:
    counter = tmp_path / "runs"
    command = [sys.executable, "-c", f"open({str(counter)!r}, 'a').write('x')"]
    context.start_run()
    runner.ask_ahead(command)
    runner.answer(command)
    runner.answer(command)  # the answer asked ahead, kept for the rest of the run
    assert counter.read_text() == "x"
    context.start_run()
    runner.answer(command)  # a new run asks again
    assert counter.read_text() == "xx"


@pytest.mark.skipif(sys.platform == "win32", reason="a shell script stands in for uv")
def test_uv_cache_folder_is_asked_once_a_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_uv = tmp_path / "uv"
    fake_uv.write_text(f"#!/bin/sh\necho x >> {tmp_path / 'asked'}\necho {tmp_path / 'cache'}\n")
    fake_uv.chmod(0o755)
    monkeypatch.delenv("UV_CACHE_DIR", raising=False)
    monkeypatch.delenv("UV_NO_CACHE", raising=False)
    context.start_run()
    assert uvcache.cache_dir(fake_uv, []) == tmp_path / "cache"
    assert uvcache.cache_dir(fake_uv, []) == tmp_path / "cache"
    assert (tmp_path / "asked").read_text() == "x\n"
    context.start_run()
    uvcache.cache_dir(fake_uv, [])
    assert (tmp_path / "asked").read_text() == "x\nx\n"
