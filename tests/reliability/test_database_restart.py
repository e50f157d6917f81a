"""Item: a PostgreSQL restart in the middle of a crawl loses nothing and stores nothing twice.

A private cluster (never the shared server) is stopped with a fast shutdown — open sessions are
terminated, as in a real restart — while the crawl is storing articles, kept down for
``OUTAGE`` seconds and started again. The crawl must wait (its log says so), reconnect and
finish: every article of the site stored exactly once, no URL left pending, the run recorded
``ok``, and the outage it rode out in the run's stats.
"""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING

from support.cli import run_cli
from support.newssite import NewsSite
from support.waiting import wait_until

from .crawling import finish, pg_count, pg_rows, start_crawl

if TYPE_CHECKING:
    from pathlib import Path

    from .servers import PrivatePostgres

# Seconds the server stays down (NEWSARCHIVE_TEST_OUTAGE: a longer run by hand, e.g. 120).
OUTAGE = float(os.environ.get("NEWSARCHIVE_TEST_OUTAGE", "8"))
STORIES = 40


def test_restart_mid_crawl_loses_and_duplicates_nothing(
    private_pg: PrivatePostgres, tmp_path: Path
) -> None:
    db = private_pg.url
    run_cli("db", "upgrade", "--db", db, check=True)
    with NewsSite(count=STORIES, article_delay=0.15) as site:
        log = tmp_path / "crawl.log"
        proc = start_crawl(db, [site.home], log)
        wait_until(lambda: pg_count(db, "SELECT count(*) FROM articles") >= 5, 60, "5 articles")
        stored_before = pg_count(db, "SELECT count(*) FROM articles")
        private_pg.stop()
        down_at = time.monotonic()
        time.sleep(OUTAGE)
        private_pg.start()
        up_after = time.monotonic() - down_at
        result = finish(proc, log, timeout=180)
        expected = site.article_urls()

    assert result.exit_code == 0, result.stderr[-3000:]
    assert result.summary is not None
    assert result.summary["status"] == "ok"
    assert stored_before < STORIES, "the outage came too late to test anything"
    urls = [r[0] for r in pg_rows(db, "SELECT canonical_url FROM articles")]
    assert len(urls) == len(set(urls)), "an article was stored twice"
    assert set(urls) == expected, f"lost: {sorted(expected - set(urls))}"
    assert pg_rows(db, "SELECT count(*) FROM url_state WHERE state = 'discovered'") == [(0,)]
    assert "unreachable" in result.log
    assert "reachable again" in result.log
    stats = pg_rows(db, "SELECT stats FROM crawl_runs ORDER BY id DESC LIMIT 1")[0][0]
    assert stats["newsarchive/archive/outages"] >= 1
    # measured from the first failed write, which comes a moment after the stop
    assert OUTAGE - 5 <= stats["newsarchive/archive/longest_outage_s"] <= up_after + 15


def test_an_outage_past_the_limit_stops_the_crawl_cleanly(
    private_pg: PrivatePostgres, tmp_path: Path
) -> None:
    """The wait is bounded: past ``NEWSARCHIVE_DB_OUTAGE_LIMIT`` the crawl stops (exit 2, a
    one-line error) instead of hanging a cron slot, and the next run stores the rest."""
    db = private_pg.url
    run_cli("db", "upgrade", "--db", db, check=True)
    with NewsSite(count=12, article_delay=0.3) as site:
        log = tmp_path / "short.log"
        before = pg_count(db, "SELECT count(*) FROM articles")
        captures = pg_count(db, "SELECT count(*) FROM captures")
        proc = start_crawl(db, [site.home], log, "-s", "NEWSARCHIVE_DB_OUTAGE_LIMIT=2")
        wait_until(
            lambda: pg_count(db, "SELECT count(*) FROM captures") > captures, 60, "a capture"
        )
        private_pg.stop()
        try:
            result = finish(proc, log, timeout=120)
        finally:
            private_pg.start()
        again_log = tmp_path / "again.log"
        again = finish(start_crawl(db, [site.home], again_log), again_log)
        expected = site.article_urls()
    assert result.exit_code == 2, result.stderr[-3000:]
    assert "giving up" in result.log
    assert "Traceback" not in result.stderr
    assert again.exit_code == 0, again.stderr[-3000:]
    stored = {r[0] for r in pg_rows(db, "SELECT canonical_url FROM articles")}
    assert expected <= stored, "the next run stores what the stopped one could not"
    assert pg_count(db, "SELECT count(*) FROM articles") == before + len(expected)
