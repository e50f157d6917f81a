"""Worker processes sharing one job in Redis and one PostgreSQL archive, on a loopback site.

Each worker is its own process (worker.py): a Twisted reactor runs once per process. Workers
identify themselves in the User-Agent, so the site's log tells who fetched what.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import redis
from sqlalchemy import func, select
from support.newssite import ARTICLE_PREFIX, NewsSite
from support.waiting import wait_until

from newsarchive.archive import open_archive
from newsarchive.archive.models import Article, UrlState
from newsarchive.run.scaleout import JobKeys, reset_job

pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.slow]
WORKER = str(Path(__file__).with_name("worker.py"))
TTL = 3.0


class Worker:
    def __init__(self, name: str, db: str, redis_url: str, job: str, site: NewsSite, tmp: Path):
        self.name = name
        self.stats_path = tmp / f"{name}.json"
        self.log_path = tmp / f"{name}.log"
        command = [
            sys.executable, WORKER, "--db", db, "--redis", redis_url, "--job", job,
            "--start", site.home, "--name", name, "--stats", str(self.stats_path),
            "--idle", "2", "--ttl", str(TTL), "--concurrency", "4",
        ]  # fmt: skip
        with self.log_path.open("w") as log:
            # its own process group: a kill reaches its extraction process too
            self.proc = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )

    def wait(self, timeout: float = 120) -> dict[str, Any]:
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise
        log = self.log_path.read_text(errors="replace")
        assert code == 0, f"worker {self.name} exited {code}:\n{log[-3000:]}"
        stats: dict[str, Any] = json.loads(self.stats_path.read_text())
        return stats

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)


def stored_counts(db: str) -> tuple[int, int]:
    archive = open_archive(db)
    try:
        with archive.session() as session:
            total = session.scalar(select(func.count()).select_from(Article)) or 0
            distinct = session.scalar(select(func.count(func.distinct(Article.canonical_url))))
            return int(total), int(distinct or 0)
    finally:
        archive.dispose()


def stored_urls(db: str) -> set[str]:
    archive = open_archive(db)
    try:
        with archive.session() as session:
            return set(session.scalars(select(Article.canonical_url)))
    finally:
        archive.dispose()


def count_discovered(db: str) -> int:
    archive = open_archive(db)
    try:
        with archive.session() as session:
            query = select(func.count()).select_from(UrlState).where(UrlState.state == "discovered")
            return int(session.scalar(query) or 0)
    finally:
        archive.dispose()


@pytest.fixture
def archive_db(pg_url: str) -> str:
    """A migrated archive: workers must not race to create the schema."""
    open_archive(pg_url).dispose()
    return pg_url


def test_two_workers_share_one_job(
    archive_db: str, redis_url: str, job: str, tmp_path: Path
) -> None:
    keys = JobKeys(job)
    client = redis.Redis.from_url(redis_url)
    seen_keys: set[str] = set()
    # Slow enough articles that the second worker, starting a moment later, finds work left.
    with NewsSite(count=30, article_delay=0.6) as site:
        workers = [Worker(n, archive_db, redis_url, job, site, tmp_path) for n in ("w1", "w2")]
        deadline = time.monotonic() + 120
        while any(w.proc.poll() is None for w in workers) and time.monotonic() < deadline:
            seen_keys.update(k.decode() for k in client.scan_iter(match=f"{keys.prefix}*"))
            time.sleep(0.1)
        stats = [w.wait(timeout=10) for w in workers]
        fetches = site.fetches()
        articles = site.article_urls()

    assert stored_counts(archive_db) == (30, 30)
    assert stored_urls(archive_db) == articles
    # Each URL fetched once across both workers; robots.txt is the exception by design (each
    # worker's robots middleware fetches it outside the scheduler).
    per_path = Counter(path for _, path in fetches if path != "/robots.txt")
    assert {p: n for p, n in per_path.items() if n > 1} == {}
    assert set(Counter(w for w, p in fetches if p == "/robots.txt").values()) == {1}
    by_worker = Counter(w for w, path in fetches if path.startswith(ARTICLE_PREFIX))
    assert sum(by_worker.values()) == 30
    assert by_worker["w1"] > 0
    assert by_worker["w2"] > 0
    assert sum(s.get("newsarchive/articles/new", 0) for s in stats) == 30
    # The job lived in Redis while it ran, and persists after it (SCHEDULER_PERSIST)...
    assert {keys.queue, keys.dupefilter} <= seen_keys
    assert any(k.startswith(keys.worker("")) for k in seen_keys)
    assert any(k.startswith(keys.popped("")) for k in seen_keys)
    assert client.scard(keys.dupefilter) >= 30
    assert client.exists(keys.done)
    assert not list(client.scan_iter(match=keys.worker("*")))  # workers deregistered
    # ...until reset_job clears it.
    assert reset_job(redis_url, job) >= 2
    assert list(client.scan_iter(match=f"{keys.prefix}*")) == []
    client.close()


def test_urls_of_a_killed_worker_are_recovered_by_the_next_one(
    archive_db: str, redis_url: str, job: str, tmp_path: Path
) -> None:
    # Slow articles: when w1 is killed it surely has requests popped and in flight.
    with NewsSite(count=30, article_delay=1.0) as site:
        w1 = Worker("w1", archive_db, redis_url, job, site, tmp_path)
        try:
            wait_until(lambda: count_discovered(archive_db) >= 30, 60, "30 discovered URLs")
            wait_until(lambda: len(site.fetches(ARTICLE_PREFIX)) >= 4, 60, "articles in flight")
        finally:
            w1.kill()
        stored_by_w1 = stored_urls(archive_db)
        fetched_by_w1 = {p for w, p in site.fetches(ARTICLE_PREFIX) if w == "w1"}
        assert len(stored_by_w1) < 30
        time.sleep(TTL + 0.5)  # w1's heartbeat and popped set expire: it is known dead
        stats = Worker("w2", archive_db, redis_url, job, site, tmp_path).wait()
        fetched_by_w2 = {p for w, p in site.fetches(ARTICLE_PREFIX) if w == "w2"}
        articles = site.article_urls()
        base = site.web.base(site.name)

    assert stored_counts(archive_db) == (30, 30)
    assert stored_urls(archive_db) == articles
    recovered = stats.get("newsarchive/distributed/recovered", 0)
    assert recovered > 0
    # What w1 fetched but never stored was lost to scrapy-redis (fingerprint seen, request
    # gone); w2 got it back from the archive's url_state and fetched it again.
    lost = {p for p in fetched_by_w1 if base + p not in stored_by_w1}
    assert lost
    assert lost <= fetched_by_w2
    assert recovered >= len(lost)
