"""One generic, data-driven spider for every news site.

Why one module of this size: it is one Scrapy spider class, whose callbacks share the per-source
state of a run (page budget, URL-template budgets, discovery fallbacks); parsing lives in
``newsarchive/discovery/`` and in the extraction pool, so what remains here is only the mapping
of parsed entries to requests and the accounting of every skip.

From a site's homepage it finds articles through three independent paths — sitemaps (robots.txt
``Sitemap:`` lines, else common locations), feeds (``<link rel="alternate">``, else common
paths) and section pages with their pagination — and yields a :class:`FetchedPage` only for
pages the article rule (:mod:`newsarchive.discovery.pagetype`) accepts. Every skip is counted under a
``newsarchive/…`` stats key so a run can be audited. docs/discovery.md describes the limits.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import scrapy
from scrapy import signals
from scrapy.exceptions import IgnoreRequest
from scrapy.http import TextResponse
from scrapy.spidermiddlewares.httperror import HttpError
from scrapy.utils.misc import load_object

from newsarchive import contracts
from newsarchive.contracts import DocKind, DropReason, PageRole, Stat, UrlKind, Via
from newsarchive.discovery.feeds import (
    COMMON_PATHS as COMMON_FEEDS,
)
from newsarchive.discovery.feeds import (
    Feed,
    common_feed_urls,
    parse_feed,
)
from newsarchive.discovery.pagetype import TRUSTED_LISTINGS, url_kind
from newsarchive.discovery.robots import robots_url, site_key, sitemap_urls
from newsarchive.discovery.sitemaps import (
    COMMON_PATHS as COMMON_SITEMAPS,
)
from newsarchive.discovery.sitemaps import (
    SITEMAP_INDEX,
    URLSET,
    Sitemap,
    common_sitemap_urls,
)
from newsarchive.discovery.sources import SourceConfig, select_sources, source_for_url
from newsarchive.discovery.urls import (
    canonicalize_url,
    host_allowed,
    trap_reason,
    url_key,
    url_template,
)
from newsarchive.errors import ConfigError, ExtractionError
from newsarchive.extraction.analysis import PageAnalysis, analyse_page
from newsarchive.extraction.dates import as_utc, parse_structured
from newsarchive.extraction.pool import DEFAULT_MAX_TASKS, ExtractorPool
from newsarchive.items import FetchedPage, Listing
from newsarchive.spiders.guards import RobotsUnavailable
from newsarchive.spiders.incremental import FOLLOWED_LINKS
from newsarchive.spiders.middlewares import SEEN_KEY, RetryScheduled, SeenUrls
from newsarchive.spiders.pacing import SITEMAP_TURN, SitemapPacing

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable, Iterable, Iterator

    from scrapy.crawler import Crawler
    from scrapy.http import Response
    from scrapy.settings import BaseSettings
    from twisted.python.failure import Failure


__all__ = ["COMMON_FEEDS", "COMMON_SITEMAPS", "NewsSpider", "SourceState"]

MAX_SITEMAP_NESTING = 4
_CHARSET = re.compile(r"charset=[\"']?([\w.:-]+)", re.IGNORECASE)

DEFAULT_EXTRACTOR = "newsarchive.extraction.extract"
# A canonical spelling answering these was never the page's address: fetch the discovered one.
SPELLING_FALLBACK_STATUSES = (404, 410)
PRIORITY_FEED = 30
PRIORITY_ARTICLE = 10
PRIORITY_LISTING = 0
# An index's sitemaps, below the articles: the next is fetched once the last one's are drained
# (they are read one at a time per source, see newsarchive.spiders.pacing).
PRIORITY_SITEMAP_CHILD = PRIORITY_LISTING


def _request_of(failure: Failure) -> scrapy.Request:
    """The request an errback's failure is about (Scrapy sets it on the failure)."""
    request: scrapy.Request = failure.request  # type: ignore[attr-defined]  # set by Scrapy, untyped
    return request


def _failure_text(failure: Failure) -> str:
    """The failure's message, else the name of its exception type."""
    return failure.getErrorMessage() or (failure.type.__name__ if failure.type else "error")


def _split(value: str | Iterable[str] | None) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    return [str(v).strip() for v in value if str(v).strip()]


@dataclass(slots=True)
class SourceState:
    """What the spider tracks per source during one run."""

    config: SourceConfig
    hosts: tuple[str, ...]
    scheduled: int = 0
    sitemaps: int = 0  # sitemap documents requested (bounded by NEWSARCHIVE_MAX_SITEMAPS)
    feeds: int = 0  # feeds requested (bounded by NEWSARCHIVE_MAX_FEEDS)
    discovered: bool = False
    feed_fallback: bool = False
    sitemap_fallback: bool = False
    templates: dict[str, int] = field(default_factory=dict)


def _charset(response: Response) -> str | None:
    """The charset the Content-Type header declares, if any."""
    ctype = (response.headers.get(b"Content-Type") or b"").decode("latin-1")
    match = _CHARSET.search(ctype)
    return match.group(1).lower() if match else None


def _looks_like_html(body: bytes) -> bool:
    head = body[:512].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return head.startswith((b"<!doctype html", b"<html"))


class NewsSpider(scrapy.Spider):
    name = "news"
    # limits, read from the settings in from_crawler
    max_pages: int
    max_depth: int
    max_outlinks: int
    max_sitemap_urls: int
    max_sitemaps: int
    max_feeds: int
    max_per_template: int
    max_barren: int
    max_size: int
    max_page_bytes: int
    obey_robots: bool
    pool: ExtractorPool
    extractor: Callable[..., Any]

    def __init__(
        self,
        start_urls: str | list[str] | None = None,
        sources: str | list[SourceConfig] | None = None,
        max_pages: int | str | None = None,
        max_depth: int | str | None = None,
        since: str | datetime | None = None,
        allowed_hosts: str | list[str] | None = None,
        sources_file: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        configs: list[SourceConfig] = []
        if isinstance(sources, str):
            from pathlib import Path

            configs.extend(
                select_sources(_split(sources), Path(sources_file) if sources_file else None)
            )
        elif sources:
            configs.extend(sources)
        configs.extend(source_for_url(url) for url in _split(start_urls))
        if not configs:
            raise ConfigError("the news spider needs start_urls or sources")
        extra_hosts = tuple(h.lower() for h in _split(allowed_hosts))
        self.states: dict[str, SourceState] = {}
        for config in configs:
            self.states[config.name] = SourceState(config, config.hosts() + extra_hosts)
        self._max_pages_arg = int(max_pages) if max_pages not in (None, "") else None
        self._max_depth_arg = int(max_depth) if max_depth not in (None, "") else None
        if isinstance(since, datetime):
            self.since: datetime | None = as_utc(since)
        else:
            self.since = as_utc(parse_structured(since)) if since else None
            if since and self.since is None:
                raise ConfigError(f"since: not an ISO date or datetime: {since!r}")
        self.seen = SeenUrls()  # replaced by the crawler's own in from_crawler
        self.pacing: SitemapPacing | None = None  # the crawler's, set in from_crawler
        self.robots_sitemaps: dict[str, list[str]] = {}

    # -- setup -----------------------------------------------------------------------------
    @classmethod
    def update_settings(cls, settings: BaseSettings) -> None:
        super().update_settings(settings)
        if settings.getbool("NEWSARCHIVE_LOCAL"):
            # Loopback test sites share one download slot: drop politeness delays.
            for key, value in (
                ("AUTOTHROTTLE_ENABLED", False),
                ("DOWNLOAD_DELAY", 0),
                ("DOWNLOAD_DELAY_JITTER", 0),
                ("CONCURRENT_REQUESTS_PER_DOMAIN", 16),
            ):
                settings.set(key, value, priority="spider")

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> NewsSpider:
        spider: NewsSpider = super().from_crawler(crawler, *args, **kwargs)
        spider.seen = SeenUrls.of(crawler)
        spider.pacing = SitemapPacing.of(crawler)
        s = crawler.settings
        spider.max_pages = spider._max_pages_arg or s.getint("NEWSARCHIVE_MAX_PAGES", 5000)
        spider.max_depth = (
            spider._max_depth_arg if spider._max_depth_arg is not None else s.getint("DEPTH_LIMIT")
        ) or 20
        spider.max_outlinks = s.getint("NEWSARCHIVE_MAX_OUTLINKS", 6000)
        spider.max_sitemap_urls = s.getint("NEWSARCHIVE_MAX_SITEMAP_URLS", 50000)
        spider.max_sitemaps = s.getint("NEWSARCHIVE_MAX_SITEMAPS", 200)
        spider.max_feeds = s.getint("NEWSARCHIVE_MAX_FEEDS", 50)
        spider.max_per_template = s.getint("NEWSARCHIVE_MAX_PER_TEMPLATE", 50)
        spider.max_barren = s.getint("NEWSARCHIVE_MAX_BARREN", 3)
        spider.max_size = s.getint("DOWNLOAD_MAXSIZE")
        spider.max_page_bytes = s.getint("NEWSARCHIVE_MAX_PAGE_BYTES", 8 * 1024 * 1024)
        spider.obey_robots = s.getbool("ROBOTSTXT_OBEY")
        # Every HTML page is parsed once, in these worker processes (never on the reactor).
        workers = s.getint("NEWSARCHIVE_EXTRACT_WORKERS", -1)
        spider.pool = ExtractorPool(
            workers=None if workers < 0 else workers,
            timeout=s.getfloat("NEWSARCHIVE_EXTRACT_TIMEOUT", 30.0),
            max_tasks=s.getint("NEWSARCHIVE_EXTRACT_MAX_TASKS", DEFAULT_MAX_TASKS),
        )
        spider.extractor = load_object(s.get("NEWSARCHIVE_EXTRACTOR", DEFAULT_EXTRACTOR))
        spider.pool.warm()
        crawler.signals.connect(spider.pool.close, signal=signals.spider_closed)
        crawler.signals.connect(spider._robots_parsed, signal=signals.robots_parsed)
        return spider

    def _robots_parsed(self, robotparser: Any, request: scrapy.Request) -> None:
        """Keep the Sitemap: lines of each robots.txt the robots middleware fetched anyway."""
        protego = getattr(robotparser, "rp", None)
        sitemaps = list(getattr(protego, "sitemaps", []) or [])
        self.robots_sitemaps[site_key(request.url)] = sitemaps

    def _inc(self, key: str, count: int = 1) -> None:
        if self.crawler.stats:
            self.crawler.stats.inc_value(key, count)

    # -- requests --------------------------------------------------------------------------
    def _request(
        self,
        state: SourceState,
        url: str,
        callback: Any,
        *,
        role: PageRole,
        via: Via,
        priority: int,
        meta: dict[str, Any] | None = None,
        errback: Any = None,
        budget: bool = True,
    ) -> scrapy.Request | None:
        """One request, or None (counted) when it is a duplicate, offsite or over budget."""
        url = canonicalize_url(url)
        if not url.startswith(("http://", "https://")):
            return None
        key = url_key(url)
        if key in self.seen:
            return None
        if not host_allowed(url, state.hosts):
            self._inc(Stat.SKIPPED_OFFSITE)
            return None
        reason = trap_reason(url)
        if reason:
            self._inc(contracts.trap(reason))
            return None
        if budget and state.scheduled >= self.max_pages:
            self._inc(Stat.SKIPPED_MAX_PAGES)
            return None
        self.seen.add(key)
        state.scheduled += 1
        full_meta = {
            "source": state.config.name,
            "role": role,
            "via": via,
            SEEN_KEY: key,
            **(meta or {}),
        }
        return scrapy.Request(
            url,
            callback=callback,
            errback=errback or self._failed,
            priority=priority,
            meta=full_meta,
        )

    def resume_request(
        self, url: str, source: str, *, via: Via, meta: dict[str, Any] | None = None
    ) -> scrapy.Request:
        """An article request for a URL the archive says is owed (a resume, a revisit, a URL
        recovered from a dead worker).

        It is fetched even when over the page budget: the archive, not this run's discovery,
        decided it; it still counts towards the budget of its source. A URL this run already
        scheduled is not fetched twice (the dupefilter drops it).
        """
        state = self.states.get(source)
        if state is not None:
            state.scheduled += 1
        key = url_key(url)
        # Already scheduled by this run: no SEEN_KEY, so the dupefilter drops the second request.
        vetted = {} if key in self.seen else {SEEN_KEY: key}
        self.seen.add(key)
        return scrapy.Request(
            url,
            callback=self.parse_page,
            errback=self._failed,
            priority=PRIORITY_ARTICLE,
            meta={
                "source": source,
                "role": PageRole.CANDIDATE,
                "via": via,
                **vetted,
                **(meta or {}),
            },
        )

    async def start(self) -> AsyncIterator[Any]:
        for state in self.states.values():
            for request in self._initial_requests(state):
                yield request

    def _initial_requests(self, state: SourceState) -> Iterator[scrapy.Request]:
        config = state.config
        home = self._request(
            state,
            config.homepage,
            self.parse_page,
            role=PageRole.HOME,
            via=Via.START,
            priority=PRIORITY_FEED,
            errback=self._home_failed,
            budget=False,
        )
        if home:
            yield home
        yield from self._feed_requests(state, config.feeds, configured=True)
        yield from self._sitemap_requests(state, config.sitemaps, configured=True)
        if not self.obey_robots:
            req = self._request(
                state, robots_url(config.homepage), self.parse_robots, role=PageRole.ROBOTS,
                via=Via.SITEMAP, priority=PRIORITY_FEED, errback=self._robots_failed, budget=False,
            )  # fmt: skip
            if req:
                yield req

    def _sitemap_requests(
        self, state: SourceState, urls: Iterable[str], *, depth: int = 0, configured: bool = False
    ) -> list[scrapy.Request]:
        """Requests for sitemaps (``depth``: how many indexes led here); the one builder.

        A failed configured sitemap falls back to discovery; a failed probe is only counted.
        An index's sitemaps (``depth`` > 0) are read in turn, below the articles' priority.
        """
        meta: dict[str, Any] = {"sitemap_depth": depth}
        if configured:
            meta["configured"] = True
        priority = PRIORITY_FEED
        errback = self._sitemap_failed if configured else self._probe_failed
        if depth > 0:
            meta[SITEMAP_TURN] = True
            priority, errback = PRIORITY_SITEMAP_CHILD, self._child_sitemap_failed
        requests = []
        for url in urls:
            if state.sitemaps >= self.max_sitemaps:
                # an index of indexes must not fan out past the source's sitemap budget
                self._inc(Stat.SITEMAP_OVER_BUDGET)
                if state.sitemaps == self.max_sitemaps:
                    state.sitemaps += 1  # log once per source
                    self.logger.warning(
                        "source %s: sitemap budget of %d documents reached, skipping the rest",
                        state.config.name,
                        self.max_sitemaps,
                    )
                continue
            req = self._request(
                state, url, self.parse_sitemap, role=PageRole.SITEMAP, via=Via.SITEMAP,
                priority=priority, meta=dict(meta), budget=False, errback=errback,
            )  # fmt: skip
            if req:
                state.sitemaps += 1
                requests.append(req)
        return requests

    def _feed_requests(
        self, state: SourceState, urls: Iterable[str], *, configured: bool = False
    ) -> list[scrapy.Request]:
        """Requests for feeds; the one builder (a failed configured feed falls back to probing)."""
        requests = []
        for url in urls:
            if state.feeds >= self.max_feeds:
                self._inc(Stat.FEED_OVER_BUDGET)  # a page listing thousands of feeds
                continue
            req = self._request(
                state, url, self.parse_feed, role=PageRole.FEED, via=Via.FEED, priority=PRIORITY_FEED,
                meta={"configured": True} if configured else None, budget=False,
                errback=self._feed_failed if configured else self._probe_failed,
            )  # fmt: skip
            if req:
                state.feeds += 1
                requests.append(req)
        return requests

    def _candidate_request(
        self, state: SourceState, url: str, *, via: Via, meta: dict[str, Any]
    ) -> scrapy.Request | None:
        """A request for a page that may be an article (counted against the page budget).

        It is made for the canonical spelling of ``url``; when that spelling differs from the
        one discovered (a session id or tracking parameter removed, a rel=canonical followed)
        and answers 404/410, the discovered spelling is fetched instead (see
        :meth:`_candidate_failed`).
        """
        discovered = meta.get("discovered_url") or url
        if canonicalize_url(discovered) != discovered:
            meta = {**meta, "discovered_url": discovered}
        return self._request(
            state, url, self.parse_page, role=PageRole.CANDIDATE, via=via,
            priority=PRIORITY_ARTICLE, meta=meta, errback=self._candidate_failed,
        )  # fmt: skip

    def _candidate_failed(self, failure: Failure) -> Iterator[scrapy.Request]:
        request = _request_of(failure)
        discovered = request.meta.get("discovered_url")
        error = failure.value
        if (
            isinstance(error, HttpError)
            and error.response.status in SPELLING_FALLBACK_STATUSES
            and discovered
            and discovered != request.url
        ):
            self._inc(Stat.FETCH_FAILED_CANONICAL_SPELLING)
            self.logger.info("%s answered %d: fetching %s as discovered",
                             request.url, error.response.status, discovered)  # fmt: skip
            meta = {k: v for k, v in request.meta.items() if k != "discovered_url"}
            yield scrapy.Request(
                discovered, callback=self.parse_page, errback=self._failed, dont_filter=True,
                priority=PRIORITY_ARTICLE, meta={**meta, "spelling_fallback": True},
            )  # fmt: skip
            return
        self._failed(failure)

    # -- discovery of sitemaps and feeds ---------------------------------------------------
    def _discover_sitemaps(
        self, state: SourceState, base: str, listed: list[str] | None
    ) -> list[scrapy.Request]:
        """Sitemaps named by robots.txt, else the common locations (once per source)."""
        if listed:
            urls = listed
        elif state.config.sitemaps:
            return []
        else:
            urls = common_sitemap_urls(base)
            self._inc(Stat.SITEMAP_PROBED_COMMON, len(urls))
        return self._sitemap_requests(state, urls)

    def _probe_feeds(self, state: SourceState, base: str) -> list[scrapy.Request]:
        urls = common_feed_urls(base)
        self._inc(Stat.FEED_PROBED_COMMON, len(urls))
        return self._feed_requests(state, urls)

    def _homepage_discovery(
        self, state: SourceState, base: str, feeds: list[str]
    ) -> list[scrapy.Request]:
        """Sitemaps and feeds of a source, once: ``feeds`` are those its homepage announces."""
        if state.discovered:
            return []
        state.discovered = True
        requests = self._discover_sitemaps(state, base, self.robots_sitemaps.get(site_key(base)))
        requests.extend(self._feed_requests(state, feeds))
        if not feeds and not state.config.feeds:
            requests.extend(self._probe_feeds(state, base))
        return requests

    def parse_robots(self, response: Response) -> None:
        """Only used when ROBOTSTXT_OBEY is off (otherwise the middleware's fetch is reused)."""
        text = response.text if isinstance(response, TextResponse) else ""
        self.robots_sitemaps[site_key(response.url)] = sitemap_urls(text)

    # -- pages -----------------------------------------------------------------------------
    async def parse_page(self, response: Response) -> AsyncIterator[Any]:
        """Cheap checks here; the page itself is parsed once, in the extraction pool."""
        state = self.states[response.meta["source"]]
        role = response.meta["role"]
        parsable = self._parsable(response, state)
        listed = response.meta.get("listed")
        analysis: PageAnalysis | None = None
        failure: str | None = None
        if parsable:
            try:
                analysis = await self.pool.run(
                    analyse_page,
                    response.body,
                    response.url,
                    datetime.now(UTC),
                    encoding=_charset(response),
                    lang_hint=state.config.language,
                    hosts=state.hosts,
                    max_links=self.max_outlinks,
                    extractor=self.extractor,
                    listed=Listing(listed) if listed else None,
                    # the canonical spelling did not answer: this page is the one
                    follow_canonical=not response.meta.get("spelling_fallback"),
                )
            except ExtractionError as exc:
                failure = str(exc)
                self._inc(Stat.ERRORS_EXTRACTION)
                self.logger.warning("extraction failed for %s: %s", response.url, exc)
        if role == PageRole.HOME:
            feeds = analysis.feeds if analysis is not None else []
            for request in self._homepage_discovery(state, response.url, feeds):
                yield request
        if analysis is None:
            if role == PageRole.CANDIDATE and (failure or parsable is None):
                yield self._page(response, state, extraction_error=failure)  # a failed capture
            return
        if analysis.redirect:
            self._inc(Stat.SKIPPED_NON_CANONICAL)
            req = self._candidate_request(
                state, analysis.redirect, via=response.meta["via"],
                meta={"lastmod": response.meta.get("lastmod"), "listed": listed,
                      "discovered_url": response.url},
            )  # fmt: skip
            if req:
                yield req
            return
        verdict = analysis.verdict
        if verdict.is_article:
            self._inc(contracts.yielded(response.meta["via"]))
            if analysis.extraction_error:
                self._inc(Stat.ERRORS_EXTRACTION)
            yield self._page(response, state, analysis)
            return
        self._inc(Stat.SKIPPED_NOT_ARTICLE)
        self.logger.debug("not an article (%s): %s", verdict.score, response.url)
        follow: list[Any] = []
        if role in (PageRole.HOME, PageRole.LISTING) or (
            role == PageRole.CANDIDATE and response.meta["via"] in (Via.SECTION, Via.START)
        ):
            follow = list(self._follow_links(response, state, analysis))
        if role == PageRole.CANDIDATE:
            # the decision and its evidence are kept with the capture (pages --not-articles)
            page = self._page(response, state)
            page.drop_reason = DropReason.NOT_ARTICLE
            page.reason = f"score {verdict.score}: " + " ".join(verdict.reasons)
            page.followed_links = bool(response.meta.get(FOLLOWED_LINKS))
            yield page
        for request in follow:
            yield request

    def _parsable(self, response: Response, state: SourceState) -> bool | None:
        """True for an HTML page worth parsing; False (counted) or None (an empty body) if not."""
        if len(response.body) > self.max_page_bytes:
            # a page this big is an accident or an attack; parsing it would stall a worker
            self._inc(Stat.SKIPPED_TOO_LARGE)
            self.logger.warning("not parsing %s: %d bytes", response.url, len(response.body))
            return False
        if not response.body.strip():
            self._inc(Stat.SKIPPED_EMPTY_BODY)
            self.logger.warning("empty body (HTTP %d): %s", response.status, response.url)
            return None
        ctype = (response.headers.get(b"Content-Type") or b"text/html").lower()
        declared = b"html" in ctype and isinstance(response, TextResponse)
        # HTML served as application/octet-stream (or another non-HTML type) is sniffed
        if not declared and not _looks_like_html(response.body):
            self._inc(Stat.SKIPPED_NOT_HTML)
            return False
        if not host_allowed(response.url, state.hosts):
            self._inc(Stat.SKIPPED_OFFSITE)
            return False
        return True

    def _page(
        self,
        response: Response,
        state: SourceState,
        analysis: PageAnalysis | None = None,
        *,
        extraction_error: str | None = None,
    ) -> FetchedPage:
        # Every header, first value: the archive's store decides which ones it keeps.
        headers = {
            name.decode("latin-1").lower(): values[0].decode("latin-1")
            for name, values in response.headers.items()
            if values and values[0]
        }
        assert response.request is not None  # a downloaded response knows its request
        redirects = response.meta.get("redirect_urls") or [response.request.url]
        return FetchedPage(
            url=response.url,
            requested_url=redirects[0],
            status=response.status,
            body=response.body,
            fetched_at=datetime.now(UTC),
            source=state.config.name,
            headers=headers,
            encoding=_charset(response),
            discovered_via=response.meta["via"],
            listed=Listing(response.meta["listed"]) if response.meta.get("listed") else None,
            lastmod=response.meta.get("lastmod"),
            source_language=state.config.language,
            article=analysis.article if analysis is not None else None,
            extraction_error=analysis.extraction_error if analysis else extraction_error,
            fingerprint=analysis.fingerprint if analysis is not None else None,
            extracted=True,
            body_gz=analysis.body_gz if analysis is not None else None,
            story_keys=analysis.story_keys if analysis is not None else None,
        )

    def _follow_links(
        self, response: Response, state: SourceState, analysis: PageAnalysis
    ) -> Iterator[Any]:
        depth = response.meta.get("depth", 0)
        if depth >= self.max_depth:
            self._inc(Stat.SKIPPED_MAX_DEPTH)
            return
        if analysis.links_capped:
            self._inc(Stat.SKIPPED_OUTLINKS_CAPPED, analysis.links_capped)
        candidates: list[tuple[str, UrlKind]] = []
        listings: list[str] = []
        for url, kind in analysis.links:
            if kind in (UrlKind.MEDIA, UrlKind.UTILITY, UrlKind.VARIANT):
                self._inc(contracts.skipped_url(kind))
            elif kind in (UrlKind.LISTING, UrlKind.ROOT):
                listings.append(url)
            else:
                candidates.append((url, kind))
        if candidates or listings:
            # a listing even when every link on it is already known this run: settled as a
            # dead end it would never be visited again, and its new articles never found (a
            # page without such links, a photo gallery, stays a dead end)
            response.meta[FOLLOWED_LINKS] = True
        new_candidates = [u for u, _ in candidates if url_key(u) not in self.seen]
        barren = 0 if new_candidates else response.meta.get("barren", 0) + 1
        if barren >= self.max_barren:
            self._inc(Stat.TRAP_BARREN_LISTING)
            return
        for url in new_candidates:
            meta: dict[str, Any] = {"barren": barren}
            if url in analysis.spellings:
                meta["discovered_url"] = analysis.spellings[url]  # the fallback spelling
            if url_key(url) in analysis.headlines:
                meta["listed"] = Listing.SECTION.value  # the section presents it as a story
            req = self._candidate_request(state, url, via=Via.SECTION, meta=meta)
            if req:
                yield req
        for url in listings:
            if url_key(url) in self.seen:
                continue
            template = url_template(url)
            used = state.templates.get(template, 0)
            if used >= self.max_per_template:
                self._inc(Stat.TRAP_TEMPLATE_BUDGET)
                continue
            req = self._request(
                state, url, self.parse_page, role=PageRole.LISTING, via=Via.SECTION,
                priority=PRIORITY_LISTING, meta={"barren": barren},
            )  # fmt: skip
            if req:
                state.templates[template] = used + 1
                yield req

    # -- sitemaps and feeds ----------------------------------------------------------------
    def _read_report(
        self, what: DocKind, url: str, gzipped: bool, gzip_error: str | None, error: str | None
    ) -> None:
        """Count and log how an XML body read: gzipped, undecompressable, recovered."""
        if gzip_error is not None:
            self._inc(contracts.xml_read(what, "bad_gzip"))
            self.logger.warning("cannot gunzip %s %s: %s", what, url, gzip_error)
            return
        if gzipped:
            self._inc(contracts.xml_read(what, "gzipped"))
        if error is not None:
            self._inc(contracts.xml_read(what, "recovered"))
            self.logger.info("malformed %s %s, recovered what parses: %s", what, url, error)

    def _entry(
        self,
        state: SourceState,
        url: str | None,
        date: datetime | None,
        via: Via,
        listed: Listing,
    ) -> scrapy.Request | None:
        if not url:
            return None
        if self.since and date and date < self.since:
            self._inc(Stat.SKIPPED_OLD)
            return None
        kind = url_kind(canonicalize_url(url.strip()))
        # a news sitemap or feed entry is the publisher's word that the page is an article,
        # whatever its URL looks like; a plain sitemap also lists tag and author pages
        if kind != UrlKind.OTHER and (listed not in TRUSTED_LISTINGS or kind == UrlKind.MEDIA):
            self._inc(Stat.SKIPPED_LISTING_URL)
            return None
        return self._candidate_request(
            state, url.strip(), via=via, meta={"lastmod": date, "listed": listed.value}
        )

    def parse_sitemap(self, response: Response) -> Iterator[Any]:
        try:
            yield from self._read_sitemap(response)
        finally:
            # every entry is scheduled (or the document was not a sitemap): the source's next
            # sitemap may go
            if self.pacing is not None and response.request is not None:
                self.pacing.done(response.request)

    def _read_sitemap(self, response: Response) -> Iterator[Any]:
        state = self.states[response.meta["source"]]
        sitemap = Sitemap(response.body, max_size=self.max_size, max_entries=self.max_sitemap_urls)
        if sitemap.kind is None:
            self._read_report(
                DocKind.SITEMAP, response.url, sitemap.gzipped, sitemap.gzip_error, sitemap.error
            )
            self._inc(Stat.SITEMAP_NOT_SITEMAP)
            if response.meta.get("configured"):
                yield from self._sitemap_fallback(state)
            return
        nesting = response.meta.get("sitemap_depth", 0)
        for entry in sitemap:
            if sitemap.kind == URLSET:
                listed = Listing.NEWS_SITEMAP if entry.news else Listing.SITEMAP
                req = self._entry(state, entry.loc, entry.date, Via.SITEMAP, listed)
                if req:
                    yield req
                continue
            assert sitemap.kind == SITEMAP_INDEX
            if not entry.loc:
                continue
            if url_key(entry.loc) == url_key(response.url):
                self._inc(Stat.SITEMAP_SELF_REFERENCE)
                continue
            if nesting >= MAX_SITEMAP_NESTING:
                self._inc(Stat.SITEMAP_TOO_DEEP)
                continue
            if self.since and entry.date and entry.date < self.since:
                self._inc(Stat.SKIPPED_OLD_SITEMAP)
                continue
            yield from self._sitemap_requests(state, [entry.loc], depth=nesting + 1)
        if sitemap.capped:
            self._inc(Stat.SITEMAP_CAPPED)
            self.logger.info("sitemap %s capped at %d entries", response.url, self.max_sitemap_urls)
        self._read_report(
            DocKind.SITEMAP, response.url, sitemap.gzipped, sitemap.gzip_error, sitemap.error
        )

    def parse_feed(self, response: Response) -> Iterator[Any]:
        state = self.states[response.meta["source"]]
        feed = parse_feed(response.body, response.url, max_size=self.max_size)
        gzip_error = None if isinstance(feed, Feed) else feed.gzip_error
        self._read_report(DocKind.FEED, response.url, feed.gzipped, gzip_error, feed.error)
        if not isinstance(feed, Feed):
            self._inc(Stat.FEED_NOT_FEED)
            if response.meta.get("configured"):
                yield from self._feed_fallback(state)
            return
        self._inc(Stat.FEED_PARSED)
        for entry in feed.entries:
            req = self._entry(state, entry.link, entry.date, Via.FEED, Listing.FEED)
            if req:
                yield req

    # -- failures and fallbacks ------------------------------------------------------------
    def _feed_fallback(self, state: SourceState) -> list[scrapy.Request]:
        if state.feed_fallback:
            return []
        state.feed_fallback = True
        self._inc(Stat.FEED_CONFIGURED_FAILED)
        return self._probe_feeds(state, state.config.homepage)

    def _sitemap_fallback(self, state: SourceState) -> list[scrapy.Request]:
        if state.sitemap_fallback:
            return []
        state.sitemap_fallback = True
        self._inc(Stat.SITEMAP_CONFIGURED_FAILED)
        home = state.config.homepage
        listed = self.robots_sitemaps.get(site_key(home))
        return self._sitemap_requests(state, listed or common_sitemap_urls(home))

    def _failed(self, failure: Failure) -> None:
        request = _request_of(failure)
        url = request.url
        if isinstance(failure.value, HttpError):
            status = failure.value.response.status
            self._inc(contracts.http_failed(status))
            self.logger.info("failed %s: HTTP %d", url, status)
            return
        message = _failure_text(failure)
        if failure.check(IgnoreRequest) and "DOWNLOAD_MAXSIZE" not in message:
            # deliberate skips (robots.txt, 304 on a revisit, offsite) are counted where decided
            return
        self._inc(Stat.FETCH_FAILED)
        source = request.meta.get("source")
        if source:
            # per source, so the health report tells a dead source apart in a many-source run
            self._inc(contracts.source_errors(source))
        self.logger.info("failed %s: %s", url, message)

    def _probe_failed(self, failure: Failure) -> None:
        if failure.check(RetryScheduled):
            return
        self._inc(Stat.PROBE_FAILED)
        self.logger.debug(
            "probe failed %s: %s", _request_of(failure).url, failure.getErrorMessage()
        )

    def _home_failed(self, failure: Failure) -> Iterator[Any]:
        if failure.check(RetryScheduled):
            return  # the retry's answer starts discovery
        self._failed(failure)
        state = self.states[_request_of(failure).meta["source"]]
        if failure.check(RobotsUnavailable):
            # robots.txt answered 5xx or not at all: the host is off limits (RFC 9309)
            self._inc(contracts.source_errors(state.config.name))
        if not failure.check(HttpError, IgnoreRequest) or failure.check(RobotsUnavailable):
            # the host did not answer at all (refused, DNS, timeout, after retries): probing a
            # dozen common feed/sitemap paths on it would only fail a dozen more times
            self._inc(Stat.SKIPPED_UNREACHABLE_SOURCE)
            self.logger.warning(
                "source %s unreachable (%s): no discovery",
                state.config.name,
                _failure_text(failure),
            )
            return
        yield from self._homepage_discovery(state, state.config.homepage, [])

    def _feed_failed(self, failure: Failure) -> Iterator[Any]:
        if failure.check(RetryScheduled):
            return
        self._probe_failed(failure)
        yield from self._feed_fallback(self.states[_request_of(failure).meta["source"]])

    def _sitemap_failed(self, failure: Failure) -> Iterator[Any]:
        if failure.check(RetryScheduled):
            return
        self._probe_failed(failure)
        yield from self._sitemap_fallback(self.states[_request_of(failure).meta["source"]])

    def _child_sitemap_failed(self, failure: Failure) -> None:
        """An index's sitemap failed: counted as a probe is, and the source's next one may go."""
        if failure.check(RetryScheduled):
            return  # the retry's answer ends the turn
        self._probe_failed(failure)
        if self.pacing is not None:
            self.pacing.done(_request_of(failure))

    def _robots_failed(self, failure: Failure) -> None:
        if failure.check(RetryScheduled):
            return
        self._probe_failed(failure)
        self.robots_sitemaps[site_key(_request_of(failure).url)] = []
