"""The discovery parsers on bytes: sitemaps, feeds, autodiscovery links and robots.txt."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pytest

from newsarchive.discovery.feeds import Feed, NotAFeed, common_feed_urls, feed_links, parse_feed
from newsarchive.discovery.robots import robots_url, site_key, sitemap_urls
from newsarchive.discovery.sitemaps import Sitemap, SitemapEntry, common_sitemap_urls
from newsarchive.discovery.xmldoc import BadGzip, gunzip

if TYPE_CHECKING:
    from pathlib import Path

NS = 'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"'
NEWS_NS = 'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9"'
BASE = "https://news.example.org/"


def urlset(entries: str, prolog: str = "") -> bytes:
    return f'<?xml version="1.0"?>{prolog}<urlset {NS} {NEWS_NS}>{entries}</urlset>'.encode()


# -- sitemaps ------------------------------------------------------------------------------
def test_urlset_entries_with_news_dates_first() -> None:
    body = urlset(
        "<url><loc> https://news.example.org/a </loc><lastmod>2026-11-20</lastmod></url>"
        "<url><loc>https://news.example.org/b</loc><lastmod>2026-11-01</lastmod>"
        "<news:news><news:publication_date>2026-11-02T08:00:00+01:00</news:publication_date>"
        "</news:news></url>"
        "<url><lastmod>2026-11-03</lastmod></url>"
    )
    sitemap = Sitemap(body)
    assert sitemap.kind == "urlset"
    assert list(sitemap) == [
        SitemapEntry("https://news.example.org/a", datetime(2026, 11, 20, tzinfo=UTC)),
        SitemapEntry("https://news.example.org/b", datetime(2026, 11, 2, 7, tzinfo=UTC)),
        SitemapEntry("", datetime(2026, 11, 3, tzinfo=UTC)),
    ]
    assert sitemap.error is None
    assert not sitemap.gzipped


def test_sitemap_index_and_garbage_dates() -> None:
    body = (
        f"<sitemapindex {NS}><sitemap><loc>https://news.example.org/s1.xml</loc>"
        "<lastmod>not a date</lastmod></sitemap><other/></sitemapindex>"
    ).encode()
    sitemap = Sitemap(body)
    assert sitemap.kind == "sitemapindex"
    assert list(sitemap) == [SitemapEntry("https://news.example.org/s1.xml", None)]


def test_html_at_a_sitemap_url_is_not_a_sitemap() -> None:
    sitemap = Sitemap(b"<!doctype html><html><body><p>Not found</p></body></html>")
    assert sitemap.kind is None
    assert list(sitemap) == []


def test_empty_body_is_not_a_sitemap_and_says_why() -> None:
    sitemap = Sitemap(b"  \n")
    assert sitemap.kind is None
    assert list(sitemap) == []
    assert sitemap.error


def test_cut_sitemap_keeps_the_entries_before_the_break() -> None:
    body = urlset(
        "".join(f"<url><loc>https://news.example.org/{i}</loc></url>" for i in range(3))
    ).replace(b"</urlset>", b"<url><loc>https://news.example.org/never <<<&& </lo")
    sitemap = Sitemap(body)
    locs = [e.loc for e in sitemap]
    assert locs[:3] == [f"https://news.example.org/{i}" for i in range(3)]
    assert sitemap.error


def test_entity_bomb_is_stopped_and_entries_before_it_kept() -> None:
    lol = "".join(f'<!ENTITY l{i} "{("&l" + str(i - 1) + ";") * 10}">' for i in range(1, 10))
    body = urlset(
        "<url><loc>https://news.example.org/plain</loc></url>"
        "<url><loc>https://news.example.org/a&l9;</loc></url>"
        "<url><loc>https://news.example.org/after</loc></url>",
        prolog=f'<!DOCTYPE urlset [<!ENTITY l0 "lol">{lol}]>',
    )
    sitemap = Sitemap(body)
    locs = [e.loc for e in sitemap]
    assert locs == ["https://news.example.org/plain", "https://news.example.org/a"]
    assert sitemap.error


def test_external_entities_are_not_read(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("CANARY-42")
    body = urlset(
        "<url><loc>https://news.example.org/b&xxe;</loc></url>"
        "<url><loc>https://news.example.org/c</loc></url>",
        prolog=f'<!DOCTYPE urlset [<!ENTITY xxe SYSTEM "file://{secret}">]>',
    )
    locs = [e.loc for e in Sitemap(body)]
    assert locs == ["https://news.example.org/b", "https://news.example.org/c"]
    feed = parse_feed(
        f'<!DOCTYPE rss [<!ENTITY xxe SYSTEM "file://{secret}">]><rss><channel>'
        "<item><link>/x&xxe;</link><title>&xxe;</title></item></channel></rss>".encode(),
        BASE,
    )
    assert isinstance(feed, Feed)
    assert [e.link for e in feed.entries] == ["https://news.example.org/x"]


def test_gzipped_sitemap_and_limits() -> None:
    body = urlset("<url><loc>https://news.example.org/a</loc></url>")
    sitemap = Sitemap(gzip.compress(body))
    assert sitemap.gzipped
    assert [e.loc for e in sitemap] == ["https://news.example.org/a"]
    too_big = Sitemap(gzip.compress(body), max_size=10)
    assert too_big.kind is None
    assert too_big.gzip_error
    assert "exceeded" in too_big.gzip_error
    broken = Sitemap(b"\x1f\x8b\x08garbage")
    assert broken.kind is None
    assert broken.gzip_error


def test_gunzip_keeps_what_decodes_and_refuses_bombs() -> None:
    data = gzip.compress(b"x" * 100_000)
    assert gunzip(data) == b"x" * 100_000
    assert gunzip(data[:-8]) == b"x" * 100_000  # no CRC trailer: the output is kept
    with pytest.raises(BadGzip):
        gunzip(data, max_size=1000)
    with pytest.raises(BadGzip):
        gunzip(b"\x1f\x8b\x07\x00not deflate")


def test_sitemap_cap_and_entries_freed_as_read() -> None:
    n = 20_000
    entry = (
        "<url><loc>https://news.example.org/story-{}.html</loc><lastmod>2026-11-20</lastmod></url>"
    )
    body = urlset("".join(entry.format(i) for i in range(n)))
    capped = Sitemap(body, max_entries=10)
    assert len(list(capped)) == 10
    assert capped.capped
    sitemap = Sitemap(body)
    count = 0
    most = 0
    for count, _ in enumerate(sitemap, 1):
        if count % 500 == 0:
            most = max(most, sitemap.retained())
    assert count == n
    assert not sitemap.capped
    # Without clearing the tree would hold 3 elements per entry read so far (up to 60,000);
    # cleared, it holds the parser's read-ahead (one 32 KiB chunk, about 1,000 elements).
    assert 0 < most < 2_000


def test_common_sitemap_urls() -> None:
    assert common_sitemap_urls("https://news.example.org/section/") == [
        "https://news.example.org/sitemap.xml",
        "https://news.example.org/sitemap_index.xml",
        "https://news.example.org/news-sitemap.xml",
        "https://news.example.org/sitemap-news.xml",
        "https://news.example.org/sitemap_news.xml",
    ]


# -- feeds ---------------------------------------------------------------------------------
def test_rss_items_relative_links_guid_and_dates() -> None:
    body = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>
      <item><link>/news/one.html</link><pubDate>Fri, 20 Nov 2026 08:00:00 +0000</pubDate></item>
      <item><guid>https://news.example.org/news/two.html</guid></item>
      <item><guid isPermaLink="false">tag:x</guid></item>
    </channel></rss>"""
    feed = parse_feed(body, BASE + "feed.xml")
    assert isinstance(feed, Feed)
    assert feed.kind == "rss"
    assert [(e.link, e.date) for e in feed.entries] == [
        ("https://news.example.org/news/one.html", datetime(2026, 11, 20, 8, tzinfo=UTC)),
        ("https://news.example.org/news/two.html", None),
        (None, None),
    ]
    assert feed.error is None


def test_atom_alternate_link_and_published_before_updated() -> None:
    body = b"""<feed xmlns="http://www.w3.org/2005/Atom">
      <entry><link rel="self" href="/api/1"/><link href="https://news.example.org/a"/>
        <updated>2026-11-21T00:00:00Z</updated><published>2026-11-19T00:00:00Z</published>
      </entry></feed>"""
    feed = parse_feed(body, BASE)
    assert isinstance(feed, Feed)
    assert feed.kind == "feed"
    assert [(e.link, e.date) for e in feed.entries] == [
        ("https://news.example.org/a", datetime(2026, 11, 19, tzinfo=UTC))
    ]


def test_rdf_about_and_recovered_bare_ampersand() -> None:
    body = b"""<?xml version="1.0"?>
    <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/"
      xmlns:dc="http://purl.org/dc/elements/1.1/">
      <channel><title>Cars & trucks</title></channel>
      <item rdf:about="https://news.example.org/rdf-story"><dc:date>2026-11-18</dc:date></item>
    </rdf:RDF>"""
    feed = parse_feed(body, BASE)
    assert isinstance(feed, Feed)
    assert feed.kind == "rdf"
    assert [(e.link, e.date) for e in feed.entries] == [
        ("https://news.example.org/rdf-story", datetime(2026, 11, 18, tzinfo=UTC))
    ]
    assert feed.error, "the bare '&' is recovered from and reported"


def test_json_feed() -> None:
    body = json.dumps(
        {"items": [{"url": "/j/1", "date_published": "2026-11-17T10:00:00Z"}, "junk", {}]}
    ).encode()
    feed = parse_feed(b"\n" + body, BASE)
    assert isinstance(feed, Feed)
    assert feed.kind == "json"
    assert [(e.link, e.date) for e in feed.entries] == [
        ("https://news.example.org/j/1", datetime(2026, 11, 17, 10, tzinfo=UTC)),
        (None, None),
    ]


@pytest.mark.parametrize(
    "body",
    [b"<html><body>oops</body></html>", b"", b"{not json", b'{"version": 1}', b"<opml/>"],
)
def test_not_a_feed(body: bytes) -> None:
    assert isinstance(parse_feed(body, BASE), NotAFeed)


def test_gzipped_feed() -> None:
    feed = parse_feed(
        gzip.compress(b"<rss><channel><item><link>/g</link></item></channel></rss>"), BASE
    )
    assert isinstance(feed, Feed)
    assert feed.gzipped
    assert [e.link for e in feed.entries] == ["https://news.example.org/g"]


def test_feed_links_autodiscovery() -> None:
    page = b"""<html><head>
      <link rel="alternate" type="application/rss+xml" href="/feed.xml">
      <link rel="alternate" type="application/atom+xml" href="https://news.example.org/atom">
      <link rel="alternate" hreflang="de" href="/de/">
      <link rel="stylesheet" type="text/css" href="/rss.css">
      <link rel="alternate" type="application/feed+json" href="feed.json">
    </head><body></body></html>"""
    expected = [
        "https://news.example.org/feed.xml",
        "https://news.example.org/atom",
        "https://news.example.org/section/feed.json",
    ]
    assert feed_links(page, BASE + "section/") == expected
    assert feed_links(page.decode(), BASE + "section/") == expected
    assert feed_links(b"   ", BASE) == []
    assert feed_links("<p>no head</p>", BASE) == []


def test_common_feed_urls() -> None:
    assert common_feed_urls(BASE + "x/y")[:2] == [
        "https://news.example.org/feed",
        "https://news.example.org/rss",
    ]


# -- robots.txt ----------------------------------------------------------------------------
def test_sitemap_lines_of_robots() -> None:
    robots = (
        b"User-agent: *\nDisallow: /private\n"
        b"Sitemap: https://news.example.org/sitemap.xml\n"
        b"sitemap:   https://news.example.org/news.xml  \r\n"
        b"Sitemap:\n"
        b"  Sitemap: https://indented.example.org/ignored.xml\n"
    )
    expected = ["https://news.example.org/sitemap.xml", "https://news.example.org/news.xml"]
    assert sitemap_urls(robots) == expected
    assert sitemap_urls(robots.decode()) == expected
    assert sitemap_urls(b"\xff\xfe garbage") == []


def test_robots_url_and_site_key() -> None:
    assert (
        robots_url("https://News.Example.org:8443/a/b?c")
        == "https://News.Example.org:8443/robots.txt"
    )
    assert site_key("https://News.Example.org:8443/a/b") == "news.example.org:8443"
