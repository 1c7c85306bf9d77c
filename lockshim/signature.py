"""A bundle's signature: OpenSSH's own file signing (``ssh-keygen -Y``), namespace
``lockshim-bundle``, written beside the bundle as ``FILE.sig``.

Anyone checks one with ssh-keygen alone, before running any of the bundle's code::

    ssh-keygen -Y verify -f allowed_signers -I IDENTITY -n lockshim-bundle -s FILE.sig < FILE

lockshim only runs ssh-keygen: the key, a passphrase prompt, ssh-agent and the allowed signers
file are OpenSSH's, and nothing of them is read or kept here.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import NamedTuple

from lockshim.errors import LockshimError, UsageError

NAMESPACE = "lockshim-bundle"
SUFFIX = ".sig"


def signature_path(bundle: Path) -> Path:
    return bundle.with_name(bundle.name + SUFFIX)


def _ssh_keygen() -> str:
    found = shutil.which("ssh-keygen")
    if found is None:
        raise UsageError(
            "signing and checking a bundle's signature need OpenSSH's ssh-keygen (8.2 or "
            "newer), which is not on PATH here. Install OpenSSH's client tools."
        )
    return found


def sign(bundle: Path, key: Path) -> Path:
    """Sign ``bundle`` with ``key`` (a private key file, or a public key whose private half is
    in ssh-agent); the signature file. A passphrase prompt reaches the terminal."""
    if not key.is_file():
        raise UsageError(f"--sign {key}: no such key file.")
    signature = signature_path(bundle)
    if signature.is_symlink() or (signature.exists() and not signature.is_file()):
        raise LockshimError(f"{signature} is not a file lockshim may replace; nothing was signed.")
    if signature.exists():
        os.unlink(signature)  # the signature of the file this run replaced
    result = subprocess.run(
        [_ssh_keygen(), "-q", "-Y", "sign", "-f", str(key), "-n", NAMESPACE, str(bundle)],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0 or not signature.is_file():
        said = " ".join(result.stderr.split())[:400] or f"exit status {result.returncode}"
        raise LockshimError(
            f"{bundle} was written but not signed: ssh-keygen said: {said}. Check the key "
            "(a private key file, or a public key whose private half is in ssh-agent), then "
            f"sign it with `ssh-keygen -Y sign -f KEY -n {NAMESPACE} {bundle}`."
        )
    return signature


class Checked(NamedTuple):
    good: bool
    text: str  # what was found, for people


def check(bundle: Path, allowed_signers: Path) -> Checked:
    """Whether ``FILE.sig`` is a good signature of ``bundle`` by a key ``allowed_signers``
    names for this namespace (the signer found with ``ssh-keygen -Y find-principals``)."""
    signature = signature_path(bundle)
    if not signature.is_file():
        return Checked(False, f"no signature: {signature} is not there.")
    if not allowed_signers.is_file():
        raise UsageError(f"--allowed-signers {allowed_signers}: no such file.")
    tool = _ssh_keygen()
    found = subprocess.run(
        [tool, "-Y", "find-principals", "-f", str(allowed_signers), "-s", str(signature)],
        capture_output=True,
        text=True,
        check=False,
    )
    principals = [line.strip() for line in found.stdout.splitlines() if line.strip()]
    if found.returncode != 0 or not principals:
        return Checked(
            False,
            f"signature: BAD: {signature} was not made by a key {allowed_signers} names.",
        )
    for principal in principals:
        command = [tool, "-Y", "verify", "-f", str(allowed_signers), "-I", principal]
        command += ["-n", NAMESPACE, "-s", str(signature)]
        with open(bundle, "rb") as data:
            verified = subprocess.run(
                command,
                stdin=data,
                capture_output=True,
                text=True,
                check=False,
            )
        if verified.returncode == 0:
            said = " ".join(verified.stdout.split())
            return Checked(True, f"signature: good, by {principal} ({said}).")
    return Checked(
        False,
        f"signature: BAD: {signature} does not match {bundle} (changed since it was signed, or "
        f"signed for another namespace than {NAMESPACE}).",
    )
