"""Stage 4: write the capture and the article in one short transaction.

Writes go through a single worker thread: SQLite allows one writer at a time anyway, and the
reactor thread never waits on the database. Three kinds of failure, three answers:

- the server is unreachable (restart, failover): the write is retried until it answers, for
  at most ``NEWSARCHIVE_DB_OUTAGE_LIMIT`` seconds (:mod:`newsarchive.archive.reconnect`);
  nothing is lost, and the progress line says the crawl is waiting;
- the archive refuses this page's data: that page is lost, logged and counted, its URL is
  settled as ``rejected`` so later runs do not stumble on it again, and the crawl goes on;
- the archive is broken (disk full, read-only, an outage past the limit): the crawl stops,
  since pages we cannot store are not worth fetching.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from scrapy import signals

from newsarchive.archive import open_archive
from newsarchive.archive.fieldcoverage import coverage_counts
from newsarchive.archive.frontier import record_rejected
from newsarchive.archive.reconnect import DEFAULT_OUTAGE_LIMIT, outage_reporter, run_transaction
from newsarchive.archive.store import save_page
from newsarchive.contracts import SaveOutcome, Stat, articles, coverage, duplicates
from newsarchive.errors import ArchiveError, PageRejectedError

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.statscollectors import StatsCollector

    from newsarchive.archive import Archive
    from newsarchive.archive.store import SaveResult
    from newsarchive.items import FetchedPage

logger = logging.getLogger(__name__)


class StorePipeline:
    def __init__(self, crawler: Crawler, archive: Archive, run_id: int | None) -> None:
        self.crawler = crawler
        self.stats: StatsCollector = crawler.stats
        self.archive = archive
        self.run_id = run_id
        self.outage_limit = crawler.settings.getfloat(
            "NEWSARCHIVE_DB_OUTAGE_LIMIT", DEFAULT_OUTAGE_LIMIT
        )
        self.on_wait = outage_reporter(self.stats)
        self.writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="archive-writer")
        self.closing: asyncio.Task[None] | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StorePipeline:
        archive = open_archive(crawler.settings.get("NEWSARCHIVE_DB"))
        run_id = crawler.settings.getint("NEWSARCHIVE_RUN_ID") or None
        pipeline = cls(crawler, archive, run_id)
        crawler.signals.connect(pipeline.close, signal=signals.spider_closed)
        return pipeline

    def close(self) -> None:
        self.writer.shutdown(wait=True)
        self.archive.dispose()

    def _save(self, page: FetchedPage) -> SaveResult:
        return run_transaction(
            self.archive,
            lambda session: save_page(session, page, run_id=self.run_id, fp=page.fingerprint),
            limit=self.outage_limit,
            on_wait=self.on_wait,
            what=f"store of {page.url}",
        )

    def _reject(self, page: FetchedPage) -> None:
        run_transaction(
            self.archive,
            lambda session: record_rejected(session, page, run_id=self.run_id),
            limit=self.outage_limit,
            on_wait=self.on_wait,
        )

    async def process_item(self, page: FetchedPage) -> FetchedPage:
        loop = asyncio.get_running_loop()
        try:
            result = await loop.run_in_executor(self.writer, self._save, page)
        except PageRejectedError as exc:
            self.stats.inc_value(Stat.ERRORS_STORE)
            self.stats.inc_value(Stat.STORE_REJECTED)
            logger.error("archive refused %s (page lost): %s", page.url, exc)
            try:
                await loop.run_in_executor(self.writer, self._reject, page)
            except ArchiveError as again:
                logger.error("cannot record the refusal of %s: %s", page.url, again)
            return page
        except ArchiveError as exc:
            self.stats.inc_value(Stat.ERRORS_STORE)
            logger.error("cannot store %s: %s", page.url, exc)
            if self.crawler.engine is not None and self.closing is None:
                # Not awaited: closing waits for in-flight items, this one included.
                self.closing = loop.create_task(
                    self.crawler.engine.close_spider_async(reason="archive_error")
                )
            return page
        except Exception:
            # a bug or a page the archive cannot take: count it so the run is not reported ok
            self.stats.inc_value(Stat.ERRORS_STORE)
            logger.exception("cannot store %s", page.url)
            return page
        self.stats.inc_value(Stat.PAGES_STORED)
        self.stats.inc_value(articles(result.status))
        if result.kind:
            self.stats.inc_value(duplicates(result.kind))
        self._count_coverage(page, result.status)
        return page

    def _count_coverage(self, page: FetchedPage, status: str) -> None:
        """Per source: pages stored, and how many articles had each field (the layout alarm of
        ``runs --health`` compares these with the source's own recent runs)."""
        self.stats.inc_value(coverage(page.source, "pages"))
        article = page.article
        if article is None or status in (SaveOutcome.NOT_ARTICLE, SaveOutcome.FAILED):
            return
        for name, count in coverage_counts(article).items():
            self.stats.inc_value(coverage(page.source, name), count)
