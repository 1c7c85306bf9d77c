"""Row 12: a lab's shared wheelhouse. `lockshim plan` of a packaged app (hatchling, editable:
its build requirements are looked for too) over 15,000 other projects' wheels (50 folders,
sizes colliding with the app's files) plus the files it needs, against the same plan over the
needed files alone: the second plan (hash index written) and the first (nothing hashed yet).
What a sync needs should cost, not what the folder holds. Local disk: a network drive was not
measured.
"""

from __future__ import annotations

import functools
import shutil
from pathlib import Path

from common import WORK, Row, compare, lockshim_cmd, run, timed, uv_bin

from fixtures import APP_DEPENDENCIES, app_project, build_wheels, lab_wheelhouse, loopback_index


def _packaged() -> tuple[Path, Path]:
    """The app as a packaged project locked against a loopback index of its wheels and its
    build requirements; (project, the files it needs)."""
    _, wheels = app_project()
    needed = WORK / "lab-needed-alone"
    project = WORK / "lab-project"
    if (project / "uv.lock").is_file() and needed.is_dir():
        return project, needed
    shutil.rmtree(needed, ignore_errors=True)
    needed.mkdir()
    for wheel in [*wheels.glob("*.whl"), *build_wheels().glob("*.whl")]:
        shutil.copy(wheel, needed)
    shutil.rmtree(project, ignore_errors=True)
    (project / "src" / "app").mkdir(parents=True)
    (project / "src" / "app" / "__init__.py").write_text("")
    deps = ", ".join(f'"{d}"' for d in APP_DEPENDENCIES)
    (project / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"\n\n'
        '[project]\nname = "app"\nversion = "0.1.0"\nrequires-python = ">=3.10"\n'
        f"dependencies = [{deps}]\n\n[tool.uv]\n"
        "environments = [\"sys_platform == 'linux' and python_version == '3.11'\"]\n"
    )
    with loopback_index(needed) as index_url:
        run([uv_bin(), "lock", "--index-url", index_url], project)
    return project, needed


def measure(pairs: int, count: int = 15_000) -> list[Row]:
    project, alone = _packaged()
    lab = lab_wheelhouse(alone, count)

    def plan(folder: Path, first: bool = False) -> float:
        def forget() -> None:
            if first:
                (folder / ".lockshim-index.json").unlink(missing_ok=True)

        command = [*lockshim_cmd(), "plan", "--no-pip-cache", "-w", str(folder)]
        return timed(command, project, before=forget)

    plan(lab)
    plan(alone)  # both indexed
    return [
        compare(
            f"12. second plan: {count:,} other wheels + the needed / the needed alone",
            functools.partial(plan, lab),
            functools.partial(plan, alone),
            pairs,
            1.2,
        ),
        compare(
            f"12b. first plan (nothing hashed): {count:,} other wheels + the needed / the "
            "needed alone",
            functools.partial(plan, lab, True),
            functools.partial(plan, alone, True),
            pairs,
            1.5,
        ),
    ]
