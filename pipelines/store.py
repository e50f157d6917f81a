"""Stage 4: write the capture and the article; several pages per short transaction.

Writes go through a single worker thread: SQLite allows one writer at a time anyway, and the
reactor thread never waits on the database. The pages that arrive while a transaction is being
written are stored together in the next one (at most ``NEWSARCHIVE_STORE_BATCH``): a commit per
page cost more than the page's own statements. Crash safety is unchanged: a batch commits whole
or not at all, and a page whose transaction never committed is still ``discovered`` in the
frontier, so a killed crawl resumes it. Three kinds of failure, three answers:

- the server is unreachable (restart, failover): the write is retried until it answers, for
  at most ``NEWSARCHIVE_DB_OUTAGE_LIMIT`` seconds (:mod:`newsarchive.archive.reconnect`);
  nothing is lost, and the progress line says the crawl is waiting;
- the archive refuses this page's data: that page is lost, logged and counted, its URL is
  settled as ``rejected`` so later runs do not stumble on it again, and the crawl goes on;
- the archive is broken (disk full, read-only, an outage past the limit): the crawl stops,
  since pages we cannot store are not worth fetching.

A batch that fails for any reason but an outage is written again one page per transaction, so
a failure is always that of one page.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import TYPE_CHECKING, TypeVar

from scrapy import signals

from newsarchive.archive import open_archive
from newsarchive.archive.fieldcoverage import coverage_counts
from newsarchive.archive.frontier import record_rejected
from newsarchive.archive.reconnect import DEFAULT_OUTAGE_LIMIT, outage_reporter, run_transaction
from newsarchive.archive.store import save_page
from newsarchive.contracts import SaveOutcome, Stat, articles, coverage, duplicates
from newsarchive.errors import ArchiveError, ArchiveUnavailableError, PageRejectedError

if TYPE_CHECKING:
    from collections.abc import Callable

    from scrapy.crawler import Crawler
    from scrapy.statscollectors import StatsCollector
    from sqlalchemy.orm import Session

    from newsarchive.archive import Archive
    from newsarchive.archive.store import SaveResult
    from newsarchive.items import FetchedPage

logger = logging.getLogger(__name__)

T = TypeVar("T")
DEFAULT_BATCH = 32  # pages per transaction at most


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
        self.batch = max(1, crawler.settings.getint("NEWSARCHIVE_STORE_BATCH", DEFAULT_BATCH))
        self.lock = threading.Lock()
        self.queue: list[tuple[FetchedPage, asyncio.Future[SaveResult]]] = []
        self.draining = False

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

    def _store(
        self, page: FetchedPage, loop: asyncio.AbstractEventLoop
    ) -> asyncio.Future[SaveResult]:
        """Queue ``page`` for the writer thread; the future gets its result or its error."""
        future: asyncio.Future[SaveResult] = loop.create_future()
        with self.lock:
            self.queue.append((page, future))
            start = not self.draining
            self.draining = True
        if start:
            self.writer.submit(self._drain, loop)
        return future

    def _drain(self, loop: asyncio.AbstractEventLoop) -> None:
        """Writer thread: store what is queued, a batch per transaction, until nothing is."""
        while True:
            with self.lock:
                batch, self.queue = self.queue[: self.batch], self.queue[self.batch :]
                if not batch:
                    self.draining = False
                    return
            outcomes = self._save_batch([page for page, _ in batch])
            for (_, future), outcome in zip(batch, outcomes, strict=True):
                loop.call_soon_threadsafe(_settle, future, outcome)

    def _save_batch(self, pages: list[FetchedPage]) -> list[SaveResult | BaseException]:
        try:
            return list(
                self._transaction(lambda session: [self._save(session, p) for p in pages], pages)
            )
        except ArchiveUnavailableError as exc:
            return [exc] * len(pages)  # an outage past the limit: no page is storable
        except Exception as exc:  # noqa: BLE001  (handed to process_item, which logs and counts)
            if len(pages) == 1:
                return [exc]
        # one page spoiled the batch (a refused value, a bug): find it, store the others
        outcomes: list[SaveResult | BaseException] = []
        for page in pages:
            try:
                outcomes.append(self._transaction(partial(self._save, page=page), [page]))
            except Exception as exc:  # noqa: BLE001  (as above)
                outcomes.append(exc)
        return outcomes

    def _save(self, session: Session, page: FetchedPage) -> SaveResult:
        return save_page(session, page, run_id=self.run_id, fp=page.fingerprint)

    def _transaction(self, work: Callable[[Session], T], pages: list[FetchedPage]) -> T:
        what = f"store of {pages[0].url}" + (
            f" and {len(pages) - 1} more" if len(pages) > 1 else ""
        )
        return run_transaction(
            self.archive, work, limit=self.outage_limit, on_wait=self.on_wait, what=what
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
            result = await self._store(page, loop)
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


def _settle(future: asyncio.Future[SaveResult], outcome: SaveResult | BaseException) -> None:
    if future.cancelled():
        return
    if isinstance(outcome, BaseException):
        future.set_exception(outcome)
    else:
        future.set_result(outcome)
