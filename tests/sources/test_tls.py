"""Downloads over https, from an index behind a certificate authority of its own (as company
indexes are): trusted through SSL_CERT_FILE as uv trusts it, refused at once and said once
without it, and every connection of a run sharing one TLS context (loading the CA certificates
for each connection made eight parallel downloads CPU-bound; see lockshim.sources.tls)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import urllib3.connection
from support import LoopbackIndex, build_wheel, make_project, sha256_of, uv_lock
from support.projects import clean_env, lockshim
from support.tls import Authority, make_authority

from lockshim.digests import Digest
from lockshim.sources.batch import Batch
from lockshim.sources.credentials import Credentials
from lockshim.sources.download import Outcome, Wanted

NAMES = [f"pkg{i}" for i in range(6)]


def _digest(path: Path) -> Digest:
    return Digest(f"sha256:{sha256_of(path)}")


def fetch_all(wanted: list[Wanted], dest: Path, jobs: int) -> list[Outcome]:
    with Batch(dest, Credentials({}, False), jobs) as batch:
        return batch.wait(batch.add(wanted))


@pytest.fixture(scope="module")
def authority(tmp_path_factory: pytest.TempPathFactory) -> Authority:
    return make_authority(tmp_path_factory.mktemp("ca"))


@pytest.fixture
def registry(tmp_path: Path) -> Path:
    folder = tmp_path / "registry"
    for name in NAMES:
        build_wheel(folder, name, "1.0", payload=name.encode() * 5000)
    return folder


def test_every_https_connection_shares_one_context_built_for_the_ca_named_now(
    authority: Authority, registry: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    built_per_connection = []
    real = urllib3.connection.create_urllib3_context

    def counting(*args, **kwargs):  # type: ignore[no-untyped-def]
        built_per_connection.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(urllib3.connection, "create_urllib3_context", counting)
    monkeypatch.setenv("LOCKSHIM_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    with LoopbackIndex(registry, tls=authority.server_context()) as index:
        wanted = [
            Wanted(p.name, "1.0", p.name, index.file_url(p.name), _digest(p), p.stat().st_size)
            for p in sorted(registry.iterdir())
        ]
        # this machine's CAs do not know the index's: refused at once, not retried
        start = time.perf_counter()
        untrusted = fetch_all(wanted, tmp_path / "first", 4)
        assert time.perf_counter() - start < 2  # retrying would take 3.5 s of backoff
        assert {o.status for o in untrusted} == {"failed"}
        untrusted_here = f"the TLS certificate of 127.0.0.1:{index.port} is not trusted here"
        assert all(o.detail.startswith(untrusted_here) for o in untrusted)
        assert "SSL_CERT_FILE" in untrusted[0].detail
        assert not list((tmp_path / "first").iterdir())  # no file, no .part
        # named in SSL_CERT_FILE (in the same process: the context follows the variable)
        monkeypatch.setenv("SSL_CERT_FILE", str(authority.ca_file))
        trusted = fetch_all(wanted, tmp_path / "second", 4)
        assert [o.status for o in trusted] == ["downloaded"] * len(NAMES)
        assert index.connections == len(NAMES)  # a handshake a file (HTTP/1.0), one context
    for item in wanted:
        assert sha256_of(tmp_path / "second" / item.filename) == item.digest.hex
    assert built_per_connection == []  # urllib3 built none of its own, for any connection


def test_fetch_from_an_index_behind_its_own_ca_as_uv_locks_against_it(
    authority: Authority, registry: Path, tmp_path: Path
) -> None:
    project = make_project(tmp_path / "project", "app", NAMES, build_backend=None)
    with LoopbackIndex(registry, tls=authority.server_context()) as index:
        uv_lock(project, index, clean_env(tmp_path, SSL_CERT_FILE=str(authority.ca_file)))
        assert "https://127.0.0.1:" in (project / "uv.lock").read_text()
        lock = (project / "uv.lock").read_bytes()
        dest = ["fetch", "--dest", str(tmp_path / "wheels")]
        refused = lockshim(dest, project, clean_env(tmp_path), offline=False)
        assert refused.returncode == 1
        said = [line for line in refused.stderr.splitlines() if "TLS certificate" in line]
        assert said == [
            f"{len(NAMES)} files not fetched: the TLS certificate of 127.0.0.1:{index.port} is "
            "not trusted here "
            "(unable to get local issuer certificate): an index behind your organisation's own "
            "certificate authority needs that CA's certificate named in SSL_CERT_FILE (as uv "
            "takes it)."
        ]
        fetched = lockshim(
            dest,
            project,
            clean_env(tmp_path, SSL_CERT_FILE=str(authority.ca_file)),
            offline=False,
        )
        assert fetched.returncode == 0, fetched.stderr
    assert sorted(p.name for p in (tmp_path / "wheels").glob("*.whl")) == sorted(
        f"{name}-1.0-py3-none-any.whl" for name in NAMES
    )
    assert (project / "uv.lock").read_bytes() == lock


def test_a_redirect_to_a_host_whose_certificate_is_refused_names_that_host_not_the_index(
    authority: Authority, registry: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An index (plain http here) that sends its files to a storage host over https: the
    storage host's certificate is the one refused, named with its port; the index is not taken
    for down, and nothing is retried."""
    monkeypatch.setenv("LOCKSHIM_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    with (
        LoopbackIndex(registry, tls=authority.server_context()) as storage,
        LoopbackIndex(registry) as index,
    ):
        index.redirect_files = storage.root
        wanted = [
            Wanted(p.name, "1.0", p.name, index.file_url(p.name), _digest(p), p.stat().st_size)
            for p in sorted(registry.iterdir())
        ]
        start = time.perf_counter()
        outcomes = fetch_all(wanted, tmp_path / "dest", 2)
        assert time.perf_counter() - start < 2  # no retry
        storage_host = f"127.0.0.1:{storage.port}"
        for item, outcome in zip(wanted, outcomes, strict=True):
            assert outcome.status == "failed"
            assert outcome.detail.startswith(
                f"it redirects to {storage.file_url(item.filename)}, which cannot be reached "
                f"(the TLS certificate of {storage_host} is not trusted here"
            )
            assert index.downloads(item.filename) == 1  # each file asked of the index once
    assert not list((tmp_path / "dest").iterdir())


def test_a_certificate_for_another_name_is_refused_without_the_ca_advice(
    authority: Authority, registry: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The CA is trusted, but the certificate is for 127.0.0.1 and the URL says localhost:
    naming a CA would not help, so it is not advised."""
    monkeypatch.setenv("LOCKSHIM_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("SSL_CERT_FILE", str(authority.ca_file))
    with LoopbackIndex(registry, tls=authority.server_context()) as index:
        path = sorted(registry.iterdir())[0]
        url = index.file_url(path.name).replace("127.0.0.1", "localhost")
        wanted = Wanted(path.name, "1.0", path.name, url, _digest(path), path.stat().st_size)
        [outcome] = fetch_all([wanted], tmp_path / "dest", 1)
    assert outcome.status == "failed"
    said = outcome.detail
    assert said.startswith(f"the TLS certificate of localhost:{index.port} is not trusted here")
    assert "localhost" in said.partition("(")[2]  # OpenSSL's words: the name
    assert "SSL_CERT_FILE" not in said
