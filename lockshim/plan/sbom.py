"""What a bundle installs, as a CycloneDX 1.6 JSON SBOM (``sbom.cdx.json`` in every bundle).

Written by lockshim itself, from the lock's own records (no library at run time: the far side
may have only Python); the tests validate it against CycloneDX's schema with
cyclonedx-python-lib. One component per package and version, with its purl; each file it is
installed from is a ``distribution`` reference naming the lock's URL (never a local path) and
its digest. The project itself is the SBOM's subject.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from datetime import datetime, timezone
from typing import TYPE_CHECKING, NamedTuple
from urllib.parse import quote

from lockshim import __version__
from lockshim.digests import Digest

if TYPE_CHECKING:
    from pathlib import Path

    from lockshim.plan.files import Plan

#: CycloneDX's names of the digests a lock can pin.
_ALGORITHMS = {"sha256": "SHA-256", "sha384": "SHA-384", "sha512": "SHA-512"}
SBOM_NAME = "sbom.cdx.json"


class Installed(NamedTuple):
    """One file the bundle installs, as the lock records it."""

    name: str
    version: str | None
    filename: str
    url: str | None  # the lock's URL (None: a file the lock names by path only)
    digest: Digest | None


class GitInstalled(NamedTuple):
    name: str
    version: str | None
    repository: str
    commit: str


def purl(name: str, version: str | None, **qualifiers: str) -> str:
    """The package URL of a PyPI package (name normalized as the purl spec asks)."""
    normalized = name.lower().replace("_", "-").replace(".", "-")
    text = f"pkg:pypi/{quote(normalized, safe='-')}" + (f"@{quote(version)}" if version else "")
    if qualifiers:
        text += "?" + "&".join(f"{k}={quote(v, safe='')}" for k, v in sorted(qualifiers.items()))
    return text


def sbom(
    project: tuple[str, str | None],
    files: Iterable[Installed],
    git: Iterable[GitInstalled] = (),
    *,
    serial: str | None = None,
    timestamp: datetime | None = None,
) -> str:
    """The SBOM's JSON text: ``project`` (name, version) is its subject."""
    components: dict[tuple[str, str | None], dict[str, object]] = {}
    references: dict[tuple[str, str | None], list[dict[str, object]]] = {}
    for item in sorted(files, key=lambda f: (f.name.lower(), f.version or "", f.filename)):
        key = (item.name.lower(), item.version)
        components.setdefault(key, _component(item.name, item.version))
        reference: dict[str, object] = {
            "type": "distribution",
            "url": item.url or item.filename,
            "comment": item.filename,
        }
        if item.digest is not None and item.digest.algorithm in _ALGORITHMS:
            hashes = [{"alg": _ALGORITHMS[item.digest.algorithm], "content": item.digest.hex}]
            reference["hashes"] = hashes
        references.setdefault(key, []).append(reference)
    for key, listed in references.items():
        components[key]["externalReferences"] = listed
        if len(listed) == 1 and "hashes" in listed[0]:  # one file: its digest is the package's
            components[key]["hashes"] = listed[0]["hashes"]
    for pin in git:
        component = _component(pin.name, pin.version, vcs_url=f"git+{pin.repository}@{pin.commit}")
        component["externalReferences"] = [
            {"type": "vcs", "url": pin.repository, "comment": f"commit {pin.commit}"}
        ]
        components[(pin.name.lower(), pin.version)] = component
    subject = _component(project[0], project[1])
    subject["type"] = "application"
    document = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "serialNumber": serial or f"urn:uuid:{uuid.uuid4()}",
        "version": 1,
        "metadata": {
            "timestamp": (timestamp or datetime.now(timezone.utc)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "tools": {
                "components": [{"type": "application", "name": "lockshim", "version": __version__}]
            },
            "component": subject,
        },
        "components": list(components.values()),
    }
    return json.dumps(document, indent=1, sort_keys=False) + "\n"


def _component(name: str, version: str | None, **qualifiers: str) -> dict[str, object]:
    reference = purl(name, version, **qualifiers)
    component: dict[str, object] = {"type": "library", "bom-ref": reference, "name": name}
    if version:
        component["version"] = version
    component["purl"] = reference
    return component


def installed_of(plan: Plan) -> tuple[list[Installed], list[GitInstalled]]:
    """The files and git sources a plan's target installs."""
    files = [
        Installed(e.name, e.version, e.filename, e.url, e.digest)
        for e in (*plan.served, *plan.mirrored, *plan.missing)
        if e.filename
    ]
    pins = [s.pin for s in plan.git.served] + list(plan.git.missing)
    git = [GitInstalled(p.name, p.version, p.repository, p.commit) for p in pins]
    return files, git


def subject(pyproject: Path, fallback: str) -> tuple[str, str | None]:
    """The project's name and version, from its pyproject.toml (else the folder's name)."""
    from lockshim._compat import tomllib

    try:
        table = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("project", {})
    except (OSError, ValueError):
        table = {}
    name = table.get("name") if isinstance(table, dict) else None
    version = table.get("version") if isinstance(table, dict) else None
    return (
        str(name) if isinstance(name, str) else fallback,
        str(version) if isinstance(version, str) else None,
    )
