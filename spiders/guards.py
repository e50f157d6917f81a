"""Where the crawler may go: robots.txt read the way RFC 9309 says, and no internal addresses.

``RobotsPolicyMiddleware`` replaces Scrapy's robots middleware, which treats a robots.txt that
answers 5xx, or cannot be fetched at all, as "everything allowed". RFC 9309 §2.3.1.3–4 says the
opposite: a 5xx (we count 429 with them) or an unreachable robots.txt means complete disallow
for that host, and the crawler tries again later; a 4xx means there are no rules. Here a host
whose robots.txt is unavailable is disallowed, and its robots.txt is fetched again after
``NEWSARCHIVE_ROBOTS_RETRY`` seconds; requests refused meanwhile stay pending in the archive,
so a later run fetches them. Its robots.txt requests pass every downloader middleware, the
redirect guard and the address guard below included.

``AddressGuardMiddleware`` keeps a public source from steering the crawler to internal
addresses: links, redirects (robots.txt redirects included) and subdomains whose host resolves
to a loopback, private, link-local, multicast, reserved or unspecified address are refused,
unless the source itself is local — the crawl runs with ``--local``, or the source's own
homepage resolves to such an address. The resolved address is checked, not the name, so a
public name pointing at 127.0.0.1 is caught too. ``NEWSARCHIVE_PUBLIC_ADDRESSES`` lists
addresses to treat as public (a lab network; the test suite's stand-in for the internet).
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.misc import build_from_crawler
from twisted.internet import threads
from twisted.internet.defer import Deferred

from newsarchive.contracts import Stat

if TYPE_CHECKING:
    from typing import Self

    from scrapy import Request, Spider
    from scrapy.crawler import Crawler
    from scrapy.http import Response
    from scrapy.robotstxt import RobotParser

logger = logging.getLogger(__name__)

DISALLOW_ALL = b"User-agent: *\nDisallow: /\n"
UNAVAILABLE_STATUSES = range(500, 600)
DEFAULT_ROBOTS_RETRY = 600.0  # seconds before an unavailable robots.txt is asked again


class RobotsUnavailable(IgnoreRequest):
    """Refused because the host's robots.txt is unavailable (5xx or unreachable), not because
    its rules say so: the spider treats the source like an unreachable one."""


class RobotsPolicyMiddleware(RobotsTxtMiddleware):
    """Scrapy's robots middleware with RFC 9309's answers to errors (see the module doc)."""

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self.retry_after = crawler.settings.getfloat(
            "NEWSARCHIVE_ROBOTS_RETRY", DEFAULT_ROBOTS_RETRY
        )
        self.unavailable_since: dict[str, float] = {}

    async def robot_parser(self, request: Request) -> RobotParser | None:
        netloc = urlsplit(request.url).netloc
        since = self.unavailable_since.get(netloc)
        if since is not None and time.monotonic() - since >= self.retry_after:
            # time to ask again (the next request of the host refetches robots.txt)
            del self.unavailable_since[netloc]
            self._parsers.pop(netloc, None)
        return await super().robot_parser(request)

    def process_request_2(self, rp: RobotParser | None, request: Request) -> None:
        if urlsplit(request.url).netloc in self.unavailable_since:
            self._stats.inc_value("robotstxt/forbidden")
            raise RobotsUnavailable("robots.txt unavailable")
        super().process_request_2(rp, request)

    async def _parse_robots(self, response: Response, netloc: str, request: Request) -> None:
        if response.status in UNAVAILABLE_STATUSES or response.status == 429:
            self._stats.inc_value("robotstxt/response_count")
            self._stats.inc_value(f"robotstxt/response_status_count/{response.status}")
            self._unavailable(netloc, f"HTTP {response.status}")
            return
        if 400 <= response.status < 500:
            # no robots.txt: no rules (the error page's body is not a robots.txt)
            response = response.replace(body=b"")
        await super()._parse_robots(response, netloc, request)

    def _robots_error(self, exc: Exception, netloc: str) -> None:
        if not isinstance(exc, IgnoreRequest):
            self._stats.inc_value(f"robotstxt/exception_count/{type(exc)}")
        self._unavailable(netloc, str(exc) or type(exc).__name__)

    def _unavailable(self, netloc: str, why: str) -> None:
        self._stats.inc_value(Stat.ROBOTS_UNAVAILABLE)
        logger.warning(
            "robots.txt of %s unavailable (%s): the host is disallowed, asking again in %.0f s",
            netloc,
            why,
            self.retry_after,
        )
        self.unavailable_since[netloc] = time.monotonic()
        parser = build_from_crawler(self._parserimpl, self.crawler, DISALLOW_ALL)
        pending = self._parsers.get(netloc)
        self._parsers[netloc] = parser
        if isinstance(pending, Deferred) and not pending.called:
            pending.callback(parser)


def is_internal(address: str) -> bool:
    """Whether an IP address is not on the public internet."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return True  # not an address we understand: refuse rather than guess
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return bool(
        ip.is_loopback
        or ip.is_private
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
    )


def resolve(host: str) -> list[str]:
    """Every address ``host`` resolves to (blocking: run it off the reactor)."""
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except OSError:
        return []
    return sorted({str(info[4][0]) for info in infos})


class AddressGuardMiddleware:
    """Refuses requests to internal addresses for sources that are not local themselves."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        settings = crawler.settings
        self.local = settings.getbool("NEWSARCHIVE_LOCAL")
        self.public = set(settings.getlist("NEWSARCHIVE_PUBLIC_ADDRESSES"))
        self.cache: dict[str, list[str]] = {}
        self.local_sources: dict[str, bool] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    async def _addresses(self, host: str) -> list[str]:
        if host not in self.cache:
            self.cache[host] = await maybe_deferred_to_future(threads.deferToThread(resolve, host))
        return self.cache[host]

    async def _internal(self, host: str) -> bool:
        addresses = await self._addresses(host)
        # a name that does not resolve fails in the downloader with a clear DNS error
        return any(is_internal(a) and a not in self.public for a in addresses)

    async def _source_is_local(self, request: Request) -> bool:
        spider: Any = self.crawler.spider
        states: dict[str, Any] = getattr(spider, "states", {}) or {}
        name = request.meta.get("source")
        if name is None:  # robots.txt: the sources whose homepage is on this host
            host = (urlsplit(request.url).hostname or "").lower()
            name = next(
                (
                    n
                    for n, st in states.items()
                    if (urlsplit(st.config.homepage).hostname or "").lower() == host
                ),
                None,
            )
        if name is None or name not in states:
            return False
        if name not in self.local_sources:
            home = urlsplit(states[name].config.homepage).hostname or ""
            self.local_sources[name] = await self._internal(home)
        return self.local_sources[name]

    async def process_request(self, request: Request, spider: Spider | None = None) -> None:
        if self.local:
            return
        host = urlsplit(request.url).hostname
        if not host or not await self._internal(host.lower()):
            return
        if await self._source_is_local(request):
            return
        stats = self.crawler.stats
        if stats is not None:
            stats.inc_value(Stat.SKIPPED_INTERNAL_ADDRESS)
        first = (request.meta.get("redirect_urls") or [request.url])[0]
        logger.warning(
            "refused %s: %s resolves to an internal address (%s), the source is public%s",
            request.url,
            host,
            ", ".join(self.cache.get(host.lower(), [])),
            f" (redirected from {first})" if first != request.url else "",
        )
        raise IgnoreRequest("internal address")
