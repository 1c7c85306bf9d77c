"""What the far side's own tools read: a CycloneDX SBOM and a PEP 751 pylock.toml in every
bundle, checked with cyclonedx-python-lib's schema validator and installed by real pip 26.3
with no index and no network."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from support import build_wheel, offline_command, uv_lock
from support.projects import FORKY_HERE, FORKY_OTHER, clean_env, lockshim, serving
from support.uvenv import make_project
from support.wheelhouse import WheelhouseUnavailable, pip_wheel, wheels_into
from support.wheels import uv_wheel

from lockshim._compat import tomllib

PIP = "26.3"


@pytest.fixture(scope="session")
def pip_263() -> Path:
    """pip 26.3's wheel, downloaded once (like hatchling's) with this machine's pip setup."""
    try:
        return pip_wheel(PIP)
    except WheelhouseUnavailable as error:
        pytest.skip(str(error))


def _app(hatchling_wheelhouse: Path, tmp_path: Path) -> tuple[Path, Path]:
    """A packaged (hatchling) app with an extra, a group and a forked package, locked by uv."""
    registry = wheels_into(tmp_path / "registry", hatchling_wheelhouse)
    for name in ("alpha", "beta", "gamma"):
        build_wheel(registry, name, "1.0")
    build_wheel(registry, "forky", "1.0", requires_python="<3.11")
    build_wheel(registry, "forky", "2.0", requires_python=">=3.11")
    app = make_project(
        tmp_path / "app",
        "app",
        ["alpha", "forky"],
        extras={"x": ["beta"]},
        groups={"dev": ["gamma"]},
        requires_python=">=3.10",
    )
    with serving(registry) as index:
        uv_lock(app, index, clean_env(tmp_path / "lock"))
    lock = tomllib.loads((app / "uv.lock").read_text())
    assert {p["version"] for p in lock["package"] if p["name"] == "forky"} == {"1.0", "2.0"}
    return app, registry


def test_a_bundle_carries_an_sbom_and_a_pylock_that_pip_installs_offline(
    hatchling_wheelhouse: Path, pip_263: Path, tmp_path: Path
) -> None:
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    app, registry = _app(hatchling_wheelhouse, tmp_path)
    uv_wheel(registry)
    bundle = tmp_path / "app.pyz"
    made = lockshim(
        [
            *("bundle", "-o", str(bundle), "--self-contained", "--no-pip-cache", "-w"),
            *(str(registry), "--sbom", str(tmp_path / "beside.cdx.json")),
            *("--", "--all-extras", "--all-groups"),
        ],
        app,
        clean_env(tmp_path / "bundle-env"),
    )
    assert made.returncode == 0, made.stderr
    with zipfile.ZipFile(bundle) as archive:
        sbom_text = archive.read("sbom.cdx.json").decode()
        members = {n.removeprefix("files/") for n in archive.namelist() if n.startswith("files/")}
    assert (tmp_path / "beside.cdx.json").read_text() == sbom_text
    errors = JsonStrictValidator(SchemaVersion.V1_6).validate_str(sbom_text)
    assert errors is None, errors
    sbom = json.loads(sbom_text)
    assert sbom["metadata"]["component"]["name"] == "app"
    listed = {(c["name"], c["version"]): c for c in sbom["components"]}
    installed = {("alpha", "1.0"), ("beta", "1.0"), ("gamma", "1.0"), ("forky", FORKY_HERE)}
    assert set(listed) == installed  # what this Python installs: the other fork is not
    for (name, version), component in listed.items():
        assert component["purl"] == f"pkg:pypi/{name}@{version}"
        (reference,) = component["externalReferences"]
        wheel = registry / f"{name}-{version}-py3-none-any.whl"
        digest = __import__("hashlib").sha256(wheel.read_bytes()).hexdigest()
        assert component["hashes"] == [{"alg": "SHA-256", "content": digest}]
        assert reference["url"].startswith("http://127.0.0.1:")  # the lock's URL, never a path
        assert wheel.name in members

    # the far side: unpack, then pip 26.3 in a fresh environment, no index, no network
    far = tmp_path / "far"
    unpacked = subprocess.run(
        [sys.executable, "-I", str(bundle), "unpack", str(far)],
        capture_output=True,
        text=True,
        env=clean_env(tmp_path / "unpack-env"),
    )
    assert unpacked.returncode == 0, unpacked.stderr
    assert "pip install --no-index -r" in unpacked.stderr and "experimental" in unpacked.stderr
    assert "not in pylock.toml: app (built from its source" in unpacked.stderr
    pylock = tomllib.loads((far / "pylock.toml").read_text())
    assert {(p["name"], p["version"]) for p in pylock["packages"]} == installed
    assert all(w["path"].startswith("files/") for p in pylock["packages"] for w in p["wheels"])
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    pip = [str(python), f"{pip_263}/pip"]  # pip runs from its own wheel, as get-pip does
    subprocess.run([*pip, "install", "-q", "--no-index", str(pip_263)], check=True)
    assert (
        f"pip {PIP} "
        in subprocess.run(
            [str(python), "-m", "pip", "--version"], capture_output=True, text=True
        ).stdout
    )
    command = [str(python), "-m", "pip", "install", "--no-index", "-r", str(far / "pylock.toml")]
    env = clean_env(tmp_path / "pip-env")
    ran = subprocess.run(
        offline_command(command),
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    assert ran.returncode == 0, ran.stdout + ran.stderr
    imported = subprocess.run(
        [str(python), "-c", "import alpha, beta, gamma, forky; print(forky.__version__)"],
        capture_output=True,
        text=True,
    )
    assert imported.stdout.strip() == FORKY_HERE, imported.stderr
    assert FORKY_OTHER != FORKY_HERE


def test_sbom_alone_lists_what_the_bundle_would_install(
    hatchling_wheelhouse: Path, tmp_path: Path
) -> None:
    """`bundle --sbom FILE` without -o: nothing bundled; uv's arguments say what is installed
    (here without the dev group, which uv installs by default)."""
    app, registry = _app(hatchling_wheelhouse, tmp_path)
    out = tmp_path / "app.cdx.json"
    made = lockshim(
        [
            *("bundle", "--sbom", str(out), "--no-pip-cache", "-w", str(registry)),
            *("--", "--all-extras", "--no-dev"),
        ],
        app,
        clean_env(tmp_path / "env"),
    )
    assert made.returncode == 0, made.stderr
    names = {(c["name"], c["version"]) for c in json.loads(out.read_text())["components"]}
    assert names == {("alpha", "1.0"), ("beta", "1.0"), ("forky", FORKY_HERE)}
    assert not (tmp_path / "app.pyz").exists() and not list(tmp_path.glob("*.zip"))
