"""The vocabulary the crawl's parts share, declared once: roles, states, outcomes, stats keys.

Spiders, middlewares, pipelines, the archive, crawl runs and the CLI pass these values to one
another (in request meta, ``url_state`` rows, capture rows, Scrapy stats). Each is a
:class:`~enum.StrEnum` whose values are the strings stored in the database and shown in stats,
so rows written before these types existed read the same. Like Scrapy's ``scrapy/signals.py``,
every value is documented here and nowhere else; no module builds or parses another's strings.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping


class PageRole(StrEnum):
    """Why the spider requested a URL (``request.meta["role"]``)."""

    HOME = "home"  # a source's homepage: starts discovery
    CANDIDATE = "candidate"  # a page that may be an article (tracked in url_state)
    LISTING = "listing"  # a section page or its pagination: followed for links
    FEED = "feed"  # RSS/Atom/RDF/JSON feed
    SITEMAP = "sitemap"  # sitemap or sitemap index
    ROBOTS = "robots"  # robots.txt (only when the robots middleware is off)


# The roles whose documents are revalidated with ETag / If-Modified-Since.
DISCOVERY_ROLES = (PageRole.FEED, PageRole.SITEMAP)


class Via(StrEnum):
    """How a page was found (``request.meta["via"]``, ``FetchedPage.discovered_via``)."""

    START = "start"  # a start URL (the homepage)
    SITEMAP = "sitemap"
    FEED = "feed"
    SECTION = "section"  # a link on a homepage, section or listing page
    RESUME = "resume"  # left pending by an earlier run
    REVISIT = "revisit"  # a stored article due a revisit
    RECOVERED = "recovered"  # lost by a dead worker of a distributed job


class UrlKind(StrEnum):
    """What a URL's form alone says (:func:`newsarchive.discovery.pagetype.url_kind`)."""

    ROOT = "root"
    MEDIA = "media"
    UTILITY = "utility"  # login, search, tags, …
    VARIANT = "variant"  # AMP / print versions
    LISTING = "listing"
    OTHER = "other"  # may be an article


class DocKind(StrEnum):
    """``url_state.kind``: an article page or a discovery document."""

    PAGE = "page"
    FEED = "feed"
    SITEMAP = "sitemap"


class FrontierState(StrEnum):
    """``url_state.state``, the archive's authoritative per-URL state (see archive/frontier.py)."""

    DISCOVERED = "discovered"  # scheduled, not fetched yet (a resume re-enqueues it)
    STORED = "stored"  # an article was stored from it
    NOT_ARTICLE = "not_article"  # fetched, not an article (a dead end)
    FAILED = "failed"  # fetch or extraction failed, or validation refused it: tried again
    FETCHED = "fetched"  # a discovery document or listing, kept for its validators
    GONE = "gone"  # the server answered 4xx for good
    REJECTED = "rejected"  # the archive refused the page's data (one lost page)


# States of URLs that were fetched (a run loads them to decide what to skip or revalidate).
FETCHED_STATES = (
    FrontierState.STORED,
    FrontierState.NOT_ARTICLE,
    FrontierState.FAILED,
    FrontierState.FETCHED,
    FrontierState.GONE,
    FrontierState.REJECTED,
)
# Fetched URLs a recrawl leaves alone (until a newer lastmod or the revisit interval).
SETTLED_STATES = (FrontierState.STORED, FrontierState.NOT_ARTICLE, FrontierState.REJECTED)


class SaveOutcome(StrEnum):
    """What the store did with one page (``SaveResult.status``, ``articles/<outcome>`` stats)."""

    NEW = "new"
    UPDATED = "updated"  # a real change: the previous state became a version
    UNCHANGED = "unchanged"
    DUPLICATE = "duplicate"  # linked to an existing group as a copy
    NOT_ARTICLE = "not_article"
    FAILED = "failed"  # extraction failed


class LinkKind(StrEnum):
    """How a copy matched its original (``duplicates.kind``, ``duplicates/<kind>`` stats)."""

    URL = "url"  # another URL declaring the same canonical URL
    EXACT = "exact"  # same normalised body
    NEAR = "near"  # a reworded republication (MinHash)
    TRANSLATION = "translation"  # the same story in another language (anchors)


class ExtractionStatus(StrEnum):
    """``captures.extraction_status``: what extraction and validation made of a capture."""

    OK = "ok"
    FAILED = "failed"  # the extractor raised or timed out
    EMPTY = "empty"  # an empty body, or an article without text
    NOT_ARTICLE = "not_article"
    TOO_SHORT = "too_short"  # refused by validation
    NO_TITLE = "no_title"  # refused by validation


class DropReason(StrEnum):
    """Why the validation stage kept a page as a capture only (``dropped/<reason>`` stats)."""

    EXTRACTION_FAILED = "extraction_failed"
    NO_ARTICLE = "no_article"
    TOO_SHORT = "too_short"
    NO_TITLE = "no_title"
    NOT_ARTICLE = "not_article"  # the article rule said so (the reason is kept with the page)


# Drops that may be complete next time (a teaser, a paywall stub): fetched again later.
VALIDATION_DROPS = (DropReason.TOO_SHORT, DropReason.NO_TITLE)


class RefetchReason(StrEnum):
    """Why a stored article is fetched again."""

    LASTMOD = "lastmod"  # a sitemap/feed date newer than the stored one
    REVISIT = "revisit"  # the source's revisit interval has passed


class RunStatus(StrEnum):
    """``runs.status``."""

    RUNNING = "running"
    OK = "ok"
    PARTIAL = "partial"  # finished with errors
    FAILED = "failed"
    INTERRUPTED = "interrupted"  # stopped by a signal; resumable
    CRASHED = "crashed"  # never recorded its end


class WorkerStatus(StrEnum):
    """A distributed worker's heartbeat value: idle peers wait while one is busy."""

    BUSY = "busy"
    IDLE = "idle"


# -- Scrapy stats keys ------------------------------------------------------------------------
# Every key the crawl writes under ``newsarchive/`` is declared here, once, with its meaning;
# keys with a variable part are built by the functions below, from the types above. The run
# summary, the progress line, the frontier and the health report read them through these names.
PREFIX = "newsarchive/"


class Stat:
    """Fixed stats keys (a count unless said otherwise).

    Plain strings, not enum members: Scrapy prints and stores its stats dict as it is, and a
    key must read there exactly as it is written here.
    """

    # spider: what it did not follow, and why
    SKIPPED_OFFSITE: Final = "newsarchive/skipped/offsite"  # a link to a host outside the source
    SKIPPED_MAX_PAGES: Final = "newsarchive/skipped/max_pages"  # over the source's page budget
    SKIPPED_TOO_LARGE: Final = "newsarchive/skipped/too_large"  # over NEWSARCHIVE_MAX_PAGE_BYTES
    SKIPPED_EMPTY_BODY: Final = "newsarchive/skipped/empty_body"
    SKIPPED_NOT_HTML: Final = "newsarchive/skipped/not_html"
    SKIPPED_NON_CANONICAL: Final = (
        "newsarchive/skipped/non_canonical"  # its canonical URL fetched instead
    )
    SKIPPED_NOT_ARTICLE: Final = "newsarchive/skipped/not_article"  # the article rule said no
    SKIPPED_MAX_DEPTH: Final = "newsarchive/skipped/max_depth"
    SKIPPED_OUTLINKS_CAPPED: Final = "newsarchive/skipped/outlinks_capped"  # links past the cap
    SKIPPED_OLD: Final = "newsarchive/skipped/old"  # a sitemap/feed entry older than --since
    SKIPPED_OLD_SITEMAP: Final = (
        "newsarchive/skipped/old_sitemap"  # a child sitemap older than --since
    )
    SKIPPED_LISTING_URL: Final = (
        "newsarchive/skipped/listing_url"  # a sitemap/feed entry not an article
    )
    SKIPPED_UNREACHABLE_SOURCE: Final = (
        "newsarchive/skipped/unreachable_source"  # homepage unreachable
    )
    SKIPPED_REDIRECT_LOOP: Final = "newsarchive/skipped/redirect_loop"
    SKIPPED_REDIRECT_LIMIT: Final = "newsarchive/skipped/redirect_limit"
    SKIPPED_OFFSITE_REDIRECT: Final = "newsarchive/skipped/offsite_redirect"
    SKIPPED_INTERNAL_ADDRESS: Final = "newsarchive/skipped/internal_address"  # loopback, private
    ROBOTS_UNAVAILABLE: Final = "newsarchive/robots/unavailable"  # 5xx or no answer: off limits
    TRAP_BARREN_LISTING: Final = (
        "newsarchive/skipped/trap/barren_listing"  # listings with nothing new
    )
    TRAP_TEMPLATE_BUDGET: Final = (
        "newsarchive/skipped/trap/template_budget"  # one URL template's cap
    )
    # spider: discovery documents
    SITEMAP_PROBED_COMMON: Final = "newsarchive/sitemap/probed_common"  # common locations requested
    SITEMAP_NOT_SITEMAP: Final = (
        "newsarchive/sitemap/not_sitemap"  # HTML or garbage at a sitemap URL
    )
    SITEMAP_SELF_REFERENCE: Final = "newsarchive/sitemap/self_reference"  # an index listing itself
    SITEMAP_TOO_DEEP: Final = "newsarchive/sitemap/too_deep"  # index nesting past the limit
    SITEMAP_OVER_BUDGET: Final = "newsarchive/sitemap/over_budget"  # past the source's budget
    SITEMAP_CAPPED: Final = (
        "newsarchive/sitemap/capped"  # entries past NEWSARCHIVE_MAX_SITEMAP_URLS
    )
    SITEMAP_PACED: Final = (
        "newsarchive/sitemap/paced"  # an index's sitemap held back until its source's turn
    )
    SITEMAP_RELEASED_IDLE: Final = (
        "newsarchive/sitemap/released_idle"  # a turn that never ended, released on idle
    )
    SITEMAP_CONFIGURED_FAILED: Final = (
        "newsarchive/sitemap/configured_failed"  # fell back to discovery
    )
    FEED_PROBED_COMMON: Final = "newsarchive/feed/probed_common"
    FEED_OVER_BUDGET: Final = "newsarchive/feed/over_budget"  # past NEWSARCHIVE_MAX_FEEDS
    FEED_NOT_FEED: Final = "newsarchive/feed/not_feed"
    FEED_PARSED: Final = "newsarchive/feed/parsed"
    FEED_CONFIGURED_FAILED: Final = "newsarchive/feed/configured_failed"
    # spider: failures
    FETCH_FAILED: Final = "newsarchive/fetch_failed"  # no answer (refused, DNS, timeout, too big)
    # the canonical spelling answered 404/410: the discovered spelling was fetched instead
    FETCH_FAILED_CANONICAL_SPELLING: Final = "newsarchive/fetch_failed/canonical_spelling"
    PROBE_FAILED: Final = "newsarchive/probe_failed"  # a probed feed/sitemap location failed
    # retry middleware
    RETRY_BACKOFF: Final = "newsarchive/retry/backoff"  # a retry waited (exponential backoff)
    RETRY_AFTER_HONOURED: Final = (
        "newsarchive/retry_after/honoured"  # a retry waited for Retry-After
    )
    RETRY_AFTER_TOO_LONG: Final = "newsarchive/retry_after/too_long"  # Retry-After past the limit
    # pipelines
    ERRORS_EXTRACTION: Final = "newsarchive/errors/extraction"  # the extractor raised or timed out
    ERRORS_STORE: Final = "newsarchive/errors/store"  # a page not stored (archive error or refusal)
    STORE_REJECTED: Final = "newsarchive/store/rejected"  # the archive refused the page's data
    PAGES_STORED: Final = "newsarchive/pages_stored"  # pages written (captures), articles or not
    # 5xx answers of URLs that had already failed in an earlier run (listed, not counted by
    # the exit-code policy)
    KNOWN_FAILURES: Final = "newsarchive/known_failures"
    # archive outages (see archive/reconnect.py)
    ARCHIVE_WAITING_SINCE: Final = "newsarchive/archive/waiting_since"  # a time.time(), or None
    ARCHIVE_OUTAGES: Final = "newsarchive/archive/outages"
    ARCHIVE_LONGEST_OUTAGE: Final = "newsarchive/archive/longest_outage_s"  # seconds
    # incremental crawling (spiders/incremental.py)
    INCREMENTAL_KNOWN_URLS: Final = "newsarchive/incremental/known_urls"  # loaded at start
    INCREMENTAL_RESUMED: Final = "newsarchive/incremental/resumed"  # pending URLs re-enqueued
    INCREMENTAL_REVISITS_DUE: Final = "newsarchive/incremental/revisits_due"
    INCREMENTAL_SKIPPED_KNOWN: Final = (
        "newsarchive/incremental/skipped_known"  # stored, not refetched
    )
    INCREMENTAL_REJECTED: Final = "newsarchive/incremental/rejected"  # a frontier write refused
    INCREMENTAL_NOT_MODIFIED_PAGE: Final = (
        "newsarchive/incremental/not_modified/page"  # a 304 revisit
    )
    # distributed workers (spiders/redis.py)
    DISTRIBUTED_RECOVERED: Final = "newsarchive/distributed/recovered"  # URLs lost by dead workers
    DISTRIBUTED_RECOVERY_FAILED: Final = "newsarchive/distributed/recovery_failed"
    DISTRIBUTED_REDIS_OUTAGES: Final = "newsarchive/distributed/redis_outages"
    DISTRIBUTED_LONGEST_REDIS_OUTAGE: Final = "newsarchive/distributed/longest_redis_outage_s"
    DISTRIBUTED_UNDECODABLE: Final = "newsarchive/distributed/undecodable"  # queue entries skipped


def articles(outcome: SaveOutcome) -> str:
    """Pages the store saved with this outcome."""
    return f"{PREFIX}articles/{outcome}"


def duplicates(kind: LinkKind) -> str:
    """Copy → original links made, by how they matched."""
    return f"{PREFIX}duplicates/{kind}"


def dropped(reason: DropReason) -> str:
    """Pages the validation stage kept as captures only."""
    return f"{PREFIX}dropped/{reason}"


def yielded(via: Via) -> str:
    """Article pages handed to the pipelines, by how they were found."""
    return f"{PREFIX}yielded/{via}"


def skipped_url(kind: UrlKind) -> str:
    """Links not followed for their form (``media``, ``utility``, ``variant``)."""
    return f"{PREFIX}skipped/{kind}_url"


def trap(reason: str) -> str:
    """URLs refused as crawl traps (reasons of :func:`newsarchive.discovery.urls.trap_reason`)."""
    return f"{PREFIX}skipped/trap/{reason}"


def http_failed(status: int) -> str:
    """Requests that failed with this HTTP status (after retries)."""
    return f"{PREFIX}fetch_failed/http_{status}"


def source_errors(source: str) -> str:
    """Failed fetches of one source (the health report tells a dead source apart with it)."""
    return f"{PREFIX}source_errors/{source}"


def source_failures(source: str) -> str:
    """Final 5xx answers of one source's pages."""
    return f"{PREFIX}source_failures/{source}"


def source_known_failures(source: str) -> str:
    """Final 5xx answers of one source's pages that had already failed in an earlier run."""
    return f"{PREFIX}source_known_failures/{source}"


COVERAGE_PREFIX = f"{PREFIX}coverage/"


def coverage(source: str, name: str) -> str:
    """Per source and run: ``pages`` stored, ``articles``, ``body_chars`` and the articles
    that had each field (``title``, ``published``, …): the layout-change alarm's counters."""
    return f"{COVERAGE_PREFIX}{source}/{name}"


def per_source(stats: Mapping[str, object], family: Callable[[str], str]) -> dict[str, int]:
    """The values of one per-source key family (``source_errors``, ``source_failures``, …) by
    source name; the one place that reads a source name back out of a key."""
    prefix = family("")
    return {
        key[len(prefix) :]: count(stats, key)
        for key in stats
        if key.startswith(prefix) and key != prefix
    }


def coverage_sources(stats: Mapping[str, object]) -> list[str]:
    """The sources that have coverage counters in ``stats``."""
    prefix, tail = COVERAGE_PREFIX, "/articles"
    keys = sorted(key for key in stats if key.startswith(prefix) and key.endswith(tail))
    return [key[len(prefix) : -len(tail)] for key in keys]


def xml_read(doc: DocKind, event: str) -> str:
    """How a feed or sitemap body read: ``gzipped``, ``bad_gzip`` or ``recovered`` (malformed)."""
    return f"{PREFIX}{doc}/{event}"


def conditional(role: PageRole | str | None) -> str:
    """Conditional requests sent (If-None-Match / If-Modified-Since), by role."""
    return f"{PREFIX}incremental/conditional/{role}"


def not_modified(role: PageRole) -> str:
    """Discovery documents answered 304, by role."""
    return f"{PREFIX}incremental/not_modified/{role}"


def refetch(reason: RefetchReason) -> str:
    """Stored articles fetched again, by reason."""
    return f"{PREFIX}incremental/refetch/{reason}"


def count(stats: Mapping[str, object], key: str) -> int:
    """A counter's value in a stats dict (0 when never incremented)."""
    value = stats.get(key, 0)
    return int(value) if isinstance(value, (int, float)) else 0
