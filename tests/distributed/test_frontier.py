"""The Redis overlay, request serialisation, lost-URL recovery and job reset, on real servers."""

from __future__ import annotations

import socket
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pytest
import redis
import scrapy
from scrapy.settings import Settings
from scrapy.utils.test import get_crawler
from scrapy_redis.queue import PriorityQueue

from newsarchive.archive.frontier import Discovered, PendingUrl, pending_urls, record_discovered
from newsarchive.errors import ConfigError, NewsArchiveError
from newsarchive.run import requestcodec
from newsarchive.run.scaleout import (
    JobKeys,
    apply_distributed_settings,
    distributed_settings,
    find_lost,
    job_keys,
    job_status,
    recover_lost,
    reset_job,
)
from newsarchive.spiders.news import NewsSpider
from newsarchive.spiders.redis import DistributedWorker, RedisScheduler, request_fingerprint

if TYPE_CHECKING:
    from collections.abc import Iterator

    from newsarchive.archive import Archive

pytestmark = pytest.mark.redis
HOME = "http://127.0.0.1:9/"


@pytest.fixture
def client(redis_url: str) -> Iterator[redis.Redis]:
    c = redis.Redis.from_url(redis_url)
    yield c
    c.close()


@pytest.fixture
def spider(redis_url: str, job: str) -> NewsSpider:
    settings = Settings()
    settings.setmodule("newsarchive.settings", priority="project")
    apply_distributed_settings(settings, distributed_settings(redis_url, job))
    # no reactor: nothing is crawled, the crawler only provides settings and fingerprinter
    crawler = get_crawler(NewsSpider, {**settings.copy_to_dict(), "TWISTED_REACTOR_ENABLED": False})
    crawler.spider = NewsSpider.from_crawler(crawler, start_urls=HOME)
    return crawler.spider


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_overlay_namespaces_the_job_and_keeps_its_state(redis_url: str, job: str) -> None:
    overlay = distributed_settings(redis_url, job, idle_seconds=7)
    assert overlay["SCHEDULER_QUEUE_KEY"] == f"newsarchive:{job}:requests"
    assert overlay["SCHEDULER_DUPEFILTER_KEY"] == f"newsarchive:{job}:dupefilter"
    assert overlay["SCHEDULER_PERSIST"] is True
    assert overlay["SCHEDULER_FLUSH_ON_START"] is False
    assert overlay["NEWSARCHIVE_REDIS_IDLE"] == 7.0
    assert overlay["NEWSARCHIVE_RESUME"] is False
    # the queue is in Redis: a worker holding sitemaps back could lose them to the job
    assert overlay["NEWSARCHIVE_SITEMAP_PACING"] is False
    settings = Settings()
    settings.setmodule("newsarchive.settings", priority="project")
    settings.set("EXTENSIONS", {"newsarchive.run.crawl.Progress": 900}, priority="cmdline")
    apply_distributed_settings(settings, overlay)
    assert settings.getdict("EXTENSIONS") == {
        "newsarchive.run.crawl.Progress": 900,
        "newsarchive.spiders.redis.DistributedWorker": 500,
    }
    assert settings.get("SCHEDULER") == "newsarchive.spiders.redis.RedisScheduler"


@pytest.mark.parametrize("url", ["http://127.0.0.1:6379/0", "redis://127.0.0.1:6379/notadb", ""])
def test_bad_redis_url_is_a_config_error(url: str) -> None:
    with pytest.raises(ConfigError, match="bad Redis URL"):
        distributed_settings(url, "job")


def test_unreachable_redis_is_reported_before_the_crawl() -> None:
    url = f"redis://127.0.0.1:{free_port()}/0"
    with pytest.raises(NewsArchiveError, match="unreachable"):
        distributed_settings(url, "job")


@pytest.mark.parametrize("name", ["", "a:b", "job*", "-x", "x" * 101, "a b"])
def test_job_names_must_be_safe_in_keys_and_patterns(name: str) -> None:
    with pytest.raises(ConfigError, match="bad job name"):
        job_keys(name)


def test_every_request_of_the_spider_survives_the_redis_queue(
    spider: NewsSpider, client: redis.Redis, job: str
) -> None:
    """Callbacks must be spider methods and meta values must survive the JSON request codec
    (the queue never holds pickles), or a peer cannot run it."""
    state = next(iter(spider.states.values()))
    requests = list(spider._initial_requests(state))
    lastmod = datetime(2024, 5, 2, 7, 30, tzinfo=UTC)
    article = spider._request(
        state, HOME + "news/2024/05/ev-plant", spider.parse_page, role="candidate",
        via="sitemap", priority=10, meta={"lastmod": lastmod},
    )  # fmt: skip
    assert article is not None
    requests.append(article)
    queue = PriorityQueue(client, spider, job_keys(job).queue, serializer=requestcodec)
    for request in requests:
        queue.push(request)
    for member, _score in client.zscan_iter(job_keys(job).queue):
        assert member.startswith(b"{"), member[:40]  # JSON, not a pickle
    popped = [queue.pop() for _ in requests]
    assert queue.pop() is None
    assert sorted(r.url for r in popped) == sorted(r.url for r in requests)
    for request in popped:
        original = next(r for r in requests if r.url == request.url)
        assert request.callback == original.callback
        assert request.errback == original.errback
        assert request.meta == original.meta
        assert request.priority == original.priority
    restored = next(r for r in popped if r.url == article.url)
    assert restored.meta["lastmod"] == lastmod


def test_dupefilter_uses_canonical_fingerprints(spider: NewsSpider) -> None:
    crawler = spider.crawler
    plain = request_fingerprint(crawler, scrapy.Request(HOME + "news/a"))
    tracked = request_fingerprint(crawler, scrapy.Request(HOME + "news/a/?utm_source=x"))
    other = request_fingerprint(crawler, scrapy.Request(HOME + "news/b"))
    assert plain == tracked
    assert plain != other


def pending(url: str) -> PendingUrl:
    return PendingUrl(url=url, source="s", kind="page", lastmod=None, attempts=0)


def test_find_lost_keeps_only_what_nobody_holds() -> None:
    urls = [f"{HOME}news/{n}" for n in "abcde"]
    lost = find_lost(
        [pending(u) for u in [*urls, urls[4] + "/"]],
        queued={urls[0]},
        claimed={urls[1], urls[2]},
    )
    assert [p.url for p in lost] == [urls[3], urls[4]]


def test_recovery_releases_exactly_the_lost_urls(
    archive: Archive, spider: NewsSpider, client: redis.Redis, job: str
) -> None:
    keys = JobKeys(job)
    source = next(iter(spider.states))
    urls = {name: f"{HOME}news/2024/05/{name}" for name in
            ("queued", "live", "dead", "done", "never-popped")}  # fmt: skip
    with archive.session() as session:
        record_discovered(session, [Discovered(u, source) for u in urls.values()])
    fingerprint = {u: request_fingerprint(spider.crawler, scrapy.Request(u)) for u in urls.values()}
    client.sadd(keys.dupefilter, *fingerprint.values())
    PriorityQueue(client, spider, keys.queue, serializer=requestcodec).push(
        scrapy.Request(urls["queued"], callback=spider.parse_page)
    )
    client.set(keys.worker("alive"), "busy", ex=30)
    client.sadd(keys.popped("alive"), urls["live"])
    client.sadd(keys.popped("gone"), urls["dead"])  # its heartbeat key expired: a dead worker
    client.sadd(keys.done, urls["done"])

    with archive.session() as session:
        todo = pending_urls(session, [source])
    assert len(todo) == 5
    lost = recover_lost(client, keys, todo, fingerprint.__getitem__)

    assert sorted(p.url for p in lost) == sorted([urls["dead"], urls["never-popped"]])
    remaining = {m.decode() for m in client.smembers(keys.dupefilter)}
    assert remaining == {fingerprint[urls[n]] for n in ("queued", "live", "done")}
    # a second worker recovering at the same moment finds nothing more to release
    assert recover_lost(client, keys, todo, fingerprint.__getitem__) == lost
    assert {m.decode() for m in client.smembers(keys.dupefilter)} == remaining


def test_reset_job_refuses_live_workers_and_clears_only_its_job(
    redis_url: str, client: redis.Redis, job: str
) -> None:
    keys, other = JobKeys(job), JobKeys(job + "-other")
    try:
        for k in (keys, other):
            client.zadd(k.queue, {b"x": 0})
            client.sadd(k.dupefilter, "fp")
            client.sadd(k.popped("w1"), "u")
        client.set(keys.worker("w1"), "idle", ex=30)
        status = job_status(redis_url, job)
        assert (status.queued, status.seen, status.workers) == (1, 1, {"w1": "idle"})
        with pytest.raises(NewsArchiveError, match="live worker"):
            reset_job(redis_url, job)
        client.delete(keys.worker("w1"))
        assert reset_job(redis_url, job) == 3
        assert list(client.scan_iter(match=f"{keys.prefix}*")) == []
        assert client.exists(other.queue, other.dupefilter, other.popped("w1")) == 3
    finally:
        reset_job(redis_url, other.job, force=True)


def test_worker_extension_is_off_outside_distributed_crawls() -> None:
    from scrapy.exceptions import NotConfigured

    with pytest.raises(NotConfigured):
        DistributedWorker.from_crawler(get_crawler(NewsSpider, {"TWISTED_REACTOR_ENABLED": False}))


def test_a_backlogged_request_whose_push_failed_is_pushed_on_the_next_flush(
    spider: NewsSpider, client: redis.Redis
) -> None:
    """Regression: flushing the outage backlog entered a request's fingerprint in the shared
    filter, then the push failed; the next flush took the request for a duplicate and dropped it,
    so a Redis outage lost that URL for good."""
    scheduler = RedisScheduler.from_crawler(spider.crawler)
    scheduler.open(spider)
    request = scrapy.Request(HOME + "news/2024/05/backlogged", callback=spider.parse_page)
    scheduler.backlog.append((request, False))
    client.set(scheduler.queue.key, "not a sorted set")  # the push fails after the filter
    with pytest.raises(redis.RedisError):
        scheduler._flush_backlog()
    assert scheduler.backlog, "the failed request must stay in the backlog"
    client.delete(scheduler.queue.key)
    scheduler._flush_backlog()
    assert not scheduler.backlog
    assert client.zcard(scheduler.queue.key) == 1
