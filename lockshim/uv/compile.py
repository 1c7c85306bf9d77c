"""Build requirements resolved for a target by `uv pip compile` (all at once; where that fails,
one by one, so that one that cannot be resolved is named alone and the rest still come).
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from lockshim._compat import tomllib
from lockshim.uv.runner import Uv


def compile_requirements(
    uv: Uv,
    requirements: Sequence[str],
    index_url: str | None,
    python: str | None,
    platform: str | None,
    universal: bool,
    constraints: Path | None = None,
) -> dict[str, Any]:
    command = [
        str(uv.path),
        "pip",
        "compile",
        "-",
        "--format",
        "pylock.toml",
        "--quiet",
        "--no-header",
    ]
    if index_url:
        command += ["--index-url", index_url]
    if constraints:  # uv applies them to every build: the wheels fetched must fit them
        command += ["--constraint", str(constraints)]
    if universal:
        command.append("--universal")
    if python:
        command += ["--python-version", python]
    if platform:
        command += ["--python-platform", platform]
    result = subprocess.run(
        command, input="\n".join(requirements), capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise Unresolvable(uv_reason(result.stderr))
    return tomllib.loads(result.stdout)


class Unresolvable(Exception):
    pass


def uv_reason(stderr: str) -> str:
    """uv's own explanation in one line (its error chain, without the nesting marks)."""
    marks = " \u00d7\u2570\u2500\u25b6\u2502"  # uv's error-chain drawing
    lines = [line.strip(marks).strip() for line in stderr.splitlines()]
    lines = [re.sub(r"^(error|cause|caused by):\s*", "", line, flags=re.I) for line in lines]
    return " ".join(line for line in lines if line and not line.startswith("hint:"))[:400]


def in_background(
    resolve: Callable[..., tuple[list[dict[str, Any]], list[str]]],
    uv: Uv,
    requirements: Sequence[str],
    *options: Any,
) -> Future[tuple[list[dict[str, Any]], list[str]]] | None:
    """``resolve(uv, requirements, *options)`` in a thread of its own (None: nothing to do).
    It only runs `uv pip compile`, which a Ctrl-C on the terminal stops as well."""
    if not requirements:
        return None
    from concurrent.futures import ThreadPoolExecutor

    pool = ThreadPoolExecutor(max_workers=1)
    future = pool.submit(resolve, uv, requirements, *options)
    pool.shutdown(wait=False)
    return future


def resolve_build(
    uv: Uv, requirements: Sequence[str], *options: Any
) -> tuple[list[dict[str, Any]], list[str]]:
    """The resolved build requirements, and each one uv could not resolve with its reason.

    All at once first; if that fails, one by one, so that a requirement that cannot be resolved
    (a backend uv builds with itself, a private one) is named alone and the rest still come.
    """
    try:
        return [compile_requirements(uv, requirements, *options)], []
    except Unresolvable:
        pass
    resolved, unresolved = [], []
    for requirement in requirements:
        try:
            resolved.append(compile_requirements(uv, [requirement], *options))
        except Unresolvable as error:
            unresolved.append(f"{requirement}: {error}")
    return resolved, unresolved
