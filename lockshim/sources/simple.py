"""Reading an index's project page: the files it lists (PEP 691 JSON, PEP 503 HTML).

A page is data: its links are resolved against the page's own URL, only http(s) links are
kept, a file name is the last path segment of its link (percent-decoded), and a page is read
only up to ``PAGE_LIMIT`` bytes, however the server compresses it. Digests are kept as the
page gives them (algorithm -> lowercase hex), for the caller to compare with the lock.
"""

from __future__ import annotations

import functools
import json
import re
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit, urlunsplit

#: The most bytes (after decompression) a project page may have.
PAGE_LIMIT = 64 << 20
#: A PEP 691 page's bytes and files at most: what parsing one costs in memory and time grows
#: with them (pydantic-core's page on PyPI: 7 MB, 15,000 files).
JSON_PAGE_LIMIT = 32 << 20
FILES_LIMIT = 100_000
#: Pages larger than this are parsed one at a time (pages are read several at once).
_BIG_PAGE = 2 << 20
_ONE_BIG_PAGE = threading.Lock()
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


def _is_json(data: bytes, content_type: str) -> bool:
    kind = content_type.split(";", 1)[0].strip().lower()
    return kind == JSON_TYPE or (kind.endswith("json") and data.lstrip()[:1] == b"{")


def parse(data: bytes, content_type: str, page_url: str) -> list[IndexFile]:
    """The files a page lists; PageError when it is neither PEP 691 JSON nor PEP 503 HTML."""
    if _is_json(data, content_type):
        return _parse_json(data, page_url)
    kind = content_type.split(";", 1)[0].strip().lower()
    if kind in ("text/html", "application/xhtml+xml", "") or data.lstrip()[:1] == b"<":
        return _parse_html(data, page_url)
    raise PageError(f"the answer is {kind or 'of no type'}, not an index page")


class Listing(Mapping[str, IndexFile]):
    """A page's files by file name (the first usable entry of a name), each read only when
    asked for: a big project's page lists thousands (pydantic-core's PEP 691 page on PyPI:
    15,000 files, 7 MB), and a mirror lookup wants one or two of them."""

    def __init__(
        self, raw: Mapping[str, Sequence[Any]], read: Callable[[Any], IndexFile | None]
    ) -> None:
        self._raw = raw  # file name -> its entries, as ``read`` takes them
        self._make = read
        self._read: dict[str, IndexFile | None] = {}
        self._keys: dict[str, str] | None = None  # filename_key -> a file name listed

    def _entry(self, filename: str) -> IndexFile | None:
        if filename not in self._read:
            found = (self._make(entry) for entry in self._raw.get(filename, ()))
            self._read[filename] = next((item for item in found if item is not None), None)
        return self._read[filename]

    def find(self, filename: str) -> IndexFile | None:
        """The entry of this file name, or of the same file spelled otherwise (a project name
        in another case or with other separators: ``PyYAML-6.0.2-…`` and ``pyyaml-6.0.2-…``);
        the digest still decides whether it is the file."""
        entry = self._entry(filename)
        if entry is not None:
            return entry
        if self._keys is None:
            self._keys = {}
            for name in self._raw:
                self._keys.setdefault(filename_key(name), name)
        other = self._keys.get(filename_key(filename))
        return self._entry(other) if other is not None else None

    def __getitem__(self, filename: str) -> IndexFile:
        entry = self._entry(filename)
        if entry is None:
            raise KeyError(filename)
        return entry

    def __iter__(self) -> Iterator[str]:
        return (name for name in self._raw if self._entry(name) is not None)

    def __len__(self) -> int:
        return sum(1 for _ in self)


def filename_key(filename: str) -> str:
    """A file name as installers compare them: the project name normalized (PEP 503, with
    ``_``), the rest lower-cased."""
    name, dash, rest = filename.partition("-")
    return re.sub(r"[-_.]+", "_", name).lower() + dash + rest.lower()


def listing(data: bytes, content_type: str, page_url: str) -> Listing:
    """The files a page lists, by file name; PageError as for :func:`parse`. Where the page is
    PEP 691 JSON, whose entries name their files, an entry is read only when asked for."""
    if _is_json(data, content_type):
        raw: dict[str, list[Any]] = {}
        for entry in _json_entries(data):
            name = entry.get("filename")
            if not isinstance(name, str) or not name:  # no name given: the URL's last part
                url = entry["url"].partition("#")[0].partition("?")[0]
                name = unquote(url.rstrip("/").rpartition("/")[2])
            if name:
                raw.setdefault(name, []).append(entry)
        return Listing(raw, functools.partial(_json_file, page_url=page_url))
    files: dict[str, list[Any]] = {}
    for item in parse(data, content_type, page_url):
        files.setdefault(item.filename, []).append(item)
    return Listing(files, _same)


def _same(item: IndexFile) -> IndexFile:
    return item


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


def _json_entries(data: bytes) -> list[dict[str, Any]]:
    if len(data) > JSON_PAGE_LIMIT:  # what parsing costs grows with it, not only the bytes
        raise PageError(f"its JSON is longer than {JSON_PAGE_LIMIT >> 20} MiB: refused")
    if data.count(b'"url"') > FILES_LIMIT:  # counted before a single object is made
        raise PageError(f"it lists more than {FILES_LIMIT} files: refused")
    try:
        if len(data) > _BIG_PAGE:
            with _ONE_BIG_PAGE:  # one large page parsed at a time: a bounded peak
                page = json.loads(data.decode("utf-8"))
        else:
            page = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        why = "nested too deeply" if isinstance(error, RecursionError) else str(error)
        raise PageError(f"its JSON cannot be read ({why})") from None
    files = page.get("files") if isinstance(page, dict) else None
    if not isinstance(files, list):
        raise PageError("its JSON has no list of files")
    if len(files) > FILES_LIMIT:
        raise PageError(f"it lists {len(files)} files, more than {FILES_LIMIT}: refused")
    return [e for e in files if isinstance(e, dict) and isinstance(e.get("url"), str)]


def _json_file(entry: Mapping[str, Any], page_url: str) -> IndexFile | None:
    hashes = entry.get("hashes")
    name = entry.get("filename")
    item = _file(
        name if isinstance(name, str) else None,
        entry["url"],
        page_url,
        hashes if isinstance(hashes, dict) else {},
        entry.get("size"),
    )
    if item is not None and isinstance(name, str) and name and name != item.filename:
        item = IndexFile(name, item.url, item.hashes, item.size)
    return item


def _parse_json(data: bytes, page_url: str) -> list[IndexFile]:
    found = []
    for entry in _json_entries(data):
        item = _json_file(entry, page_url)
        if item is not None:
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
    if data.lower().count(b"<a") > FILES_LIMIT:  # counted before a single link is read
        raise PageError(f"it lists more than {FILES_LIMIT} files: refused")
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
