"""The validate and store stages on a real archive, driven by a real (unstarted) Scrapy crawler."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pytest
from scrapy.utils.test import get_crawler
from sqlalchemy import select

from newsarchive.archive.frontier import load_known
from newsarchive.archive.models import Capture
from newsarchive.archive.skipped import not_articles
from newsarchive.contracts import SETTLED_STATES
from newsarchive.items import Article, FetchedPage
from newsarchive.pipelines.store import StorePipeline
from newsarchive.pipelines.validate import ValidatePipeline

if TYPE_CHECKING:
    from collections.abc import Iterator

    from scrapy.crawler import Crawler

    from newsarchive.archive import Archive

URL = "https://autodaily.example/news/2024/05/stub"


@pytest.fixture
def crawler(archive: Archive) -> Crawler:
    return get_crawler(settings_dict={"NEWSARCHIVE_DB": archive.url.render_as_string(False)})


@pytest.fixture
def store(crawler: Crawler) -> Iterator[StorePipeline]:
    pipeline = StorePipeline.from_crawler(crawler)
    try:
        yield pipeline
    finally:
        pipeline.close()


def _page(body: str, *, html: bytes | str = b"<html><body>...</body></html>") -> FetchedPage:
    return FetchedPage(
        url=URL,
        requested_url=URL,
        status=200,
        body=html,  # type: ignore[arg-type]
        fetched_at=datetime(2024, 5, 2, 8, tzinfo=UTC),
        source="autodaily",
        article=Article(url=URL, canonical_url=URL, title="Recall widens", body=body),
    )


def test_a_page_that_crashes_the_store_is_counted_as_a_store_error(
    store: StorePipeline, crawler: Crawler, caplog: pytest.LogCaptureFixture
) -> None:
    """Not only archive errors: any failure to store loses the page, so the run must say so."""
    page = _page("word " * 100, html="a str body the capture cannot compress")
    with caplog.at_level(logging.ERROR, logger="newsarchive.pipelines.store"):
        assert asyncio.run(store.process_item(page)) is page
    assert crawler.stats is not None
    assert crawler.stats.get_value("newsarchive/errors/store") == 1
    assert crawler.stats.get_value("newsarchive/pages_stored") is None
    [record] = [r for r in caplog.records if r.name == "newsarchive.pipelines.store"]
    assert URL in record.getMessage()
    assert record.exc_info is not None
    assert record.exc_info[0] is TypeError


def test_a_page_dropped_by_validation_keeps_its_reason_and_is_fetched_again(
    archive: Archive, store: StorePipeline, crawler: Crawler
) -> None:
    """A teaser or paywall stub may become a full article: it must not be settled for good."""
    page = ValidatePipeline.from_crawler(crawler).process_item(_page("only a short teaser"))
    assert (page.article, page.drop_reason) == (None, "too_short")
    asyncio.run(store.process_item(page))
    with archive.session() as s:
        assert s.scalars(select(Capture.extraction_status)).all() == ["too_short"]
        known = load_known(s)
    assert known[URL].state not in SETTLED_STATES


def test_a_page_whose_text_was_not_found_says_why_in_the_not_articles_list(
    archive: Archive, store: StorePipeline, crawler: Crawler
) -> None:
    """The article rule accepted it, extraction found no text: the capture keeps a reason."""
    page = _page("")
    page.article = None
    page = ValidatePipeline.from_crawler(crawler).process_item(page)
    asyncio.run(store.process_item(page))
    with archive.session() as s:
        [skipped] = not_articles(s)
    assert skipped.status == "not_article"
    assert skipped.reason is not None
    assert "no article text" in skipped.reason
