"""Item: a Redis outage in the middle of a two-worker crawl loses nothing and fetches nothing
twice.

A private redis-server (never the shared one; append-only file, so its data survives like a
production queue's) is stopped while two workers of one job crawl a site into PostgreSQL, kept
down for ``OUTAGE`` seconds — shorter than the worker TTL (15 s here, 60 s by default), the
documented bound for "nothing fetched twice" — and started again on the same port. Both workers must pause, keep
their heartbeat loop alive, reconnect and finish: every article stored once and fetched once.
"""

from __future__ import annotations

import time
from collections import Counter
from typing import TYPE_CHECKING

import pytest
from support.cli import run_cli
from support.newssite import ARTICLE_PREFIX, NewsSite

from .crawling import finish, pg_count, pg_rows, start_crawl
from .servers import PrivateRedis, wait_until

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

pytestmark = [pytest.mark.redis, pytest.mark.postgres]

OUTAGE = 8.0
WORKER_TTL = 15
STORIES = 40


@pytest.fixture(scope="module")
def private_redis() -> Iterator[PrivateRedis]:
    server = PrivateRedis()
    server.start()
    try:
        yield server
    finally:
        server.destroy()


def test_redis_restart_mid_crawl_with_two_workers(
    private_redis: PrivateRedis, pg_url: str, tmp_path: Path
) -> None:
    run_cli("db", "upgrade", "--db", pg_url, check=True, timeout=60)
    with NewsSite(count=STORIES, article_delay=0.3) as site:
        common = (
            "--redis", private_redis.url, "--job", "outage", "--redis-idle", "3",
            "-s", "CONCURRENT_REQUESTS=4",
            # a beat every 5 s, so the outage spans beats; still longer than the outage
            "-s", f"NEWSARCHIVE_REDIS_WORKER_TTL={WORKER_TTL}",
        )  # fmt: skip
        logs = [tmp_path / "w1.log", tmp_path / "w2.log"]
        workers = [start_crawl(pg_url, [site.home], log, *common) for log in logs]
        wait_until(lambda: pg_count(pg_url, "SELECT count(*) FROM articles") >= 5, 90, "articles")
        stored_before = pg_count(pg_url, "SELECT count(*) FROM articles")
        private_redis.stop()
        time.sleep(OUTAGE)
        private_redis.start()
        results = [finish(w, log, timeout=240) for w, log in zip(workers, logs, strict=True)]
        fetches = Counter(path for _, path in site.fetches(ARTICLE_PREFIX))
        expected = site.article_urls()

    assert stored_before < STORIES, "the outage came too late to test anything"
    for result in results:
        assert result.exit_code == 0, result.stderr[-3000:]
        assert result.summary is not None
        assert result.summary["status"] == "ok"
    joined = "\n".join(r.log for r in results)
    assert "Redis unreachable" in joined
    assert "the worker heartbeat resumed" in joined  # the heartbeat loop outlived the outage
    urls = [r[0] for r in pg_rows(pg_url, "SELECT canonical_url FROM articles")]
    assert len(urls) == len(set(urls)), "an article was stored twice"
    assert set(urls) == expected, f"lost: {sorted(expected - set(urls))}"
    assert max(fetches.values()) == 1, "an article was fetched twice"
    assert pg_rows(pg_url, "SELECT count(*) FROM url_state WHERE state = 'discovered'") == [(0,)]
