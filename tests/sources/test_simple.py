"""Reading index pages (PEP 691 JSON, PEP 503 HTML) as data: lockshim/sources/simple.py."""

from __future__ import annotations

import json

import pytest

from lockshim.sources.simple import IndexFile, PageError, listing, parse

PAGE = "https://mirror.example/pypi/simple/alpha/"


def test_html_links_are_resolved_against_the_page_and_keep_their_digest() -> None:
    html = b"""<!DOCTYPE html><html><body>
    <a href="../../packages/alpha-1.0-py3-none-any.whl#sha256=ABCDEF01">alpha</a>
    <a href="/+f/123/4567/alpha-1.0.tar.gz#sha512=00ff">alpha-1.0.tar.gz</a>
    <a href="https://files.example/x/alpha%2B1-2.0-py3-none-any.whl">renamed</a>
    <a href="file:///etc/passwd#sha256=00">passwd</a>
    <a href="javascript:alert(1)">x</a>
    </body></html>"""
    assert parse(html, "text/html; charset=utf-8", PAGE) == [
        IndexFile(
            "alpha-1.0-py3-none-any.whl",
            "https://mirror.example/pypi/packages/alpha-1.0-py3-none-any.whl",
            {"sha256": "abcdef01"},
        ),
        IndexFile(
            "alpha-1.0.tar.gz",
            "https://mirror.example/+f/123/4567/alpha-1.0.tar.gz",
            {"sha512": "00ff"},
        ),
        IndexFile(
            "alpha+1-2.0-py3-none-any.whl",
            "https://files.example/x/alpha%2B1-2.0-py3-none-any.whl",
            {},
        ),
    ]


def test_an_html_base_tag_moves_relative_links() -> None:
    html = b'<html><head><base href="https://cdn.example/f/"></head><a href="a-1.0.tar.gz">a</a>'
    assert parse(html, "text/html", PAGE)[0].url == "https://cdn.example/f/a-1.0.tar.gz"


def test_pep691_json_with_relative_urls_sizes_and_several_digests() -> None:
    page = {
        "meta": {"api-version": "1.1"},
        "name": "alpha",
        "files": [
            {
                "filename": "alpha-1.0-py3-none-any.whl",
                "url": "../../files/alpha-1.0-py3-none-any.whl",
                "hashes": {"sha256": "AA", "sha512": "bb", "md5": "not hex!"},
                "size": 10,
            },
            {"filename": "broken", "hashes": {}},  # no url: not a file
            {"filename": "alpha-0.9.tar.gz", "url": "ftp://x/alpha-0.9.tar.gz", "hashes": {}},
            "not an entry",
        ],
    }
    files = parse(json.dumps(page).encode(), "application/vnd.pypi.simple.v1+json", PAGE)
    assert files == [
        IndexFile(
            "alpha-1.0-py3-none-any.whl",
            "https://mirror.example/pypi/files/alpha-1.0-py3-none-any.whl",
            {"sha256": "aa", "sha512": "bb"},
            10,
        )
    ]


def test_a_listing_by_file_name_reads_what_parse_reads_and_takes_the_first_usable_entry() -> None:
    """`listing` (the mirror's lookup) reads a JSON entry only when its file is asked for;
    what it answers is what `parse` answers: for a name listed twice, the first usable entry
    (a non-http one is skipped, as parse skips it)."""
    page = {
        "meta": {"api-version": "1.1"},
        "name": "alpha",
        "files": [
            {"filename": "alpha-1.0.tar.gz", "url": "ftp://x/alpha-1.0.tar.gz", "hashes": {}},
            {
                "filename": "alpha-1.0.tar.gz",
                "url": "/a/alpha-1.0.tar.gz",
                "hashes": {"sha256": "01"},
            },
            {
                "filename": "alpha-1.0.tar.gz",
                "url": "/b/alpha-1.0.tar.gz",
                "hashes": {"sha256": "02"},
            },
            {"url": "../../files/alpha-1.0-py3-none-any.whl", "hashes": {"sha256": "03"}},
        ]
        + [
            {"filename": f"alpha-0.{n}.tar.gz", "url": f"/old/alpha-0.{n}.tar.gz", "hashes": {}}
            for n in range(1000)
        ],
    }
    body = json.dumps(page).encode()
    kind = "application/vnd.pypi.simple.v1+json"
    listed = listing(body, kind, PAGE)
    assert listed["alpha-1.0.tar.gz"] == IndexFile(
        "alpha-1.0.tar.gz", "https://mirror.example/a/alpha-1.0.tar.gz", {"sha256": "01"}
    )
    assert listed["alpha-1.0-py3-none-any.whl"].hashes == {"sha256": "03"}
    assert "alpha-2.0.tar.gz" not in listed
    first: dict[str, IndexFile] = {}
    for item in parse(body, kind, PAGE):
        first.setdefault(item.filename, item)
    assert dict(listed) == first and len(listed) == 1002
    html = b'<a href="x/alpha-1.0.tar.gz#sha256=aa">a</a><a href="y/alpha-1.0.tar.gz">b</a>'
    assert dict(listing(html, "text/html", PAGE)) == {
        "alpha-1.0.tar.gz": IndexFile(
            "alpha-1.0.tar.gz",
            "https://mirror.example/pypi/simple/alpha/x/alpha-1.0.tar.gz",
            {"sha256": "aa"},
        )
    }


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        (b"{not json", "application/vnd.pypi.simple.v1+json"),
        (b'{"projects": []}', "application/vnd.pypi.simple.v1+json"),
        (b"\x89PNG...", "image/png"),
    ],
)
def test_what_is_not_a_project_page_is_named(body: bytes, kind: str) -> None:
    with pytest.raises(PageError):
        parse(body, kind, PAGE)


def test_a_page_listing_too_many_files_is_refused_before_it_is_parsed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The caps on one page, lowered to test them on small pages: the files are counted in
    the bytes before any object is made; one line says why."""
    from lockshim.sources import simple

    monkeypatch.setattr(simple, "FILES_LIMIT", 10)
    entries = ",".join(f'{{"url": "f/x-{i}.whl"}}' for i in range(11))
    page = f'{{"files": [{entries}]}}'.encode()
    with pytest.raises(simple.PageError, match="it lists more than 10 files: refused"):
        simple.listing(page, simple.JSON_TYPE, "http://h/simple/x/")
    html = "".join(f'<a href="x-{i}.whl">x</a>' for i in range(11)).encode()
    with pytest.raises(simple.PageError, match="it lists more than 10 files: refused"):
        simple.listing(html, "text/html", "http://h/simple/x/")
    monkeypatch.setattr(simple, "JSON_PAGE_LIMIT", 100)
    with pytest.raises(simple.PageError, match="longer than 0 MiB: refused"):
        simple.listing(b'{"files": []}' + b" " * 100, simple.JSON_TYPE, "http://h/simple/x/")


def test_nameless_entries_are_named_by_their_url_without_reading_them() -> None:
    """An entry without "filename" is listed under its URL's last part (percent-decoded), and
    read in full only when asked for."""
    from lockshim.sources import simple

    page = b'{"files": [{"url": "../../f/x-1.0-py3-none-any.whl#sha256=ab"}]}'
    found = simple.listing(page, simple.JSON_TYPE, "http://h/simple/x/")
    assert list(found._raw) == ["x-1.0-py3-none-any.whl"]
    entry = found.find("x-1.0-py3-none-any.whl")
    assert entry is not None and entry.url == "http://h/f/x-1.0-py3-none-any.whl"
