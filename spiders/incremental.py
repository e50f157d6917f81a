"""Incremental and resumable crawling, driven by the archive's per-URL state (``url_state``).

Why one module of this size: the two middlewares and the :class:`Frontier` they share are one
mechanism (what the archive knows decides what is requested, and what is fetched goes back to the
archive in batches); split apart, each half would only make sense with the other open beside it.

Two components share one :class:`Frontier` per crawl:

- :class:`IncrementalSpiderMiddleware` drops requests for articles we already stored (unless a
  sitemap ``lastmod`` / feed date is newer than the stored one, or the source's revisit interval
  has passed) before they are scheduled, and adds to the start requests the URLs an earlier,
  killed run scheduled but never fetched (crash resume) and the stored articles due a revisit;
- :class:`IncrementalDownloaderMiddleware` sends conditional requests (``If-None-Match`` /
  ``If-Modified-Since``) for feeds, sitemaps and revisits, persists every scheduled article URL
  as ``discovered`` (in batches, on a writer thread: the reactor never waits on the database),
  and remembers feed/sitemap validators.

Feed and sitemap validators are written only when a run ends cleanly without a page budget cut:
a 304 then means "every entry of this document is already stored or pending in the archive",
which a run killed halfway could not promise. A 304 feed or sitemap is handed to the spider as
an empty document of its kind, so it parses to "no entries" instead of triggering fallbacks.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

import scrapy
from scrapy import signals
from scrapy.exceptions import IgnoreRequest
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet import task, threads

from newsarchive.archive import open_archive
from newsarchive.archive.frontier import (
    Discovered,
    KnownUrl,
    PendingUrl,
    Validators,
    load_known,
    mark_requeued,
    pending_urls,
    record_candidate_outcomes,
    record_discovered,
    record_gone,
    record_not_modified,
    record_validators,
    revisit_due,
)
from newsarchive.archive.reconnect import DEFAULT_OUTAGE_LIMIT, outage_reporter, run_transaction
from newsarchive.contracts import (
    DISCOVERY_ROLES,
    SETTLED_STATES,
    FrontierState,
    PageRole,
    RefetchReason,
    Stat,
    Via,
    conditional,
    not_modified,
    refetch,
    source_failures,
    source_known_failures,
)
from newsarchive.discovery.urls import url_key
from newsarchive.errors import ArchiveUnavailableError, PageRejectedError
from newsarchive.items import FetchedPage
from newsarchive.spiders.middlewares import per_crawl

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterable

    from scrapy.crawler import Crawler
    from scrapy.http import Response
    from scrapy.spiders import Spider
    from sqlalchemy.orm import Session

    from newsarchive.archive import Archive

logger = logging.getLogger(__name__)

# Fetched URLs a recrawl leaves alone (contracts.SETTLED_STATES, until a newer lastmod or the
# revisit interval): stored articles, and candidates that turned out not to be articles. Failed
# ones are tried again. Refused by the archive (``rejected``): fetching it again would only lose
# it again.
REFETCH = "newsarchive_refetch"  # meta: why a known article is fetched again
FOLLOWED_LINKS = "newsarchive_followed_links"  # meta: the spider read this page as a listing
FLUSH_INTERVAL = 0.5  # seconds between batched frontier writes
EMPTY_DOCUMENTS = {
    PageRole.FEED: (
        b'{"version": "https://jsonfeed.org/version/1.1", "items": []}',
        b"application/json",
    ),
    PageRole.SITEMAP: (
        b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"></urlset>',
        b"text/xml",
    ),
}


class Frontier:
    """Per-crawl shared state: known URLs, the write buffers and the writer thread."""

    def __init__(self, crawler: Crawler) -> None:
        s = crawler.settings
        self.crawler = crawler
        self.db = s.get("NEWSARCHIVE_DB")
        self.run_id = s.getint("NEWSARCHIVE_RUN_ID") or None
        self.enabled = bool(self.db) and s.getbool("NEWSARCHIVE_INCREMENTAL", True)
        self.resume = s.getbool("NEWSARCHIVE_RESUME", True)
        self.revisit_default = s.getfloat("NEWSARCHIVE_REVISIT_AFTER", 0.0)  # hours, 0 = never
        self.revisit_by_source: dict[str, float] = {
            str(k): float(v) for k, v in s.getdict("NEWSARCHIVE_REVISIT").items()
        }
        self.known: dict[str, KnownUrl] = {}
        self.sources: list[str] = []
        self.archive: Archive | None = None
        self.writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="frontier-writer")
        self.pending_writes: list[Future[None]] = []
        self.lock = threading.Lock()
        self.discovered: list[Discovered] = []
        self.not_modified: list[str] = []
        self.gone: list[tuple[str, int]] = []
        self.candidate_outcomes: list[tuple[str, FrontierState]] = []
        self.validators: dict[str, Validators] = {}
        self.loop: task.LoopingCall | None = None
        self.opened = False
        self.outage_limit = s.getfloat("NEWSARCHIVE_DB_OUTAGE_LIMIT", DEFAULT_OUTAGE_LIMIT)
        self.on_wait = outage_reporter(crawler.stats) if crawler.stats else None

    @classmethod
    def of(cls, crawler: Crawler) -> Frontier:
        """The crawler's frontier (one per crawl, created and wired on first use)."""
        frontier: Frontier = per_crawl(crawler, "frontier", lambda: cls._wired(crawler))
        return frontier

    @classmethod
    def _wired(cls, crawler: Crawler) -> Frontier:
        frontier = cls(crawler)
        if frontier.enabled:
            crawler.signals.connect(frontier.spider_opened, signal=signals.spider_opened)
            crawler.signals.connect(frontier.spider_closed, signal=signals.spider_closed)
            crawler.signals.connect(frontier.request_scheduled, signal=signals.request_scheduled)
        return frontier

    # -- lifecycle -------------------------------------------------------------------------
    def open(self, spider: Spider) -> None:
        """Load the known URLs of the crawled sources (once; before the first start request)."""
        if self.opened or not self.enabled:
            return
        self.opened = True
        states = getattr(spider, "states", None)
        self.sources = sorted(states) if isinstance(states, dict) else []
        self.archive = open_archive(self.db)
        with self.archive.session() as session:
            known = load_known(session, sources=self.sources or None)
        self.known = {url_key(k.url): k for k in known.values()}
        self.inc(Stat.INCREMENTAL_KNOWN_URLS, len(self.known))
        logger.info("frontier: %d known URLs for %s", len(self.known), ", ".join(self.sources))

    def spider_opened(self, spider: Spider) -> None:
        self.open(spider)
        self.loop = task.LoopingCall(self.flush)
        self.loop.start(FLUSH_INTERVAL, now=False)

    def spider_closed(self, spider: Spider, reason: str) -> None:
        if self.loop is not None and self.loop.running:
            self.loop.stop()
        stats = self.crawler.stats.get_stats() if self.crawler.stats else {}
        # Only a complete pass over a feed/sitemap makes its 304 mean "nothing we lack".
        clean = reason == "finished" and not stats.get(Stat.SKIPPED_MAX_PAGES)
        if not clean or getattr(spider, "since", None) is not None:
            self.validators.clear()
        self.flush(final=True)
        for future in self.pending_writes:
            future.result()
        self.writer.shutdown(wait=True)
        if self.archive is not None:
            self.archive.dispose()

    # -- buffers ---------------------------------------------------------------------------
    def inc(self, key: str, count: int = 1) -> None:
        if self.crawler.stats:
            self.crawler.stats.inc_value(key, count)

    def request_scheduled(self, request: scrapy.Request, spider: Spider) -> None:
        meta = request.meta
        if meta.get("role") != PageRole.CANDIDATE or not meta.get("source"):
            return
        key = url_key(request.url)
        if key in self.known:
            return
        with self.lock:
            self.discovered.append(
                Discovered(
                    url=request.url,
                    source=meta["source"],
                    lastmod=meta.get("lastmod")
                    if isinstance(meta.get("lastmod"), datetime)
                    else None,
                )
            )

    def flush(self, *, final: bool = False) -> None:
        with self.lock:
            discovered, self.discovered = self.discovered, []
            not_modified, self.not_modified = self.not_modified, []
            gone, self.gone = self.gone, []
            outcomes, self.candidate_outcomes = self.candidate_outcomes, []
            validators = list(self.validators.values()) if final else []
        if (
            not (discovered or not_modified or gone or outcomes or validators)
            or self.archive is None
        ):
            return
        self.pending_writes = [f for f in self.pending_writes if not f.done()]
        future = self.writer.submit(
            self._write, discovered, not_modified, gone, outcomes, validators
        )
        future.add_done_callback(_log_failure)
        self.pending_writes.append(future)

    def _write(
        self,
        discovered: list[Discovered],
        not_modified: list[str],
        gone: list[tuple[str, int]],
        outcomes: list[tuple[str, FrontierState]],
        validators: list[Validators],
    ) -> None:
        """Write one batch, waiting out an outage of the archive. A batch the archive refuses
        (one bad URL in it) is written entry by entry, so only the bad entry is lost."""
        now = datetime.now(UTC)

        def updates(session: Session) -> None:
            if not_modified:
                record_not_modified(session, not_modified, at=now)
            if gone:
                record_gone(session, gone, at=now, run_id=self.run_id)
            if outcomes:
                record_candidate_outcomes(session, outcomes, at=now, run_id=self.run_id)

        def batch(session: Session) -> None:
            # Discovered URLs first: validators must never be committed without the entries
            # of their documents.
            if discovered:
                record_discovered(session, discovered, run_id=self.run_id)
            updates(session)

        try:
            self._transaction(batch)
        except ArchiveUnavailableError:
            # out of patience: keep the batch for the next flush (the final one at the latest)
            with self.lock:
                self.discovered[:0] = discovered
                self.not_modified[:0] = not_modified
                self.gone[:0] = gone
                self.candidate_outcomes[:0] = outcomes
            raise
        except PageRejectedError as exc:
            logger.warning("frontier batch refused (%s): writing it entry by entry", exc)
            for entry in discovered:
                self._transaction_or_log(
                    lambda s, e=entry: record_discovered(s, [e], run_id=self.run_id), entry.url
                )
            self._transaction_or_log(updates, "page outcomes")
        if validators:
            self._transaction_or_log(
                lambda s: record_validators(s, validators, run_id=self.run_id), "validators"
            )
        logger.debug("frontier: wrote %d discovered URLs", len(discovered))

    def _transaction(self, work: Any) -> None:
        assert self.archive is not None
        run_transaction(
            self.archive, work, limit=self.outage_limit, on_wait=self.on_wait, what="frontier write"
        )

    def _transaction_or_log(self, work: Any, what: str) -> None:
        try:
            self._transaction(work)
        except PageRejectedError as exc:
            self.inc(Stat.INCREMENTAL_REJECTED)
            logger.error("frontier: the archive refused %s: %s", what, exc)

    # -- decisions -------------------------------------------------------------------------
    def revisit_interval(self, source: str) -> timedelta | None:
        hours = self.revisit_by_source.get(source, self.revisit_default)
        return timedelta(hours=hours) if hours > 0 else None

    def refetch_reason(self, request: scrapy.Request) -> RefetchReason | Literal[False] | None:
        """False: skip this known article; None: not known (fetch); else why to refetch."""
        known = self.known.get(url_key(request.url))
        if known is None:
            return None
        if known.state not in SETTLED_STATES:
            return None
        lastmod = request.meta.get("lastmod")
        if isinstance(lastmod, datetime):
            reference = known.lastmod or known.last_fetched
            if reference is None or lastmod > reference:
                return RefetchReason.LASTMOD
        interval = self.revisit_interval(known.source or request.meta.get("source", ""))
        if interval is not None and (
            known.last_fetched is None or known.last_fetched + interval <= datetime.now(UTC)
        ):
            return RefetchReason.REVISIT
        return False


def _log_failure(future: Future[None]) -> None:
    exc = future.exception()
    if exc is not None:
        logger.error("frontier write failed: %s", exc, exc_info=exc)


class IncrementalSpiderMiddleware:
    """Skip known articles before scheduling; start with pending and revisit-due URLs."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.frontier = Frontier.of(crawler)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> IncrementalSpiderMiddleware:
        return cls(crawler)

    async def process_start(self, start: AsyncIterator[Any]) -> AsyncIterator[Any]:
        frontier = self.frontier
        async for item in start:
            yield item
        if not frontier.enabled or self.crawler.spider is None:
            return
        spider = self.crawler.spider
        frontier.open(spider)
        make = getattr(spider, "resume_request", None)
        if make is None:
            logger.warning("spider %s cannot resume URLs (no resume_request)", spider.name)
            return
        # Database work: on a thread, or every download waits for it.
        pending, due = await maybe_deferred_to_future(threads.deferToThread(self._load_resume))
        for p in pending:
            yield make(p.url, p.source, via=Via.RESUME, meta={"lastmod": p.lastmod})
        for k in due:
            yield make(
                k.url, k.source or "", via=Via.REVISIT, meta={REFETCH: RefetchReason.REVISIT}
            )
        frontier.inc(Stat.INCREMENTAL_RESUMED, len(pending))
        frontier.inc(Stat.INCREMENTAL_REVISITS_DUE, len(due))
        if pending:
            logger.info("resuming %d URLs left pending by earlier runs", len(pending))

    def _load_resume(self) -> tuple[list[PendingUrl], list[KnownUrl]]:
        """The URLs earlier runs left pending (marked as requeued once more) and the stored
        articles due a revisit."""
        frontier = self.frontier
        assert frontier.archive is not None
        with frontier.archive.session() as session:
            pending = pending_urls(session, frontier.sources) if frontier.resume else []
            if pending:
                mark_requeued(session, [p.url for p in pending])
            due: list[KnownUrl] = []
            for source in frontier.sources:
                interval = frontier.revisit_interval(source)
                if interval is not None:
                    due.extend(revisit_due(session, [source], older_than=interval))
        return pending, due

    def process_spider_output(
        self, response: Response | None, result: Iterable[Any], spider: Spider | None = None
    ) -> Iterable[Any]:
        kinds: set[type] = set()
        for item in result:
            kinds.add(type(item))
            if self._keep(item):
                yield item
        self._note_candidate(response, kinds)

    async def process_spider_output_async(
        self, response: Response | None, result: AsyncIterator[Any], spider: Spider | None = None
    ) -> AsyncIterator[Any]:
        kinds: set[type] = set()
        async for item in result:
            kinds.add(type(item))
            if self._keep(item):
                yield item
        self._note_candidate(response, kinds)

    def _note_candidate(self, response: Response | None, kinds: set[type]) -> None:
        """Settle a fetched article candidate the spider did not keep as an article, or every
        resume would fetch it again: a dead end is ``not_article``; one that led to more pages is
        a listing, ``fetched`` (discovery goes on fetching it)."""
        if (
            response is None
            or FetchedPage in kinds
            or not self.frontier.enabled
            or response.meta.get("role") != PageRole.CANDIDATE
            or response.status != 200
        ):
            return
        led_on = response.meta.get(FOLLOWED_LINKS) or any(
            issubclass(kind, scrapy.Request) for kind in kinds
        )
        url = response.meta.get("redirect_urls", [response.url])[0]
        with self.frontier.lock:
            outcome = FrontierState.FETCHED if led_on else FrontierState.NOT_ARTICLE
            self.frontier.candidate_outcomes.append((url, outcome))

    def _keep(self, item: Any) -> bool:
        if not isinstance(item, scrapy.Request) or not self.frontier.enabled:
            return True
        if item.meta.get("role") != PageRole.CANDIDATE or item.meta.get(REFETCH):
            return True
        reason = self.frontier.refetch_reason(item)
        if reason is False:
            self.frontier.inc(Stat.INCREMENTAL_SKIPPED_KNOWN)
            return False
        if reason:
            item.meta[REFETCH] = reason
            self.frontier.inc(refetch(reason))
        return True


class IncrementalDownloaderMiddleware:
    """Conditional requests for feeds, sitemaps and revisits; records what the archive needs."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.frontier = Frontier.of(crawler)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> IncrementalDownloaderMiddleware:
        return cls(crawler)

    def process_request(
        self, request: scrapy.Request, spider: Spider | None = None
    ) -> scrapy.Request | Response | None:
        frontier = self.frontier
        if not frontier.enabled:
            return None
        role = request.meta.get("role")
        if role not in DISCOVERY_ROLES and not request.meta.get(REFETCH):
            return None
        known = frontier.known.get(url_key(request.url))
        if known is None:
            return None
        if role in DISCOVERY_ROLES and known.state != FrontierState.FETCHED:
            return None
        if known.etag and b"If-None-Match" not in request.headers:
            request.headers[b"If-None-Match"] = known.etag
        if known.last_modified and b"If-Modified-Since" not in request.headers:
            request.headers[b"If-Modified-Since"] = known.last_modified
        if known.etag or known.last_modified:
            request.meta["newsarchive_conditional"] = True
            frontier.inc(conditional(role))
        return None

    def process_response(
        self, request: scrapy.Request, response: Response, spider: Spider | None = None
    ) -> scrapy.Request | Response:
        frontier = self.frontier
        if not frontier.enabled:
            return response
        role = request.meta.get("role")
        if response.status == 304 and request.meta.get("newsarchive_conditional"):
            if role in DISCOVERY_ROLES:
                frontier.inc(not_modified(role))
                body, ctype = EMPTY_DOCUMENTS[role]
                return response.replace(status=200, body=body, headers={b"Content-Type": ctype})
            frontier.inc(Stat.INCREMENTAL_NOT_MODIFIED_PAGE)
            with frontier.lock:
                frontier.not_modified.append(request.url)
            raise IgnoreRequest(f"not modified: {request.url}")
        if role in DISCOVERY_ROLES and response.status == 200 and request.meta.get("source"):
            headers = response.headers
            etag = headers.get(b"ETag")
            last_modified = headers.get(b"Last-Modified")
            with frontier.lock:
                frontier.validators[request.url] = Validators(
                    url=request.url,
                    source=request.meta["source"],
                    kind=role,
                    status=response.status,
                    etag=etag.decode("latin-1") if etag else None,
                    last_modified=last_modified.decode("latin-1")[:64] if last_modified else None,
                    content_hash=hashlib.sha256(response.body).hexdigest(),
                    fetched_at=datetime.now(UTC),
                )
        elif role == PageRole.CANDIDATE and response.status >= 400:
            with frontier.lock:
                frontier.gone.append((request.url, response.status))
        if response.status >= 500 and request.meta.get("source"):
            # a final answer (retries are over below the retry middleware): the exit-code policy
            # tells a page that already failed in an earlier run from a new failure
            source = request.meta["source"]
            known = frontier.known.get(url_key(request.url))
            self._count(source_failures(source))
            if known is not None and known.state in (FrontierState.FAILED, FrontierState.GONE):
                self._count(source_known_failures(source))
                self._count(Stat.KNOWN_FAILURES)
        return response

    def _count(self, key: str) -> None:
        if self.crawler.stats:
            self.crawler.stats.inc_value(key)
