"""Downloader components of the news spider: the crawl's memory of seen URLs (and the
dupefilter over it), canonical fingerprints, Retry-After and backoff, redirect guard."""

from __future__ import annotations

import email.utils
import logging
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, TypeVar, cast
from urllib.parse import urljoin

from scrapy import signals
from scrapy.downloadermiddlewares.retry import get_retry_request
from scrapy.dupefilters import BaseDupeFilter
from scrapy.exceptions import DontCloseSpider, IgnoreRequest
from scrapy.http.request import NO_CALLBACK
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.request import fingerprint
from twisted.internet.task import deferLater

from newsarchive.contracts import Stat
from newsarchive.discovery.urls import host_allowed, url_key

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable
    from typing import Self

    from scrapy import Request, Spider
    from scrapy.crawler import Crawler
    from scrapy.http import Response
    from scrapy.statscollectors import StatsCollector
    from twisted.internet.base import DelayedCall

logger = logging.getLogger(__name__)
# The IgnoreRequest message of each redirect the middleware refuses.
_DROPPED = {
    Stat.SKIPPED_REDIRECT_LOOP: "redirect loop",
    Stat.SKIPPED_REDIRECT_LIMIT: "redirect limit",
    Stat.SKIPPED_OFFSITE_REDIRECT: "offsite redirect",
}

# Statuses retried here, after the wait the server asks for (Retry-After) or else with
# exponential backoff; Scrapy's RetryMiddleware would retry them at once.
BACKOFF_STATUSES = (408, 429, 500, 502, 503, 504, 522, 524)


# request.meta key: the URL key the spider recorded in SeenUrls when it made the request.
SEEN_KEY = "newsarchive_seen"

T = TypeVar("T")


def per_crawl(crawler: Crawler, name: str, make: Callable[[], T]) -> T:
    """The crawl's one ``name`` object, made by ``make`` on first use and kept on the crawler:
    the spider, its middlewares, scheduler and extensions each get the crawler, not each other,
    and Scrapy's ``Crawler`` has no slot for such shared state."""
    attr = f"_newsarchive_{name}"
    value: T | None = getattr(crawler, attr, None)
    if value is None:
        value = make()
        setattr(crawler, attr, value)
    return value


class SeenUrls:
    """The URL keys this crawl process has scheduled: its one memory of seen URLs.

    The spider vets every request it makes (duplicates, offsite, traps, page budget) against it
    and records the key; the scheduler's dupefilter (:class:`SeenUrlsDupeFilter`) reads the same
    set, so only requests the spider did not make (redirect targets) are checked a second time.
    In a distributed crawl the Redis dupefilter is the memory shared between processes; this one
    still saves each worker a Redis round trip per duplicate link. What the archive already knows
    (``url_state``) is a different memory: the frontier's snapshot, loaded once per run.
    """

    __slots__ = ("keys",)

    def __init__(self) -> None:
        self.keys: set[str] = set()

    @classmethod
    def of(cls, crawler: Crawler) -> SeenUrls:
        """The crawler's memory (one per crawl, created on first use)."""
        return per_crawl(crawler, "seen", cls)

    def __contains__(self, key: object) -> bool:
        return key in self.keys

    def __len__(self) -> int:
        return len(self.keys)

    def add(self, key: str) -> None:
        self.keys.add(key)


class SeenUrlsDupeFilter(BaseDupeFilter):
    """Scrapy's duplicate filter over :class:`SeenUrls` (by URL key, like our fingerprints)."""

    def __init__(self, seen: SeenUrls, stats: StatsCollector | None = None) -> None:
        self.seen = seen
        self.stats = stats
        self.logged = False

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(SeenUrls.of(crawler), crawler.stats)

    def request_seen(self, request: Request) -> bool:
        key = url_key(request.url)
        if request.meta.get(SEEN_KEY) == key:
            return False  # vetted and recorded by the spider when it made the request
        if key in self.seen:
            return True
        self.seen.add(key)
        return False

    def log(self, request: Request, spider: Spider) -> None:
        if not self.logged:
            logger.debug("filtered duplicate request %s (no further duplicates logged)", request)
            self.logged = True
        if self.stats is not None:
            self.stats.inc_value("dupefilter/filtered")


class CanonicalRequestFingerprinter:
    """Fingerprints a request by its URL key, so URL variants of one page are fetched once."""

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls()

    def fingerprint(self, request: Request) -> bytes:
        return fingerprint(request.replace(url=url_key(request.url)))


def parse_retry_after(value: str, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date), or None."""
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    now = time.time() if now is None else now
    return max(0.0, when.timestamp() - now)


class RetryScheduled(IgnoreRequest):
    """The response was answered with a delayed retry: the retry request is already on its way.

    Errbacks that act on a failed fetch (fallbacks, failure counts) must skip it.
    """


class RetryAfterMiddleware:
    """Retries 429/5xx/408 after the ``Retry-After`` the server gave, else with exponential
    backoff (``NEWSARCHIVE_RETRY_BACKOFF`` × 2^attempt, capped at ``…_BACKOFF_MAX``).

    Sits outside RetryMiddleware (higher number) so it sees those responses first; a wait
    longer than ``NEWSARCHIVE_RETRY_AFTER_MAX`` gives the request up instead of hammering.

    The wait happens off the downloader: the retry is handed to the engine once it is due and
    the answered request ends with :class:`RetryScheduled`, so a rate-limited site never holds
    one of the ``CONCURRENT_REQUESTS`` slots other sites need. The spider is kept open while
    retries are waiting. Requests that bypass the scheduler (robots.txt, fetched by the engine
    directly with ``NO_CALLBACK``) cannot be handed back to it and wait in place instead.
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.max_wait = crawler.settings.getfloat("NEWSARCHIVE_RETRY_AFTER_MAX", 300)
        self.backoff = crawler.settings.getfloat("NEWSARCHIVE_RETRY_BACKOFF", 1.0)
        self.backoff_max = crawler.settings.getfloat("NEWSARCHIVE_RETRY_BACKOFF_MAX", 60.0)
        self.waiting: set[DelayedCall] = set()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        middleware = cls(crawler)
        crawler.signals.connect(middleware.spider_idle, signal=signals.spider_idle)
        crawler.signals.connect(middleware.spider_closed, signal=signals.spider_closed)
        return middleware

    @property
    def pending(self) -> int:
        """Retries waiting for their time to be scheduled."""
        return len(self.waiting)

    def spider_idle(self, spider: Spider) -> None:
        if self.waiting:
            raise DontCloseSpider

    def spider_closed(self, spider: Spider) -> None:
        for call in self.waiting:
            if call.active():
                call.cancel()
        self.waiting.clear()

    def process_response(
        self, request: Request, response: Response, spider: Spider | None = None
    ) -> Request | Response | Awaitable[Request]:
        if response.status not in BACKOFF_STATUSES:
            return response
        header = response.headers.get(b"Retry-After")
        wait = parse_retry_after(header.decode("latin-1")) if header else None
        stats = self.crawler.stats
        if wait is None:
            # No (usable) Retry-After: exponential backoff instead of Scrapy's immediate retry.
            attempt = request.meta.get("retry_times", 0)
            wait = min(self.backoff * 2**attempt, self.backoff_max)
            reason, counter = f"http_{response.status}", Stat.RETRY_BACKOFF
        elif wait > self.max_wait:
            logger.info("giving up %s: Retry-After %.0fs exceeds the maximum", request.url, wait)
            if stats:
                stats.inc_value(Stat.RETRY_AFTER_TOO_LONG)
            request.meta["dont_retry"] = True
            return response
        else:
            reason, counter = f"retry_after_{response.status}", Stat.RETRY_AFTER_HONOURED
        assert self.crawler.spider is not None  # responses only come while the spider runs
        retry = get_retry_request(request, spider=self.crawler.spider, reason=reason)
        if retry is None:
            # retries exhausted (and counted): Scrapy's RetryMiddleware must not count it again
            request.meta["dont_retry"] = True
            return response
        if stats:
            stats.inc_value(counter)
        logger.info(
            "%s answered %d, retry %d in %.1fs (%s)",
            request.url,
            response.status,
            request.meta.get("retry_times", 0) + 1,
            wait,
            datetime.now(UTC).isoformat(timespec="seconds"),
        )
        from twisted.internet import reactor  # the installed one, never at import time

        if request.callback is NO_CALLBACK:
            return maybe_deferred_to_future(deferLater(reactor, wait, lambda: retry))
        # the reactor module is typed as a module, not as the reactor installed at run time
        schedule_later = cast("Callable[..., DelayedCall]", reactor.callLater)
        self.waiting.add(schedule_later(wait, self._schedule, retry))
        raise RetryScheduled(f"retry in {wait:.1f}s")

    def _schedule(self, retry: Request) -> None:
        self.waiting = {call for call in self.waiting if call.active()}
        engine = self.crawler.engine
        if engine is None or engine.spider is None:
            return
        engine.crawl(retry)


REDIRECT_STATUSES = (301, 302, 303, 307, 308)


class RedirectGuardMiddleware:
    """Names, counts and drops redirect faults: loops, over-long chains, off-site targets.

    Sits outside Scrapy's RedirectMiddleware (higher number, so it sees a 3xx first): without
    it a loop or a long chain ends in a silent drop, and an off-site target is fetched before
    being discarded.
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.max_times = crawler.settings.getint("REDIRECT_MAX_TIMES")

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def process_response(
        self, request: Request, response: Response, spider: Spider | None = None
    ) -> Response:
        location = response.headers.get(b"Location")
        if response.status not in REDIRECT_STATUSES or not location:
            return response
        target = urljoin(request.url, location.decode("latin-1"))
        chain = [*request.meta.get("redirect_urls", []), request.url]
        if url_key(target) in {url_key(u) for u in chain}:
            self._drop(
                Stat.SKIPPED_REDIRECT_LOOP,
                "redirect loop at %s (first requested as %s)",
                target,
                chain[0],
            )
        if len(chain) - 1 >= self.max_times:
            self._drop(
                Stat.SKIPPED_REDIRECT_LIMIT,
                "redirect chain from %s cut after %d hops",
                chain[0],
                len(chain) - 1,
            )
        states = getattr(self.crawler.spider, "states", None) or {}
        state = states.get(request.meta.get("source"))
        if state is not None and not host_allowed(target, state.hosts):
            self._drop(
                Stat.SKIPPED_OFFSITE_REDIRECT, "off-site redirect %s -> %s", chain[0], target
            )
        return response

    def _drop(self, key: str, message: str, *args: object) -> None:
        if self.crawler.stats:
            self.crawler.stats.inc_value(key)
        logger.info(message, *args)
        raise IgnoreRequest(_DROPPED[key])
