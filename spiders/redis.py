"""The Scrapy components of one distributed crawl worker: scheduler, dupefilter, worker extension.

The overlay of :func:`newsarchive.run.scaleout.distributed_settings` names these classes; the
job's key layout, status, reset and the lost-URL arithmetic stay in ``newsarchive.run.scaleout``
(see its docstring for the at-most-once gap this closes). Here is what runs on the reactor:

- :class:`RedisDupeFilter` fingerprints requests with our canonical URL key, so URL variants
  are one request for every worker;
- :class:`RedisScheduler` records, per worker, the URLs it popped;
- :class:`DistributedWorker` beats the heartbeat, recovers lost URLs at start and before an
  idle worker leaves (on a thread), and closes the worker once the job has run dry.

Why one module of this size: the three are one protocol over the same Redis keys (what the
scheduler pops, the worker claims and recovers, and the dupefilter releases), with one outage
policy (:class:`RedisOutage`); read apart, none of them shows why the others are safe.
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from typing import TYPE_CHECKING, Any

import redis
import scrapy
from scrapy import signals
from scrapy.exceptions import DontCloseSpider, NotConfigured
from scrapy_redis.dupefilter import RFPDupeFilter
from scrapy_redis.scheduler import Scheduler
from twisted.internet import task, threads

from newsarchive.contracts import Stat, Via, WorkerStatus
from newsarchive.errors import NewsArchiveError
from newsarchive.run.scaleout import (
    DEFAULT_IDLE_SECONDS,
    DEFAULT_WORKER_TTL,
    JobKeys,
    connect,
    describe_redis,
    job_keys,
    live_workers,
    recover_lost,
)
from newsarchive.spiders.middlewares import per_crawl

if TYPE_CHECKING:
    from collections.abc import Callable

    from scrapy.crawler import Crawler
    from scrapy.spiders import Spider
    from twisted.internet.defer import Deferred
    from twisted.python.failure import Failure

    from newsarchive.archive import Archive
    from newsarchive.archive.frontier import PendingUrl

logger = logging.getLogger(__name__)

POLL_INTERVAL = 0.5  # seconds between checks of an idle worker for new work in the queue


def request_fingerprint(crawler: Crawler | None, request: scrapy.Request) -> str:
    """The dupefilter's fingerprint: the crawler's fingerprinter (our canonical URL key)."""
    fingerprinter = getattr(crawler, "request_fingerprinter", None)
    if fingerprinter is None:
        from scrapy.utils.request import fingerprint

        return fingerprint(request).hex()
    return bytes(fingerprinter.fingerprint(request)).hex()


def worker_id(crawler: Crawler) -> str:
    """One id per crawl process, shared by the scheduler and the extension."""
    wid: str = per_crawl(
        crawler, "worker_id", lambda: f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
    )
    return wid


class RedisDupeFilter(RFPDupeFilter):  # type: ignore[misc]  # scrapy-redis is untyped (Any base)
    """scrapy-redis' filter with our fingerprints, so URL variants are one request everywhere."""

    crawler: Crawler | None = None

    @classmethod
    def from_spider(cls, spider: Spider) -> RedisDupeFilter:
        dupefilter: RedisDupeFilter = super().from_spider(spider)
        dupefilter.crawler = spider.crawler
        return dupefilter

    def request_fingerprint(self, request: scrapy.Request) -> str:
        return request_fingerprint(self.crawler, request)


# Pop the best request and record the claim in one atomic step: with two round trips, a
# recovery running between them saw the URL neither queued nor claimed and queued it again.
POP_AND_CLAIM = """
local top = redis.call('ZRANGE', KEYS[1], 0, 0)
if #top == 0 then return false end
redis.call('ZREM', KEYS[1], top[1])
local ok, request = pcall(cjson.decode, top[1])
if ok and type(request) == 'table' and type(request['_key']) == 'string' then
  redis.call('SADD', KEYS[2], request['_key'])
  redis.call('EXPIRE', KEYS[2], ARGV[1])
end
return top[1]
"""
OUTAGE_PAUSE = 1.0  # seconds between Redis attempts while it is unreachable


class RedisOutage:
    """Logs an outage once when it starts and once when it ends, and spaces the attempts: each
    call is synchronous on the reactor, so an unreachable server is asked at most once per
    ``OUTAGE_PAUSE`` by each component."""

    def __init__(self, what: str, crawler: Crawler | None) -> None:
        self.what = what
        self.crawler = crawler
        self.since: float | None = None
        self.retry_at = 0.0

    def paused(self) -> bool:
        return self.since is not None and time.monotonic() < self.retry_at

    def failed(self, exc: Exception) -> None:
        now = time.monotonic()
        if self.since is None:
            self.since = now
            logger.warning("Redis unreachable (%s): %s paused, retrying", exc, self.what)
            if self.crawler is not None and self.crawler.stats:
                self.crawler.stats.inc_value(Stat.DISTRIBUTED_REDIS_OUTAGES)
        self.retry_at = now + OUTAGE_PAUSE

    def ok(self) -> None:
        if self.since is not None:
            waited = time.monotonic() - self.since
            logger.warning("Redis reachable again after %.1f s: %s resumed", waited, self.what)
            if self.crawler is not None and self.crawler.stats:
                self.crawler.stats.max_value(
                    Stat.DISTRIBUTED_LONGEST_REDIS_OUTAGE, round(waited, 1)
                )
            self.since = None


class RedisScheduler(Scheduler):  # type: ignore[misc]  # scrapy-redis is untyped (Any base)
    """scrapy-redis' scheduler that claims what it pops atomically and rides out outages.

    During a Redis outage nothing is popped (the worker finishes what it holds), requests the
    spider schedules wait in a local backlog (pushed once Redis answers), and the scheduler
    reports pending work so the spider does not close.
    """

    crawler: Crawler | None = None
    ttl: int = int(DEFAULT_WORKER_TTL)
    backlog: list[tuple[scrapy.Request, bool]]  # (request, already through the dupefilter)
    outage: RedisOutage
    pop_and_claim: Any  # the registered POP_AND_CLAIM script

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RedisScheduler:
        try:
            scheduler: RedisScheduler = super().from_crawler(crawler)
        except redis.RedisError as exc:
            url = describe_redis(crawler.settings.get("REDIS_URL") or "")
            raise NewsArchiveError(f"Redis at {url} is unreachable: {exc}") from exc
        scheduler.crawler = crawler
        scheduler.ttl = max(1, round(crawler.settings.getfloat("NEWSARCHIVE_REDIS_WORKER_TTL")))
        scheduler.backlog = []
        scheduler.outage = RedisOutage("the shared queue", crawler)
        scheduler.pop_and_claim = scheduler.server.register_script(POP_AND_CLAIM)
        return scheduler

    def _popped_key(self) -> str:
        assert self.crawler is not None
        keys = JobKeys(self.crawler.settings.get("NEWSARCHIVE_REDIS_JOB") or "")
        return keys.popped(worker_id(self.crawler))

    def _flush_backlog(self) -> None:
        """Push what was scheduled during an outage; stops (raising) at the first failure."""
        while self.backlog:
            request, filtered = self.backlog[0]
            if not filtered and not request.dont_filter:
                if self.df.request_seen(request):
                    self.backlog.pop(0)
                    continue
                # its fingerprint is in the shared filter now: if the push below fails, the
                # next flush must push it, not take it for a duplicate and drop it
                self.backlog[0] = (request, True)
            self.queue.push(request)
            self.backlog.pop(0)

    def enqueue_request(self, request: scrapy.Request) -> bool:
        if self.outage.paused():
            self.backlog.append((request, False))
            return True
        filtered = False
        try:
            self._flush_backlog()
            if not request.dont_filter and self.df.request_seen(request):
                self.df.log(request, self.spider)
                return False
            filtered = True
            self.queue.push(request)
        except redis.RedisError as exc:
            self.outage.failed(exc)
            self.backlog.append((request, filtered))
            return True
        self.outage.ok()
        if self.stats:
            self.stats.inc_value("scheduler/enqueued/redis")
        return True

    def next_request(self) -> scrapy.Request | None:
        if self.crawler is None or self.outage.paused():
            return None
        try:
            self._flush_backlog()
            data = self.pop_and_claim(keys=[self.queue.key, self._popped_key()], args=[self.ttl])
        except redis.RedisError as exc:
            self.outage.failed(exc)
            return None
        self.outage.ok()
        if not data:
            return None
        try:
            request: scrapy.Request = self.queue._decode_request(data)
        except (ValueError, TypeError, KeyError) as exc:
            # not our JSON (a pickle from an older version, or planted): never executed
            logger.warning("undecodable request dropped from the shared queue: %s", exc)
            if self.stats:
                self.stats.inc_value(Stat.DISTRIBUTED_UNDECODABLE)
            return None
        if self.stats:
            self.stats.inc_value("scheduler/dequeued/redis")
        return request

    def has_pending_requests(self) -> bool:
        if self.backlog or self.outage.paused():
            return True  # an outage is no reason to close: the queue is still there
        try:
            pending = len(self.queue) > 0
        except redis.RedisError as exc:
            self.outage.failed(exc)
            return True
        self.outage.ok()
        return pending


class DistributedWorker:
    """Heartbeat, lost-URL recovery at start and before leaving, and closing when idle."""

    def __init__(self, crawler: Crawler, job: str) -> None:
        s = crawler.settings
        self.crawler = crawler
        self.keys = job_keys(job)
        self.idle_seconds = s.getfloat("NEWSARCHIVE_REDIS_IDLE", DEFAULT_IDLE_SECONDS)
        self.ttl = max(1, round(s.getfloat("NEWSARCHIVE_REDIS_WORKER_TTL", DEFAULT_WORKER_TTL)))
        self.db: str | None = s.get("NEWSARCHIVE_DB")
        self.client = connect(s.get("REDIS_URL"), check=False)
        self.id = worker_id(crawler)
        self.idle_since: float | None = None
        self.status: WorkerStatus = WorkerStatus.BUSY
        self.beat_loop: task.LoopingCall | None = None
        self.poll_loop: task.LoopingCall | None = None
        self.archive: Archive | None = None
        self.recovery: Deferred[Any] | None = None  # a recovery running on a thread
        # True once a recovery of the current idle period found nothing left to recover.
        self.idle_recovered = False
        self.closing = False
        self.outage = RedisOutage("the worker heartbeat", crawler)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> DistributedWorker:
        job = crawler.settings.get("NEWSARCHIVE_REDIS_JOB")
        if not job:
            raise NotConfigured("not a distributed crawl")
        ext = cls(crawler, job)
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.spider_idle, signal=signals.spider_idle)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    def inc(self, key: str, count: int = 1) -> None:
        if self.crawler.stats:
            self.crawler.stats.inc_value(key, count)

    # -- lifecycle -------------------------------------------------------------------------
    def spider_opened(self, spider: Spider) -> None:
        self.beat()
        logger.info("worker %s joined job %s", self.id, self.keys.job)
        self.beat_loop = task.LoopingCall(self.beat)
        self.beat_loop.start(max(1.0, self.ttl / 3), now=False)
        self.poll_loop = task.LoopingCall(self.poll)
        self.poll_loop.start(POLL_INTERVAL, now=False)
        states = getattr(spider, "states", None)
        if self.db and isinstance(states, dict) and states:
            from newsarchive.archive import open_archive

            self.archive = open_archive(self.db)
            self.start_recovery(spider)

    def spider_closed(self, spider: Spider, reason: str) -> Deferred[None] | None:
        self.closing = True
        for loop in (self.beat_loop, self.poll_loop):
            if loop is not None and loop.running:
                loop.stop()
        if self.recovery is not None:
            # Leave once the recovery's thread is done with the archive and the client.
            finished: Deferred[None] = self.recovery.addBoth(lambda _: self._leave(reason))
            return finished
        self._leave(reason)
        return None

    def _leave(self, reason: str) -> None:
        if self.archive is not None:
            self.archive.dispose()
            self.archive = None
        popped = self.keys.popped(self.id)
        pipe = self.client.pipeline(transaction=True)
        if reason == "finished":
            # Closed idle: every popped request was processed. Pages that stay "discovered"
            # after their fetch (non-article candidates) must not be fetched again.
            pipe.sunionstore(self.keys.done, [self.keys.done, popped])
        # Otherwise what this worker popped and did not finish becomes recoverable at once.
        pipe.delete(self.keys.worker(self.id), popped)
        try:
            pipe.execute()
        except redis.RedisError as exc:
            # the keys expire by themselves; peers then recover what this worker held
            logger.warning("worker %s could not sign off in Redis: %s", self.id, exc)
        self.client.close()
        logger.info("worker %s left job %s (%s)", self.id, self.keys.job, reason)

    def beat(self) -> None:
        """Refresh the heartbeat. An error must not escape: a LoopingCall stops for good at its
        first exception, and peers would then take this live worker for dead."""
        try:
            pipe = self.client.pipeline(transaction=False)
            pipe.set(self.keys.worker(self.id), self.status, ex=self.ttl)
            pipe.expire(self.keys.popped(self.id), self.ttl)
            pipe.execute()
        except redis.RedisError as exc:
            self.outage.failed(exc)
            return
        self.outage.ok()

    def set_status(self, status: WorkerStatus) -> None:
        if status != self.status:
            self.status = status
            self.beat()

    # -- idleness --------------------------------------------------------------------------
    def poll(self) -> None:
        """Pull work that peers queued (or end the idle wait) sooner than the engine's 5 s tick.

        A worker with nothing in hand only looks at the scheduler when its engine heartbeat
        fires; meanwhile its peers could drain the shared queue alone.
        """
        engine = self.crawler.engine
        if engine is None:
            return
        try:
            idle = engine.spider_is_idle()  # false as soon as the shared queue holds requests
        except RuntimeError:  # no slot: the engine is closing
            return
        if not idle:
            if self.idle_since is not None:
                self.idle_since = None
                self.set_status(WorkerStatus.BUSY)
            _wake(engine)  # a no-op while the downloader is full
        elif self.idle_since is not None and self.idle_for() >= self.idle_seconds:
            _wake(engine)

    def idle_for(self) -> float:
        return 0.0 if self.idle_since is None else time.monotonic() - self.idle_since

    def spider_idle(self, spider: Spider) -> None:
        if self.idle_since is None:
            self.idle_since = time.monotonic()
            self.idle_recovered = False
            self.set_status(WorkerStatus.IDLE)
        if self.recovery is not None:
            raise DontCloseSpider  # its requests are about to be scheduled
        if self.outage.since is not None:
            raise DontCloseSpider  # Redis is away: the shared queue may hold work
        try:
            queued = self.client.zcard(self.keys.queue)
            peers = {w: s for w, s in live_workers(self.client, self.keys).items() if w != self.id}
        except redis.RedisError as exc:
            self.outage.failed(exc)
            raise DontCloseSpider from None
        if queued:
            raise DontCloseSpider
        if self.idle_for() < self.idle_seconds:
            raise DontCloseSpider
        if any(s == WorkerStatus.BUSY for s in peers.values()):
            raise DontCloseSpider  # a busy peer may still schedule work
        if not self.idle_recovered and self.start_recovery(spider, idle=True):
            raise DontCloseSpider  # recover what dead peers lost before leaving
        logger.info("worker %s: queue empty for %.0f s, closing", self.id, self.idle_for())

    # -- recovery --------------------------------------------------------------------------
    def start_recovery(self, spider: Spider, *, idle: bool = False) -> bool:
        """Start recovering lost URLs on a thread (False: nothing to recover from).

        The archive and Redis reads can take seconds on a big job; on the reactor thread they
        would stall every download. The requests are scheduled back on the reactor thread.
        """
        states = getattr(spider, "states", None)
        make = getattr(spider, "resume_request", None)
        if self.archive is None or self.closing or not isinstance(states, dict) or not states:
            return False
        if make is None:
            logger.warning("spider %s cannot recover URLs (no resume_request)", spider.name)
            return False
        if self.recovery is not None:
            return True
        sources = sorted(states)
        recovery = threads.deferToThread(self._find_lost, sources)
        self.recovery = recovery
        recovery.addCallback(self._recovered, make, idle=idle)
        recovery.addErrback(self._recovery_failed, idle=idle)
        return True

    def _find_lost(self, sources: list[str]) -> list[PendingUrl]:
        """The archive's pending URLs no queue or live worker holds, marked as requeued."""
        from newsarchive.archive.frontier import mark_requeued, pending_urls

        assert self.archive is not None
        with self.archive.session() as session:
            pending = pending_urls(session, sources)
            lost = recover_lost(
                self.client,
                self.keys,
                pending,
                lambda url: request_fingerprint(self.crawler, scrapy.Request(url)),
            )
            if lost:
                mark_requeued(session, [p.url for p in lost])
        return lost

    def _recovered(
        self, lost: list[PendingUrl], make: Callable[..., scrapy.Request], *, idle: bool
    ) -> int:
        self.recovery = None
        engine = self.crawler.engine
        if self.closing or engine is None or engine.spider is None:
            # Their fingerprints are released: a live peer recovers them.
            return 0
        for p in lost:
            engine.crawl(make(p.url, p.source, via=Via.RECOVERED, meta={"lastmod": p.lastmod}))
        self.inc(Stat.DISTRIBUTED_RECOVERED, len(lost))
        if lost:
            self.idle_since = None
            self.set_status(WorkerStatus.BUSY)
        elif idle:
            self.idle_recovered = True
            _wake(engine)  # closes now instead of at the next heartbeat
        return len(lost)

    def _recovery_failed(self, failure: Failure, *, idle: bool) -> int:
        self.recovery = None
        if idle:
            # Leave as if nothing were lost: the URLs stay pending for peers and the next run.
            self.idle_recovered = True
        logger.error(
            "worker %s: recovery failed: %s",
            self.id,
            failure.getErrorMessage(),
            # a Failure always carries its exception's type and value
            exc_info=(failure.type, failure.value, failure.getTracebackObject()),  # type: ignore[arg-type]
        )
        self.inc(Stat.DISTRIBUTED_RECOVERY_FAILED)
        return 0


def _wake(engine: Any) -> None:
    """Make the engine look at the scheduler now instead of at its next heartbeat."""
    slot = getattr(engine, "_slot", None)
    nextcall = getattr(slot, "nextcall", None)
    if nextcall is not None:
        nextcall.schedule()
