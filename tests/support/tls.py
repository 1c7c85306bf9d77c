"""A certificate authority of the test's own, and a certificate it signs for 127.0.0.1: what a
company index behind its own CA looks like to lockshim and uv (made with the `openssl` CLI;
the tests that need it skip where there is none).

    authority = make_authority(tmp_path / "ca")
    with LoopbackIndex(folder, tls=authority.server_context()) as index:   # https://127.0.0.1
        SSL_CERT_FILE=authority.ca_file  # trusted by lockshim (Python's ssl) and uv alike
"""

from __future__ import annotations

import shutil
import ssl
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

#: the leaf's extensions: what Python 3.13's strict verification asks of a server certificate
_LEAF = """\
subjectAltName=IP:127.0.0.1
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid,issuer
"""


@dataclass(frozen=True)
class Authority:
    ca_file: Path  # the CA's certificate (PEM): what SSL_CERT_FILE names
    cert_file: Path  # the server's certificate for 127.0.0.1, signed by the CA
    key_file: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert_file, self.key_file)
        return context


def make_authority(folder: Path) -> Authority:
    """A new CA and a server certificate for 127.0.0.1 in ``folder`` (skips without openssl)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("the openssl command is not on this machine")
    folder.mkdir(parents=True, exist_ok=True)
    curve = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]

    def run(*args: str) -> None:
        subprocess.run([openssl, *args], cwd=folder, check=True, capture_output=True)

    run(
        "req", "-x509", *curve, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
        "-subj", "/CN=lockshim test CA",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign",
    )  # fmt: skip
    run("req", *curve, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1")
    (folder / "leaf.cnf").write_text(_LEAF, encoding="utf-8")
    run(
        "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
        "-CAcreateserial", "-out", "server.pem", "-days", "2", "-extfile", "leaf.cnf",
    )  # fmt: skip
    return Authority(folder / "ca.pem", folder / "server.pem", folder / "server.key")
