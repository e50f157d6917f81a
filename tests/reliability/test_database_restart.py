"""Item: a PostgreSQL restart in the middle of a crawl loses nothing and stores nothing twice.

A private cluster (never the shared server) is stopped with a fast shutdown — open sessions are
terminated, as in a real restart — while the crawl is storing articles, kept down for
``OUTAGE`` seconds and started again. The crawl must wait (its log says so), reconnect and
finish: every article of the site stored exactly once, no URL left pending, the run recorded
``ok``, and the outage it rode out in the run's stats.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from support.cli import run_cli
from support.newssite import NewsSite
from support.waiting import wait_until

from .crawling import finish, pg_count, pg_rows, start_crawl

if TYPE_CHECKING:
    from pathlib import Path

    from .servers import PrivatePostgres

OUTAGE = 8.0  # seconds the server stays down
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
    assert OUTAGE - 1 <= stats["newsarchive/archive/longest_outage_s"] <= up_after + 15
