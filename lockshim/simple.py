"""Reading an index's project page: the files it lists (PEP 691 JSON, PEP 503 HTML).

A page is data: its links are resolved against the page's own URL, only http(s) links are
kept, a file name is the last path segment of its link (percent-decoded), and a page is read
only up to ``PAGE_LIMIT`` bytes, however the server compresses it. Digests are kept as the
page gives them (algorithm -> lowercase hex), for the caller to compare with the lock.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import unquote, urljoin, urlsplit, urlunsplit

#: The most bytes (after decompression) a project page may have.
PAGE_LIMIT = 64 << 20
JSON_TYPE = "application/vnd.pypi.simple.v1+json"
ACCEPT = f"{JSON_TYPE}, text/html;q=0.1"


@dataclass(frozen=True)
class IndexFile:
    """One file a project page lists."""

    filename: str
    url: str  # absolute, without the digest fragment
    hashes: Mapping[str, str] = field(default_factory=dict)
    size: int | None = None


class PageError(Exception):
    """The answer is not a project page of a simple index."""


def project_url(index_url: str, project: str) -> str:
    """The page of ``project`` (a normalized name) under the index root."""
    return index_url.rstrip("/") + "/" + project + "/"


def parse(data: bytes, content_type: str, page_url: str) -> list[IndexFile]:
    """The files a page lists; PageError when it is neither PEP 691 JSON nor PEP 503 HTML."""
    kind = content_type.split(";", 1)[0].strip().lower()
    if kind == JSON_TYPE or (kind.endswith("json") and data.lstrip()[:1] == b"{"):
        return _parse_json(data, page_url)
    if kind in ("text/html", "application/xhtml+xml", "") or data.lstrip()[:1] == b"<":
        return _parse_html(data, page_url)
    raise PageError(f"the answer is {kind or 'of no type'}, not an index page")


def _file(
    name_hint: str | None, href: str, page_url: str, hashes: Mapping[str, str], size: object = None
) -> IndexFile | None:
    url = urljoin(page_url, href.strip())
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https"):
        return None
    plain = urlunsplit(parts._replace(fragment=""))
    filename = unquote(parts.path.rsplit("/", 1)[-1]) or (name_hint or "")
    if not filename:
        return None
    checked = {
        str(alg).lower(): str(value).lower()
        for alg, value in hashes.items()
        if isinstance(value, str) and value and all(c in "0123456789abcdefABCDEF" for c in value)
    }
    return IndexFile(
        filename, plain, checked, size if isinstance(size, int) and size >= 0 else None
    )


def _parse_json(data: bytes, page_url: str) -> list[IndexFile]:
    try:
        page = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        raise PageError(f"its JSON cannot be read ({error})") from None
    files = page.get("files") if isinstance(page, dict) else None
    if not isinstance(files, list):
        raise PageError("its JSON has no list of files")
    found = []
    for entry in files:
        if not isinstance(entry, dict) or not isinstance(entry.get("url"), str):
            continue
        hashes = entry.get("hashes")
        name = entry.get("filename")
        item = _file(
            name if isinstance(name, str) else None,
            entry["url"],
            page_url,
            hashes if isinstance(hashes, dict) else {},
            entry.get("size"),
        )
        if item is not None:
            if isinstance(name, str) and name and name != item.filename:
                item = IndexFile(name, item.url, item.hashes, item.size)
            found.append(item)
    return found


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.base: str | None = None
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "base" and values.get("href") and self.base is None:
            self.base = values["href"]
        elif tag == "a" and values.get("href"):
            self.links.append(str(values["href"]))


def _parse_html(data: bytes, page_url: str) -> list[IndexFile]:
    parser = _Links()
    try:
        parser.feed(data.decode("utf-8", errors="replace"))
        parser.close()
    except Exception as error:  # html.parser is lenient; anything it raises is a bad page
        raise PageError(f"its HTML cannot be read ({error})") from None
    base = urljoin(page_url, parser.base) if parser.base else page_url
    found = []
    for href in parser.links:
        fragment = urlsplit(href).fragment
        alg, _, value = fragment.partition("=")
        item = _file(None, href, base, {alg: value} if value else {})
        if item is not None:
            found.append(item)
    return found
