"""End-to-end discovery: the news spider crawls the fixture web in a Scrapy subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import pytest

from newsarchive.demo.server import LocalWeb, Response, Site
from newsarchive.discovery.urls import url_key
from newsarchive.spiders.news import COMMON_FEEDS, COMMON_SITEMAPS

from .web import WEB, build_web, expected

if TYPE_CHECKING:
    from collections.abc import Iterator

    from newsarchive.demo.server import Request

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]
EXPECTED = expected()
PATHS = {
    "sitemaps": "sitemap",
    "plainsitemap": "sitemap",
    "rssnews": "feed",
    "atomnews": "feed",
    "rdfnews": "feed",
    "sections": "section",
    "traps": "section",
}


@dataclass
class Crawl:
    web: LocalWeb
    items: list[dict[str, str]]
    stats: dict[str, object]
    returncode: int
    log: str

    def yielded(self, site: str) -> set[str]:
        base = self.web.base(site)
        return {urlsplit(i["url"]).path for i in self.items if i["url"].startswith(base + "/")}

    def fetched(self, site: str) -> list[str]:
        return [e.path for e in self.web.requests_for(site) if e.method == "GET"]


def run_crawl(web: LocalWeb, tmp: Path, *args: str) -> Crawl:
    record = tmp / "items.jsonl"
    cmd = [
        # -P: the repo root (cwd, for scrapy.cfg) must not shadow the installed package
        sys.executable, "-P", "-m", "scrapy", "crawl", "news", *args,
        "-s", "ITEM_PIPELINES=" + json.dumps({"recorder.RecordPipeline": 100}),
        "-s", f"NEWSARCHIVE_TEST_RECORD={record}",
        "-s", "NEWSARCHIVE_LOCAL=1",
        "-s", "LOG_LEVEL=INFO",
        "-s", "CLOSESPIDER_TIMEOUT=90",
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent)}  # for the recorder
    proc = subprocess.run(
        cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=150, check=False
    )
    items = (
        [json.loads(line) for line in record.read_text().splitlines()] if record.exists() else []
    )
    stats_path = record.with_suffix(".stats.json")
    stats = json.loads(stats_path.read_text()) if stats_path.exists() else {}
    return Crawl(web, items, stats, proc.returncode, proc.stderr)


@pytest.fixture(scope="module")
def crawl(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Crawl]:
    with build_web() as web:
        starts = ",".join(web.url(site, "/") for site in PATHS)
        result = run_crawl(web, tmp_path_factory.mktemp("crawl"), "-a", f"start_urls={starts}")
        yield result


def test_crawl_finishes_cleanly(crawl: Crawl) -> None:
    assert crawl.returncode == 0, crawl.log[-3000:]
    assert crawl.stats.get("finish_reason") in (None, "finished"), crawl.stats
    assert "Traceback" not in crawl.log, crawl.log[-3000:]


@pytest.mark.parametrize("site", sorted(PATHS))
def test_every_article_found_through_its_path(crawl: Crawl, site: str) -> None:
    want = set(EXPECTED["articles"][site])
    got = crawl.yielded(site)
    assert want - got == set(), f"missed on {site}: {sorted(want - got)}"
    vias = {i["via"] for i in crawl.items if i["url"].startswith(crawl.web.base(site) + "/")}
    assert vias == {PATHS[site]}


@pytest.mark.parametrize("site", sorted(PATHS))
def test_no_non_article_yielded(crawl: Crawl, site: str) -> None:
    got = crawl.yielded(site)
    assert got - set(EXPECTED["articles"][site]) == set()
    assert not got & set(EXPECTED["non_articles"][site])


@pytest.mark.parametrize("site", sorted(PATHS))
def test_no_url_fetched_twice(crawl: Crawl, site: str) -> None:
    keys = Counter(url_key(crawl.web.base(site) + path) for path in crawl.fetched(site))
    assert [k for k, n in keys.items() if n > 1] == []


def test_each_article_yielded_once_with_canonical_url(crawl: Crawl) -> None:
    assert crawl.items
    urls = Counter(url_key(i["url"]) for i in crawl.items)
    assert [u for u, n in urls.items() if n > 1] == []
    assert all("utm_" not in i["url"] and "#" not in i["url"] for i in crawl.items)
    assert all(i["source"].startswith("127.0.0.1-") for i in crawl.items)


def test_url_variants_and_variant_pages_not_fetched(crawl: Crawl) -> None:
    fetched = crawl.fetched("sections")
    kia = "/news/2024/05/kia-ev3-pricing-announced"
    assert sum(1 for p in fetched if p.rstrip("/").split("?")[0].split(";")[0] == kia) == 1
    assert not [p for p in fetched if p.endswith("/amp/") or "print=1" in p]
    assert not [p for p in fetched if p.endswith((".jpg", ".pdf"))]
    assert "/about/" not in fetched
    assert "/contact/" not in fetched


def test_traps_stop_within_limits(crawl: Crawl) -> None:
    fetched = crawl.fetched("traps")
    calendar = [p for p in fetched if p.startswith("/archive/")]
    pages = [p for p in fetched if p.startswith("/latest")]
    assert 1 <= len(calendar) <= 6, calendar
    assert 2 <= len(pages) <= 6, pages
    assert not [p for p in fetched if "/a/b/a/b/a" in p]
    assert crawl.stats.get("newsarchive/skipped/trap/barren_listing", 0) >= 2
    assert crawl.stats.get("newsarchive/skipped/trap/repeated_segment", 0) >= 1


def test_sitemap_details(crawl: Crawl) -> None:
    fetched = crawl.fetched("sitemaps")
    assert fetched.count("/sitemap_index.xml") == 1  # the index lists itself
    assert "/sitemap-2024-04.xml.gz" in fetched
    assert "/tag/volkswagen/" not in fetched  # listing URL skipped before fetching
    assert crawl.stats.get("newsarchive/sitemap/gzipped") == 1
    assert crawl.stats.get("newsarchive/sitemap/self_reference") == 1
    assert not [p for p in fetched if p in ("/sitemap.xml", "/news-sitemap.xml?x")]
    # robots.txt named a sitemap: no probing of common locations on this site.
    assert "/sitemap.xml" not in fetched
    assert "/sitemap.xml" in crawl.fetched("plainsitemap")


def test_feed_details(crawl: Crawl) -> None:
    assert "/feeds/all.rss" in crawl.fetched("rssnews")  # <link rel=alternate>
    assert "/atom.xml" in crawl.fetched("atomnews")  # common location
    assert "/index.rdf" in crawl.fetched("rdfnews")
    assert crawl.stats.get("newsarchive/feed/recovered", 0) >= 1  # the RDF has a bare '&'
    assert "/media/episode-12.mp3" not in crawl.fetched("rssnews")


def test_skips_are_counted(crawl: Crawl) -> None:
    for key in ("not_article", "listing_url", "utility_url", "media_url", "variant_url"):
        assert crawl.stats.get(f"newsarchive/skipped/{key}", 0) >= 1, key


def test_since_skips_old_entries(tmp_path: Path) -> None:
    with build_web() as web:
        starts = ",".join(web.url(site, "/") for site in ("sitemaps", "rssnews"))
        result = run_crawl(web, tmp_path, "-a", f"start_urls={starts}", "-a", "since=2024-01-01")
        assert result.returncode == 0, result.log[-3000:]
        old = {"/2019/03/01/archive-story-diesel-ban-ruling.html"}
        assert result.yielded("sitemaps") == set(EXPECTED["articles"]["sitemaps"]) - old
        assert "/sitemap-2019-03.xml" not in result.fetched("sitemaps")
        old_rss = {"/news/gm-cruise-robotaxi-restart-plan"}
        assert result.yielded("rssnews") == set(EXPECTED["articles"]["rssnews"]) - old_rss
        assert result.stats.get("newsarchive/skipped/old", 0) >= 1


def _polite_site(times: dict[str, list[float]]) -> Site:
    article = (WEB / "rdfnews" / "meldungen" / "zf-cuts-jobs-in-saarbruecken.html").read_text()
    article = "\n".join(line for line in article.splitlines() if 'rel="canonical"' not in line)
    html = {"Content-Type": "text/html; charset=utf-8"}

    def handler(request: Request) -> Response | None:
        path = request.path
        times.setdefault(path, []).append(time.monotonic())
        if path == "/robots.txt":
            return Response(
                200, b"User-agent: *\nDisallow: /private/\n", {"Content-Type": "text/plain"}
            )
        if path == "/":
            links = (
                '<a href="/busy/zf-cuts-jobs-in-saarbruecken">ZF</a>'
                '<a href="/private/zf-internal-memo-on-plant-closures">memo</a>'
                '<a href="http://offsite.invalid/news/zf-cuts-jobs-elsewhere">elsewhere</a>'
            )
            return Response(200, f"<html><body>{links}</body></html>".encode(), html)
        if path.startswith("/busy/"):
            if len(times[path]) == 1:
                return Response(429, b"slow down", {"Retry-After": "1", **html})
            return Response(200, article.encode(), html)
        return Response(404, b"", html)

    return Site("polite", None, handler)


def test_robots_retry_after_and_offsite(tmp_path: Path) -> None:
    times: dict[str, list[float]] = {}
    with LocalWeb([_polite_site(times)]) as web:
        result = run_crawl(web, tmp_path, "-a", f"start_urls={web.url('polite', '/')}")
        assert result.returncode == 0, result.log[-3000:]
        assert result.yielded("polite") == {"/busy/zf-cuts-jobs-in-saarbruecken"}
    busy = times["/busy/zf-cuts-jobs-in-saarbruecken"]
    assert len(busy) == 2
    assert busy[1] - busy[0] >= 0.9  # waited as Retry-After asked
    assert not [p for p in times if p.startswith("/private/")]
    assert result.stats.get("robotstxt/forbidden", 0) >= 1
    assert result.stats.get("newsarchive/retry_after/honoured") == 1
    assert result.stats.get("newsarchive/skipped/offsite", 0) >= 1


def test_max_pages_bounds_a_source(tmp_path: Path) -> None:
    with build_web() as web:
        result = run_crawl(
            web, tmp_path, "-a", f"start_urls={web.url('sections', '/')}", "-a", "max_pages=5"
        )
        assert result.returncode == 0, result.log[-3000:]
        pages = [p for p in result.fetched("sections") if p != "/robots.txt"]
    # The homepage and the discovery probes are not counted; everything else is.
    probes = len(COMMON_FEEDS) + len(COMMON_SITEMAPS)
    assert len(pages) <= 1 + probes + 5
    assert result.stats.get("newsarchive/skipped/max_pages", 0) >= 1


def test_an_unreachable_source_is_not_probed_path_by_path(tmp_path: Path) -> None:
    """Regression: a host refusing connections was still probed for a dozen common sitemap and
    feed paths, each retried with backoff (about 50 s for nothing)."""
    import socket

    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{sock.getsockname()[1]}/"
    with build_web() as web:
        crawl = run_crawl(web, tmp_path, "-a", f"start_urls={dead}", "-s", "RETRY_TIMES=0")
    assert crawl.stats.get("newsarchive/skipped/unreachable_source") == 1, crawl.log[-3000:]
    assert crawl.stats.get("downloader/request_count", 0) <= 2  # robots.txt and the homepage
