"""Row 10: what reading a real, large mirror page costs: pydantic-core's PEP 691 page on PyPI
(~7 MB, ~15,000 files; downloaded once into bench/.work), read by lockshim.sources.simple and one
file looked up / the floor, `json.loads` of the same bytes. Both in this process."""

from __future__ import annotations

import time
import urllib.request

from common import WORK, Row, paired

from lockshim.sources.simple import JSON_TYPE, listing

URL = "https://pypi.org/simple/pydantic-core/"


def measure(pairs: int) -> list[Row]:
    page = WORK / "pydantic-core.json"
    if not page.exists():
        request = urllib.request.Request(URL, headers={"Accept": JSON_TYPE})
        try:
            with urllib.request.urlopen(request, timeout=60) as answer:
                page.write_bytes(answer.read())
        except OSError as error:
            raise SystemExit(f"{URL} cannot be read: {error}") from None
    data = page.read_bytes()

    def ours() -> float:
        start = time.perf_counter()
        found = listing(data, JSON_TYPE, URL)
        name = next(iter(found._raw))
        assert found.find(name) is not None
        return time.perf_counter() - start

    def floor() -> float:
        import json

        start = time.perf_counter()
        json.loads(data.decode("utf-8"))
        return time.perf_counter() - start

    a, b, ratio = paired(ours, floor, pairs)
    name = (
        f"10. a real large mirror page ({len(data) / 1e6:.1f} MB, pydantic-core on PyPI): "
        "lockshim reads it and finds a file / json.loads alone (goal: the page under 1 s)"
    )
    return [(name, a, b, ratio, "<= 1 s", a <= 1.0)]
