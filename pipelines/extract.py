"""Stage 1: page → Article, in a process pool so the reactor keeps downloading meanwhile.

Pages from the news spider arrive extracted (it parses each page once, in its own pool, and
gets the article with the page analysis); this stage extracts the others, with a pool it starts
on the first such page.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from scrapy import signals
from scrapy.utils.misc import load_object

from newsarchive.contracts import Stat
from newsarchive.errors import ExtractionError
from newsarchive.extraction.pool import DEFAULT_MAX_TASKS, ExtractorPool

if TYPE_CHECKING:
    from collections.abc import Callable

    from scrapy.crawler import Crawler
    from scrapy.statscollectors import StatsCollector

    from newsarchive.items import Article, FetchedPage

logger = logging.getLogger(__name__)
DEFAULT_EXTRACTOR = "newsarchive.extraction.extract"


class ExtractPipeline:
    """``NEWSARCHIVE_EXTRACTOR`` names the extraction function (dotted path, the signature of
    ``newsarchive.extraction.extract``), so a deployment can plug in its own — per-site rules, a
    different library — and still get the pool's timeouts and crash isolation."""

    def __init__(
        self,
        stats: StatsCollector,
        extractor: Callable[..., Article | None],
        workers: int | None,
        timeout: float,
        max_tasks: int = DEFAULT_MAX_TASKS,
    ) -> None:
        self.stats = stats
        self.extractor = extractor
        self.workers = workers
        self.timeout = timeout
        self.max_tasks = max_tasks
        self._pool: ExtractorPool | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ExtractPipeline:
        workers = crawler.settings.getint("NEWSARCHIVE_EXTRACT_WORKERS", -1)
        extractor = load_object(crawler.settings.get("NEWSARCHIVE_EXTRACTOR", DEFAULT_EXTRACTOR))
        pipeline = cls(
            crawler.stats,
            extractor,
            None if workers < 0 else workers,
            crawler.settings.getfloat("NEWSARCHIVE_EXTRACT_TIMEOUT", 30.0),
            crawler.settings.getint("NEWSARCHIVE_EXTRACT_MAX_TASKS", DEFAULT_MAX_TASKS),
        )
        crawler.signals.connect(pipeline.close, signal=signals.spider_closed)
        return pipeline

    @property
    def pool(self) -> ExtractorPool:
        if self._pool is None:
            self._pool = ExtractorPool(
                workers=self.workers, timeout=self.timeout, max_tasks=self.max_tasks
            )
        return self._pool

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()

    async def process_item(self, page: FetchedPage) -> FetchedPage:
        if page.extracted or page.drop_reason:  # done in the page analysis, or not an article
            return page
        try:
            page.article = await self.pool.run(
                self.extractor,
                page.body,
                page.url,
                page.fetched_at,
                encoding=page.encoding,
                lang_hint=page.source_language,
            )
        except ExtractionError as exc:
            page.extraction_error = str(exc)
            self.stats.inc_value(Stat.ERRORS_EXTRACTION)
            logger.warning("extraction failed for %s: %s", page.url, exc)
        return page
