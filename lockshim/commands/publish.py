"""`lockshim publish BUNDLE --to URL`: a bundle's registry files into the far side's own index
(pypiserver, devpi, Nexus, Artifactory), so every machine there installs with `--mirror`.

Each file is checked against the bundle's manifest first, then looked up on the index's simple
pages: one the index holds with the same digest is skipped, one it holds under the same name
with other bytes is refused and named, the others are uploaded (twine's upload API). git and
direct URL sources, and wheels lockshim built from sdists, are never published unless asked:
they are not what the index's name and version stand for. Credentials as twine and uv take
them (``TWINE_USERNAME``/``TWINE_PASSWORD``, ``UV_INDEX_<NAME>_*`` of an index named in
``UV_INDEX``, netrc); never written anywhere, never printed.
"""

from __future__ import annotations

import json
import tempfile
import zipfile
from pathlib import Path
from typing import NamedTuple

from lockshim.errors import LockshimError, UsageError
from lockshim.report import Reporter
from lockshim.sources.credentials import credentials_for_upload, redact
from lockshim.sources.download import Downloader, PageFailure
from lockshim.sources.upload import Upload, Uploaded, post


class PublishReport(NamedTuple):
    to: str
    outcomes: tuple[Uploaded, ...]

    @property
    def status(self) -> int:
        return 1 if any(o.status in ("refused", "failed") for o in self.outcomes) else 0

    def count(self, status: str) -> int:
        return sum(o.status == status for o in self.outcomes)

    def text(self) -> str:
        lines = [
            f"{o.status}: {o.filename}" + (f" ({o.detail})" if o.detail else "")
            for o in self.outcomes
            if o.status in ("refused", "failed", "left out")
        ]
        lines.append(
            f"published to {redact(self.to)}: {self.count('uploaded')} uploaded, "
            f"{self.count('present')} already there (same digest), {self.count('refused')} "
            f"refused, {self.count('failed')} failed, {self.count('left out')} left out."
        )
        return "\n".join(lines)

    def json(self) -> str:
        return json.dumps(
            {
                "to": redact(self.to),
                "files": [o._asdict() for o in self.outcomes],
            },
            indent=2,
        )


def run_publish(
    bundle: Path, to: str, reporter: Reporter, simple: str | None = None, with_built: bool = False
) -> PublishReport:
    """Publish the bundle's registry files to the index whose upload URL is ``to`` (its simple
    API: ``simple``, else found beside it)."""
    from lockshim.sources.bundlefile import LOCK_LIMIT, read_manifest, read_stored
    from lockshim.sources.bundletree import unpack_files

    if not to.startswith(("http://", "https://")):
        raise UsageError(f"--to {redact(to)}: an index's upload URL (http:// or https://).")
    try:
        with zipfile.ZipFile(bundle) as archive:
            manifest = read_manifest(archive, bundle)
            lock = read_stored(archive, "project/" + manifest.lock_name, LOCK_LIMIT, bundle)
    except (OSError, zipfile.BadZipFile) as error:
        raise LockshimError(f"{bundle}: cannot be read as a lockshim bundle ({error}).") from None
    direct = _direct_url_files(lock, bundle)
    built = {member.removeprefix("files/") for member in manifest.built}
    credentials = credentials_for_upload(to)
    outcomes: list[Uploaded] = []
    with tempfile.TemporaryDirectory(prefix="lockshim-publish-") as work:
        folder = Path(work) / "unpacked"
        unpack_files(bundle, folder, manifest.files, {}, ())  # each checked by its digest
        downloader = Downloader(Path(work), credentials, 4, keep=False)
        root = simple or _simple_root(downloader, to)
        for member, (sha256, _) in sorted(manifest.files.items()):
            name = member.removeprefix("files/")
            why = _left_out(name, direct, built if not with_built else set())
            if why:
                outcomes.append(Uploaded(name, "left out", why))
                continue
            item = _upload(folder / "files" / name, name, sha256)
            if item is None:
                outcomes.append(Uploaded(name, "left out", "not a wheel or sdist name"))
                continue
            held = _held(downloader, root, item)
            if held is not None:
                outcomes.append(held)
                continue
            outcome = post(downloader.pool, to, item, credentials)
            if outcome.status == "failed" and "HTTP 409" in outcome.detail:
                outcome = _held(downloader, root, item) or outcome
            outcomes.append(outcome)
            if outcome.status == "uploaded":
                reporter.info(f"uploaded {name}")
    return PublishReport(to, tuple(outcomes))


def _direct_url_files(lock: bytes, bundle: Path) -> set[str]:
    """The file names of the lock's direct URL packages (not what an index name stands for)."""
    from lockshim.lockfile.read import parse_lock

    parsed = parse_lock(lock, bundle.with_name("uv.lock"))
    return {a.filename for p in parsed.packages if p.source_kind == "url" for a in p.artifacts}


def _left_out(name: str, direct: set[str], built: set[str]) -> str:
    if name.endswith(".bundle"):
        return "a git source: an index holds no git commits"
    if name in direct:
        return "a direct URL source: its name and version are not the index's to give"
    if name in built:
        return "a wheel lockshim built from an sdist (--with-built publishes it)"
    return ""


def _upload(path: Path, filename: str, sha256: str) -> Upload | None:
    from packaging.utils import (
        InvalidSdistFilename,
        InvalidWheelFilename,
        parse_sdist_filename,
        parse_wheel_filename,
    )

    try:
        if filename.endswith(".whl"):
            name, version, _, tags = parse_wheel_filename(filename)
            python = ".".join(sorted({t.interpreter for t in tags}))
            return Upload(path, filename, name, str(version), "bdist_wheel", python, sha256)
        name, version = parse_sdist_filename(filename)
    except (InvalidWheelFilename, InvalidSdistFilename):
        return None
    return Upload(path, filename, name, str(version), "sdist", "source", sha256)


def _simple_root(downloader: Downloader, to: str) -> str:
    """The index's simple API beside its upload URL: ``+simple/`` (devpi) or ``simple/``
    (pypiserver and most others)."""
    from lockshim.sources.simple import ACCEPT

    base = to.rstrip("/") + "/"
    for candidate in (base + "+simple/", base + "simple/", base):
        try:
            downloader.read_page(candidate, ACCEPT, 64 << 20)
        except PageFailure:
            continue
        return candidate
    raise LockshimError(
        f"no simple API found beside {redact(to)} (tried +simple/ and simple/): give it with "
        "--simple URL."
    )


def _held(downloader: Downloader, root: str, item: Upload) -> Uploaded | None:
    """``present`` when the index holds the file with its digest, ``refused`` when it holds
    that name with other bytes, None when it does not hold it."""
    from lockshim.sources.simple import ACCEPT, PAGE_LIMIT, PageError, listing, project_url

    try:
        url, kind, body = downloader.read_page(project_url(root, item.name), ACCEPT, PAGE_LIMIT)
        entry = listing(body, kind, url).find(item.filename)
    except (PageFailure, PageError):
        return None  # no page yet: the project is new there
    if entry is None or entry.filename != item.filename:
        return None
    given = entry.hashes.get("sha256")
    if given is None:  # the page gives no sha256: the index's bytes decide, streamed and checked
        return _same_bytes(downloader, entry.url, item)
    if given == item.sha256:
        return Uploaded(item.filename, "present")
    return Uploaded(
        item.filename,
        "refused",
        f"the index holds other bytes under that name (sha256 {given}, the bundle's is "
        f"{item.sha256}); nothing uploaded over it",
    )


def _same_bytes(downloader: Downloader, url: str, item: Upload) -> Uploaded:
    """Whether the index's file at ``url`` is the bundle's: downloaded into a private folder
    (never kept), checked against the bundle's digest as it streams."""
    from lockshim.digests import Digest
    from lockshim.sources.download import Wanted

    with tempfile.TemporaryDirectory(prefix="lockshim-compare-") as folder:
        probe = Downloader(Path(folder), downloader.credentials, 1, keep=False)
        wanted = Wanted(
            item.name, item.version, item.filename, url, Digest(f"sha256:{item.sha256}"), None
        )
        outcome = probe.fetch(wanted)
    if outcome.status == "downloaded":
        return Uploaded(item.filename, "present")
    return Uploaded(
        item.filename,
        "refused",
        f"the index holds that name and its bytes are not the bundle's ({outcome.detail}); "
        "nothing uploaded over it",
    )
