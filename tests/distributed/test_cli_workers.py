"""The scale-out path through the real CLI: two `newsarchive crawl --redis` workers of one job,
one PostgreSQL archive, one loopback site."""

from __future__ import annotations

import json
import subprocess
from collections import Counter

import pytest
import redis
from support.cli import run_cli, start_cli
from support.newssite import ARTICLE_PREFIX, NewsSite

from newsarchive.run.scaleout import JobKeys

from .test_workers import stored_counts, stored_urls

pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.slow]


def test_two_cli_workers_share_one_job(pg_url: str, redis_url: str, job: str) -> None:
    run_cli("db", "upgrade", "--db", pg_url, check=True, timeout=60)
    with NewsSite(count=30, article_delay=0.3) as site:
        command = [
            "crawl", site.home, "--db", pg_url, "--redis", redis_url,
            "--job", job, "--redis-idle", "2", "--local", "--json",
            "-s", "CONCURRENT_REQUESTS=4",
        ]  # fmt: skip
        pipes = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE}
        first = start_cli(*command, "--reset-queue", **pipes)
        second = start_cli(*command, **pipes)
        outputs = [p.communicate(timeout=180) for p in (first, second)]
        fetches = site.fetches(ARTICLE_PREFIX)
        articles = site.article_urls()
    for proc, (out, err) in zip((first, second), outputs, strict=True):
        assert proc.returncode == 0, err[-3000:]
        assert json.loads(out)["status"] == "ok"
    assert stored_counts(pg_url) == (30, 30)
    assert stored_urls(pg_url) == articles
    assert max(Counter(path for _, path in fetches).values()) == 1
    assert redis.Redis.from_url(redis_url).exists(JobKeys(job).queue) == 0


def test_redis_needs_a_job_and_a_reachable_server(pg_url: str) -> None:
    base = ["crawl", "http://127.0.0.1:9/", "--db", pg_url]
    no_job = run_cli(*base, "--redis", "redis://127.0.0.1:6379/0", timeout=60)
    assert no_job.returncode == 2
    assert "--redis needs --job" in no_job.stderr
    down = run_cli(*base, "--redis", "redis://127.0.0.1:1/0", "--job", "x", timeout=60)
    assert down.returncode == 2
    assert "unreachable" in down.stderr
    assert "Traceback" not in down.stderr
