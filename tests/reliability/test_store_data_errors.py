"""Item: hostile text crawled into PostgreSQL loses at most its own page, never the crawl.

PostgreSQL refuses what SQLite takes: a NUL in ``text``, ``\\u0000`` and lone surrogates in
``jsonb``, and index rows over the btree limit (a long URL under a unique index). The site below
serves each of them from an article page next to a clean one; the crawl into PostgreSQL must
store every page it can (cleaned), refuse only the one whose URL cannot be a key (a redirect to
a 3,000-character URL), settle that URL, and a second run must neither abort nor fetch the
refused page again. A canonical link too long to be a key (the spider does not follow it; a
page can still declare one) is stored under the page's own URL.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from support.newssite import article_html, html

from newsarchive.demo.server import LocalWeb, Request, Response, Site

from .crawling import crawl, pg_rows

if TYPE_CHECKING:
    from pathlib import Path

LONG = "/news/2026/11/" + "b" * 3000 + ".html"
PAGES = {
    "clean": article_html("Carmaker opens a clean new plant in Bavaria", 1),
    "nul": article_html(
        "Recall\x00 notice for brake\x00 hoses", 2, extra_body="<p>Text with &#0; and \x00.</p>"
    ),
    "surrogate": article_html("Battery \ud800cell supplier \udfffcuts prices", 3),
    "jsonnul": article_html("Dealer network\u0000 shrinks again in the north", 4),
    "canonical": article_html(
        "Supplier names a new chief executive for Europe",
        5,
        extra_body="",
    ).replace("<head>", f'<head><link rel="canonical" href="/news/2026/11/{"a" * 3000}.html">'),
}


def _site(request: Request) -> Response | None:
    path = request.path
    if path == "/robots.txt":
        return Response(200, b"User-agent: *\nAllow: /\n", {"Content-Type": "text/plain"})
    if path == "/":
        links = [f"/news/2026/11/{name}.html" for name in PAGES] + ["/news/2026/11/moved.html"]
        items = "".join(f'<li><a href="{h}">Story {i}</a></li>' for i, h in enumerate(links))
        return html(f"<html><body><h1>News</h1><ul>{items}</ul></body></html>")
    if path == "/news/2026/11/moved.html":
        return Response(301, b"", {"Location": LONG})
    if path == LONG:
        return html(article_html("Truck maker moves its headquarters to the coast", 6))
    for name, page in PAGES.items():
        if path == f"/news/2026/11/{name}.html":
            return html(page.encode("utf-8", "surrogatepass"))
    return None


def test_hostile_text_loses_one_page_not_the_crawl(pg_url: str, tmp_path: Path) -> None:
    with LocalWeb([Site("hostile", None, _site)]) as web:
        home = web.url("hostile", "/")
        first = crawl(pg_url, [home], tmp_path / "one.log")
        hits_before = len([e for e in web.requests_for("hostile") if e.path == LONG])
        second = crawl(pg_url, [home], tmp_path / "two.log")
        hits_after = len([e for e in web.requests_for("hostile") if e.path == LONG])

    for run in (first, second):
        assert run.summary is not None, run.stderr[-2000:]
        assert run.summary["finish_reason"] == "finished", run.stderr[-2000:]
        assert run.exit_code in (0, 1), run.stderr[-2000:]
    rows = pg_rows(pg_url, "SELECT url, canonical_url, title, body, authors::text FROM articles")
    by_url = {r[0].rsplit("/", 1)[-1]: r for r in rows}
    # every page whose text was hostile is stored, cleaned
    assert {"clean.html", "nul.html", "surrogate.html", "jsonnul.html"} <= set(by_url), sorted(
        by_url
    )
    for _url, canonical, title, body, authors in rows:
        for value in (canonical, title or "", body, authors):
            assert "\x00" not in value
            value.encode("utf-8")  # no lone surrogate survived
    # (extraction may already have cleaned the text; the store's own cleaning is pinned by
    # test_overlong_canonical_url_is_stored_under_the_page_url)
    # the page whose address cannot be a key is refused alone, counted, logged and settled
    assert first.summary is not None
    assert first.summary["errors_by_kind"].get("store") == 1
    assert "archive refused" in first.log
    states = dict(pg_rows(pg_url, "SELECT url, state FROM url_state WHERE url LIKE '%moved.html'"))
    assert list(states.values()) == ["rejected"]
    # the next run does not fetch it again, and nothing is left pending
    assert hits_before == 1
    assert hits_after == hits_before
    assert pg_rows(pg_url, "SELECT count(*) FROM url_state WHERE state = 'discovered'") == [(0,)]
    assert second.summary is not None
    assert second.summary["errors"] == 0


def test_overlong_canonical_url_is_stored_under_the_page_url(pg_url: str) -> None:
    from datetime import UTC, datetime

    from newsarchive.archive import open_archive
    from newsarchive.archive.store import save_page
    from newsarchive.items import Article, FetchedPage

    url = "http://news.example/news/2026/11/long-canonical.html"
    body = "A supplier named a new chief executive for its European business today. " * 20
    article = Article(
        url=url,
        canonical_url="http://news.example/" + "a" * 3000,
        title="Supplier names a new chief\x00 executive",
        body=body,
        authors=["Dana\x00 Keller", "Lee \udc80Park"],
    )
    page = FetchedPage(
        url=url, requested_url=url, body=b"<html></html>", status=200, source="example",
        fetched_at=datetime.now(UTC), article=article,
    )  # fmt: skip
    with open_archive(pg_url) as archive, archive.session() as session:
        result = save_page(session, page)
    assert result.status == "new"
    rows = pg_rows(pg_url, "SELECT canonical_url, title, authors::text FROM articles")
    assert rows == [
        (url, "Supplier names a new chief executive", '["Dana Keller", "Lee \ufffdPark"]')
    ]
