"""`lockshim check` on locks written by the real uv, and as a real pre-commit hook."""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from pytest_regressions.data_regression import DataRegressionFixture
from support import build_wheel, uv_bin, uv_lock
from support.projects import build_sdist, clean_env, git, serving, write

from lockshim.atomic import atomic_write
from lockshim.lockfile.read import read_lock
from lockshim.lockfile.rewrite import rewrite
from lockshim.shim.journal import journal_path, write_journal

ROOT = Path(__file__).parents[2]


def _lockshim(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lockshim", "check", *args], cwd=cwd, capture_output=True, text=True
    )


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("registry")
    build_wheel(folder, "alpha", "1.0", requires=["beta"])
    build_wheel(folder, "beta", "2.0")
    build_sdist(folder, "gamma", "0.5")
    return folder


def _project(root: Path, extra: str = "") -> Path:
    write(
        root / "pyproject.toml",
        '[project]\nname = "app"\nversion = "0.1.0"\nrequires-python = ">=3.9"\n'
        'dependencies = ["alpha", "gamma"]\n' + extra,
    )
    return root


@pytest.fixture
def clean_lock(registry: Path, tmp_path: Path) -> Path:
    project = _project(tmp_path / "repo")
    with serving(registry) as index:
        uv_lock(project, index, clean_env(tmp_path))
    return project / "uv.lock"


def _normalized(report_json: str, *roots: Path) -> list[dict[str, object]]:
    text = report_json
    for root in roots:
        text = text.replace(str(root), "<tmp>")
    findings = json.loads(text)["findings"]
    for finding in findings:
        finding["file"] = Path(finding["file"]).name
    return list(findings)


def test_a_lock_from_the_index_is_clean(clean_lock: Path) -> None:
    result = _lockshim([], clean_lock.parent)
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout == (
        f"{clean_lock}: clean (no machine-local sources, no interrupted lockshim run).\n"
    )
    assert _lockshim(["--json"], clean_lock.parent).stdout.strip().startswith("{")


def test_find_links_relock_is_refused(
    clean_lock: Path, registry: Path, tmp_path: Path, data_regression: DataRegressionFixture
) -> None:
    project = clean_lock.parent
    subprocess.run(
        [uv_bin(), "lock", "--find-links", str(registry), "--no-index", "--project", str(project)],
        env=clean_env(tmp_path),
        check=True,
        capture_output=True,
    )
    assert f'registry = "{registry}"' in clean_lock.read_text()
    result = _lockshim(["--json", str(clean_lock)], project)
    assert result.returncode == 1, result.stderr
    findings = _normalized(result.stdout, registry, tmp_path)
    assert {f["package"] for f in findings} == {"alpha", "beta", "gamma"}
    data_regression.check(findings)
    text = _lockshim([str(clean_lock)], project)
    assert text.returncode == 1
    (line,) = text.stdout.splitlines()  # one cause, one line (the JSON keeps each package)
    assert f"3 packages (alpha, beta, gamma): registry is a local folder ({registry})" in line
    assert "git checkout HEAD -- uv.lock" in text.stdout and "uv lock --refresh" in text.stdout


def test_the_fixes_check_gives_for_a_find_links_relock_work(
    clean_lock: Path, registry: Path, tmp_path: Path
) -> None:
    """Each command `check` advises was run here, and made `check` pass."""
    project = clean_lock.parent
    env = clean_env(tmp_path)
    git(project, "init", "-q")
    git(project, "add", "-A")
    git(project, "commit", "-qm", "locked from the index")
    relock = [uv_bin(), "lock", "--find-links", str(registry), "--no-index"]
    subprocess.run([*relock, "--project", str(project)], env=env, check=True, capture_output=True)
    assert _lockshim([], project).returncode == 1

    git(project, "add", "uv.lock")  # staged, as in a commit the hook refuses
    git(project, "checkout", "HEAD", "--", "uv.lock")
    assert _lockshim([], project).returncode == 0
    assert git(project, "status", "--porcelain") == ""

    subprocess.run([*relock, "--project", str(project)], env=env, check=True, capture_output=True)
    with serving(registry) as index:  # the user's configured index
        indexed = {**env, "UV_INDEX_URL": index.url}
        refresh = [uv_bin(), "lock", "--refresh"]
        result = subprocess.run(refresh, cwd=project, env=indexed, capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
    assert _lockshim([], project).returncode == 0


def test_a_lock_shimmed_by_an_interrupted_run_is_refused(
    clean_lock: Path, registry: Path, tmp_path: Path, data_regression: DataRegressionFixture
) -> None:
    lock = read_lock(clean_lock)
    original = clean_lock.read_bytes()
    served = {
        (p.position, a.position): registry / a.filename for p, a in lock.servable() if a.sha256
    }
    shimmed = rewrite(lock, served)
    write_journal(clean_lock, original, shimmed, 0o644, None)  # as `lockshim sync` does,
    atomic_write(clean_lock, shimmed, 0o644)  # then killed while uv runs
    result = _lockshim(["--json"], clean_lock.parent)
    assert result.returncode == 1
    findings = _normalized(result.stdout, registry, tmp_path)
    assert [f["kind"] for f in findings] == ["interrupted-shim"]  # one line, not one a URL
    assert "3 artifact URLs point at local files" in str(findings[0]["problem"])
    assert all("lockshim restore" in str(f["fix"]) for f in findings)
    data_regression.check(findings)

    journal_path(clean_lock).unlink()  # committed by accident, with no journal around
    result = _lockshim([str(clean_lock)], clean_lock.parent)
    assert result.returncode == 1
    assert "gamma 0.5: artifact URL is a local file" in result.stdout
    assert "git checkout HEAD -- uv.lock" in result.stdout


def test_the_two_steps_check_gives_after_a_kill_with_the_shimmed_lock_staged(
    clean_lock: Path, registry: Path, tmp_path: Path
) -> None:
    """kill -9 while uv ran, and the shimmed lock was staged (`git add -A`): `check` names
    both steps, and after them the work tree, git's index and `check` are all clean."""
    project = clean_lock.parent
    git(project, "init", "-q")
    git(project, "add", "-A")
    git(project, "commit", "-qm", "locked")
    lock = read_lock(clean_lock)
    original = clean_lock.read_bytes()
    served = {(p.position, a.position): registry / a.filename for p, a in lock.servable()}
    shimmed = rewrite(lock, served)
    write_journal(clean_lock, original, shimmed, 0o644, None)
    atomic_write(clean_lock, shimmed, 0o644)
    git(project, "add", "uv.lock")
    result = _lockshim([str(clean_lock)], project)
    assert result.returncode == 1
    assert "run `lockshim restore`" in result.stdout and "then `git add uv.lock`" in result.stdout
    restored = subprocess.run(
        [sys.executable, "-m", "lockshim", "restore"], cwd=project, capture_output=True, text=True
    )
    assert restored.returncode == 0, restored.stderr
    git(project, "add", "uv.lock")
    assert _lockshim([str(clean_lock)], project).returncode == 0
    assert git(project, "status", "--porcelain") == ""


def test_workspace_git_and_relative_paths_inside_the_repo_pass(
    registry: Path, tmp_path: Path
) -> None:
    repo = tmp_path / "repo"
    project = _project(
        repo,
        '\n[tool.uv.workspace]\nmembers = ["packages/*"]\n\n'
        "[tool.uv.sources]\nmember = { workspace = true }\n"
        'localpkg = { path = "vendor/localpkg" }\n',
    )
    write(
        project / "pyproject.toml",
        (project / "pyproject.toml")
        .read_text()
        .replace('"gamma"]', '"gamma", "member", "localpkg"]'),
    )
    for name, where in (("member", "packages/member"), ("localpkg", "vendor/localpkg")):
        write(
            repo / where / "pyproject.toml",
            f'[project]\nname = "{name}"\nversion = "1.0"\ndependencies = ["beta"]\n'
            '[build-system]\nrequires = []\nbuild-backend = "intree"\nbackend-path = ["."]\n',
        )
    with serving(registry) as index:
        uv_lock(project, index, clean_env(tmp_path))
    lock = project / "uv.lock"
    text = lock.read_text()
    assert 'editable = "packages/member"' in text and 'directory = "vendor/localpkg"' in text
    # A git source as uv writes it (no network here to lock a real one).
    lock.write_text(
        text + '\n[[package]]\nname = "gitdep"\nversion = "1.2.0"\nsource = { git = '
        '"https://github.com/example/gitdep?subdirectory=sub%2Fdir&rev=v1.2.0#'
        '0123456789abcdef0123456789abcdef01234567" }\n'
    )
    result = _lockshim([], project)
    assert result.returncode == 0, result.stdout + result.stderr


def test_paths_that_leave_the_repository_or_are_absolute(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / "sub" / "dir").mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    lock = repo / "sub" / "dir" / "uv.lock"
    lock.write_text(
        'version = 1\nrevision = 3\nrequires-python = ">=3.10"\n\n'
        '[[package]]\nname = "inside"\nversion = "1.0"\nsource = { directory = "../../" }\n\n'
        '[[package]]\nname = "outside"\nversion = "1.0"\nsource = { directory = "../../../" }\n\n'
        '[[package]]\nname = "winside"\nversion = "1.0"\n'
        "source = { editable = '..\\..\\..\\home\\alice\\src\\outside' }\n\n"
        '[[package]]\nname = "wheel"\nversion = "1.0"\n'
        'source = { path = "/opt/wheels/wheel-1.0-py3-none-any.whl" }\n'
        'wheels = [\n    { filename = "wheel-1.0-py3-none-any.whl", hash = "sha256:'
        + "0" * 64
        + '" },\n]\n'
    )
    result = _lockshim([str(lock)], tmp_path)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert len(lines) == 3, lines
    assert lines[0].startswith(f"{lock}:13: outside 1.0: directory source '../../../' leaves the")
    assert lines[1].startswith(f"{lock}:18: winside 1.0: editable source")
    assert "leaves the repository" in lines[1]
    assert lines[2].startswith(f"{lock}:23: wheel 1.0: path source")
    assert "is an absolute path" in lines[2]

    allowed = _lockshim(
        ["--allow", "outside", "--allow", "winside", "--allow", "Wheel", str(lock)], tmp_path
    )
    assert allowed.returncode == 0, allowed.stdout
    write(
        repo / "sub" / "dir" / "pyproject.toml",
        '[tool.lockshim]\ncheck-allow = ["outside", "winside"]\n',
    )
    configured = _lockshim([str(lock)], tmp_path)
    assert configured.returncode == 1 and "outside" not in configured.stdout


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"version = 1\n\n[[package]]\nname = 'x'\nversion = \n", "line 5"),
        (b"", "the file is empty"),
        (b"<<<<<<< HEAD\nversion = 1\n=======\n", "merge-conflict"),
    ],
)
def test_unreadable_locks_exit_2(tmp_path: Path, content: bytes, expected: str) -> None:
    lock = tmp_path / "uv.lock"
    lock.write_bytes(content)
    result = _lockshim([str(lock)], tmp_path)
    assert result.returncode == 2
    assert expected in result.stderr and str(lock) in result.stderr


def _index_reachable() -> bool:
    try:
        socket.create_connection(("pypi.org", 443), timeout=3).close()
    except OSError:
        return False
    return True


@pytest.mark.index
def test_real_pre_commit_refuses_a_shimmed_lock(
    clean_lock: Path, registry: Path, tmp_path: Path
) -> None:
    if shutil.which("git") is None:
        pytest.skip("git is not available")
    if not _index_reachable():
        pytest.skip("the package index cannot be reached: pre-commit cannot install the hook")
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    if head.returncode != 0 or not (ROOT / ".pre-commit-hooks.yaml").exists():
        pytest.skip("this checkout is not a git repository with the hook committed")
    repo = clean_lock.parent
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.org"]
    # README's snippet, pasted into an empty file, with this repository and commit filled in
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    snippet = re.search(r"```yaml\n(repos:\n.+?)```", readme, re.S)
    assert snippet is not None, "README shows no pre-commit configuration starting with repos:"
    config = snippet[1].replace("<this repository's git URL>", str(ROOT))
    config = re.sub(r"<a full commit sha[^>]*>", head.stdout.strip(), config)
    write(repo / ".pre-commit-config.yaml", config)
    env = {
        **{k: v for k, v in __import__("os").environ.items() if not k.startswith("UV_")},
        "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home"),
    }
    subprocess.run([*git, "init", "-q"], cwd=repo, check=True)
    subprocess.run([*git, "add", "-A"], cwd=repo, check=True)
    install = [sys.executable, "-m", "pre_commit", "install"]
    subprocess.run(install, cwd=repo, env=env, check=True, capture_output=True)
    run = [sys.executable, "-m", "pre_commit", "run", "--all-files"]
    clean = subprocess.run(run, cwd=repo, env=env, capture_output=True, text=True)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    subprocess.run([*git, "commit", "-qm", "clean lock"], cwd=repo, env=env, check=True)

    lock = read_lock(clean_lock)
    served = {(p.position, a.position): registry / a.filename for p, a in lock.servable()}
    clean_lock.write_bytes(rewrite(lock, served))
    subprocess.run([*git, "add", "uv.lock"], cwd=repo, check=True)
    refused = subprocess.run(
        [*git, "commit", "-m", "oops"], cwd=repo, env=env, capture_output=True, text=True
    )
    assert refused.returncode != 0
    output = refused.stdout + refused.stderr  # git shows the hook's output on either
    assert "lockshim check" in output
    assert "alpha 1.0: artifact URL is a local file" in output
    # the fix it prints works on the staged lock, and the commit then goes through
    assert "`git checkout HEAD -- uv.lock`" in output
    subprocess.run([*git, "checkout", "HEAD", "--", "uv.lock"], cwd=repo, check=True)
    write(repo / "NOTES.md", "more work\n")
    subprocess.run([*git, "add", "-A"], cwd=repo, check=True)
    fixed = subprocess.run(
        [*git, "commit", "-m", "fixed"], cwd=repo, env=env, capture_output=True, text=True
    )
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr


LOCAL_REGISTRY = 'name = "evil"\nversion = "1.0"\nsource = { registry = "/home/me/wheels" }\n'


@pytest.mark.parametrize(
    ("addition", "kind"),
    [
        # TOML allows what uv never writes; the guard reads the file as TOML, not by layout.
        ("  [[package]]\n" + LOCAL_REGISTRY, "local-registry"),
        ("[[package]] # added by hand\n" + LOCAL_REGISTRY, "local-registry"),
        (
            '[[package]]\nname = "tool"\nversion = "0.1"\n'
            'source = { git = "file:///home/me/src/tool?rev=main#0123abcd" }\n',
            "local-source",
        ),
    ],
)
def test_layouts_uv_never_writes_do_not_hide_local_sources(
    clean_lock: Path, addition: str, kind: str
) -> None:
    with open(clean_lock, "a", encoding="utf-8") as stream:
        stream.write("\n" + addition)
    result = _lockshim(["--json", str(clean_lock)], clean_lock.parent)
    assert result.returncode == 1, result.stderr
    assert kind in {f["kind"] for f in json.loads(result.stdout)["findings"]}


def test_invalid_toml_after_the_packages_is_refused(clean_lock: Path) -> None:
    with open(clean_lock, "a", encoding="utf-8") as stream:
        stream.write('\n[[package]]\nname = "broken\n')
    result = _lockshim([str(clean_lock)], clean_lock.parent)
    assert result.returncode == 2 and str(clean_lock) in result.stderr, result.stderr


def test_a_journal_left_beside_a_restored_lock_is_named_as_such(clean_lock: Path) -> None:
    original = clean_lock.read_bytes()
    write_journal(clean_lock, original, b"# shimmed\n", 0o644, None)
    result = _lockshim(["--json"], clean_lock.parent)
    assert result.returncode == 1
    kinds = [f["kind"] for f in json.loads(result.stdout)["findings"]]
    assert kinds == ["stale-journal"]
    assert "lockshim restore" in json.loads(result.stdout)["findings"][0]["fix"]
    assert (
        subprocess.run(
            [sys.executable, "-m", "lockshim", "restore"],
            cwd=clean_lock.parent,
            capture_output=True,
        ).returncode
        == 0
    )
    assert _lockshim([], clean_lock.parent).returncode == 0
    assert clean_lock.read_bytes() == original


@pytest.mark.parametrize(
    "name",
    [
        ".uv.lock.lockshim-journal",
        ".uv.lock.lockshim-saved",
        "uv.lock.lockshim-original",
        "tool.py.lock.lockshim-replaced",
    ],
)
def test_lockshim_leftovers_are_refused_by_the_hook(tmp_path: Path, name: str) -> None:
    import re

    hooks = (ROOT / ".pre-commit-hooks.yaml").read_text()
    pattern = re.search(r"files: (.+)", hooks)
    assert pattern and re.search(pattern.group(1).strip(), f"sub/{name}")  # the hook sees it
    leftover = tmp_path / name
    leftover.write_bytes(b"whatever")
    result = _lockshim([str(leftover)], tmp_path)
    assert result.returncode == 1
    assert "leftover" in result.stdout and f"git rm --cached {name}" in result.stdout


@pytest.mark.parametrize(
    "url",
    [
        "FILE:///home/me/w/alpha.whl",
        " file:///home/me/w/alpha.whl",
        "\tFile:///home/me/w/alpha.whl",
        "fi\nle:///home/me/w/alpha.whl",
    ],
)
def test_file_urls_are_read_as_uv_reads_them(url: str, tmp_path: Path) -> None:
    """uv installs from a file URL in any case and with spaces around it: so does the guard."""
    lock = tmp_path / "uv.lock"
    escaped = url.replace("\t", "\\t").replace("\n", "\\n")
    lock.write_text(
        'version = 1\nrevision = 3\nrequires-python = ">=3.10"\n\n'
        '[[package]]\nname = "alpha"\nversion = "1.0"\n'
        'source = { registry = "https://pypi.org/simple" }\n'
        f'wheels = [\n    {{ url = "{escaped}", hash = "sha256:{"0" * 64}" }},\n]\n'
    )
    result = _lockshim([str(lock)], tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "alpha 1.0: artifact URL is a local file" in result.stdout
