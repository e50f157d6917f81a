"""Stage 2: refuse articles too thin to be worth archiving (kept as captures, not articles)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from newsarchive.contracts import DropReason, dropped

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.statscollectors import StatsCollector

    from newsarchive.items import FetchedPage

# Below this many words a "body" is a teaser, a paywall stub or a photo caption.
DEFAULT_MIN_WORDS = 40


class ValidatePipeline:
    def __init__(self, stats: StatsCollector, min_words: int) -> None:
        self.stats = stats
        self.min_words = min_words

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ValidatePipeline:
        min_words = crawler.settings.getint("NEWSARCHIVE_MIN_WORDS", DEFAULT_MIN_WORDS)
        return cls(crawler.stats, min_words)

    def process_item(self, page: FetchedPage) -> FetchedPage:
        article = page.article
        if article is None:
            page.drop_reason = (
                DropReason.EXTRACTION_FAILED if page.extraction_error else DropReason.NO_ARTICLE
            )
        elif article.word_count < self.min_words:
            page.drop_reason = DropReason.TOO_SHORT
        elif not article.title:
            page.drop_reason = DropReason.NO_TITLE
        if page.drop_reason:
            page.article = None
            self.stats.inc_value(dropped(page.drop_reason))
        return page
