"""Row 9: what uv's own verdict on the lock (`uv lock --check --offline`, asked by every sync,
plan and bundle of a project) costs on the largest lock of the corpus of real locks
(vllm-spyre-next, 1.8 MB): `lockshim plan` / `lockshim plan -- --frozen` (uv's word for "install
it as it is": no check). Nothing is local, so both read the lock, ask uv for the plan and list
every file as missing; the only difference is the check.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

from common import WORK, Row, compare, env, lockshim_cmd

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "real-locks"
ENTRY = "vllm-spyre-next-1.8mb"


def measure(pairs: int) -> list[Row]:
    if not (CORPUS / ENTRY / "uv.lock").is_file():
        raise SystemExit(f"the corpus of real locks is not at {CORPUS}")
    project = WORK / "verdict" / ENTRY
    shutil.rmtree(project.parent, ignore_errors=True)
    shutil.copytree(CORPUS / ENTRY, project)
    for path in [project, *project.rglob("*")]:
        path.chmod(path.stat().st_mode | 0o200)
    subprocess.run(["git", "init", "-q", str(project)], check=True)
    cache = str(WORK / "verdict" / "uv-cache")
    plan = [*lockshim_cmd(), "plan", "--no-pip-cache"]

    def timed(command: list[str]) -> float:
        start = time.perf_counter()
        done = subprocess.run(
            command, cwd=project, env=env(UV_CACHE_DIR=cache), capture_output=True
        )
        if done.returncode != 1 or b"missing" not in done.stdout:  # nothing is local: 1
            raise SystemExit(f"failed: {' '.join(command)}\n{done.stdout!r}\n{done.stderr!r}")
        return time.perf_counter() - start

    return [
        compare(
            "9. uv's verdict on a 1.8 MB real lock: lockshim plan / lockshim plan -- --frozen "
            "(no check)",
            lambda: timed(plan),
            lambda: timed([*plan, "--", "--frozen"]),
            pairs,
            1.1,
        )
    ]
