"""Stage 2: refuse articles too thin to be worth archiving (kept as captures, not articles)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from newsarchive.contracts import DropReason, dropped
from newsarchive.discovery.pagetype import TRUSTED_LISTINGS

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.statscollectors import StatsCollector

    from newsarchive.items import FetchedPage

# Below this many words a "body" is a teaser, a paywall stub or a photo caption. Words are
# counted per script (newsarchive.extraction.textlength): characters / 2 in CJK and Thai.
DEFAULT_MIN_WORDS = 40
# A page the publisher listed in a news sitemap or feed is a story by its word: only a body
# shorter than this is a stub (short briefs and captioned photo stories are news too).
LISTED_MIN_WORDS = 15


class ValidatePipeline:
    def __init__(self, stats: StatsCollector, min_words: int) -> None:
        self.stats = stats
        self.min_words = min_words

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ValidatePipeline:
        min_words = crawler.settings.getint("NEWSARCHIVE_MIN_WORDS", DEFAULT_MIN_WORDS)
        return cls(crawler.stats, min_words)

    def _minimum(self, page: FetchedPage) -> int:
        if page.listed in TRUSTED_LISTINGS:
            return min(self.min_words, LISTED_MIN_WORDS)
        return self.min_words

    def process_item(self, page: FetchedPage) -> FetchedPage:
        article = page.article
        if page.drop_reason:  # the spider decided already (not an article)
            pass
        elif article is None:
            page.drop_reason = (
                DropReason.EXTRACTION_FAILED if page.extraction_error else DropReason.NO_ARTICLE
            )
            # the article rule accepted the page; its text was not found (pages --not-articles)
            page.reason = page.extraction_error or "no article text found (markup, JSON-LD, state)"
        elif article.word_count < (minimum := self._minimum(page)):
            page.drop_reason = DropReason.TOO_SHORT
            # word equivalents: characters / 2 in Chinese, Japanese and Thai
            page.reason = f"{article.word_count} words < {minimum}"
        elif not article.title:
            page.drop_reason = DropReason.NO_TITLE
        if page.drop_reason:
            page.article = None
            self.stats.inc_value(dropped(page.drop_reason))
        return page
