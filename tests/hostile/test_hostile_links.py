"""Link floods, non-UTF-8 and internationalised URLs, and absurd publication dates.

One crawl covers the whole module (a crawl costs seconds); each test checks one fault in it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from .harness import Crawled, MiB, article_html, crawl_sites, html, listing_html

if TYPE_CHECKING:
    from collections.abc import Iterator

    from .harness import Route, Seeded

pytestmark = pytest.mark.slow

LINKS = 30_000
MAX_PAGES = 40
LATIN1 = "/news/2026/11/caf%E9-electrique.html"  # a Latin-1 escape: not valid UTF-8
UNICODE_PATH = "/news/2026/11/citroën-ë-c4-prix.html"
UNICODE_WIRE = "/news/2026/11/citro%C3%ABn-%C3%AB-c4-prix.html"
FUTURE = "/news/2026/11/future-dated-story.html"
EPOCH = "/news/2026/11/epoch-dated-story.html"


@pytest.fixture(scope="module")
def crawled(module_seeded: Seeded) -> Iterator[Crawled]:
    links = [f"/news/2026/11/flood-{i}.html" for i in range(LINKS)]
    story = html(article_html("One of thirty thousand stories", 71))
    flood: dict[str, Route] = {"/": html(listing_html(links))}
    flood.update(dict.fromkeys(links, story))
    idn_links = [LATIN1, UNICODE_PATH, "http://bücher.example/news/x.html", "http://xn--/bad"]
    sites: dict[str, dict[str, Route]] = {
        "flood": flood,
        "idn": {
            "/": html(listing_html(idn_links)),
            LATIN1: html(article_html("Café électrique: Latin-1 escaped URL", 72)),
            UNICODE_WIRE: html(article_html("Citroën prices its electric hatch", 73)),
        },
        "dates": {
            "/": html(listing_html([FUTURE, EPOCH])),
            FUTURE: html(
                article_html("A story from the year 2999", 74, published="2999-01-01T00:00:00Z")
            ),
            EPOCH: html(
                article_html("A story dated at the epoch", 75, published="1970-01-01T00:00:00Z")
            ),
        },
    }
    with crawl_sites(sites, module_seeded, extra=("--max-pages", str(MAX_PAGES))) as crawled:
        yield crawled


def test_crawl_completes_and_stored_articles_are_untouched(crawled: Crawled) -> None:
    assert crawled.result.summary is not None
    assert crawled.result.summary["finish_reason"] == "finished"
    crawled.seeded.untouched()


def test_page_with_tens_of_thousands_of_links_is_bounded(crawled: Crawled) -> None:
    result = crawled.result
    fetched = [h for h in crawled.web.hits_for("flood") if h.path.startswith("/news/")]
    assert 1 <= len(fetched) <= MAX_PAGES, f"{len(fetched)} requests for --max-pages {MAX_PAGES}"
    assert result.stat("newsarchive/skipped/outlinks_capped") == LINKS - 6000
    assert result.stat("newsarchive/skipped/max_pages") > 0
    assert result.peak_rss < 800 * MiB, f"peak RSS {result.peak_rss / MiB:.0f} MiB"
    assert result.seconds < 60


def test_non_utf8_urls_and_idns(crawled: Crawled) -> None:
    web = crawled.web
    assert web.hits_for("idn", LATIN1), "a Latin-1 escape is requested as written"
    assert web.hits_for("idn", UNICODE_WIRE), "a raw UTF-8 path is percent-encoded as UTF-8"
    assert crawled.stored("caf%E9")
    assert crawled.stored("citro%C3%ABn")
    assert not crawled.result.stats_with("spider_exceptions/")


def test_dates_in_the_far_future_or_at_the_epoch_are_flagged(crawled: Crawled) -> None:
    (future,) = crawled.stored("future-dated-story")
    (epoch,) = crawled.stored("epoch-dated-story")
    assert "future" in future["date_flags"]
    assert "before_1990" in epoch["date_flags"]
