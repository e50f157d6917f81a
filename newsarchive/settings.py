"""Scrapy settings for newsarchive (``scrapy.cfg`` points here).

Defaults are for polite crawling of real news sites. ``NEWSARCHIVE_LOCAL=1`` (environment
variable or ``-s NEWSARCHIVE_LOCAL=1``) switches to loopback test speed: every test site on
127.0.0.1 shares one download slot (slots are keyed by host name, not port), so the polite delay
would make a local crawl take minutes. The spider applies it in ``update_settings``.
"""

from __future__ import annotations

import os

BOT_NAME = "newsarchive"
SPIDER_MODULES = ["newsarchive.spiders"]
NEWSPIDER_MODULE = "newsarchive.spiders"

# Who we are, and where a webmaster can reach us.
NEWSARCHIVE_CONTACT = os.environ.get(
    "NEWSARCHIVE_CONTACT", "https://github.com/newsarchive/newsarchive"
)
USER_AGENT = f"newsarchive/0.1 (+{NEWSARCHIVE_CONTACT})"
NEWSARCHIVE_LOCAL = os.environ.get("NEWSARCHIVE_LOCAL", "") not in ("", "0", "false")

ROBOTSTXT_OBEY = True
# Seconds before a robots.txt that answered 5xx or could not be fetched is asked again.
NEWSARCHIVE_ROBOTS_RETRY = 600.0
# Addresses to treat as public although they are private or loopback (a lab network).
NEWSARCHIVE_PUBLIC_ADDRESSES: list[str] = []
TELNETCONSOLE_ENABLED = False
LOG_LEVEL = "INFO"

# Politeness: a few requests per site at a time, paced by AutoThrottle from observed latency.
CONCURRENT_REQUESTS = 32
CONCURRENT_REQUESTS_PER_DOMAIN = 4
# Spider output of one response handled at once. Scrapy starts this many asyncio tasks for
# every response, whatever it yields (its default, 100, made task creation a fifth of the
# crawl process's reactor time): an article page yields one item, a listing a few dozen
# requests, each handled in microseconds, so a few suffice.
CONCURRENT_ITEMS = 8
DOWNLOAD_DELAY = 1.0
DOWNLOAD_DELAY_JITTER = 0.5  # ±50 % around the delay
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 60.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 2.0

# Bounds: news pages are small; anything huge is a mistake or an attack.
DOWNLOAD_MAXSIZE = 20 * 1024 * 1024
DOWNLOAD_WARNSIZE = 5 * 1024 * 1024
# HTML pages above this are not parsed (sitemaps may use the full DOWNLOAD_MAXSIZE).
NEWSARCHIVE_MAX_PAGE_BYTES = 8 * 1024 * 1024
DOWNLOAD_TIMEOUT = 30
REDIRECT_MAX_TIMES = 5
DEPTH_LIMIT = 6
DEPTH_PRIORITY = 1  # breadth-first: homepages and sections before deep pagination
SCHEDULER_DISK_QUEUE = "scrapy.squeues.PickleFifoDiskQueue"
SCHEDULER_MEMORY_QUEUE = "scrapy.squeues.FifoMemoryQueue"

RETRY_ENABLED = True
RETRY_TIMES = 2
RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, 408, 429]
# Longest Retry-After we are willing to wait for before giving up on a request.
NEWSARCHIVE_RETRY_AFTER_MAX = 300
# Without Retry-After, retries of 5xx/429/408 wait BACKOFF × 2^attempt seconds (capped).
NEWSARCHIVE_RETRY_BACKOFF = 1.0
NEWSARCHIVE_RETRY_BACKOFF_MAX = 60.0

# URL variants (tracking parameters, session ids, fragments, trailing slash) share one fingerprint.
REQUEST_FINGERPRINTER_CLASS = "newsarchive.spiders.middlewares.CanonicalRequestFingerprinter"
# One memory of seen URLs per crawl process, shared by the spider and the scheduler.
DUPEFILTER_CLASS = "newsarchive.spiders.middlewares.SeenUrlsDupeFilter"

DOWNLOADER_MIDDLEWARES = {
    # refuses internal addresses (loopback, private, link-local) for public sources, on every
    # request, robots.txt and redirects included, before robots.txt is fetched for them
    "newsarchive.spiders.guards.AddressGuardMiddleware": 50,
    # RFC 9309 robots.txt: 5xx/unreachable = disallow the host (asked again later), 4xx = allow
    "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
    "newsarchive.spiders.guards.RobotsPolicyMiddleware": 100,
    # skips stored articles and adds conditional-request validators (before robots.txt: 100)
    "newsarchive.spiders.incremental.IncrementalDownloaderMiddleware": 120,
    "newsarchive.spiders.middlewares.RetryAfterMiddleware": 560,
    # names and drops redirect loops, long chains and off-site targets (before Redirect: 600)
    "newsarchive.spiders.middlewares.RedirectGuardMiddleware": 610,
}
SPIDER_MIDDLEWARES = {
    # persists the frontier (scheduled article URLs) in the archive for crash resume
    "newsarchive.spiders.incremental.IncrementalSpiderMiddleware": 950,
    # an index's sitemaps read one at a time per source, so pending requests stay bounded by
    # what one sitemap lists (outermost: it sees the requests after depth and priority are set)
    "newsarchive.spiders.pacing.SitemapPacingMiddleware": 10,
}
# Off in a distributed crawl (its queue is in Redis; a worker must not hold requests back).
NEWSARCHIVE_SITEMAP_PACING = True
EXTENSIONS = {
    "newsarchive.run.crawl.Progress": 900,
}

# Discovery bounds, per source (overridable with -a on the spider or -s here).
NEWSARCHIVE_MAX_PAGES = 5000
NEWSARCHIVE_MAX_OUTLINKS = 6000
NEWSARCHIVE_MAX_SITEMAP_URLS = 50000
# Sitemap documents fetched per source and run (indexes of indexes fan out fast).
NEWSARCHIVE_MAX_SITEMAPS = 200
NEWSARCHIVE_MAX_FEEDS = 50  # feeds per source and run (probes, autodiscovery, configured)
NEWSARCHIVE_MAX_PER_TEMPLATE = 50  # pages per listing URL template (?page=N, /archive/Y/M/D/)
NEWSARCHIVE_MAX_BARREN = 3  # consecutive listing pages without new article links

# Extraction runs in a process pool (one worker per core); a page that hangs or kills its
# worker is recorded as a failed capture. The extractor is pluggable (same signature).
NEWSARCHIVE_EXTRACTOR = "newsarchive.extraction.extract"
NEWSARCHIVE_EXTRACT_TIMEOUT = 30.0
# Pages an extraction worker parses before a fresh one replaces it (bounds its memory; 0: never)
NEWSARCHIVE_EXTRACT_MAX_TASKS = 500

# How long a crawl waits for an unreachable archive database (a restart, a failover) before it
# stops; writes are retried meanwhile and nothing is lost (docs/robustness.md).
NEWSARCHIVE_DB_OUTAGE_LIMIT = 300.0

ITEM_PIPELINES = {
    "newsarchive.pipelines.extract.ExtractPipeline": 100,
    "newsarchive.pipelines.validate.ValidatePipeline": 200,
    "newsarchive.pipelines.dedupe.DedupePipeline": 300,
    "newsarchive.pipelines.store.StorePipeline": 800,
}

FEED_EXPORT_ENCODING = "utf-8"
