"""Uploading a file to an index the way twine does (the upload API pypiserver, devpi, Nexus and
Artifactory speak: one multipart POST a file), with urllib3, which a self-contained bundle
already carries.

Credentials go only to the upload URL's own origin and are never printed (URLs are redacted).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING, Literal, NamedTuple

from lockshim.sources.credentials import Credentials, redact
from lockshim.sources.download import USER_AGENT

if TYPE_CHECKING:
    import urllib3

#: What became of one file.
Status = Literal["uploaded", "present", "refused", "failed", "left out"]


class Uploaded(NamedTuple):
    filename: str
    status: Status
    detail: str = ""


class Upload(NamedTuple):
    """One file to upload, as the index's upload API names it."""

    path: Path  # where its bytes are (read whole: an index takes the file in one request)
    filename: str
    name: str
    version: str
    filetype: Literal["bdist_wheel", "sdist"]
    pyversion: str  # the wheel's python tag, "source" for an sdist
    sha256: str


def post(pool: urllib3.PoolManager, url: str, item: Upload, credentials: Credentials) -> Uploaded:
    """Upload one file; its outcome (an index that has it already says so with 409 or 400)."""
    data = item.path.read_bytes()
    if hashlib.sha256(data).hexdigest() != item.sha256:
        return Uploaded(item.filename, "refused", "its bytes changed since they were checked")
    fields: dict[str, str | tuple[str, bytes, str]] = {
        ":action": "file_upload",
        "protocol_version": "1",
        "metadata_version": "2.1",
        "name": item.name,
        "version": item.version,
        "filetype": item.filetype,
        "pyversion": item.pyversion,
        "sha256_digest": item.sha256,
        "md5_digest": hashlib.md5(data, usedforsecurity=False).hexdigest(),
        "content": (item.filename, data, "application/octet-stream"),
    }
    # A connection of its own for each upload: some servers (devpi's waitress) answer the
    # next request on a kept-alive connection with the rest of the last one's reply.
    headers = {"User-Agent": USER_AGENT, "Connection": "close"}
    header = credentials.header_for(url)
    if header:
        headers["Authorization"] = header
    for attempt in range(2):  # once more after a broken connection
        try:
            response = pool.request("POST", url, fields=fields, headers=headers, redirect=False)
            break
        except Exception as error:  # urllib3's and the OS's: said, never raised
            if attempt:
                return Uploaded(item.filename, "failed", f"{redact(url)}: {error}")
    if 200 <= response.status < 300:
        return Uploaded(item.filename, "uploaded")
    reason = f"HTTP {response.status} {response.reason or ''}".strip()
    if response.status in (401, 403):
        return Uploaded(item.filename, "failed", f"{reason}: the index wants a password")
    return Uploaded(item.filename, "failed", f"{redact(url)} answered {reason}")
