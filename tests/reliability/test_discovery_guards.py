"""Items: robots.txt errors (RFC 9309), internal addresses, sitemap fan-out.

- A robots.txt answering 503, or dropping the connection, disallows its host: nothing but the
  robots.txt is fetched there, while a site whose robots.txt is 404 is crawled. Once the robots
  .txt answers again, the next run crawls the site (asked again later).
- A public-looking source (its address listed in ``NEWSARCHIVE_PUBLIC_ADDRESSES``: every test
  site is on loopback) whose link redirects to 127.0.0.2, and one whose robots.txt redirects
  there, never reach the internal server; the same redirect from a source that is itself local
  is followed.
- A sitemap index of indexes of indexes (a billion sitemaps on paper) stops at the source's
  sitemap budget, a homepage announcing 300 feeds at the feed budget (50); a robots.txt's
  ``Sitemap:`` lines are capped at 50.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hostile.harness import article_html, html

from newsarchive.demo.server import LocalWeb, Request, Response, Site

from .crawling import crawl

if TYPE_CHECKING:
    from pathlib import Path

TEXT = "text/plain"


def _articles(db: str) -> list[str]:
    import sqlite3

    with sqlite3.connect(db) as conn:
        return [r[0] for r in conn.execute("SELECT url FROM articles")]


def _news_site(name: str, robots: Response | None, links: int = 2):  # type: ignore[no-untyped-def]
    """A small site whose robots.txt answer is ``robots`` (None: allow all)."""

    def serve(request: Request) -> Response | None:
        if request.path == "/robots.txt":
            return robots or Response(200, b"User-agent: *\nAllow: /\n", {"Content-Type": TEXT})
        if request.path == "/":
            items = "".join(
                f'<li><a href="/news/2026/11/{name}-{i}.html">Story {i}</a></li>'
                for i in range(links)
            )
            return html(f"<html><body><ul>{items}</ul></body></html>")
        for i in range(links):
            if request.path == f"/news/2026/11/{name}-{i}.html":
                return html(article_html(f"{name.title()} plant story number {i}", 40 + i))
        return None

    return serve


def test_robots_5xx_or_unreachable_disallows_the_host_and_4xx_allows(tmp_path: Path) -> None:
    db = str(tmp_path / "news.db")
    state = {"healed": False}
    busy = _news_site("busy", Response(503, b"busy", {"Content-Type": TEXT}))
    healed = _news_site("busy", None)
    sites = [
        Site("busy", None, lambda r: healed(r) if state["healed"] else busy(r)),
        Site("cut", None, _news_site("cut", Response(200, b"User-agent: *\n" * 50, cut_after=5))),
        Site("missing", None, _news_site("missing", Response(404, b"<h1>Not here</h1>"))),
    ]
    with LocalWeb(sites) as web:
        urls = [web.url(n) for n in ("busy", "cut", "missing")]
        first = crawl(db, urls, tmp_path / "1.log", "-s", "RETRY_TIMES=0")
        paths = {n: sorted({e.path for e in web.requests_for(n)}) for n in ("busy", "cut")}
        stored_first = _articles(db)
        state["healed"] = True
        second = crawl(db, [urls[0]], tmp_path / "2.log", "-s", "RETRY_TIMES=0")
    assert first.summary is not None, first.stderr[-2000:]
    assert paths == {"busy": ["/robots.txt"], "cut": ["/robots.txt"]}
    assert sorted(u.rsplit("/", 1)[1] for u in stored_first) == ["missing-0.html", "missing-1.html"]
    assert "robots.txt of 127.0.0.1" in first.log
    assert "unavailable (HTTP 503)" in first.log
    assert second.summary is not None
    assert second.summary["articles_new"] == 2  # asked again, allowed, crawled


def _redirect_site(target: str, robots_target: str | None = None):  # type: ignore[no-untyped-def]
    base = _news_site("ledger", None, links=1)

    def serve(request: Request) -> Response | None:
        if robots_target and request.path == "/robots.txt":
            return Response(301, b"", {"Location": robots_target})
        if request.path == "/":
            return html(
                '<html><body><a href="/news/2026/11/ledger-0.html">A</a>'
                '<a href="/news/2026/11/jump.html">B</a></body></html>'
            )
        if request.path == "/news/2026/11/jump.html":
            return Response(302, b"", {"Location": target})
        return base(request)

    return serve


def _secret(request: Request) -> Response | None:
    if request.path == "/robots.txt":
        return Response(200, b"User-agent: *\nAllow: /\n", {"Content-Type": TEXT})
    return html(article_html("Internal memo on the secret platform budget", 77))


def test_public_source_cannot_steer_the_crawler_to_internal_addresses(tmp_path: Path) -> None:
    internal = LocalWeb([Site("intranet", None, _secret)], host="127.0.0.2").start()
    try:
        secret = internal.url("intranet", "/news/2026/11/memo.html")
        sites = [
            Site("public", None, _redirect_site(secret)),
            Site("robots", None, _redirect_site(secret, internal.url("intranet", "/robots.txt"))),
        ]
        with LocalWeb(sites) as web:
            # the source's own hosts include one that resolves to an internal address, like a
            # subdomain pointed at 10.0.0.5: links and redirects there are on-site
            intranet_host = internal.base("intranet").removeprefix("http://")
            sources = tmp_path / "sources.toml"
            sources.write_text(
                f'[sources.ledger]\ndisplay_name = "Ledger"\nhomepage = "{web.url("public")}"\n'
                f'language = "en"\ncountry = "GB"\nallowed_hosts = '
                f'["{web.base("public").removeprefix("http://")}", "{intranet_host}"]\n',
                encoding="utf-8",
            )
            source = ("--source", "ledger", "--sources-file", str(sources))
            public = ("--public", "-s", "NEWSARCHIVE_PUBLIC_ADDRESSES=127.0.0.1", *source)
            steered = crawl(
                str(tmp_path / "a.db"), [web.url("robots")], tmp_path / "a.log", *public
            )
            internal_hits = len(internal.requests_for("intranet"))
            local = crawl(str(tmp_path / "b.db"), [], tmp_path / "b.log", *source)
            local_hits = len(internal.requests_for("intranet"))
    finally:
        internal.stop()
    assert steered.summary is not None, steered.stderr[-2000:]
    assert internal_hits == 0, "the internal server was reached"
    stored = " ".join(_articles(str(tmp_path / "a.db")))
    assert "ledger-0.html" in stored
    assert "memo" not in stored
    assert "resolves to an internal address" in steered.log
    assert "(redirected from" in steered.log  # the link's redirect
    assert "robots.txt of 127.0.0.1" in steered.log  # the robots.txt redirect: host disallowed
    # the same redirect from a source that is itself on this machine is followed
    assert local.summary is not None, local.stderr[-2000:]
    assert local_hits >= 1
    assert any("memo" in u for u in _articles(str(tmp_path / "b.db")))


def _fanout(request: Request) -> Response | None:
    path = request.path
    base = f"http://{request.headers['Host']}"
    if path == "/robots.txt":
        lines = "".join(f"Sitemap: {base}/line-{i}.xml\n" for i in range(3))
        return Response(200, f"User-agent: *\nAllow: /\n{lines}".encode(), {"Content-Type": TEXT})
    if path == "/":
        feeds = "".join(
            f'<link rel="alternate" type="application/rss+xml" href="/feed-{i}.xml">'
            for i in range(300)
        )
        return html(f"<html><head>{feeds}</head><body><p>Nothing but sitemaps.</p></body></html>")
    if path.startswith(("/line-", "/sm/")):
        depth = path.count("/") - 1 if path.startswith("/sm/") else 0
        stem = path.rsplit("/", 1)[1].removesuffix(".xml")
        entries = "".join(
            f"<sitemap><loc>{base}/sm/{'d/' * depth}{stem}-{j}.xml</loc></sitemap>"
            for j in range(1000)
        )
        body = f'<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{entries}</sitemapindex>'
        return Response(200, body.encode(), {"Content-Type": "application/xml"})
    return None


def test_sitemap_index_of_indexes_stops_at_the_sitemap_budget(tmp_path: Path) -> None:
    with LocalWeb([Site("fanout", None, _fanout)]) as web:
        run = crawl(
            str(tmp_path / "news.db"), [web.url("fanout")], tmp_path / "c.log",
            "-s", "NEWSARCHIVE_MAX_SITEMAPS=40",
        )  # fmt: skip
        hits = [e.path for e in web.requests_for("fanout")]
    assert run.summary is not None, run.stderr[-2000:]
    sitemaps = [p for p in hits if p.startswith(("/line-", "/sm/"))]
    assert len(sitemaps) <= 40, len(sitemaps)
    # the index of indexes was followed (the budget, not the lines, stopped it)
    assert any(p.startswith("/sm/") for p in sitemaps), sitemaps
    assert len(sitemaps) >= 40, sitemaps[:5]
    assert "sitemap budget of 40 documents reached" in run.log
    feeds = [p for p in hits if p.startswith("/feed-")]
    assert 0 < len(feeds) <= 50, len(feeds)  # 300 announced, NEWSARCHIVE_MAX_FEEDS fetched
    assert run.summary["finish_reason"] == "finished"


def test_robots_sitemap_lines_are_capped() -> None:
    from newsarchive.discovery.robots import MAX_ROBOTS_SITEMAPS, sitemap_urls

    robots = "".join(f"Sitemap: https://news.example/s-{i}.xml\n" for i in range(100_000))
    found = sitemap_urls(robots)
    assert len(found) == MAX_ROBOTS_SITEMAPS == 50
    assert found[-1] == "https://news.example/s-49.xml"
