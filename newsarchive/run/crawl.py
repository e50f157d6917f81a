"""Running one crawl: archive check, run record, Scrapy in this process, summary and status.

A Twisted reactor starts once per process, so one call of :func:`run_crawl` per process (the CLI
and the tests run each crawl in its own process). The database is opened and checked *before*
Scrapy starts, so a bad URL fails in a second with a clear message instead of after the crawl.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import time
import warnings
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from scrapy import signals
from scrapy.crawler import CrawlerProcess
from scrapy.settings import Settings
from twisted.internet import task

from newsarchive import contracts
from newsarchive.archive import open_archive
from newsarchive.archive.db import describe
from newsarchive.archive.reconnect import DEFAULT_OUTAGE_LIMIT, run_transaction
from newsarchive.archive.runs import RunCounts, finish_run, last_unfinished_run, start_run
from newsarchive.contracts import LinkKind, RunStatus, SaveOutcome, Stat, articles, duplicates
from newsarchive.errors import ConfigError
from newsarchive.run.joblock import crawl_lock

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.spiders import Spider

    from newsarchive.archive import Archive

logger = logging.getLogger(__name__)


# Scrapy close reasons → run status (anything else with pages stored counts as partial).
INTERRUPTED_REASONS = {"shutdown", "cancelled"}
FAILED_REASONS = {"archive_error"}


@dataclass(slots=True)
class CrawlOptions:
    start_urls: list[str] = field(default_factory=list)
    sources: list[Any] = field(default_factory=list)  # newsarchive.discovery.sources.SourceConfig
    db: str | None = None
    max_pages: int | None = None
    max_depth: int | None = None
    since: datetime | None = None
    local: bool = False  # drop politeness delays: for loopback sites only
    job: str | None = None
    progress: bool = False
    extract_workers: int | None = None
    sources_file: str | None = None
    # Re-run the last crashed/interrupted run of ``job`` (its URLs and sources when none given).
    resume: bool = False
    revisit_after: float | None = None  # hours; stored articles older than this are revalidated
    incremental: bool = True
    lock_dir: str | None = None
    # Shared frontier in Redis (scale-out): workers of one job crawl together.
    redis: str | None = None
    redis_idle: float | None = None  # seconds of empty shared queue before a worker exits
    settings: dict[str, Any] = field(default_factory=dict)
    metrics_file: str | None = None  # a Prometheus textfile written after the run


@dataclass(slots=True)
class CrawlSummary:
    run_id: int
    status: RunStatus
    finish_reason: str
    pages: int
    articles_new: int
    articles_updated: int
    articles_unchanged: int
    duplicates: int
    not_articles: int
    errors: int
    errors_by_kind: dict[str, int]
    seconds: float
    # failures of URLs that already failed in an earlier run (listed, not counted for partial)
    known_failures: int = 0
    failed_sources: list[str] = field(default_factory=list)  # failed wholly this run

    @property
    def pages_per_second(self) -> float:
        return self.pages / self.seconds if self.seconds > 0 else 0.0

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["pages_per_second"] = round(self.pages_per_second, 2)
        return data


def build_settings(options: CrawlOptions, run_id: int) -> Settings:
    settings = Settings()
    settings.setmodule("newsarchive.settings", priority="project")
    overrides: dict[str, Any] = {
        "NEWSARCHIVE_DB": options.db,
        "NEWSARCHIVE_RUN_ID": run_id,
        "NEWSARCHIVE_PROGRESS": options.progress,
        "NEWSARCHIVE_INCREMENTAL": options.incremental,
        "LOG_INSTALL_ROOT_HANDLER": False,
    }
    if options.extract_workers is not None:
        overrides["NEWSARCHIVE_EXTRACT_WORKERS"] = options.extract_workers
    if options.max_depth is not None:
        overrides["DEPTH_LIMIT"] = options.max_depth
    if options.revisit_after is not None:
        overrides["NEWSARCHIVE_REVISIT_AFTER"] = options.revisit_after
    if options.local:
        overrides["NEWSARCHIVE_LOCAL"] = True  # the spider drops the politeness delays
    settings.setdict(overrides, priority="cmdline")
    if options.redis:
        from newsarchive.run.scaleout import apply_distributed_settings, distributed_settings

        # scrapy-redis still passes `spider` to the stats API on every push and pop: known,
        # harmless, and not the user's to fix
        warnings.filterwarnings(
            "ignore", message="Passing a 'spider' argument", module="scrapy_redis"
        )

        extra = {} if options.redis_idle is None else {"idle_seconds": options.redis_idle}
        overlay = distributed_settings(options.redis, options.job or "crawl", **extra)
        apply_distributed_settings(settings, overlay)
    settings.setdict(options.settings, priority="cmdline")  # -s NAME=VALUE wins over all
    return settings


def spider_arguments(options: CrawlOptions) -> dict[str, Any]:
    kwargs: dict[str, Any] = {}
    if options.start_urls:
        kwargs["start_urls"] = list(options.start_urls)
    if options.sources:
        kwargs["sources"] = list(options.sources)
    if options.max_pages is not None:
        kwargs["max_pages"] = options.max_pages
    if options.max_depth is not None:
        kwargs["max_depth"] = options.max_depth
    if options.since is not None:
        kwargs["since"] = options.since.isoformat()
    return kwargs


def run_crawl(options: CrawlOptions) -> CrawlSummary:
    """One crawl under the job's lock; raises CrawlLockedError when another run holds it."""
    archive = open_archive(options.db)
    # Workers of a distributed job run side by side on purpose: Redis coordinates them.
    lock = (
        contextlib.nullcontext()
        if options.redis
        else crawl_lock(archive, options.job, options.lock_dir)
    )
    try:
        with lock:
            if options.resume:
                _resume_arguments(archive, options)
            return _run_locked(archive, options)
    finally:
        archive.dispose()


def _resume_arguments(archive: Archive, options: CrawlOptions) -> None:
    """Take the start URLs and sources of the run being resumed when none were given."""
    with archive.session() as session:
        previous = last_unfinished_run(session, job=options.job)
    if previous is None:
        if not (options.start_urls or options.sources):
            raise ConfigError(
                f"nothing to resume: the last run of job {options.job or '(none)'} finished"
            )
        return
    logger.info("resuming run %d (%s)", previous.id, previous.status)
    if options.start_urls or options.sources:
        return
    args = previous.arguments
    options.start_urls = list(args.get("start_urls") or [])
    names = list(args.get("sources") or [])
    if names:
        from pathlib import Path

        from newsarchive.discovery.sources import select_sources

        sources_file = options.sources_file or args.get("sources_file")
        try:
            options.sources = select_sources(names, Path(sources_file) if sources_file else None)
        except ConfigError as exc:
            raise ConfigError(f"cannot resume: {exc}") from exc
    for key in ("max_pages", "max_depth"):
        if getattr(options, key) is None and args.get(key) is not None:
            setattr(options, key, int(args[key]))
    if options.since is None and args.get("since"):
        options.since = datetime.fromisoformat(args["since"])


def _run_locked(archive: Archive, options: CrawlOptions) -> CrawlSummary:
    db_url = describe(archive.url)
    options.db = archive.url.render_as_string(hide_password=False)
    source_names = [s.name for s in options.sources] + _adhoc_names(options.start_urls)
    with archive.session() as session:
        run_id = start_run(
            session,
            job=options.job,
            arguments={
                "start_urls": options.start_urls,
                "sources": [s.name for s in options.sources],
                "sources_file": options.sources_file,
                "max_pages": options.max_pages,
                "max_depth": options.max_depth,
                "since": options.since.isoformat() if options.since else None,
                "revisit_after": options.revisit_after,
                "resume": options.resume,
                "db": db_url,
            },
            sources=source_names,
        )
    logger.info("crawl run %d into %s", run_id, db_url)
    started = time.monotonic()
    process = _CrawlerProcess(build_settings(options, run_id))
    crawler = process.create_crawler("news")
    process.crawl(crawler, **spider_arguments(options))
    process.start()
    seconds = time.monotonic() - started
    stats = dict(crawler.stats.get_stats()) if crawler.stats else {}
    if process.signalled and "finish_reason" not in stats:
        # a second Ctrl-C stops the reactor before the spider closes: still an interruption
        stats["finish_reason"] = "shutdown"
    summary = summarize(run_id, stats, seconds)
    counts = RunCounts(
        pages_fetched=summary.pages,
        articles_new=summary.articles_new,
        articles_updated=summary.articles_updated,
        articles_duplicate=summary.duplicates,
        errors=summary.errors,
        errors_by_kind=summary.errors_by_kind,
    )
    # the database may be restarting right now too: the run record is worth waiting for
    run_transaction(
        archive,
        lambda session: finish_run(
            session, run_id, status=summary.status, counts=counts, stats=_jsonable(stats)
        ),
        limit=float(options.settings.get("NEWSARCHIVE_DB_OUTAGE_LIMIT", DEFAULT_OUTAGE_LIMIT)),
        what="run record",
    )
    if options.metrics_file:
        from pathlib import Path

        from newsarchive.run.metrics import write_metrics

        write_metrics(
            Path(options.metrics_file),
            archive,
            summary,
            stats,
            job=options.job or "crawl",
            sources=source_names,
        )
    return summary


def _adhoc_names(start_urls: list[str]) -> list[str]:
    """Source names the spider gives bare start URLs (their registered domain)."""
    from newsarchive.discovery.urls import registered_domain

    return list(dict.fromkeys(registered_domain(u) for u in start_urls))


def errors_by_kind(stats: dict[str, Any]) -> dict[str, int]:
    """Failures that cost us content. 404s of probed sitemap/feed locations are not errors."""
    kinds = {
        "gave_up_after_retries": stats.get("retry/max_reached", 0),
        "extraction": stats.get(Stat.ERRORS_EXTRACTION, 0),
        "store": stats.get(Stat.ERRORS_STORE, 0),
        "spider": stats.get("spider_exceptions/count", 0),
        "http_5xx": sum(
            v for k, v in stats.items() if k.startswith("httperror/response_ignored_status_count/5")
        ),
    }
    return {k: int(v) for k, v in kinds.items() if v}


class _CrawlerProcess(CrawlerProcess):
    """Remembers a shutdown signal, which a forced (second) one leaves no other trace of."""

    signalled = False

    def _signal_shutdown(self, signum: int, frame: Any) -> None:
        self.signalled = True
        super()._signal_shutdown(signum, frame)


# The exit-code policy for cron (docs/scheduling.md): a run is ``partial`` only when a source
# failed wholly or new failures pass this share of the pages the run stored.
PARTIAL_SHARE = 0.10


def wholly_failed_sources(stats: dict[str, Any]) -> list[str]:
    """Sources with failures this run and not one page stored: a dead site, a block, an outage.
    Failures of URLs that had already failed in an earlier run do not count."""
    failing: dict[str, int] = {}
    for family, sign in (
        (contracts.source_errors, 1),
        (contracts.source_failures, 1),
        (contracts.source_known_failures, -1),
    ):
        for name, value in contracts.per_source(stats, family).items():
            failing[name] = failing.get(name, 0) + sign * value
    return sorted(
        name
        for name, count in failing.items()
        if count > 0 and not stats.get(contracts.coverage(name, "pages"))
    )


def needs_attention(stats: dict[str, Any], errors: int) -> bool:
    """Whether a finished run with ``errors`` is ``partial``. One link that is broken for good
    must not make every nightly run partial (operators learn to ignore such a code): its
    failure in later runs is listed (``known_failures``) but does not count."""
    if wholly_failed_sources(stats):
        return True
    new = max(0, errors - contracts.count(stats, Stat.KNOWN_FAILURES))
    stored = contracts.count(stats, Stat.PAGES_STORED)
    return new > 0 and new > PARTIAL_SHARE * (new + stored)


def summarize(run_id: int, stats: dict[str, Any], seconds: float) -> CrawlSummary:
    reason = str(stats.get("finish_reason", "unknown"))
    by_kind = errors_by_kind(stats)
    errors = sum(by_kind.values())
    pages = int(stats.get("response_received_count", 0))
    if reason in FAILED_REASONS or "finish_reason" not in stats:
        # no finish reason: the crawler never ran (it failed to start; the error was logged)
        status = RunStatus.FAILED
    elif reason in INTERRUPTED_REASONS:
        status = RunStatus.INTERRUPTED
    elif errors and not pages:
        status = RunStatus.FAILED
    elif errors and needs_attention(stats, errors):
        status = RunStatus.PARTIAL
    else:
        status = RunStatus.OK

    def count(outcome: SaveOutcome) -> int:
        return contracts.count(stats, articles(outcome))

    return CrawlSummary(
        run_id=run_id,
        status=status,
        finish_reason=reason,
        pages=pages,
        # every stored article row is new, syndicated copies included; ``duplicates`` counts the
        # copy→original links made (a newcomer that predates an original re-links the group)
        articles_new=count(SaveOutcome.NEW) + count(SaveOutcome.DUPLICATE),
        articles_updated=count(SaveOutcome.UPDATED),
        articles_unchanged=count(SaveOutcome.UNCHANGED),
        duplicates=sum(contracts.count(stats, duplicates(kind)) for kind in LinkKind),
        not_articles=count(SaveOutcome.NOT_ARTICLE) + count(SaveOutcome.FAILED),
        errors=errors,
        errors_by_kind=by_kind,
        seconds=round(seconds, 2),
        known_failures=contracts.count(stats, Stat.KNOWN_FAILURES),
        failed_sources=wholly_failed_sources(stats),
    )


def _jsonable(stats: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in stats.items():
        if isinstance(value, datetime):
            out[key] = value.isoformat()
        elif isinstance(value, (int, float, str, bool)) or value is None:
            out[key] = value
        else:
            out[key] = str(value)
    return out


class Progress:
    """A live progress line on an interactive terminal (pages, articles, rate, errors)."""

    INTERVAL = 1.0

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.started = time.monotonic()
        self.loop: task.LoopingCall | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Progress:
        ext = cls(crawler)
        if crawler.settings.getbool("NEWSARCHIVE_PROGRESS") and sys.stderr.isatty():
            crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
            crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    def spider_opened(self, spider: Spider) -> None:
        self.loop = task.LoopingCall(self.show)
        self.loop.start(self.INTERVAL, now=False)

    def spider_closed(self, spider: Spider) -> None:
        if self.loop is not None and self.loop.running:
            self.loop.stop()
        sys.stderr.write("\r\033[K")
        sys.stderr.flush()

    def show(self) -> None:
        stats = self.crawler.stats.get_stats() if self.crawler.stats else {}
        summary = summarize(0, stats, time.monotonic() - self.started)
        waiting_since = stats.get(Stat.ARCHIVE_WAITING_SINCE)
        waiting = (
            f" | archive unreachable, waiting {time.time() - waiting_since:.0f} s"
            if waiting_since
            else ""
        )
        sys.stderr.write(
            f"\r\033[Kpages {summary.pages} | articles {summary.articles_new} new, "
            f"{summary.articles_updated} updated, {summary.duplicates} dup | "
            f"{summary.pages_per_second:.1f} pages/s | errors {summary.errors}{waiting}"
        )
        sys.stderr.flush()
