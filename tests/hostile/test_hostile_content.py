"""Bodies that lie: wrong content types, wrong or missing charsets, empty and broken HTML.

One crawl covers the whole module (a crawl costs seconds); each test checks one fault in it.
"""

from __future__ import annotations

import struct
import zlib
from typing import TYPE_CHECKING

import pytest

from newsarchive.demo.server import Response

from .harness import (
    Crawled,
    article_html,
    crawl_sites,
    good_site,
    html,
    listing_html,
    log_mentions,
    query,
)

if TYPE_CHECKING:
    from collections.abc import Iterator

    from .harness import Seeded

pytestmark = pytest.mark.slow

PNG_AS_HTML = "/news/2026/11/photo-story.html"
PDF_AS_HTML = "/news/2026/11/annual-report.html"
HTML_AS_BINARY = "/news/2026/11/octet-story.html"
CP1252_DECLARED_UTF8 = "/news/2026/11/citroen-declared.html"
CP1252_UNDECLARED = "/news/2026/11/citroen-undeclared.html"
EMPTY = "/news/2026/11/empty-story.html"
TRUNCATED = "/news/2026/11/truncated-story.html"
MALFORMED = "/news/2026/11/malformed-story.html"


def png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    raw = b"".join(b"\x00" + bytes(range(256))[: 3 * 64] for _ in range(64))
    ihdr = struct.pack(">IIBBBBB", 64, 64, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)


TEXT = "Citroën’s “Ë-C4” costs €29,990 — a café-racer price."


def broken_pages() -> tuple[str, str]:
    full = article_html("Truncated story about axle suppliers", 44)
    truncated = full[: full.index("Report 44-3")]  # stops mid-paragraph, no closing tags
    malformed = (
        article_html("Malformed story about brake recalls", 45)
        .replace("</p>", "")
        .replace("<article>", "<article><div><span><table><tr><td>")
        .replace("</main>", "</div></b></i></td></main></html></html>")
        + "<p <<< unterminated <!-- comment"
    )
    return truncated, malformed


@pytest.fixture(scope="module")
def crawled(module_seeded: Seeded) -> Iterator[Crawled]:
    story = article_html("Octet stream story about tyre makers", 41)
    declared = article_html(
        "Citroën prices the new hatch", 42, charset="utf-8", extra_body=f"<p>{TEXT}</p>"
    ).encode("cp1252")
    undeclared = article_html(
        "Citroën revises its van range", 43, charset=None, extra_body=f"<p>{TEXT}</p>"
    ).encode("cp1252")
    truncated, malformed = broken_pages()
    sites = {
        "liar": {
            "/": html(listing_html([PNG_AS_HTML, PDF_AS_HTML, HTML_AS_BINARY])),
            PNG_AS_HTML: html(png()),
            PDF_AS_HTML: html(PDF),
            HTML_AS_BINARY: Response(
                200, story.encode(), {"Content-Type": "application/octet-stream"}
            ),
        },
        "charset": {
            "/": html(listing_html([CP1252_DECLARED_UTF8, CP1252_UNDECLARED])),
            CP1252_DECLARED_UTF8: Response(
                200, declared, {"Content-Type": "text/html; charset=utf-8"}
            ),
            CP1252_UNDECLARED: Response(200, undeclared, {"Content-Type": "text/html"}),
        },
        "broken": {
            "/": html(listing_html([EMPTY, TRUNCATED, MALFORMED])),
            EMPTY: html(b""),
            TRUNCATED: html(truncated),
            MALFORMED: html(malformed),
        },
        "good": good_site("content"),
    }
    with crawl_sites(sites, module_seeded) as crawled:
        yield crawled


def test_crawl_completes_and_stored_articles_are_untouched(crawled: Crawled) -> None:
    assert crawled.result.summary is not None
    assert crawled.result.summary["finish_reason"] == "finished"
    assert len(crawled.stored("content-fresh")) == 2, "the healthy site is archived"
    crawled.seeded.untouched()


def test_binary_served_as_html_is_not_archived(crawled: Crawled) -> None:
    for path in (PNG_AS_HTML, PDF_AS_HTML):
        assert crawled.web.hits_for("liar", path), f"{path} was requested"
    assert not crawled.stored("photo-story")
    assert not crawled.stored("annual-report")
    for row in query(crawled.seeded.db, "SELECT body FROM articles"):
        assert "\x00" not in row["body"]
        assert "IHDR" not in row["body"]
        assert "%PDF" not in row["body"]


def test_html_served_as_octet_stream_is_sniffed(crawled: Crawled) -> None:
    assert crawled.web.hits_for("liar", HTML_AS_BINARY)
    assert crawled.stored("octet-story"), "HTML archived despite its Content-Type"


def test_wrong_and_missing_charset(crawled: Crawled) -> None:
    rows = {r["url"].rsplit("/", 1)[-1]: r for r in crawled.stored("citroen")}
    assert set(rows) == {"citroen-declared.html", "citroen-undeclared.html"}
    for name, row in rows.items():
        assert row["title"].startswith("Citroën"), f"{name}: title {row['title']!r}"
        assert "€29,990" in row["body"], name
        assert "café-racer" in row["body"], name
        assert "\ufffd" not in row["body"] + row["title"], f"{name}: replacement characters"


def test_empty_200_is_recorded_not_archived(crawled: Crawled) -> None:
    assert crawled.web.hits_for("broken", EMPTY)
    assert not crawled.stored("empty-story")
    db = crawled.seeded.db
    captures = query(db, "SELECT status FROM captures WHERE url LIKE '%empty-story%'")
    states = query(db, "SELECT last_status FROM url_state WHERE url LIKE '%empty-story%'")
    assert [c["status"] for c in captures] == [200] or [s["last_status"] for s in states] == [200]
    assert log_mentions(crawled.result.log, crawled.web.url("broken", EMPTY))


def test_truncated_and_malformed_html_are_archived(crawled: Crawled) -> None:
    (truncated,) = crawled.stored("truncated-story")
    (malformed,) = crawled.stored("malformed-story")
    assert "Report 44-2" in truncated["body"]
    assert "Report 45-4" in malformed["body"]
