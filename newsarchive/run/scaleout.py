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

This module is the Scrapy-free side: the key layout, the settings overlay, job status and reset,
and the pure lost-URL arithmetic. The Scrapy components that run inside a worker (scheduler,
dupefilter, the worker extension) live in ``newsarchive.spiders.redis``.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import redis

from newsarchive.discovery.urls import url_key
from newsarchive.errors import ConfigError, NewsArchiveError
from newsarchive.run import requestcodec

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence

    from scrapy.settings import BaseSettings

    from newsarchive.archive.frontier import PendingUrl

logger = logging.getLogger(__name__)

KEY_PREFIX = "newsarchive"
JOB_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
DEFAULT_IDLE_SECONDS = 30.0
DEFAULT_WORKER_TTL = 60.0
CONNECT_TIMEOUT = 5.0
SCAN_BATCH = 500

# The worker-side Scrapy components (newsarchive.spiders.redis), named by dotted path only:
# this package never imports the spiders.
SCHEDULER_CLASS = "newsarchive.spiders.redis.RedisScheduler"
DUPEFILTER_CLASS = "newsarchive.spiders.redis.RedisDupeFilter"
WORKER_EXTENSION = "newsarchive.spiders.redis.DistributedWorker"
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
        # JSON, never pickle: write access to Redis must not mean code execution on workers
        "SCHEDULER_SERIALIZER": "newsarchive.run.requestcodec",
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
        # The queue is in Redis, not in this process's memory; a sitemap held back by a worker
        # that dies would be lost to the job.
        "NEWSARCHIVE_SITEMAP_PACING": False,
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

    The queue holds JSON request dicts (:mod:`newsarchive.run.requestcodec`). Entries that do
    not decode are skipped, not fatal.
    """
    found: set[str] = set()
    for member, _score in client.zscan_iter(keys.queue, count=SCAN_BATCH):
        try:
            data = requestcodec.loads(member)
            found.add(url_key(data["url"]))
        except (KeyError, TypeError, ValueError):
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
