"""Redirect loops, long chains, and redirects that leave the site.

One crawl covers the whole module (a crawl costs seconds); each test checks one fault in it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from newsarchive.demo.server import Response

from .harness import (
    Crawled,
    FaultWeb,
    article_html,
    crawl_sites,
    good_site,
    html,
    listing_html,
    log_mentions,
)

if TYPE_CHECKING:
    from collections.abc import Iterator

    from .harness import Route, Seeded

pytestmark = pytest.mark.slow

LOOP_A = "/news/2026/11/loop-a.html"
LOOP_B = "/news/2026/11/loop-b.html"
CHAIN = "/news/2026/11/chain-{}.html"
CHAIN_LENGTH = 25
JUMP = "/news/2026/11/partner-story.html"


def moved(location: str, status: int = 301) -> Response:
    return Response(status, b"", {"Location": location, "Content-Length": "0"})


@pytest.fixture(scope="module")
def crawled(module_seeded: Seeded) -> Iterator[Crawled]:
    # The other host is 127.0.0.2: another host name, so cookies are not its to receive.
    partner_routes: dict[str, Route] = {
        "/landing.html": html(
            article_html(
                "Partner landing page about axle recalls",
                22,
                extra_body='<p><a href="/deeper.html">More partner news</a></p>',
            )
        ),
        "/deeper.html": html(article_html("Deeper partner page", 23)),
    }
    with FaultWeb({"partner": partner_routes}, host="127.0.0.2") as partner:
        redir: dict[str, Route] = {
            "/": html(listing_html([LOOP_A, CHAIN.format(0)])),
            LOOP_A: moved(LOOP_B),
            LOOP_B: moved(LOOP_A, 302),
        }
        for i in range(CHAIN_LENGTH):
            redir[CHAIN.format(i)] = moved(CHAIN.format(i + 1), 302)
        redir[CHAIN.format(CHAIN_LENGTH)] = html(article_html("End of a very long chain", 21))
        home = html(listing_html([JUMP]), **{"Set-Cookie": "session=s3cr3t; Path=/; HttpOnly"})
        sites = {
            "redir": redir,
            "home": {"/": home, JUMP: moved(partner.url("partner", "/landing.html"), 302)},
            "good": good_site("redirects"),
        }
        with crawl_sites(sites, module_seeded) as crawled:
            crawled.web.hits.extend(partner.hits)
            yield crawled


def test_crawl_completes_and_stored_articles_are_untouched(crawled: Crawled) -> None:
    assert crawled.result.summary is not None
    assert crawled.result.summary["finish_reason"] == "finished"
    assert len(crawled.stored("redirects-fresh")) == 2, "the healthy site is archived"
    crawled.seeded.untouched()


def test_redirect_loop_is_bounded(crawled: Crawled) -> None:
    web = crawled.web
    hits = len(web.hits_for("redir", LOOP_A)) + len(web.hits_for("redir", LOOP_B))
    # REDIRECT_MAX_TIMES = 5: one start of the loop costs at most 6 requests.
    assert 2 <= hits <= 6, f"redirect loop requested {hits} times"
    assert not crawled.stored("loop-")


def test_long_redirect_chain_is_cut(crawled: Crawled) -> None:
    web = crawled.web
    hits = sum(len(web.hits_for("redir", CHAIN.format(i))) for i in range(CHAIN_LENGTH + 1))
    assert 2 <= hits <= 6, f"redirect chain requested {hits} times"
    assert not web.hits_for("redir", CHAIN.format(CHAIN_LENGTH)), "chain end is out of reach"
    assert not crawled.stored("chain-")


def test_redirect_faults_are_logged_and_counted(crawled: Crawled) -> None:
    log, web = crawled.result.log, crawled.web
    assert log_mentions(log, web.url("redir", LOOP_A), "redirect")
    assert log_mentions(log, web.url("redir", CHAIN.format(0)), "redirect")
    assert log_mentions(log, web.url("home", JUMP), "off-site")
    assert crawled.result.stat("newsarchive/skipped/redirect_loop") == 1
    assert crawled.result.stat("newsarchive/skipped/redirect_limit") == 1


def test_redirect_to_another_host_keeps_scope_and_drops_credentials(crawled: Crawled) -> None:
    web = crawled.web
    assert web.hits_for("home", JUMP), "the redirecting link was requested"
    # Today the redirect target is fetched, then dropped as off-site; once off-site redirects
    # are refused before the fetch, the other host receives nothing. Either way, whatever it
    # received must carry none of the first host's credentials.
    skipped = ("newsarchive/skipped/offsite", "newsarchive/skipped/offsite_redirect")
    assert sum(crawled.result.stat(key) for key in skipped) >= 1
    for hit in web.hits_for("partner"):
        names = {k.lower() for k in hit.headers}
        assert "cookie" not in names, f"cookie carried to another host: {hit.headers}"
        assert "authorization" not in names
    assert not web.hits_for("partner", "/deeper.html"), "links of another host are not followed"
    assert not crawled.stored("deeper")
