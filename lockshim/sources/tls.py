"""One TLS context for every https connection of a run.

Left to itself, urllib3 builds a new context for each new connection and loads the system's CA
certificates into it: about 40 ms of CPU each time, which made eight parallel downloads from
PyPI CPU-bound on a small machine (measured: 0.5 s of CPU for 34 files, 0.13 s with one
context). The context here is built the same way (urllib3's defaults: certificates required,
host names checked, the system's CA certificates with ``SSL_CERT_FILE``/``SSL_CERT_DIR``
honoured), once for each value of those variables.
"""

from __future__ import annotations

import functools
import os
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import ssl

_building = threading.Lock()


def context() -> ssl.SSLContext:
    """The verifying context for the CA certificates the environment names now."""
    with _building:  # the downloads' threads ask at once: it is built only once
        return _context(os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))


@functools.cache
def _context(cert_file: str | None, cert_dir: str | None) -> ssl.SSLContext:
    from urllib3.util.ssl_ import create_urllib3_context

    built = create_urllib3_context()  # CERT_REQUIRED, check_hostname, TLS 1.2 or newer
    built.load_default_certs()  # reads SSL_CERT_FILE / SSL_CERT_DIR, as urllib3 does
    return built


def warm(https: bool) -> None:
    """Import urllib3, and with ``https`` build the context, in a background thread while
    something else waits: the first download then finds them ready (~40 ms for urllib3's
    import, ~40 ms for the context, measured).

    Not a daemon: a run with nothing to download may end first, and an import still running
    while the interpreter shuts down crashed it (SIGSEGV, in a bundle made from local files).
    """
    threading.Thread(target=_warm, args=(https,), name="lockshim-tls").start()


def _warm(https: bool) -> None:
    import urllib3  # noqa: F401  (what every download needs)

    if https:
        context()
