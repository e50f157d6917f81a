"""Servers that answer with errors: 5xx, 429 with Retry-After, 404/410.

One crawl covers the whole module (a crawl costs seconds); each test checks one fault in it.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING

import pytest

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
    from collections.abc import Callable, Iterator

    from newsarchive.demo.server import Request, Response

    from .harness import Seeded

pytestmark = pytest.mark.slow

FLAKY = "/news/2026/11/flaky-plant-story.html"
LIMITED = "/news/2026/11/rate-limited-story.html"
GONE = "/news/2026/11/withdrawn-story.html"
MISSING = "/news/2026/11/missing-story.html"


def failing_then(
    statuses: list[tuple[int, dict[str, str]]], final: Response
) -> Callable[..., Response]:
    """A route that answers the given error statuses in turn, then ``final`` for ever."""
    counter = itertools.count()

    def route(_request: Request) -> Response:
        n = next(counter)
        if n < len(statuses):
            status, headers = statuses[n]
            return html(f"<html><body>error {status}</body></html>", status, **headers)
        return final

    return route


@pytest.fixture(scope="module")
def crawled(module_seeded: Seeded) -> Iterator[Crawled]:
    flaky = html(article_html("Flaky plant server finally answers", 11))
    limited = html(article_html("Rate limited newsroom lets us in", 12))
    sites = {
        "flaky": {
            "/": html(listing_html([FLAKY])),
            FLAKY: failing_then([(503, {}), (500, {})], flaky),
        },
        "limited": {
            "/": html(listing_html([LIMITED])),
            LIMITED: failing_then([(429, {"Retry-After": "2"})], limited),
        },
        "dead": {
            "/": html(listing_html([GONE, MISSING])),
            GONE: html("<html><body>Gone</body></html>", 410),
            MISSING: html("<html><body>Not here</body></html>", 404),
        },
        "good": good_site("status"),
    }
    with crawl_sites(sites, module_seeded) as crawled:
        yield crawled


def test_crawl_completes_and_stored_articles_are_untouched(crawled: Crawled) -> None:
    assert crawled.result.summary is not None
    assert crawled.result.summary["finish_reason"] == "finished"
    assert crawled.result.summary["articles_new"] == 4  # flaky, limited, and the good site's two
    crawled.seeded.untouched()


def test_5xx_then_success_is_retried_with_backoff(crawled: Crawled) -> None:
    hits = crawled.web.hits_for("flaky", FLAKY)
    assert [h.path for h in hits] == [FLAKY] * 3, "two failures, then the success"
    assert crawled.stored("flaky-plant-story"), "archived after its third attempt"
    assert crawled.result.stat("retry/count") >= 2
    gaps = [b.at - a.at for a, b in itertools.pairwise(hits)]
    assert min(gaps) >= 0.5, f"retries must back off, saw gaps {gaps}"
    assert gaps[1] > gaps[0], f"the backoff grows, saw gaps {gaps}"
    assert log_mentions(crawled.result.log, crawled.web.url("flaky", FLAKY), "retry")


def test_429_retry_after_is_honoured_not_hammered(crawled: Crawled) -> None:
    hits = crawled.web.hits_for("limited", LIMITED)
    assert len(hits) == 2, f"one 429 then one retry, saw {len(hits)} requests"
    assert hits[1].at - hits[0].at >= 1.9, "the retry waited for Retry-After"
    assert crawled.stored("rate-limited-story")
    assert crawled.result.stat("newsarchive/retry_after/honoured") == 1
    assert log_mentions(crawled.result.log, crawled.web.url("limited", LIMITED), "429")


def test_404_and_410_are_recorded_and_not_retried(crawled: Crawled) -> None:
    web, result = crawled.web, crawled.result
    assert len(web.hits_for("dead", GONE)) == 1
    assert len(web.hits_for("dead", MISSING)) == 1
    assert result.stat("downloader/response_status_count/410") == 1
    assert result.stat("downloader/response_status_count/404") >= 1
    states = {
        r["url"].rsplit("/", 1)[-1]: r
        for r in query(crawled.seeded.db, "SELECT url, state, last_status FROM url_state")
    }
    assert states["withdrawn-story.html"]["last_status"] == 410
    assert states["missing-story.html"]["last_status"] == 404


def test_404_and_410_are_logged_with_their_status(crawled: Crawled) -> None:
    web, log = crawled.web, crawled.result.log
    assert log_mentions(log, web.url("dead", GONE), "410")
    assert log_mentions(log, web.url("dead", MISSING), "404")
