"""`lockshim plan`: for what `uv sync` would install here, where each file comes from
(:mod:`lockshim.plan.files`), with uv's verdict on the lock and what a mirror serves."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from lockshim.commands.session import prepared
from lockshim.plan import verdict
from lockshim.plan.files import Plan, plan_for, with_mirror
from lockshim.report import Reporter
from lockshim.sources.local import SourceOptions, find_local
from lockshim.uv import argv


def run_plan(
    *,
    project_dir: Path | None,
    sources: SourceOptions,
    uv_path: str | None,
    python: str | None,
    platform: str | None,
    uv_args: Sequence[str],
    reporter: Reporter,
) -> Plan:
    """`lockshim plan`: look for every file, then sort what uv would install into served and
    missing."""
    with prepared(project_dir, uv_path, reporter, uv_args) as (project, uv):
        verdict.ask_ahead(project.lock_path, uv.path, uv_args)
        found = find_local(project, sources, reporter.hashing)
        for path, reason in found.skipped:
            reporter.warn(f"skipped {path}: {reason}.")
        for note in found.notes:
            reporter.warn(note)
    lock_args = uv_args
    uv_args = argv.for_project(project_dir, uv_args)
    plan = plan_for(found, uv, uv_args, python, platform)  # while uv checks the lock
    judged = verdict.judge(found.lock, uv.path, lock_args)
    if judged.warning:
        reporter.warn(judged.warning)
    plan = plan._replace(stale=judged.refusal)
    mirror = sources.mirror_of(found.project)
    if mirror is None:
        return plan
    plan = plan._replace(build_mirror=mirror.label)
    return with_mirror(plan, found, mirror) if plan.missing else plan
