"""The child sitemaps of a sitemap index, read one at a time per source.

Why: Scrapy's scheduler keeps every pending request in the crawl process's memory (~2 KB each,
with its meta, headers and URL caches), and a callback's output is scheduled whole. An index
listing five sitemaps of 10,000 URLs each, all read at once, put 50,000 article requests in
that queue, so the crawl process grew with the size of the site rather than with what the
downloader can take (issue #18: +34 MB from 2,000 to 20,000 pages, most of it this queue).

So a source reads its index's sitemaps in turn: the next one is handed to the scheduler only
once the articles of the one before are scheduled, at a priority below theirs
(``PRIORITY_SITEMAP_CHILD`` in the spider), so it is fetched when they have been drained.
Pending requests stay bounded by what one sitemap lists, whatever the number of sitemaps.

:class:`SitemapPacingMiddleware` holds the requests back at the outer end of the spider
middlewares (after Scrapy's depth, priority and referer handling, so a request released later
is the one the index's response produced); the spider says when a sitemap is read or failed
(:meth:`SitemapPacing.done`). A turn that never ends (a request dropped on the way without
reaching a callback or errback) cannot stall the source: when the crawl goes idle, the next
waiting sitemap of every source is released. In a distributed crawl the queue lives in Redis
and a worker may die holding back requests, so the overlay turns pacing off there
(``NEWSARCHIVE_SITEMAP_PACING``).
"""

from __future__ import annotations

import logging
from collections import deque
from typing import TYPE_CHECKING, Any

import scrapy
from scrapy import signals
from scrapy.exceptions import DontCloseSpider

from newsarchive.contracts import Stat
from newsarchive.spiders.middlewares import per_crawl

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterable
    from typing import Self

    from scrapy.crawler import Crawler
    from scrapy.http import Response
    from scrapy.spiders import Spider

logger = logging.getLogger(__name__)

# request.meta key: a sitemap listed by an index, read in its source's turn
SITEMAP_TURN = "newsarchive_sitemap_turn"


class SitemapPacing:
    """Per crawl: the sitemaps waiting for their turn, by source, and the sources reading one."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.enabled = crawler.settings.getbool("NEWSARCHIVE_SITEMAP_PACING", True)
        self.waiting: dict[str, deque[scrapy.Request]] = {}
        self.reading: set[str] = set()

    @classmethod
    def of(cls, crawler: Crawler) -> SitemapPacing:
        """The crawler's pacing (one per crawl, created on first use)."""
        pacing: SitemapPacing = per_crawl(crawler, "sitemap_pacing", lambda: cls(crawler))
        return pacing

    def admit(self, request: scrapy.Request) -> bool:
        """True if ``request`` may be scheduled now (its source reads no sitemap); else it is
        held until the source's current sitemap is done."""
        source = request.meta.get("source") or ""
        if source not in self.reading:
            self.reading.add(source)
            return True
        self.waiting.setdefault(source, deque()).append(request)
        self._inc(Stat.SITEMAP_PACED)
        return False

    def done(self, request: scrapy.Request) -> None:
        """``request``'s sitemap was read (its entries scheduled) or failed: next turn."""
        if not request.meta.get(SITEMAP_TURN):
            return
        source = request.meta.get("source") or ""
        self.reading.discard(source)
        self._release(source)

    def _release(self, source: str) -> bool:
        queue = self.waiting.get(source)
        if not queue:
            self.waiting.pop(source, None)
            return False
        request = queue.popleft()
        engine = self.crawler.engine
        if engine is None:
            return False
        self.reading.add(source)
        engine.crawl(request)
        return True

    def spider_idle(self, spider: Spider) -> None:
        """Nothing in flight: a source still marked reading lost its sitemap on the way (dropped
        without a callback); release the next waiting sitemap of every source."""
        if not self.waiting:
            return
        self.reading.clear()
        released = [source for source in list(self.waiting) if self._release(source)]
        if released:
            self._inc(Stat.SITEMAP_RELEASED_IDLE, len(released))
            logger.info("released waiting sitemaps of %s on idle", ", ".join(released))
            raise DontCloseSpider

    def _inc(self, key: str, count: int = 1) -> None:
        if self.crawler.stats:
            self.crawler.stats.inc_value(key, count)


class SitemapPacingMiddleware:
    """Holds back an index's sitemaps past the first of each source (see the module)."""

    def __init__(self, crawler: Crawler) -> None:
        self.pacing = SitemapPacing.of(crawler)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        middleware = cls(crawler)
        if middleware.pacing.enabled:
            crawler.signals.connect(middleware.pacing.spider_idle, signal=signals.spider_idle)
        return middleware

    def _keep(self, item: Any) -> bool:
        if not self.pacing.enabled or not isinstance(item, scrapy.Request):
            return True
        if not item.meta.get(SITEMAP_TURN):
            return True
        return self.pacing.admit(item)

    def process_spider_output(
        self, response: Response | None, result: Iterable[Any], spider: Spider | None = None
    ) -> Iterable[Any]:
        for item in result:
            if self._keep(item):
                yield item

    async def process_spider_output_async(
        self, response: Response | None, result: AsyncIterator[Any], spider: Spider | None = None
    ) -> AsyncIterator[Any]:
        async for item in result:
            if self._keep(item):
                yield item
