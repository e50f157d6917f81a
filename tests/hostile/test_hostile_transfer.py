"""Servers that stall or hang up: a 20-second response and a connection dropped mid-body.

One crawl covers the whole module (a crawl costs seconds); each test checks one fault in it.
"""

from __future__ import annotations

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
)

if TYPE_CHECKING:
    from collections.abc import Iterator

    from .harness import Seeded

pytestmark = pytest.mark.slow

SLOW = "/news/2026/11/slow-story.html"
CUT = "/news/2026/11/cut-story.html"
TIMEOUT = 2  # seconds; with the production default (30 s) this crawl would take minutes


@pytest.fixture(scope="module")
def crawled(module_seeded: Seeded) -> Iterator[Crawled]:
    slow = article_html("Slow server story about engine plants", 51).encode()
    cut = article_html("Cut off story about transmission suppliers", 52).encode()
    sites = {
        "slow": {
            "/": html(listing_html([SLOW])),
            SLOW: Response(200, slow, {"Content-Type": "text/html"}, delay=20),
        },
        "cut": {
            "/": html(listing_html([CUT])),
            CUT: Response(
                200,
                cut,
                {"Content-Type": "text/html", "Content-Length": str(len(cut))},
                cut_after=len(cut) // 3,
            ),
        },
        "good": good_site("transfer"),
    }
    with crawl_sites(sites, module_seeded, settings={"DOWNLOAD_TIMEOUT": TIMEOUT}) as crawled:
        yield crawled


def test_crawl_completes_and_stored_articles_are_untouched(crawled: Crawled) -> None:
    summary = crawled.result.summary
    assert summary is not None
    assert summary["finish_reason"] == "finished"
    assert summary["status"] == "partial", "pages were lost: the run says so"
    assert crawled.result.exit_code == 1
    assert len(crawled.stored("transfer-fresh")) == 2, "the healthy site is archived"
    crawled.seeded.untouched()


def test_slow_response_times_out_and_the_crawl_goes_on(crawled: Crawled) -> None:
    web, result = crawled.web, crawled.result
    attempts = web.hits_for("slow", SLOW)
    assert 1 <= len(attempts) <= 3, "at most RETRY_TIMES + 1 attempts"
    assert result.seconds < 20, f"the crawl waited for the slow server ({result.seconds:.0f} s)"
    assert result.stats_with("downloader/exception_type_count/scrapy.exceptions.DownloadTimeout")
    assert result.stat("retry/max_reached") >= 1
    assert log_mentions(result.log, web.url("slow", SLOW), "took longer than")
    assert not crawled.stored("slow-story")


def test_connection_dropped_mid_body(crawled: Crawled) -> None:
    web, result = crawled.web, crawled.result
    assert 1 <= len(web.hits_for("cut", CUT)) <= 3
    assert not crawled.stored("cut-story"), "a third of a page is not archived as the article"
    assert log_mentions(result.log, web.url("cut", CUT))
    assert result.stat("newsarchive/fetch_failed") >= 2  # the slow page and the cut one
