"""Hostile sitemaps and feeds: entity bombs, external entities, malformed XML, index loops.

One crawl covers the whole module (a crawl costs seconds); each test checks one fault in it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from newsarchive.demo.server import Response

from .harness import (
    Crawled,
    FaultWeb,
    MiB,
    article_html,
    crawl_sites,
    html,
    listing_html,
    log_mentions,
    query,
)

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from .harness import Route, Seeded

pytestmark = pytest.mark.slow

XML = {"Content-Type": "application/xml; charset=utf-8"}
RSS = {"Content-Type": "application/rss+xml; charset=utf-8"}


def xml(body: str, headers: dict[str, str] = XML) -> Response:
    return Response(200, body.encode(), dict(headers))


def sitemap_site(
    sitemaps: dict[str, str], stories: list[str], *, feed: str | None = None
) -> dict[str, Route]:
    """A site whose articles are reachable only through its sitemaps (and feed)."""
    robots = "User-agent: *\nAllow: /\n" + "".join(
        f"Sitemap: {{base}}{path}\n" for path in sitemaps
    )
    head = '<link rel="alternate" type="application/rss+xml" href="/feed.xml">' if feed else ""
    routes: dict[str, Route] = {
        "/": html(listing_html([]).replace("</head>", f"{head}</head>")),
        "/robots.txt": Response(200, robots.encode(), {"Content-Type": "text/plain"}),
    }
    for path, body in sitemaps.items():
        routes[path] = xml(body)
    if feed:
        routes["/feed.xml"] = xml(feed, RSS)
    for i, story in enumerate(stories):
        routes[story] = html(article_html(f"Sitemap story {story[-12:]} about chip supply", 60 + i))
    return routes


def with_base(routes: dict[str, Route], base: str) -> dict[str, Route]:
    """Fill ``{base}`` in static XML/robots bodies once the server's port is known."""
    for route in routes.values():
        if isinstance(route, Response) and isinstance(route.body, bytes):
            route.body = route.body.replace(b"{base}", base.encode())
    return routes


def urlset(locs: list[str], *, prolog: str = "", tail: str = "</urlset>") -> str:
    entries = "".join(f"<url><loc>{loc}</loc><lastmod>2026-11-20</lastmod></url>" for loc in locs)
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>{prolog}'
        f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{entries}{tail}'
    )


LOL = "".join(f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10}">' for i in range(1, 10))
TOKEN = "XXE-CANARY-7f3a9c"
LAUGHS_STORY = "/news/2026/11/laughs-survivor-story.html"
XXE_STORY = "/news/2026/11/xxe-survivor-story.html"
PARTIAL_STORIES = [f"/news/2026/11/partial-story-{i}.html" for i in range(3)]
LOOP_STORY = "/news/2026/11/index-loop-story.html"
SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"


def laughs_site() -> dict[str, Route]:
    dtd = f'<!DOCTYPE urlset [<!ENTITY lol0 "lol">{LOL}]>'
    sitemap = urlset(["{base}" + LAUGHS_STORY, "{base}/news/2026/11/&lol9;.html"], prolog=dtd)
    feed = (
        f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY lol0 "lol">{LOL}]>'
        '<rss version="2.0"><channel><title>&lol9;</title>'
        "<item><title>&lol9;</title><link>{base}/news/2026/11/&lol9;-feed.html</link></item>"
        "</channel></rss>"
    )
    return sitemap_site({"/sitemap.xml": sitemap}, [LAUGHS_STORY], feed=feed)


def xxe_site(secret: Path) -> dict[str, Route]:
    dtd = f'<!DOCTYPE urlset [<!ENTITY xxe SYSTEM "file://{secret}">]>'
    sitemap = urlset(["{base}" + XXE_STORY, "{base}/news/2026/11/&xxe;.html"], prolog=dtd)
    feed = (
        f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY xxe SYSTEM "file://{secret}">]>'
        '<rss version="2.0"><channel><title>&xxe;</title>'
        "<item><title>&xxe;</title><link>{base}/news/2026/11/feed-&xxe;.html</link>"
        "<description>&xxe;</description></item></channel></rss>"
    )
    return sitemap_site({"/sitemap.xml": sitemap}, [XXE_STORY], feed=feed)


def malformed_site() -> dict[str, Route]:
    broken = urlset(
        ["{base}" + s for s in PARTIAL_STORIES],
        tail="<url><loc>{base}/news/2026/11/never <<<&& </lo",  # cut mid-element
    )
    return sitemap_site({"/sitemap.xml": broken}, PARTIAL_STORIES)


def index_loop_site() -> dict[str, Route]:
    def index(*locs: str) -> str:
        entries = "".join(f"<sitemap><loc>{{base}}{loc}</loc></sitemap>" for loc in locs)
        return f'<?xml version="1.0"?><sitemapindex xmlns="{SITEMAP_NS}">{entries}</sitemapindex>'

    routes = sitemap_site(
        {
            "/sitemap_index.xml": index(
                "/sitemap_index.xml", "/sitemap_index.xml?page=1", "/sitemap-a.xml"
            ),
            "/sitemap-a.xml": index("/sitemap_index.xml", "/sitemap-b.xml"),
            "/sitemap-b.xml": urlset(["{base}" + LOOP_STORY]),
        },
        [LOOP_STORY],
    )
    routes["/sitemap_index.xml?page=1"] = routes["/sitemap_index.xml"]
    return routes


@pytest.fixture(scope="module")
def crawled(module_seeded: Seeded, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Crawled]:
    secret = tmp_path_factory.mktemp("secret") / "secret.txt"
    secret.write_text(TOKEN)
    sites = {
        "laughs": laughs_site(),
        "xxe": xxe_site(secret),
        "malformed": malformed_site(),
        "loop": index_loop_site(),
    }

    def name_own_urls(web: FaultWeb) -> None:
        for name, routes in sites.items():
            with_base(routes, web.url(name, "").rstrip("/"))

    with crawl_sites(sites, module_seeded, prepare=name_own_urls) as crawled:
        yield crawled


def test_crawl_completes_and_stored_articles_are_untouched(crawled: Crawled) -> None:
    assert crawled.result.summary is not None
    assert crawled.result.summary["finish_reason"] == "finished"
    assert crawled.result.seconds < 60
    crawled.seeded.untouched()


def test_billion_laughs_sitemap_and_feed(crawled: Crawled) -> None:
    web, result = crawled.web, crawled.result
    assert web.hits_for("laughs", "/sitemap.xml")
    assert web.hits_for("laughs", "/feed.xml")
    assert result.peak_rss < 800 * MiB, f"peak RSS {result.peak_rss / MiB:.0f} MiB"
    assert "lollollol" not in "".join(h.path for h in web.hits_for("laughs"))
    assert crawled.stored("laughs-survivor"), "the sitemap's plain entry is still crawled"
    assert "lollollol" not in crawled.seeded.db.read_bytes().decode("latin-1")
    assert "lollollol" not in result.log


def test_external_entities_never_read_local_files(crawled: Crawled) -> None:
    web, result, db = crawled.web, crawled.result, crawled.seeded.db
    assert web.hits_for("xxe", "/sitemap.xml")
    assert web.hits_for("xxe", "/feed.xml")
    assert crawled.stored("xxe-survivor")
    assert TOKEN not in "".join(h.path for h in web.hits), "the file's content sent in a URL"
    for path in db.parent.glob(f"{db.name}*"):
        assert TOKEN.encode() not in path.read_bytes(), f"{path.name} holds the file's content"
    assert TOKEN not in result.log + result.stdout + result.stderr


def test_malformed_sitemap_is_parsed_partially_and_logged(crawled: Crawled) -> None:
    assert len(crawled.stored("partial-story")) == 3, "entries before the break are crawled"
    assert crawled.result.stat("newsarchive/sitemap/recovered") >= 1
    url = crawled.web.url("malformed", "/sitemap.xml")
    assert log_mentions(crawled.result.log, url, "malformed")


def test_sitemap_index_pointing_to_itself(crawled: Crawled) -> None:
    web = crawled.web
    assert len(web.hits_for("loop", "/sitemap_index.xml")) == 1
    assert len(web.hits_for("loop", "/sitemap_index.xml?page=1")) <= 1
    assert len(web.hits_for("loop", "/sitemap-a.xml")) == 1
    assert crawled.stored("index-loop-story")
    assert crawled.result.stat("newsarchive/sitemap/self_reference") >= 1
    assert not query(crawled.seeded.db, "SELECT id FROM articles WHERE url LIKE '%sitemap%'")
