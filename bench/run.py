"""lockshim's benchmark: one command, every ratio measured side by side in one run.

    python bench/run.py            # the full table (a few minutes)
    python bench/run.py --quick    # a smoke run
    python bench/run.py --only 2   # one row

Each ratio is the median of per-pair ratios of paired runs that alternate which command goes
first. The first run downloads real wheels and the peer `uv-wheel-download` from the package
index into bench/.work/ (kept for later runs); every measured run is local or on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import datetime
import functools
import hashlib
import http.server
import os
import random
import shutil
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

WORK = Path(__file__).resolve().parent / ".work"
PYTHON = sys.executable
APP_DEPENDENCIES = [
    "flask",
    "requests",
    "rich",
    "httpx",
    "pydantic",
    "click",
    "jinja2",
    "pyyaml",
    "attrs",
    "python-dateutil",
    "tqdm",
    "typer",
    "sqlalchemy",
]
NOOP_UV = f"""#!{PYTHON}
import sys
if sys.argv[1:2] == ["--version"]:
    print("uv 0.13.9 (no-op stand-in)")
"""


def uv_bin() -> str:
    from uv import find_uv_bin

    return str(find_uv_bin())


def lockshim_cmd() -> list[str]:
    script = Path(PYTHON).parent / "lockshim"
    return [str(script)] if script.exists() else [PYTHON, "-m", "lockshim"]


def env(**extra: str) -> dict[str, str]:
    """No pip/uv configuration of this machine; bytecode is written, as an installed tool's is."""
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PIP_", "UV_", "LOCKSHIM_")) and k != "PYTHONDONTWRITEBYTECODE"
    }
    clean.update(
        UV_NO_CONFIG="1",
        UV_PYTHON_DOWNLOADS="never",
        UV_PYTHON=PYTHON,
        PIP_CONFIG_FILE=os.devnull,
        PIP_DISABLE_PIP_VERSION_CHECK="1",
    )
    clean["PATH"] = os.pathsep.join([str(Path(uv_bin()).parent), clean.get("PATH", "")])
    clean.update(extra)
    return clean


def run(command: Sequence[str], cwd: Path | None = None, **extra: str) -> None:
    result = subprocess.run(
        list(command), cwd=cwd, env=env(**extra), capture_output=True, text=True
    )
    if result.returncode != 0:
        raise SystemExit(f"failed: {' '.join(command)}\n{result.stdout}\n{result.stderr}")


def timed(
    command: Sequence[str],
    cwd: Path | None = None,
    before: Callable[[], None] | None = None,
    **extra: str,
) -> float:
    if before is not None:
        before()
    start = time.perf_counter()
    run(command, cwd, **extra)
    return time.perf_counter() - start


def paired(
    ours: Callable[[], float], theirs: Callable[[], float], pairs: int
) -> tuple[float, float, float]:
    """(our median, their median, median of per-pair ratios), alternating who goes first."""
    mine, peer, ratios = [], [], []
    for number in range(pairs):
        if number % 2:
            b, a = theirs(), ours()
        else:
            a, b = ours(), theirs()
        mine.append(a)
        peer.append(b)
        ratios.append(a / b)
    return statistics.median(mine), statistics.median(peer), statistics.median(ratios)


def compare(
    name: str, ours: Callable[[], float], theirs: Callable[[], float], pairs: int, goal: float
) -> Row:
    """One row: ``ours`` against ``theirs``, whose ratio should be at most ``goal``."""
    a, b, ratio = paired(ours, theirs, pairs)
    return (name, a, b, ratio, f"<= {goal}", ratio <= goal)


# --- fixtures, made once --------------------------------------------------------------------------


def app_project() -> tuple[Path, Path]:
    """A ~40-package app locked against PyPI, with a wheelhouse of its real wheels (cached)."""
    root = WORK / "app"
    wheels = WORK / "app-wheels"
    if (root / "uv.lock").exists() and wheels.is_dir() and any(wheels.iterdir()):
        return root, wheels
    root.mkdir(parents=True, exist_ok=True)
    deps = ", ".join(f'"{d}"' for d in APP_DEPENDENCIES)
    (root / "pyproject.toml").write_text(
        f'[project]\nname = "app"\nversion = "0.1.0"\nrequires-python = ">=3.10"\n'
        f"dependencies = [{deps}]\n\n[tool.uv]\npackage = false\n"
    )
    run([uv_bin(), "lock", "--index-url", "https://pypi.org/simple"], root)
    requirements = root / "requirements.txt"
    run(
        [
            uv_bin(),
            "export",
            "--frozen",
            "--no-hashes",
            "--no-emit-project",
            "-o",
            str(requirements),
        ],
        root,
    )
    wheels.mkdir(exist_ok=True)
    run(
        [
            PYTHON,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--only-binary=:all:",
            "-d",
            str(wheels),
            "--index-url",
            "https://pypi.org/simple",
            "-r",
            str(requirements),
        ]
    )
    return root, wheels


def peer_venv() -> Path:
    venv = WORK / "peer-venv"
    tool = venv / "bin" / "uv-wheel-download"
    if not tool.exists():
        run([PYTHON, "-m", "venv", str(venv)])
        run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "uv-wheel-download"])
    return tool


def generated_lock(folder: Path, megabytes: float) -> Path:
    """A lock in uv's layout of about ``megabytes``, and a wheelhouse serving one wheel of each
    package (the cp311 manylinux one) with its real sha256 and size in the lock."""
    lock = folder / "uv.lock"
    if lock.exists():
        return folder
    rng = random.Random(int(megabytes * 10))
    wheelhouse = folder / "wheelhouse"
    wheelhouse.mkdir(parents=True)
    platforms = [
        "manylinux_2_17_x86_64.manylinux2014_x86_64",
        "manylinux_2_17_aarch64",
        "musllinux_1_2_x86_64",
        "macosx_11_0_arm64",
        "macosx_10_9_x86_64",
        "win_amd64",
        "win32",
    ]
    pythons = ["cp39", "cp310", "cp311", "cp312", "cp313"]
    words = ["data", "py", "fast", "lib", "core", "http", "json", "tools", "async", "io", "sci"]
    blocks = []
    names = []
    size = 0
    while size < megabytes * 1e6:
        name = f"{rng.choice(words)}-{rng.choice(words)}{len(names)}"
        names.append(name)
        version = f"{rng.randint(0, 9)}.{rng.randint(0, 30)}.{rng.randint(0, 9)}"
        module = name.replace("-", "_")
        lines = [
            "[[package]]",
            f'name = "{name}"',
            f'version = "{version}"',
            'source = { registry = "https://pypi.org/simple" }',
            "dependencies = [",
            f'    {{ name = "{rng.choice(names)}", marker = "sys_platform == \'linux\'" }},',
            "]",
            f'sdist = {{ url = "https://files.pythonhosted.org/p/{module}-{version}.tar.gz", '
            f'hash = "sha256:{hashlib.sha256(name.encode()).hexdigest()}", size = 12345, '
            'upload-time = "2024-08-26T20:19:40.945Z" }',
            "wheels = [",
        ]
        for python in pythons:
            for platform in rng.sample(platforms, 3) if python != "cp311" else platforms[:3]:
                filename = f"{module}-{version}-{python}-{python}-{platform}.whl"
                if python == "cp311" and platform == platforms[0]:
                    data = rng.randbytes(rng.randint(2000, 8000))
                    (wheelhouse / filename).write_bytes(data)
                    digest, length = hashlib.sha256(data).hexdigest(), len(data)
                else:
                    digest = hashlib.sha256(filename.encode()).hexdigest()
                    length = rng.randint(10_000, 9_000_000)
                lines.append(
                    f'    {{ url = "https://files.pythonhosted.org/packages/ab/cd/{filename}", '
                    f'hash = "sha256:{digest}", size = {length}, '
                    'upload-time = "2024-08-26T20:05:14.000Z" },'
                )
        lines += ["]", ""]
        block = "\n".join(lines)
        blocks.append(block)
        size += len(block)
    root = (
        '[[package]]\nname = "root"\nversion = "0.1.0"\nsource = { virtual = "." }\n'
        "dependencies = [\n" + "".join(f'    {{ name = "{n}" }},\n' for n in names) + "]\n"
    )
    header = 'version = 1\nrevision = 3\nrequires-python = ">=3.9"\n\n'
    lock.write_text(header + root + "\n" + "\n".join(blocks))
    (folder / "pyproject.toml").write_text(
        '[project]\nname = "root"\nversion = "0.1.0"\nrequires-python = ">=3.9"\n'
        "dependencies = []\n\n[tool.uv]\npackage = false\n"
    )
    return folder


def big_wheelhouse(folder: Path, total_mb: int) -> Path:
    """``total_mb`` of random-content files named as wheels, and a lock pinning each."""
    if (folder / "uv.lock").exists():
        return folder
    wheels = folder / "wheelhouse"
    wheels.mkdir(parents=True)
    rng = random.Random(4)
    entries = []
    count = max(1, total_mb // 10)
    for number in range(count):
        data = rng.randbytes(10 * 1024 * 1024)
        filename = f"big{number}-1.0-py3-none-any.whl"
        (wheels / filename).write_bytes(data)
        entries.append(
            f'[[package]]\nname = "big{number}"\nversion = "1.0"\n'
            'source = { registry = "https://pypi.org/simple" }\nwheels = [\n'
            f'    {{ url = "https://files.example.org/{filename}", hash = "sha256:'
            f'{hashlib.sha256(data).hexdigest()}", size = {len(data)} }},\n]\n'
        )
    deps = "".join(f'    {{ name = "big{n}" }},\n' for n in range(count))
    (folder / "uv.lock").write_text(
        'version = 1\nrevision = 3\nrequires-python = ">=3.9"\n\n'
        f'[[package]]\nname = "root"\nversion = "0.1.0"\nsource = {{ virtual = "." }}\n'
        f"dependencies = [\n{deps}]\n\n" + "\n".join(entries)
    )
    deps_list = ", ".join(f'"big{n}"' for n in range(count))
    (folder / "pyproject.toml").write_text(
        f'[project]\nname = "root"\nversion = "0.1.0"\nrequires-python = ">=3.9"\n'
        f"dependencies = [{deps_list}]\n\n[tool.uv]\npackage = false\n"
    )
    return folder


@contextmanager
def loopback_index(files: Path) -> Iterator[str]:
    """A PEP 503 index of ``files`` on 127.0.0.1; yields its /simple URL."""

    def digest(path: Path) -> str:
        return hashlib.sha256(path.read_bytes()).hexdigest()

    def project_of(name: str) -> str:
        return name.split("-")[0].lower().replace("_", "-").replace(".", "-")

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def send(self, body: bytes, kind: str = "application/octet-stream") -> None:
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "max-age=31536000")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def do_GET(self) -> None:
            parts = [p for p in self.path.split("/") if p]
            if parts[:1] == ["simple"] and len(parts) == 2:
                links = "".join(
                    f'<a href="/files/{f.name}#sha256={digest(f)}">{f.name}</a>\n'
                    for f in sorted(files.iterdir())
                    if project_of(f.name) == parts[1].lower()
                )
                self.send(f"<html><body>{links}</body></html>".encode(), "text/html")
            elif parts[:1] == ["files"] and (files / parts[-1]).is_file():
                self.send((files / parts[-1]).read_bytes())
            else:
                self.send_error(404)

        do_HEAD = do_GET

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/simple"
    finally:
        server.shutdown()
        server.server_close()


# --- the rows -------------------------------------------------------------------------------------

Row = tuple[str, float, float, float, str, bool]


def row_resync(pairs: int) -> list[Row]:
    project, wheels = app_project()
    cache = str(WORK / "uv-cache-resync")
    shutil.rmtree(project / ".venv", ignore_errors=True)
    run(
        [*lockshim_cmd(), "sync", "-q", "--no-pip-cache", "-w", str(wheels)],
        project,
        UV_CACHE_DIR=cache,
    )
    ours = functools.partial(
        timed,
        [*lockshim_cmd(), "sync", "-q", "--no-pip-cache", "-w", str(wheels)],
        project,
        UV_CACHE_DIR=cache,
    )
    theirs = functools.partial(
        timed, [uv_bin(), "sync", "-q", "--offline", "--frozen"], project, UV_CACHE_DIR=cache
    )
    return [
        compare(
            "1. re-sync, 43-package app: lockshim sync / uv sync --offline --frozen",
            ours,
            theirs,
            pairs,
            1.5,
        )
    ]


def row_overhead(pairs: int, sizes: Sequence[float]) -> list[Row]:
    noop = WORK / "noop-uv"
    noop.write_text(NOOP_UV)
    noop.chmod(0o755)
    rows: list[Row] = []
    ours_by_size = {}
    for megabytes in sizes:
        folder = generated_lock(WORK / f"lock-{megabytes}mb", megabytes)
        actual = (folder / "uv.lock").stat().st_size / 1e6
        wheels = str(folder / "wheelhouse")
        ours = functools.partial(
            timed,
            [*lockshim_cmd(), "sync", "-q", "--no-pip-cache", "-w", wheels, "--uv", str(noop)],
            folder,
        )
        theirs = functools.partial(
            timed,
            [uv_bin(), "sync", "--frozen", "--offline", "--dry-run", "-q"],
            folder,
            UV_CACHE_DIR=str(WORK / "uv-cache-dry"),
        )
        name = f"2. overhead, {actual:.1f} MB lock (uv step a no-op) / uv sync --dry-run"
        rows.append(compare(name, ours, theirs, pairs, 1.0))
        ours_by_size[megabytes] = rows[-1][1]
    if len(sizes) >= 2:
        growth = ours_by_size[sizes[-1]] / ours_by_size[sizes[-2]]
        rows.append(
            (
                f"2b. lockshim's time, {sizes[-1]} MB lock / {sizes[-2]} MB lock",
                ours_by_size[sizes[-1]],
                ours_by_size[sizes[-2]],
                growth,
                "<= 4.5",
                growth <= 4.5,
            )
        )
    return rows


def row_cold(pairs: int) -> list[Row]:
    project, wheels = app_project()
    caches = WORK / "cold-caches"

    def fresh() -> None:
        shutil.rmtree(project / ".venv", ignore_errors=True)
        shutil.rmtree(caches, ignore_errors=True)
        caches.mkdir()

    def ours() -> float:
        return timed(
            [*lockshim_cmd(), "sync", "-q", "--no-pip-cache", "-w", str(wheels)],
            project,
            before=fresh,
            UV_CACHE_DIR=str(caches),
        )

    def theirs() -> float:
        fresh()
        requirements = caches / "requirements.txt"
        start = time.perf_counter()
        cache = {"UV_CACHE_DIR": str(caches)}
        run(
            [uv_bin(), "export", "--frozen", "--no-emit-project", "-q", "-o", str(requirements)],
            project,
            **cache,
        )
        run([uv_bin(), "venv", "-q"], project, **cache)
        python = str(project / ".venv" / "bin" / "python")  # never UV_PYTHON's environment
        run(
            [
                uv_bin(),
                "pip",
                "sync",
                "-q",
                "--python",
                python,
                "--offline",
                "--no-index",
                "--find-links",
                str(wheels),
                "--require-hashes",
                str(requirements),
            ],
            project,
            **cache,
        )
        return time.perf_counter() - start

    return [
        compare(
            "3. cold offline install: lockshim sync / export + uv pip sync recipe",
            ours,
            theirs,
            pairs,
            1.0,
        )
    ]


def row_big_wheelhouse(pairs: int, total_mb: int) -> list[Row]:
    folder = big_wheelhouse(WORK / f"wheelhouse-{total_mb}mb", total_mb)
    index = folder / "wheelhouse" / ".lockshim-index.json"
    command = [*lockshim_cmd(), "plan", "--no-pip-cache", "-w", str(folder / "wheelhouse")]
    firsts, seconds, ratios, hashed_again = [], [], [], 0
    for _ in range(pairs):
        index.unlink(missing_ok=True)
        first = timed(command, folder)
        before = index.stat().st_mtime_ns
        second = timed(command, folder)
        hashed_again += index.stat().st_mtime_ns != before  # rewritten only if it hashed
        firsts.append(first)
        seconds.append(second)
        ratios.append(first / second)
    ratio = statistics.median(ratios)
    return [
        (
            f"4. {total_mb} MB wheelhouse: first lockshim plan / second (second hashed "
            f"{'nothing' if not hashed_again else 'AGAIN'})",
            statistics.median(firsts),
            statistics.median(seconds),
            ratio,
            ">= 20",
            ratio >= 20 and not hashed_again,
        )
    ]


def row_fetch(pairs: int) -> list[Row]:
    project, wheels = app_project()
    peer = peer_venv()
    folder = WORK / "fetch-project"
    rows: list[Row] = []
    with loopback_index(wheels) as index_url:
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        # The index holds the wheels for this machine only: lock for this environment alone.
        (folder / "pyproject.toml").write_text(
            (project / "pyproject.toml").read_text()
            + "environments = [\"sys_platform == 'linux' and python_version == '3.11'\"]\n"
        )
        run(
            [uv_bin(), "lock", "--index-url", index_url],
            folder,
            UV_CACHE_DIR=str(WORK / "uv-cache-fetch-lock"),
        )
        dest = WORK / "fetch-dest"

        def empty() -> None:
            shutil.rmtree(dest, ignore_errors=True)

        ours = functools.partial(
            timed,
            [*lockshim_cmd(), "fetch", "--dest", str(dest), "--no-build-deps"],
            folder,
            before=empty,
        )
        theirs = functools.partial(
            timed,
            [str(peer), "-d", str(dest), "-r", str(WORK / "peer-req.txt")],
            folder,
            before=empty,
        )
        rows.append(
            compare(
                "5. fill a wheelhouse: lockshim fetch / uv-wheel-download", ours, theirs, pairs, 1.0
            )
        )

        def pip_way() -> float:
            empty()
            requirements = WORK / "fetch-req.txt"
            start = time.perf_counter()
            run(
                [
                    uv_bin(),
                    "export",
                    "--frozen",
                    "--no-hashes",
                    "--no-emit-project",
                    "-q",
                    "-o",
                    str(requirements),
                ],
                folder,
            )
            run(
                [
                    PYTHON,
                    "-m",
                    "pip",
                    "download",
                    "--no-deps",
                    "-q",
                    "-d",
                    str(dest),
                    "--index-url",
                    index_url,
                    "--trusted-host",
                    "127.0.0.1",
                    "--no-cache-dir",
                    "-r",
                    str(requirements),
                ]
            )
            return time.perf_counter() - start

        rows.append(
            compare(
                "5b. fill a wheelhouse: lockshim fetch / uv export + pip download",
                ours,
                pip_way,
                pairs,
                0.2,
            )
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="few runs, small sizes")
    parser.add_argument("--only", type=int, action="append", help="run only these rows")
    options = parser.parse_args()
    WORK.mkdir(exist_ok=True)
    pairs = 3 if options.quick else 11
    wanted = set(options.only or [1, 2, 3, 4, 5])
    rows: dict[int, Callable[[], list[Row]]] = {
        1: lambda: row_resync(pairs),
        2: lambda: row_overhead(max(3, pairs // 2), [1.6] if options.quick else [1.6, 4, 16]),
        3: lambda: row_cold(max(3, pairs // 2)),
        4: lambda: row_big_wheelhouse(2 if options.quick else 3, 200 if options.quick else 1000),
        5: lambda: row_fetch(max(3, pairs // 2)),
    }
    uv_version = subprocess.run([uv_bin(), "--version"], capture_output=True, text=True).stdout
    print(
        f"lockshim benchmark, {datetime.date.today()}, {uv_version.strip()}, "
        f"{os.cpu_count()} cores, Python {sys.version.split()[0]}\n",
        flush=True,
    )
    print("| comparison | lockshim (s) | other (s) | ratio | goal | |")
    print("| --- | ---: | ---: | ---: | --- | --- |", flush=True)
    for number, measure in rows.items():
        if number not in wanted:
            continue
        try:
            measured = measure()
        except SystemExit as failure:  # one row failing to set up does not lose the others
            reason = " ".join(str(failure).split())[:300]
            print(f"| {number}. could not be measured: {reason} | | | | | |")
            continue
        for name, ours, theirs, ratio, goal, ok in measured:
            print(
                f"| {name} | {ours:.3f} | {theirs:.3f} | {ratio:.2f} | {goal} | "
                f"{'PASS' if ok else 'FAIL'} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
