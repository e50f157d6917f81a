"""Several crawl workers sharing one frontier in Redis, writing into one archive.

scrapy-redis moves Scrapy's scheduler queue and duplicate filter into Redis, so any number of
worker processes (on any number of hosts) pop from one queue and never schedule a URL twice.
It is at-most-once per request: ``pop()`` is destructive with no acknowledgement, and the
fingerprint enters the dupefilter when the request is scheduled, so a worker killed mid-request
loses that URL for good — the dupefilter then refuses it to everyone. This module closes that gap
with the archive's authoritative per-URL state (``url_state``):

- every worker registers a heartbeat key (``…:worker:<id>``, with a TTL) and records the URLs it
  popped in ``…:popped:<id>``; a worker that dies stops refreshing both, and they expire; one
  that finishes cleanly moves its popped URLs to ``…:done``;
- at start, and again before an idle worker leaves, :func:`recover_lost` takes the article URLs
  the archive still has as ``discovered`` (scheduled, never stored nor failed), drops those that
  are waiting in the queue or were popped by a live or finished worker, releases their fingerprints from
  the dupefilter and schedules them again. The dupefilter arbitrates between workers recovering
  at the same moment, so a recovered URL is queued once.

Workers stop by themselves once the queue has stayed empty for ``NEWSARCHIVE_REDIS_IDLE``
seconds while no live peer is busy (a busy peer may still discover work). docs/scaling.md has
the commands and the exact guarantees.
"""

from __future__ import annotations

import logging
import os
import pickle
import re
import socket
import time
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import redis
import scrapy
from scrapy import signals
from scrapy.exceptions import DontCloseSpider, NotConfigured
from scrapy_redis.dupefilter import RFPDupeFilter
from scrapy_redis.scheduler import Scheduler
from twisted.internet import task, threads

from newsarchive.discovery.urls import url_key
from newsarchive.errors import ConfigError, NewsArchiveError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence

    from scrapy.crawler import Crawler
    from scrapy.settings import BaseSettings
    from scrapy.spiders import Spider
    from twisted.internet.defer import Deferred
    from twisted.python.failure import Failure

    from newsarchive.archive import Archive
    from newsarchive.archive.frontier import PendingUrl

logger = logging.getLogger(__name__)

KEY_PREFIX = "newsarchive"
JOB_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
DEFAULT_IDLE_SECONDS = 30.0
DEFAULT_WORKER_TTL = 60.0
POLL_INTERVAL = 0.5  # seconds between checks of an idle worker for new work in the queue
CONNECT_TIMEOUT = 5.0
SCAN_BATCH = 500
RECOVERED_VIA = "recovered"
BUSY = "busy"
IDLE = "idle"

SCHEDULER_CLASS = "newsarchive.run.scaleout.RedisScheduler"
DUPEFILTER_CLASS = "newsarchive.run.scaleout.RedisDupeFilter"
WORKER_EXTENSION = "newsarchive.run.scaleout.DistributedWorker"
# Dict-valued settings of the overlay: merge them into the existing value, never replace it.
MERGED_SETTINGS = ("EXTENSIONS",)


@dataclass(frozen=True, slots=True)
class JobKeys:
    """The Redis keys of one job; everything of a job lives under ``newsarchive:<job>:``."""

    job: str

    @property
    def prefix(self) -> str:
        return f"{KEY_PREFIX}:{self.job}:"

    @property
    def queue(self) -> str:
        return f"{self.prefix}requests"

    @property
    def dupefilter(self) -> str:
        return f"{self.prefix}dupefilter"

    def worker(self, worker_id: str) -> str:
        return f"{self.prefix}worker:{worker_id}"

    def popped(self, worker_id: str) -> str:
        return f"{self.prefix}popped:{worker_id}"

    @property
    def done(self) -> str:
        """URLs popped by workers that finished cleanly: processed, whatever their state says."""
        return f"{self.prefix}done"


@dataclass(slots=True)
class JobStatus:
    job: str
    queued: int
    seen: int
    workers: dict[str, str] = field(default_factory=dict)  # worker id → busy / idle


def job_keys(job: str) -> JobKeys:
    """Keys of ``job``; the name must be safe inside a Redis key and a SCAN pattern."""
    if not JOB_RE.match(job or ""):
        raise ConfigError(
            f"bad job name {job!r}: use 1-100 letters, digits, '.', '_' or '-' "
            "(starting with a letter or digit)"
        )
    return JobKeys(job)


def describe_redis(redis_url: str) -> str:
    """The URL without its password, for messages."""
    return re.sub(r"://([^:@/]*):[^@/]*@", r"://\1:***@", redis_url)


def connect(redis_url: str, *, check: bool = True) -> redis.Redis:
    """A client for ``redis_url``, pinged once so a typo or a dead server fails right away."""
    hint = "expected redis://[:password@]host[:port][/db], rediss://… or unix://path"
    parts = urlsplit(redis_url or "")
    if parts.scheme not in ("redis", "rediss", "unix"):
        raise ConfigError(f"bad Redis URL {describe_redis(redis_url)!r}: {hint}")
    db = parts.path.strip("/")
    if parts.scheme != "unix" and (not parts.hostname or (db and not db.isdigit())):
        raise ConfigError(f"bad Redis URL {describe_redis(redis_url)!r}: {hint}")
    try:
        client = redis.Redis.from_url(
            redis_url, socket_connect_timeout=CONNECT_TIMEOUT, socket_timeout=CONNECT_TIMEOUT
        )
    except ValueError as exc:
        raise ConfigError(f"bad Redis URL {describe_redis(redis_url)!r}: {exc} ({hint})") from exc
    if check:
        try:
            client.ping()
        except redis.AuthenticationError as exc:
            client.close()
            raise ConfigError(f"Redis at {describe_redis(redis_url)} refused: {exc}") from exc
        except redis.RedisError as exc:
            client.close()
            raise NewsArchiveError(
                f"Redis at {describe_redis(redis_url)} is unreachable: {exc}"
            ) from exc
    return client


def distributed_settings(
    redis_url: str,
    job: str,
    *,
    idle_seconds: float = DEFAULT_IDLE_SECONDS,
    worker_ttl: float = DEFAULT_WORKER_TTL,
) -> dict[str, Any]:
    """The Scrapy settings overlay that makes this crawl one worker of ``job``.

    Checks the URL and the server first. ``EXTENSIONS`` must be merged into the existing value
    (see :func:`apply_distributed_settings`), not replace it.
    """
    keys = job_keys(job)
    if idle_seconds <= 0 or worker_ttl <= 0:
        raise ConfigError("idle seconds and worker TTL must be positive")
    connect(redis_url).close()
    return {
        "SCHEDULER": SCHEDULER_CLASS,
        "DUPEFILTER_CLASS": DUPEFILTER_CLASS,
        # A sorted set: our spider's priorities (feeds and articles before deep listings) hold.
        "SCHEDULER_QUEUE_CLASS": "scrapy_redis.queue.PriorityQueue",
        "SCHEDULER_QUEUE_KEY": keys.queue,
        "SCHEDULER_DUPEFILTER_KEY": keys.dupefilter,
        "SCHEDULER_SERIALIZER": "scrapy_redis.picklecompat",
        "SCHEDULER_PERSIST": True,
        "SCHEDULER_FLUSH_ON_START": False,
        # Blocking pops would stall the reactor (and the priority queue ignores them anyway);
        # DistributedWorker decides when an idle worker leaves.
        "SCHEDULER_IDLE_BEFORE_CLOSE": 0,
        "REDIS_URL": redis_url,
        "REDIS_PARAMS": {
            "socket_timeout": 30,
            "socket_connect_timeout": CONNECT_TIMEOUT,
            "retry_on_timeout": True,
        },
        # DistributedWorker re-enqueues pending URLs itself, knowing what the queue and the live
        # workers hold; the frontier's own resume would only be filtered by the dupefilter
        # (while counting a resume attempt for every pending URL at every worker start).
        "NEWSARCHIVE_RESUME": False,
        "NEWSARCHIVE_REDIS_JOB": job,
        "NEWSARCHIVE_REDIS_IDLE": float(idle_seconds),
        "NEWSARCHIVE_REDIS_WORKER_TTL": float(worker_ttl),
        "EXTENSIONS": {WORKER_EXTENSION: 500},
    }


def apply_distributed_settings(
    settings: BaseSettings, overlay: dict[str, Any], priority: str = "cmdline"
) -> None:
    """Apply the overlay, merging its dict-valued settings into the existing ones."""
    values = dict(overlay)
    for name in MERGED_SETTINGS:
        if name in values:
            values[name] = {**settings.getdict(name), **values[name]}
    settings.setdict(values, priority=priority)


def reset_job(redis_url: str, job: str, *, force: bool = False) -> int:
    """Delete the queue, dupefilter and worker keys of ``job``; returns the number of keys.

    Refuses while a worker of the job is alive (it would keep crawling from nothing and could
    re-queue what it holds), unless ``force``.
    """
    keys = job_keys(job)
    client = connect(redis_url)
    try:
        if not force:
            alive = live_workers(client, keys)
            if alive:
                raise NewsArchiveError(
                    f"job {job!r} has {len(alive)} live worker(s) "
                    f"({', '.join(sorted(alive))}): stop them first, or force the reset"
                )
        names = list(client.scan_iter(match=f"{keys.prefix}*", count=SCAN_BATCH))
        deleted = 0
        for i in range(0, len(names), SCAN_BATCH):
            deleted += int(client.delete(*names[i : i + SCAN_BATCH]))
        logger.info("reset job %s: %d keys deleted", job, deleted)
        return deleted
    finally:
        client.close()


def job_status(redis_url: str, job: str) -> JobStatus:
    keys = job_keys(job)
    client = connect(redis_url)
    try:
        return JobStatus(
            job=job,
            queued=int(client.zcard(keys.queue)),
            seen=int(client.scard(keys.dupefilter)),
            workers=live_workers(client, keys),
        )
    finally:
        client.close()


def live_workers(client: redis.Redis, keys: JobKeys) -> dict[str, str]:
    """Worker id → status of every worker whose heartbeat has not expired."""
    prefix = keys.worker("")
    names = [
        n.decode() if isinstance(n, bytes) else str(n)
        for n in client.scan_iter(match=f"{prefix}*", count=SCAN_BATCH)
    ]
    if not names:
        return {}
    values = client.mget(names)
    out: dict[str, str] = {}
    for name, value in zip(names, values, strict=True):
        if value is not None:  # expired between SCAN and MGET
            out[name[len(prefix) :]] = value.decode() if isinstance(value, bytes) else str(value)
    return out


def queued_urls(client: redis.Redis, keys: JobKeys) -> set[str]:
    """URL keys of the requests waiting in the job's queue.

    The queue holds pickles written by our own workers (scrapy-redis' format): trusted data,
    like a JOBDIR. Entries that do not decode are skipped, not fatal.
    """
    found: set[str] = set()
    for member, _score in client.zscan_iter(keys.queue, count=SCAN_BATCH):
        try:
            data = pickle.loads(member)
            found.add(url_key(data["url"]))
        except (pickle.UnpicklingError, KeyError, TypeError, ValueError, EOFError):
            logger.warning("undecodable request in %s skipped", keys.queue)
    return found


def claimed_urls(client: redis.Redis, keys: JobKeys, workers: Iterable[str]) -> set[str]:
    """URL keys popped by the given (live) workers, and by workers that finished cleanly."""
    names = [keys.done, *(keys.popped(w) for w in workers)]
    return {m.decode() if isinstance(m, bytes) else str(m) for m in client.sunion(names)}


def find_lost(
    pending: Iterable[PendingUrl], queued: set[str], claimed: set[str]
) -> list[PendingUrl]:
    """Pending archive URLs that are neither waiting in the queue nor held by a live worker.

    Pure: the Redis reads happen before. A URL popped by a worker that then died is in no live
    worker's set any more, so it comes back here.
    """
    lost: list[PendingUrl] = []
    seen: set[str] = set()
    for p in pending:
        key = url_key(p.url)
        if key in queued or key in claimed or key in seen:
            continue
        seen.add(key)
        lost.append(p)
    return lost


def release_fingerprints(client: redis.Redis, keys: JobKeys, fingerprints: Sequence[str]) -> int:
    """Remove fingerprints from the job's dupefilter so the requests can be scheduled again."""
    removed = 0
    for i in range(0, len(fingerprints), SCAN_BATCH):
        removed += int(client.srem(keys.dupefilter, *fingerprints[i : i + SCAN_BATCH]))
    return removed


def recover_lost(
    client: redis.Redis,
    keys: JobKeys,
    pending: Sequence[PendingUrl],
    fingerprint: Callable[[str], str],
) -> list[PendingUrl]:
    """The pending URLs this worker must schedule again, with their fingerprints released.

    ``pending`` comes from the archive (``frontier.pending_urls``: discovered, never stored or
    failed); ``fingerprint`` maps a URL to the dupefilter's fingerprint of its request. The queue
    is read before the popped sets, so a request moving from one to the other meanwhile is seen
    in at least one of them.
    """
    if not pending:
        return []
    queued = queued_urls(client, keys)
    claimed = claimed_urls(client, keys, live_workers(client, keys))
    lost = find_lost(pending, queued, claimed)
    if lost:
        released = release_fingerprints(client, keys, [fingerprint(p.url) for p in lost])
        logger.info(
            "job %s: %d of %d pending URLs lost (%d fingerprints released)",
            keys.job,
            len(lost),
            len(pending),
            released,
        )
    return lost


def request_fingerprint(crawler: Crawler | None, request: scrapy.Request) -> str:
    """The dupefilter's fingerprint: the crawler's fingerprinter (our canonical URL key)."""
    fingerprinter = getattr(crawler, "request_fingerprinter", None)
    if fingerprinter is None:
        from scrapy.utils.request import fingerprint

        return fingerprint(request).hex()
    return bytes(fingerprinter.fingerprint(request)).hex()


def worker_id(crawler: Crawler) -> str:
    """One id per crawl process, shared by the scheduler and the extension."""
    wid: str | None = getattr(crawler, "_newsarchive_worker_id", None)
    if wid is None:
        wid = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        crawler._newsarchive_worker_id = wid  # type: ignore[attr-defined]
    return wid


class RedisDupeFilter(RFPDupeFilter):  # type: ignore[misc]
    """scrapy-redis' filter with our fingerprints, so URL variants are one request everywhere."""

    crawler: Crawler | None = None

    @classmethod
    def from_spider(cls, spider: Spider) -> RedisDupeFilter:
        dupefilter: RedisDupeFilter = super().from_spider(spider)
        dupefilter.crawler = spider.crawler
        return dupefilter

    def request_fingerprint(self, request: scrapy.Request) -> str:
        return request_fingerprint(self.crawler, request)


class RedisScheduler(Scheduler):  # type: ignore[misc]
    """scrapy-redis' scheduler that also records, per worker, the URLs it popped."""

    crawler: Crawler | None = None
    ttl: int = int(DEFAULT_WORKER_TTL)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RedisScheduler:
        try:
            scheduler: RedisScheduler = super().from_crawler(crawler)
        except redis.RedisError as exc:
            url = describe_redis(crawler.settings.get("REDIS_URL") or "")
            raise NewsArchiveError(f"Redis at {url} is unreachable: {exc}") from exc
        scheduler.crawler = crawler
        scheduler.ttl = max(1, round(crawler.settings.getfloat("NEWSARCHIVE_REDIS_WORKER_TTL")))
        return scheduler

    def next_request(self) -> scrapy.Request | None:
        request: scrapy.Request | None = super().next_request()
        if request is not None and self.crawler is not None:
            keys = JobKeys(self.crawler.settings.get("NEWSARCHIVE_REDIS_JOB") or "")
            popped = keys.popped(worker_id(self.crawler))
            pipe = self.server.pipeline(transaction=False)
            pipe.sadd(popped, url_key(request.url)).expire(popped, self.ttl)
            pipe.execute()
        return request


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
        self.status = BUSY
        self.beat_loop: task.LoopingCall | None = None
        self.poll_loop: task.LoopingCall | None = None
        self.archive: Archive | None = None
        self.recovery: Deferred[int] | None = None  # a recovery running on a thread
        # True once a recovery of the current idle period found nothing left to recover.
        self.idle_recovered = False
        self.closing = False

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
            self.crawler.stats.inc_value(f"newsarchive/distributed/{key}", count)

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
        pipe.execute()
        self.client.close()
        logger.info("worker %s left job %s (%s)", self.id, self.keys.job, reason)

    def beat(self) -> None:
        pipe = self.client.pipeline(transaction=False)
        pipe.set(self.keys.worker(self.id), self.status, ex=self.ttl)
        pipe.expire(self.keys.popped(self.id), self.ttl)
        pipe.execute()

    def set_status(self, status: str) -> None:
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
                self.set_status(BUSY)
            _wake(engine)  # a no-op while the downloader is full
        elif self.idle_since is not None and self.idle_for() >= self.idle_seconds:
            _wake(engine)

    def idle_for(self) -> float:
        return 0.0 if self.idle_since is None else time.monotonic() - self.idle_since

    def spider_idle(self, spider: Spider) -> None:
        if self.idle_since is None:
            self.idle_since = time.monotonic()
            self.idle_recovered = False
            self.set_status(IDLE)
        if self.recovery is not None:
            raise DontCloseSpider  # its requests are about to be scheduled
        if self.client.zcard(self.keys.queue):
            raise DontCloseSpider
        if self.idle_for() < self.idle_seconds:
            raise DontCloseSpider
        peers = {w: s for w, s in live_workers(self.client, self.keys).items() if w != self.id}
        if any(s == BUSY for s in peers.values()):
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
            engine.crawl(make(p.url, p.source, via=RECOVERED_VIA, meta={"lastmod": p.lastmod}))
        self.inc("recovered", len(lost))
        if lost:
            self.idle_since = None
            self.set_status(BUSY)
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
            exc_info=(failure.type, failure.value, failure.getTracebackObject()),
        )
        self.inc("recovery_failed")
        return 0


def _wake(engine: Any) -> None:
    """Make the engine look at the scheduler now instead of at its next heartbeat."""
    slot = getattr(engine, "_slot", None)
    nextcall = getattr(slot, "nextcall", None)
    if nextcall is not None:
        nextcall.schedule()
