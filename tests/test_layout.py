"""The layout the README describes: the pipeline's modules depend one way, sources plug in."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from support import build_wheel, sha256_of

from lockshim.lockfile.read import parse_lock
from lockshim.sources.base import LocalFile
from lockshim.sources.match import match

PACKAGE = Path(__file__).resolve().parent.parent / "lockshim"


def _runtime_imports(path: Path) -> set[str]:
    """lockshim modules ``path`` imports when it runs (``if TYPE_CHECKING:`` blocks left out)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped = {
        id(child)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
        for stmt in node.body
        for child in ast.walk(stmt)
    }
    found = set()
    for node in ast.walk(tree):  # module level and inside functions alike
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):  # import lockshim.x (as y)
            found |= {a.name for a in node.names if a.name.split(".")[0] == "lockshim"}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module.split(".")[0] != "lockshim":
                continue
            found.add(node.module)
            for alias in node.names:  # from lockshim import bundle (as bundles): a module
                name = f"{node.module}.{alias.name}"
                folder = PACKAGE.parent / name.replace(".", "/")
                if folder.with_suffix(".py").is_file() or (folder / "__init__.py").is_file():
                    found.add(name)
    return found


def _module(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def test_every_form_of_import_is_read() -> None:
    graph = {_module(p): _runtime_imports(p) for p in PACKAGE.rglob("*.py")}
    assert (
        "lockshim.commands.bundle" in graph["lockshim.cli.main"]
    )  # `from lockshim import bundle as ...`
    assert "lockshim.entry" in graph["lockshim.selfcontained"]  # inside a function


def test_no_import_cycles() -> None:
    graph = {_module(p): _runtime_imports(p) for p in PACKAGE.rglob("*.py")}
    assert (
        "lockshim.entry" not in graph["lockshim.cli.main"]
    )  # the front door leads to cli, not back
    # the zipapp's start is the top floor: nothing imports it
    assert not [m for m, deps in graph.items() if "lockshim.selfcontained" in deps]

    def visit(node: str, path: list[str]) -> None:
        for dep in graph.get(node, ()):
            assert dep not in path, " -> ".join([*path, dep])
            visit(dep, [*path, dep])

    for module in graph:
        visit(module, [module])


#: The floors, bottom up: a module imports only from its own floor and the floors below it.
#: plan and shim stand side by side and do not import each other.
FLOORS: list[set[str]] = [
    {
        "_compat",
        "errors",
        "report",
        "digests",
        "atomic",
        "trust",
        "paths",
        "filenames",
        "context",
        "signature",
    },
    {"project", "runtime"},
    {"lockfile"},
    {"uv"},
    {"sources"},
    {"plan", "shim"},
    {"commands"},
    {"cli"},
    {"entry"},
    {"selfcontained", "__main__"},
]
MAX_LINES = 450


def _part(module: str) -> str:
    """The first name under lockshim: its package, or the module itself on the ground floor."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _floor(module: str) -> int:
    part = _part(module)
    return next(i for i, names in enumerate(FLOORS) if part in names or part == "")


def test_every_module_stands_on_a_floor() -> None:
    named = set().union(*FLOORS)
    parts = {_part(_module(p)) for p in PACKAGE.rglob("*.py")} - {""}
    assert parts <= named, f"modules on no floor: {sorted(parts - named)}"


def test_imports_run_down_the_floors_only() -> None:
    graph = {_module(p): _runtime_imports(p) for p in PACKAGE.rglob("*.py")}
    upward = [
        f"{module} -> {dep}"
        for module, deps in graph.items()
        for dep in deps
        if _floor(dep) > _floor(module) or ({_part(module), _part(dep)} == {"plan", "shim"})
    ]
    assert upward == []
    assert "lockshim.commands.sync" in graph["lockshim.entry"]  # the check sees real arrows


def test_only_the_cli_imports_click() -> None:
    importers = sorted(
        _module(p)
        for p in PACKAGE.rglob("*.py")
        for node in ast.walk(ast.parse(p.read_text(encoding="utf-8")))
        if (
            isinstance(node, ast.Import)
            and any(a.name.split(".")[0] == "click" for a in node.names)
        )
        or (isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "click")
    )
    assert importers and all(m.startswith("lockshim.cli.") for m in importers), importers


def test_no_module_is_over_the_line_limit() -> None:
    long = {
        str(p.relative_to(PACKAGE)): n
        for p in PACKAGE.rglob("*.py")
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert long == {}


def test_package_faces_are_empty() -> None:
    """The re-sync fast path imports only os and sys: a package's __init__ runs nothing."""
    faces = [p for p in PACKAGE.rglob("__init__.py") if p.parent != PACKAGE]
    assert len(faces) >= 7
    assert [str(p) for p in faces if p.read_text(encoding="utf-8").strip()] == []


def test_lockshim_sync_starts_without_click() -> None:
    """Loading the sync command loads none of the heavy dependencies: each is imported where a
    run needs it (click for help and errors, packaging for plans, urllib3 for downloads,
    tomlkit for hand-edited locks, zipfile for bundles)."""
    code = (
        "import sys, lockshim.entry, lockshim.commands.sync; "
        "print(sorted({m.split('.')[0] for m in sys.modules} "
        "& {'click', 'packaging', 'urllib3', 'tomlkit', 'zipfile'}))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "[]", result.stderr


class Stash:
    """A source of another kind, written in a test: files named by their sha256."""

    kind = "stash"
    rank = 1

    def __init__(self, root: Path) -> None:
        from lockshim.sources.hashindex import HashIndex

        self.root = root
        self.index = HashIndex(root, None)

    @property
    def label(self) -> str:
        return f"the stash {self.root}"

    @property
    def find_links(self) -> Path | None:
        return None

    def scan(self) -> list[LocalFile]:
        files = []
        for path in sorted(self.root.iterdir()):
            info = path.stat()
            files.append(
                LocalFile(path, self, info.st_size, info.st_mtime_ns, info.st_ino, path.name)
            )
        return files


def test_a_new_source_plugs_in_without_touching_match(tmp_path: Path) -> None:
    wheel = build_wheel(tmp_path / "built", "alpha", "1.0")
    stash = tmp_path / "stash"
    stash.mkdir()
    (stash / sha256_of(wheel)).write_bytes(wheel.read_bytes())
    lock = parse_lock(
        (
            'version = 1\nrevision = 3\nrequires-python = ">=3.9"\n\n[[package]]\n'
            'name = "alpha"\nversion = "1.0"\nsource = { registry = "https://pypi.org/simple" }\n'
            f'wheels = [{{ url = "https://files.example/{wheel.name}", '
            f'hash = "sha256:{sha256_of(wheel)}", size = {wheel.stat().st_size} }}]\n'
        ).encode(),
        tmp_path / "uv.lock",
    )
    source = Stash(stash)
    result = match(lock, source.scan())
    assert [(s.package.name, s.file.source.kind, s.renamed) for s in result.served] == [
        ("alpha", "stash", True)
    ]
