"""Errors lockshim reports, and the exit statuses they map to.

Exit statuses (documented in README.md):

* uv's own status whenever uv ran;
* 2 for a usage error (a bad flag, a flag that would make uv write the lock);
* 3 when lockshim itself could not do its job (bad lock, no uv, unreadable wheelhouse);
* 4 when a restore found uv.lock changed by someone else and kept both versions;
* 128 + N when stopped by signal N (130 for Ctrl-C), after uv.lock was restored.
"""

from __future__ import annotations

EXIT_USAGE = 2
EXIT_FAILURE = 3
EXIT_CONFLICT = 4


class LockshimError(Exception):
    """lockshim could not do its job; the message says what and how to fix it."""

    exit_code = EXIT_FAILURE


class UsageError(LockshimError):
    """The command line asks for something lockshim will not do."""

    exit_code = EXIT_USAGE


class LockError(LockshimError):
    """uv.lock cannot be read or is not a lock lockshim understands."""


class RestoreConflict(LockshimError):
    """uv.lock changed under an interrupted shim: both versions were kept."""

    exit_code = EXIT_CONFLICT


class Interrupted(BaseException):
    """A signal stopped the run; raised so that every ``finally`` runs."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum

    @property
    def exit_code(self) -> int:
        return 128 + self.signum
