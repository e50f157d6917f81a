"""An index's sitemaps are read one at a time per source, so the scheduler's queue of pending
requests stays bounded by what one sitemap lists (issue #18: the crawl process grew by ~2 KB
per URL a sitemap index listed, all its sitemaps read at once)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from support.newssite import html, prose_text, text_page

from newsarchive.demo.server import LocalWeb, Response, Site

from .test_crawl import run_crawl

if TYPE_CHECKING:
    from pathlib import Path

    from newsarchive.demo.server import Request

pytestmark = pytest.mark.slow
SITEMAPS = 6
PER_SITEMAP = 60
MISSING = 2  # this sitemap answers 404
NOT_A_SITEMAP = 4  # this one answers an HTML page
CONCURRENT_REQUESTS = 32  # the crawl's downloader capacity (settings.py)


def _article(n: int, i: int) -> str:
    return f"/news/{n}/story-{i}.html"


def _served() -> set[int]:
    return set(range(SITEMAPS)) - {MISSING, NOT_A_SITEMAP}


def _big_site() -> Site:
    xml = {"Content-Type": "application/xml"}

    def handler(request: Request) -> Response | None:
        path, base = request.path, f"http://{request.headers['Host']}"
        if path == "/robots.txt":
            robots = f"User-agent: *\nSitemap: {base}/sitemap_index.xml\n"
            return Response(200, robots.encode(), {"Content-Type": "text/plain"})
        if path == "/":
            return html("<html><body><h1>Big Wire</h1></body></html>")
        if path == "/sitemap_index.xml":
            entries = "".join(
                f"<sitemap><loc>{base}/sitemaps/{n}.xml</loc></sitemap>" for n in range(SITEMAPS)
            )
            body = (
                '<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
                f"{entries}</sitemapindex>"
            )
            return Response(200, body.encode(), xml)
        if path.startswith("/sitemaps/"):
            n = int(path.removeprefix("/sitemaps/").removesuffix(".xml"))
            if n == NOT_A_SITEMAP:
                return html("<html><body>Moved to our new site</body></html>")
            if n not in _served():
                return None  # 404
            urls = "".join(
                f"<url><loc>{base}{_article(n, i)}</loc></url>" for i in range(PER_SITEMAP)
            )
            body = f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>'
            return Response(200, body.encode(), xml)
        if path.startswith("/news/"):
            seed = sum(ord(c) for c in path) * 31 + len(path)
            title = f"Plant news {path}"
            return html(text_page(title, prose_text(seed, words=220)))
        return None

    return Site("big", None, handler)


def test_an_index_sitemaps_are_read_as_their_articles_drain(tmp_path: Path) -> None:
    with LocalWeb([_big_site()]) as web:
        result = run_crawl(web, tmp_path, "-a", f"start_urls={web.url('big', '/')}")
        assert result.returncode == 0, result.log[-3000:]
        log = [e for e in web.requests_for("big") if e.method == "GET"]
        yielded = result.yielded("big")
    want = {_article(n, i) for n in _served() for i in range(PER_SITEMAP)}
    assert yielded == want  # every article still found, the 404 and HTML skipped
    # URLs listed by the sitemaps fetched so far whose article was not yet requested: with every
    # sitemap read at once this reached all of them (240); read in turn, one sitemap's worth
    # plus what the downloader had taken but not yet sent
    pending = peak = 0
    for entry in log:
        if entry.path.startswith("/sitemaps/") and entry.status == 200:
            n = int(entry.path.removeprefix("/sitemaps/").removesuffix(".xml"))
            pending += PER_SITEMAP if n in _served() else 0
        elif entry.path.startswith("/news/"):
            pending -= 1
        peak = max(peak, pending)
    assert PER_SITEMAP <= peak <= PER_SITEMAP + CONCURRENT_REQUESTS, peak
    assert result.stats.get("newsarchive/sitemap/paced") == SITEMAPS - 1
    # the failed and the non-sitemap documents ended their turns: nothing waited for the idle
    assert "newsarchive/sitemap/released_idle" not in result.stats
    assert result.stats.get("newsarchive/sitemap/not_sitemap") == 1
