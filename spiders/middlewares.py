"""Downloader components of the news spider: canonical fingerprints and Retry-After."""

from __future__ import annotations

import email.utils
import logging
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from scrapy.downloadermiddlewares.retry import get_retry_request
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.request import fingerprint
from twisted.internet.task import deferLater

from newsarchive.urls import url_key

if TYPE_CHECKING:
    from typing import Self

    from scrapy import Request, Spider
    from scrapy.crawler import Crawler
    from scrapy.http import Response

logger = logging.getLogger(__name__)

RETRY_AFTER_STATUSES = (429, 503)
NOT_BEFORE = "newsarchive_not_before"


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


class RetryAfterMiddleware:
    """Honours ``Retry-After`` on 429/503: the retry waits as long as the server asked.

    Sits outside RetryMiddleware (higher number) so it sees those responses first; a wait
    longer than ``NEWSARCHIVE_RETRY_AFTER_MAX`` gives the request up instead of hammering.
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.max_wait = crawler.settings.getfloat("NEWSARCHIVE_RETRY_AFTER_MAX", 300)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    async def process_request(self, request: Request, spider: Spider | None = None) -> None:
        not_before = request.meta.get(NOT_BEFORE)
        if not_before:
            wait = not_before - time.time()
            if wait > 0:
                from twisted.internet import reactor  # the installed one, never at import time

                await maybe_deferred_to_future(deferLater(reactor, wait, lambda: None))

    def process_response(
        self, request: Request, response: Response, spider: Spider | None = None
    ) -> Request | Response:
        if response.status not in RETRY_AFTER_STATUSES:
            return response
        header = response.headers.get(b"Retry-After")
        if not header:
            return response
        wait = parse_retry_after(header.decode("latin-1"))
        stats = self.crawler.stats
        if wait is None:
            return response
        if wait > self.max_wait:
            logger.info("giving up %s: Retry-After %.0fs exceeds the maximum", request.url, wait)
            if stats:
                stats.inc_value("newsarchive/retry_after/too_long")
            request.meta["dont_retry"] = True
            return response
        retry = get_retry_request(
            request, spider=self.crawler.spider, reason=f"retry_after_{response.status}"
        )
        if retry is None:
            return response
        retry.meta[NOT_BEFORE] = time.time() + wait
        if stats:
            stats.inc_value("newsarchive/retry_after/honoured")
        logger.info(
            "%s answered %d, retrying after %.1fs (%s)",
            request.url,
            response.status,
            wait,
            datetime.now(UTC).isoformat(timespec="seconds"),
        )
        return retry
