"""Positions in a lock's text: where lines start, and the line at an offset."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator


@functools.lru_cache(maxsize=4)
def newlines(text: str) -> list[int]:
    return [m.start() for m in re.finditer("\n", text)]


def at_line_start(text: str, prefix: str, start: int = 0) -> Iterator[int]:
    """Positions of ``prefix`` at the start of a line, from ``start`` (``str.find``: fast)."""
    if start == 0 and text.startswith(prefix):
        yield 0
    needle = "\n" + prefix
    at = text.find(needle, start)
    while at >= 0:
        yield at + 1
        at = text.find(needle, at + 1)


def line_at(text: str, at: int) -> str:
    """The line that starts at ``at``, without trailing blanks or line ending."""
    end = text.find("\n", at)
    return text[at : end if end >= 0 else len(text)].rstrip(" \t\r")
