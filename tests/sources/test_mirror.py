"""Mirror mode against a real pypiserver on 127.0.0.1 (HTML pages, its own `/packages/` file
paths): a lock made against another index ("PyPI", a loopback index that stays up and must see
no download) is installed from the mirror, uv.lock untouched."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from support import LoopbackIndex, build_wheel, servers, uv_lock
from support.projects import BUILD_SYSTEM, build_backend_wheel, clean_env, lockshim, venv_run, write


@contextlib.contextmanager
def pypiserver(folder: Path, *extra: str) -> Iterator[str]:
    """A real pypiserver serving ``folder`` (support.servers); the test is skipped where it
    cannot start."""
    try:
        with servers.pypiserver(folder, *extra) as url:
            yield url
    except servers.ServerUnavailable as error:
        pytest.skip(str(error))


@contextlib.contextmanager
def _alices_pypiserver(folder: Path, tmp_path: Path) -> Iterator[str]:
    """A pypiserver that lists and serves only to alice (password s3cret)."""
    sha1 = base64.b64encode(hashlib.sha1(b"s3cret").digest()).decode()
    (tmp_path / "htpasswd").write_text(f"alice:{{SHA}}{sha1}\n")  # htpasswd -s
    with pypiserver(folder, "-a", "list,download", "-P", str(tmp_path / "htpasswd")) as url:
        yield url


def _mirror_sync(
    project: Path, mirror: str, env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    """`lockshim sync --mirror` with the network (127.0.0.1) reachable."""
    return lockshim(["sync", "--no-pip-cache", "--mirror", mirror], project, env, offline=False)


def _plant_other_beta(mirror_files: Path, tmp_path: Path) -> None:
    """Other bytes under the locked name of beta's wheel."""
    other = tmp_path / "other"
    build_wheel(other, "beta", "2.0", payload=b"# not the locked bytes\n")
    shutil.copy(other / "beta-2.0-py3-none-any.whl", mirror_files)


def _installed(project: Path) -> None:
    """The project's environment imports the app and both locked packages."""
    ran = venv_run(project, "import app, alpha, beta")
    assert ran.returncode == 0, ran.stderr


@pytest.fixture
def locked_elsewhere(tmp_path: Path) -> Iterator[tuple[Path, Path, LoopbackIndex]]:
    """(a project built with minibackend, locked against "PyPI"; the files; "PyPI", still up)."""
    files = tmp_path / "files"
    build_wheel(files, "alpha", "1.0")
    build_wheel(files, "beta", "2.0", requires=["alpha"])
    build_backend_wheel(files)
    project = tmp_path / "app"
    write(
        project / "pyproject.toml",
        BUILD_SYSTEM + '\n[project]\nname = "app"\nversion = "1.0"\ndependencies = ["beta"]\n',
    )
    write(project / "src" / "app" / "__init__.py", "")
    with LoopbackIndex(files) as pypi:
        uv_lock(project, pypi.url, clean_env(tmp_path / "lock"))
        pypi.requests.clear()
        yield project, files, pypi


def test_a_lock_made_against_another_index_installs_from_the_mirror(
    locked_elsewhere: tuple[Path, Path, LoopbackIndex], tmp_path: Path
) -> None:
    project, files, pypi = locked_elsewhere
    mirror_files = tmp_path / "mirror"
    shutil.copytree(files, mirror_files)
    original = (project / "uv.lock").read_bytes()
    env = clean_env(tmp_path)
    with pypiserver(mirror_files, "-a", ".", "-P", ".") as mirror:
        plan = lockshim(
            ["plan", "--json", "--no-pip-cache", "--mirror", mirror], project, env, offline=False
        )
        assert plan.returncode == 0, plan.stdout + plan.stderr
        report = json.loads(plan.stdout)
        assert {row["filename"] for row in report["mirrored"]} == {
            "alpha-1.0-py3-none-any.whl",
            "beta-2.0-py3-none-any.whl",
        }
        result = _mirror_sync(project, mirror, env)
    assert result.returncode == 0, result.stderr
    assert "2 file(s), 2 for uv to download from it" in result.stderr, result.stderr
    assert (project / "uv.lock").read_bytes() == original
    assert not [r for r in pypi.requests if "/files/" in r]  # nothing fell back to "PyPI"
    _installed(project)
    # uv streamed them from the mirror's own URLs into its cache; lockshim kept no copy
    records = {
        r.parent.name: r.read_bytes()
        for r in Path(env["UV_CACHE_DIR"]).glob("wheels-v*/**/*.http")
        if r.parent.name in ("alpha", "beta")
    }
    files_url = mirror.rpartition("/simple")[0] + "/packages/"
    assert sorted(records) == ["alpha", "beta"]
    assert all(files_url.encode() in record for record in records.values())
    assert not list(Path(env["LOCKSHIM_CACHE_DIR"]).glob("mirror/*/*.whl"))
    # the mirror gone (and no network at all), a new environment still installs: uv's cache
    # holds every file, so the mirror is not asked
    shutil.rmtree(project / ".venv")
    again = lockshim(["sync", "--no-pip-cache", "--mirror", mirror], project, env)
    assert again.returncode == 0, again.stderr
    assert "2 from uv's cache (downloaded from the mirror before)" in again.stderr, again.stderr
    assert "uv downloads them" not in again.stderr
    assert (project / "uv.lock").read_bytes() == original
    _installed(project)


def test_uv_cache_holding_the_files_under_the_mirror_urls_does_not_count_for_the_lock_urls(
    locked_elsewhere: tuple[Path, Path, LoopbackIndex], tmp_path: Path
) -> None:
    """uv keeps a download under the URL it came from, and offline it takes it for that URL
    only: after a mirror sync, a plain offline sync (the lock's own URLs) must stop before uv
    instead of letting uv make half an environment and fail."""
    project, files, _ = locked_elsewhere
    original = (project / "uv.lock").read_bytes()
    env = clean_env(tmp_path)
    with pypiserver(files, "-a", ".", "-P", ".") as mirror:
        first = _mirror_sync(project, mirror, env)
    assert first.returncode == 0, first.stderr
    shutil.rmtree(project / ".venv")
    plain = lockshim(["sync", "--no-pip-cache"], project, env)
    assert plain.returncode == 3, plain.stderr
    assert "stopped before uv: 2 file(s) this environment needs are neither local nor in" in (
        plain.stderr
    )
    assert not (project / ".venv").exists()
    assert (project / "uv.lock").read_bytes() == original


def test_what_the_mirror_lacks_or_changed_is_named_before_uv(
    locked_elsewhere: tuple[Path, Path, LoopbackIndex], tmp_path: Path
) -> None:
    project, files, _ = locked_elsewhere
    mirror_files = tmp_path / "mirror"
    shutil.copytree(files, mirror_files)
    (mirror_files / "alpha-1.0-py3-none-any.whl").unlink()
    _plant_other_beta(mirror_files, tmp_path)
    original = (project / "uv.lock").read_bytes()
    with pypiserver(mirror_files, "-a", ".", "-P", ".") as mirror:
        result = _mirror_sync(project, mirror, clean_env(tmp_path))
        plan = lockshim(
            ["plan", "--no-pip-cache", "--mirror", mirror],
            project,
            clean_env(tmp_path),
            offline=False,
        )
    assert result.returncode == 3, result.stderr
    assert "alpha-1.0-py3-none-any.whl: not on the mirror" in result.stderr, result.stderr
    assert (
        "beta-2.0-py3-none-any.whl: the mirror lists other bytes under that name" in result.stderr
    )
    assert not (project / ".venv").exists()
    assert (project / "uv.lock").read_bytes() == original
    assert plan.returncode == 1
    assert "not on the mirror" in plan.stdout


def test_a_mirror_run_that_stops_before_uv_says_nothing_was_downloaded(
    locked_elsewhere: tuple[Path, Path, LoopbackIndex], tmp_path: Path
) -> None:
    """The mirror has beta and lacks alpha: the run stops before uv, and no line says that uv
    downloaded (or will download) beta."""
    project, files, _ = locked_elsewhere
    mirror_files = tmp_path / "mirror"
    shutil.copytree(files, mirror_files)
    (mirror_files / "alpha-1.0-py3-none-any.whl").unlink()
    with pypiserver(mirror_files, "-a", ".", "-P", ".") as mirror:
        result = _mirror_sync(project, mirror, clean_env(tmp_path))
    assert result.returncode == 3, result.stderr
    assert "alpha-1.0-py3-none-any.whl: not on the mirror" in result.stderr
    assert "downloaded by uv" not in result.stderr and "for uv to download" not in result.stderr
    assert not (project / ".venv").exists()


def test_a_mirror_that_sends_a_missing_project_elsewhere_names_where(
    locked_elsewhere: tuple[Path, Path, LoopbackIndex], tmp_path: Path
) -> None:
    """pypiserver redirects the page of a project it lacks to its fallback index (here one
    that cannot be reached): the message says the mirror lacks the project and names the
    target, not the mirror, as what cannot be reached."""
    project, files, _ = locked_elsewhere
    mirror_files = tmp_path / "mirror"
    shutil.copytree(files, mirror_files)
    (mirror_files / "alpha-1.0-py3-none-any.whl").unlink()
    fallback = "http://127.0.0.1:9/simple/"
    with pypiserver(mirror_files, "-a", ".", "-P", ".", "--fallback-url", fallback) as mirror:
        result = _mirror_sync(project, mirror, clean_env(tmp_path))
    assert result.returncode == 3, result.stderr
    assert "alpha-1.0-py3-none-any.whl: not on the mirror itself" in result.stderr
    assert f"it redirects to {fallback}alpha/, which cannot be reached" in result.stderr


def test_a_page_without_digests_is_checked_by_lockshim_before_uv(
    locked_elsewhere: tuple[Path, Path, LoopbackIndex], tmp_path: Path
) -> None:
    """pypiserver with `--hash-algo off` lists no digest: nothing vouches for the bytes, so
    lockshim downloads each file and checks it against the lock before uv may see it."""
    project, files, _ = locked_elsewhere
    mirror_files = tmp_path / "mirror"
    shutil.copytree(files, mirror_files)
    original = (project / "uv.lock").read_bytes()
    with pypiserver(mirror_files, "-a", ".", "-P", ".", "--hash-algo", "off") as mirror:
        good = _mirror_sync(project, mirror, clean_env(tmp_path / "a"))
        _plant_other_beta(mirror_files, tmp_path)
        shutil.rmtree(project / ".venv")
        bad = _mirror_sync(project, mirror, clean_env(tmp_path / "b"))
    assert good.returncode == 0, good.stderr
    assert "2 file(s), 2 taken into" in good.stderr, good.stderr
    assert bad.returncode == 3, bad.stderr
    assert "beta-2.0-py3-none-any.whl: from " in bad.stderr, bad.stderr
    assert "but uv.lock pins" in bad.stderr, bad.stderr  # its size, checked as it arrives
    assert not (project / ".venv").exists()
    assert (project / "uv.lock").read_bytes() == original


def test_a_mirror_that_wants_a_password_gets_it_from_netrc(
    locked_elsewhere: tuple[Path, Path, LoopbackIndex], tmp_path: Path
) -> None:
    project, files, _ = locked_elsewhere
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login alice password s3cret\n")
    netrc.chmod(0o600)
    with _alices_pypiserver(files, tmp_path) as mirror:
        without = _mirror_sync(project, mirror, clean_env(tmp_path / "a"))
        env = clean_env(tmp_path / "b", NETRC=str(netrc))
        result = _mirror_sync(project, mirror, env)
    assert without.returncode == 3
    assert "HTTP 401" in without.stderr
    assert "The mirror wants a password" in without.stderr  # and the ways to give it
    for way in ("machine 127.0.0.1 login USER", "UV_INDEX_<NAME>_USERNAME", "keyring"):
        assert way in without.stderr
    assert "--mirror-for" not in without.stderr
    assert result.returncode == 0, result.stderr
    # netrc is read by uv too: the files go to uv as the mirror's URLs, uv signs in itself
    assert "2 file(s), 2 for uv to download from it" in result.stderr, result.stderr
    assert "s3cret" not in result.stderr + result.stdout + without.stderr
    lock = (project / "uv.lock").read_text()
    assert "s3cret" not in lock and "alice" not in lock


def test_fetch_fills_a_wheelhouse_from_the_mirror(
    locked_elsewhere: tuple[Path, Path, LoopbackIndex], tmp_path: Path
) -> None:
    """The lock's files and the build backend (resolved against the mirror), nothing from the
    index the lock names."""
    project, files, pypi = locked_elsewhere
    dest = tmp_path / "wheels"
    with pypiserver(files, "-a", ".", "-P", ".") as mirror:
        result = lockshim(
            ["fetch", "--dest", str(dest), "--mirror", mirror, "--json"],
            project,
            clean_env(tmp_path),
            offline=False,
        )
    assert result.returncode == 0, result.stdout + result.stderr
    assert {p.name for p in dest.glob("*.whl")} == {
        "alpha-1.0-py3-none-any.whl",
        "beta-2.0-py3-none-any.whl",
        "minibackend-1.0-py3-none-any.whl",
    }
    assert not [r for r in pypi.requests if "/files/" in r or "/simple/" in r]


def test_a_devpi_mirror_with_json_pages_and_relative_paths(
    locked_elsewhere: tuple[Path, Path, LoopbackIndex], tmp_path: Path
) -> None:
    project, files, pypi = locked_elsewhere
    original = (project / "uv.lock").read_bytes()
    with servers.devpi(files, tmp_path) as (mirror, _):
        result = _mirror_sync(project, mirror, clean_env(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "2 file(s), 2 for uv to download from it" in result.stderr, result.stderr
    assert (project / "uv.lock").read_bytes() == original
    assert not [r for r in pypi.requests if "/files/" in r]
    _installed(project)


def test_a_mirror_that_cannot_be_reached_is_one_clear_line(
    locked_elsewhere: tuple[Path, Path, LoopbackIndex], tmp_path: Path
) -> None:
    project, _, _ = locked_elsewhere
    port = servers.free_port()  # nothing listens there
    original = (project / "uv.lock").read_bytes()
    mirror = f"http://127.0.0.1:{port}/simple/"
    result = _mirror_sync(project, mirror, clean_env(tmp_path))
    assert result.returncode == 3, result.stderr
    assert "2 files: the mirror's pages cannot be read: cannot connect" in result.stderr
    assert result.stderr.count("cannot connect") == 1
    assert (project / "uv.lock").read_bytes() == original and not (project / ".venv").exists()


@pytest.mark.parametrize("where", ["option", "environment", "pyproject"])
def test_the_mirror_is_taken_from_the_option_else_the_environment_else_pyproject(
    where: str, locked_elsewhere: tuple[Path, Path, LoopbackIndex], tmp_path: Path
) -> None:
    """`--mirror` wins over LOCKSHIM_MIRROR, which wins over `[tool.lockshim] mirror`: the
    mirror each names is the one asked (here, one nothing listens on)."""
    project, _, _ = locked_elsewhere
    asked, other = servers.free_port(), servers.free_port()
    chosen, ignored = f"http://127.0.0.1:{asked}/simple/", f"http://127.0.0.1:{other}/simple/"
    settings = {"option": ignored, "environment": ignored, "pyproject": chosen}
    env = clean_env(tmp_path, LOCKSHIM_MIRROR=chosen if where == "environment" else ignored)
    if where == "pyproject":
        del env["LOCKSHIM_MIRROR"]
    pyproject = project / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text() + f'\n[tool.lockshim]\nmirror = "{settings[where]}"\n'
    )
    args = ["sync", "--no-pip-cache"] + (["--mirror", chosen] if where == "option" else [])
    result = lockshim(args, project, env, offline=False)
    assert result.returncode == 3, result.stderr
    assert f"the mirror http://127.0.0.1:{asked}/simple cannot serve" in result.stderr
    assert str(other) not in result.stderr


def test_a_password_from_the_keyring_the_way_uv_asks_it(
    locked_elsewhere: tuple[Path, Path, LoopbackIndex], tmp_path: Path
) -> None:
    """`UV_KEYRING_PROVIDER=subprocess` and a user in the mirror's URL: the password is asked
    of the `keyring` command (`keyring get URL USER`), as uv does; it never shows."""
    import os

    project, files, _ = locked_elsewhere
    tools = tmp_path / "bin"
    tools.mkdir()
    asked = tmp_path / "asked"
    keyring = tools / "keyring"  # a keyring CLI that knows one password
    with _alices_pypiserver(files, tmp_path) as mirror:
        # an entry for exactly the URL uv asks with (the index URL as given: its slash too)
        keyring.write_text(
            f'#!/bin/sh\necho "$@" >> {asked}\n'
            f'[ "$1" = get ] && [ "$2" = "{mirror}" ] && [ "$3" = alice ] && echo s3cret '
            "&& exit 0\nexit 1\n"
        )
        keyring.chmod(0o755)
        with_user = mirror.replace("http://", "http://alice@")
        env = clean_env(
            tmp_path / "k",
            UV_KEYRING_PROVIDER="subprocess",
            PATH=f"{tools}{os.pathsep}{os.environ['PATH']}",
        )
        result = _mirror_sync(project, with_user, env)
    assert result.returncode == 0, result.stderr
    # uv would not send a password lockshim found to the mirror: lockshim downloads them
    assert "2 file(s), 2 taken into" in result.stderr, result.stderr
    assert asked.read_text().startswith(f"get {mirror} alice")
    assert mirror.endswith("/")
    assert "s3cret" not in result.stdout + result.stderr
    assert "s3cret" not in (project / "uv.lock").read_text()


def test_a_forked_lock_two_registries_and_mixed_case_names_install_from_the_mirror(
    tmp_path: Path,
) -> None:
    """One name locked at two versions (a fork whose first entry this Python needs), one name
    from two registries (a "PyTorch" index for Linux, the default index elsewhere), and a file
    named as its index names it (`PyYAML-6.0.2-…`, the lock keeps that name, uv's export
    lower-cases it): every file comes from the mirror, both registries gone; uv.lock is
    byte-identical."""
    default, torch_index, mirror_files = (tmp_path / n for n in ("default", "torch", "mirror"))
    build_wheel(default, "forky", "1.0")
    build_wheel(default, "forky", "2.0")
    build_wheel(default, "torchy", "1.1")
    build_wheel(torch_index, "torchy", "1.0")
    lower = build_wheel(default, "pyyaml", "6.0.2")
    lower.rename(default / "PyYAML-6.0.2-py3-none-any.whl")
    build_backend_wheel(default)
    project = tmp_path / "app"
    write(
        project / "pyproject.toml",
        BUILD_SYSTEM
        + '\n[project]\nname = "app"\nversion = "1.0"\nrequires-python = ">=3.10"\n'
        + "dependencies = [\n"
        + "    \"forky>=2; python_version < '3.11'\",\n"
        + "    \"forky<2; python_version >= '3.11'\",\n"
        + '    "torchy",\n    "pyyaml==6.0.2",\n]\n'
        + '\n[[tool.uv.index]]\nname = "torch"\nurl = "TORCH"\nexplicit = true\n'
        + '\n[tool.uv.sources]\ntorchy = [{ index = "torch", '
        + "marker = \"sys_platform == 'linux'\" }]\n",
    )
    write(project / "src" / "app" / "__init__.py", "")
    with LoopbackIndex(default) as pypi, LoopbackIndex(torch_index) as torch:
        pyproject = project / "pyproject.toml"
        pyproject.write_text(pyproject.read_text().replace("TORCH", torch.url))
        uv_lock(project, pypi.url, clean_env(tmp_path / "lock", UV_NO_CONFIG="0"))
    lock = (project / "uv.lock").read_text()
    assert lock.count('name = "forky"\nversion') == 2 and lock.count('name = "torchy"\nver') == 2
    assert "/PyYAML-6.0.2-py3-none-any.whl" in lock
    original = (project / "uv.lock").read_bytes()
    for folder in (default, torch_index):
        shutil.copytree(folder, mirror_files, dirs_exist_ok=True)
    env = clean_env(tmp_path / "sync")
    with pypiserver(mirror_files, "-a", ".", "-P", ".") as mirror:
        result = _mirror_sync(project, mirror, env)
    assert result.returncode == 0, result.stderr
    assert "3 file(s), 3 for uv to download from it" in result.stderr, result.stderr
    assert (project / "uv.lock").read_bytes() == original
    ran = venv_run(
        project, "import forky, torchy, pyyaml; print(forky.__version__, torchy.__version__)"
    )
    forky = "1.0" if sys.version_info >= (3, 11) else "2.0"  # the fork this Python takes
    assert ran.stdout.split() == [forky, "1.0"], ran.stderr


def test_with_a_mirror_a_build_requirement_comes_from_it_and_no_advice_says_otherwise(
    locked_elsewhere: tuple[Path, Path, LoopbackIndex], tmp_path: Path
) -> None:
    """The project builds with minibackend, which no local folder holds: with a mirror, uv's
    build takes it from there. sync says so (no "will lack", no `lockshim fetch`), and plan's
    summary counts it as from the mirror, not missing."""
    project, files, _ = locked_elsewhere
    original = (project / "uv.lock").read_bytes()
    env = clean_env(tmp_path)
    with pypiserver(files, "-a", ".", "-P", ".") as mirror:
        plan = lockshim(["plan", "--no-pip-cache", "--mirror", mirror], project, env, offline=False)
        result = _mirror_sync(project, mirror, env)
    assert plan.returncode == 0, plan.stdout + plan.stderr
    assert "builds: 0 served, 1 from the mirror." in plan.stdout, plan.stdout
    assert "missing." not in plan.stdout.splitlines()[-1]
    assert result.returncode == 0, result.stderr
    assert f"if uv has to build, it takes from the mirror {mirror.rstrip('/')}" in result.stderr
    assert "will lack" not in result.stderr and "lockshim fetch" not in result.stderr
    assert (project / "uv.lock").read_bytes() == original
    _installed(project)


@contextlib.contextmanager
def _serving_one_page(body: bytes, content_type: str) -> Iterator[str]:
    """A server on 127.0.0.1 that answers every project page with ``body``."""
    import http.server

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    with servers.handling(Handler) as origin:
        yield f"{origin}/simple/"


@pytest.mark.parametrize("verb", ["plan", "fetch", "sync"])
def test_a_page_of_deeply_nested_json_is_one_clear_error(
    verb: str, locked_elsewhere: tuple[Path, Path, LoopbackIndex], tmp_path: Path
) -> None:
    """A mirror answers with JSON nested 100,000 deep: plan, fetch and sync each say what is
    wrong with the page in words (no traceback), and nothing is changed."""
    project, _, _ = locked_elsewhere
    original = (project / "uv.lock").read_bytes()
    body = b'{"files": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    args = {
        "plan": ["plan", "--no-pip-cache"],
        "fetch": ["fetch", "--dest", str(tmp_path / "d")],
        "sync": ["sync", "--no-pip-cache"],
    }
    with _serving_one_page(body, "application/vnd.pypi.simple.v1+json") as mirror:
        result = lockshim(
            [*args[verb], "--mirror", mirror],
            project,
            clean_env(tmp_path),
            offline=False,
        )
    output = result.stdout + result.stderr
    assert result.returncode in (1, 3), output
    assert "Traceback" not in output and "RecursionError" not in output
    assert "its JSON cannot be read (nested too deeply)" in output, output
    assert (project / "uv.lock").read_bytes() == original


def test_a_lock_left_with_the_mirrors_urls_is_recognised_with_no_journal(
    locked_elsewhere: tuple[Path, Path, LoopbackIndex], tmp_path: Path
) -> None:
    """The lock uv saw during a mirror sync (as a kill during uv leaves it, then committed):
    in a clone, with no journal and no mirror configured, `check` still knows it for a shimmed
    lock by its marker, counting its shimmed artifacts; with the mirror configured it also
    names the artifacts on the mirror's origin. uv.lock itself came back as it was."""
    from support import uv_bin

    project, files, _ = locked_elsewhere
    original = (project / "uv.lock").read_bytes()
    seen = tmp_path / "seen.lock"
    wrapper = tmp_path / "bin" / "uv"  # the real uv, keeping a copy of the lock it syncs
    write(
        wrapper,
        "#!/bin/sh\n"
        'case " $* " in *" sync "*) case "$*" in *--dry-run*) ;; '
        f'*) cp uv.lock {seen} ;; esac ;; esac\nexec {uv_bin()} "$@"\n',
    )
    wrapper.chmod(0o755)
    with pypiserver(files, "-a", ".", "-P", ".") as mirror:
        env = clean_env(tmp_path / "env", LOCKSHIM_UV=str(wrapper))
        result = _mirror_sync(project, mirror, env)
    assert result.returncode == 0, result.stderr
    assert (project / "uv.lock").read_bytes() == original
    shimmed = seen.read_text()
    assert mirror.rstrip("/").rpartition("/simple")[0] in shimmed  # the mirror's own URLs
    assert "file://" not in shimmed

    clone = tmp_path / "clone"
    clone.mkdir()
    (clone / "uv.lock").write_text(shimmed)
    plain = lockshim(["check", str(clone / "uv.lock")], clone, clean_env(tmp_path / "c"))
    assert plain.returncode == 1, plain.stdout + plain.stderr
    assert (
        "left shimmed by a `lockshim sync` (2 artifact URLs point at local files or a mirror"
        in (plain.stdout)
    )
    configured = lockshim(
        ["check", str(clone / "uv.lock")],
        clone,
        clean_env(tmp_path / "c", LOCKSHIM_MIRROR=mirror),
    )
    assert configured.returncode == 1
    assert "2 artifact URLs (alpha, beta): artifact URL is on the mirror" in configured.stdout
