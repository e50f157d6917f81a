"""Lost-URL recovery runs beside the crawl: a slow archive delays the recovered URLs, never the
downloads of the worker that recovers them."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from sqlalchemy import select
from support.newssite import ARTICLE_PREFIX, NewsSite
from support.waiting import wait_until

from newsarchive.archive import open_archive
from newsarchive.archive.frontier import Discovered, record_discovered
from newsarchive.archive.models import UrlState
from newsarchive.discovery.urls import registered_domain

from .test_workers import Worker, stored_counts

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.slow]
LOST = "/news/2024/lost-by-a-dead-worker"  # pending in the archive, linked from nowhere


def test_recovery_waiting_on_the_archive_does_not_stall_the_crawl(
    pg_url: str, redis_url: str, job: str, tmp_path: Path
) -> None:
    with NewsSite(count=10) as site:
        lost = site.web.url(site.name, LOST)
        archive = open_archive(pg_url)
        try:
            with archive.session() as session:
                record_discovered(session, [Discovered(url=lost, source=registered_domain(lost))])
            # Hold the lost URL's row: recovery reads it, then blocks marking it requeued.
            with archive.session() as session:
                session.execute(select(UrlState).where(UrlState.url == lost).with_for_update())
                worker = Worker("w1", pg_url, redis_url, job, site, tmp_path)
                try:
                    wait_until(
                        lambda: len(site.fetches(ARTICLE_PREFIX)) >= 10,
                        45,
                        "the site's articles, fetched while recovery waits",
                    )
                except BaseException:
                    worker.kill()
                    raise
                assert site.fetches(LOST) == []
        finally:
            archive.dispose()
        stats = worker.wait()
        lost_fetches = site.fetches(LOST)

    assert lost_fetches == [("w1", LOST)]  # recovered once the row was free
    assert stats.get("newsarchive/distributed/recovered") == 1
    assert stored_counts(pg_url) == (10, 10)
