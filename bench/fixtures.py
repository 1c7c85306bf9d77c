"""The benchmark's inputs, each made once and kept in bench/.work/."""

from __future__ import annotations

import contextlib
import hashlib
import http.server
import random
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from common import PYTHON, WORK, run, uv_bin

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


def build_wheels() -> Path:
    """hatchling, what it needs and editables (a packaged app's build requirements), once."""
    folder = WORK / "build-wheels"
    if folder.is_dir() and any(folder.glob("hatchling-*.whl")):
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    run(
        [
            PYTHON,
            "-m",
            "pip",
            "download",
            "--only-binary=:all:",
            "-d",
            str(folder),
            "--index-url",
            "https://pypi.org/simple",
            "hatchling",
            "editables",
        ]
    )
    return folder


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


def lab_wheelhouse(needed: Path, count: int = 15_000, folders: int = 50) -> Path:
    """A lab's shared wheelhouse, made deterministically once: ``count`` small wheels of other
    projects (3,000 projects x 5 versions, 1-24 KB of random bytes) in ``folders`` folders,
    one in ten the exact size of one of the needed files under 100 KB (other bytes: a size
    alone proves nothing), and the needed files themselves in a folder of their own."""
    root = WORK / f"lab-wheelhouse-{count}-{needed.name}"
    if (root / ".complete").is_file():
        return root
    shutil.rmtree(root, ignore_errors=True)
    rng = random.Random(15)
    small = sorted(p.stat().st_size for p in needed.iterdir() if p.stat().st_size < 100_000)
    for number in range(count):
        folder = root / f"group{number % folders:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        project, version = number // 5, number % 5
        if small and number % 10 == 0:
            size = small[number // 10 % len(small)]
        else:
            size = rng.randint(1_000, 24_000)
        name = f"labpkg{project:04d}-1.{version}.0-py3-none-any.whl"
        (folder / name).write_bytes(rng.randbytes(size))
    shutil.copytree(needed, root / "app", ignore=shutil.ignore_patterns(".lockshim*"))
    (root / ".complete").write_text(f"{count} {folders}\n")
    return root


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

    _tests_support()
    from support.servers import handling

    with handling(Handler) as origin:
        yield f"{origin}/simple"


def _tests_support() -> None:
    """Make the tests' support package (tests/support) importable."""
    tests = str(Path(__file__).resolve().parents[1] / "tests")
    if tests not in sys.path:
        sys.path.insert(0, tests)


@contextlib.contextmanager
def pypiserver_on(folder: Path) -> Iterator[str]:
    """The tests' pypiserver (tests/support/servers.py); the row fails to set up without it."""
    _tests_support()
    from support.servers import ServerUnavailable, pypiserver

    try:
        with pypiserver(folder, "-a", ".", "-P", ".") as url:
            yield url
    except ServerUnavailable as error:
        raise SystemExit(str(error)) from None
