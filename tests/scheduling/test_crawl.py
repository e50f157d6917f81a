"""End-to-end scheduled crawls: incremental recrawls, kill -9 and resume, signals, lock, cron
output. Each crawl is the ``newsarchive crawl`` CLI in its own process against LocalWeb."""

from __future__ import annotations

import json
import os
import signal
from subprocess import DEVNULL
from typing import TYPE_CHECKING

import pytest
from support.newssite import write_site
from support.waiting import wait_until

from newsarchive.archive import open_archive
from newsarchive.archive.runs import list_runs

from .crawler import article_gets, run_cli, slow_site, start_crawl

if TYPE_CHECKING:
    import subprocess
    from pathlib import Path

    from newsarchive.demo.server import LocalWeb

pytestmark = pytest.mark.slow
DISCOVERY = {"/robots.txt", "/", "/news/", "/sitemap.xml", "/feed.xml"}


def _articles(db: str) -> list[tuple[str, str]]:
    """(canonical URL path, content hash) of every stored article."""
    from sqlalchemy import select  # tests may use SQL directly to check the archive

    from newsarchive.archive.models import Article

    archive = open_archive(db)
    try:
        with archive.session() as s:
            rows = s.execute(select(Article.canonical_url, Article.content_sha256)).all()
    finally:
        archive.dispose()
    return sorted((url.split("/", 3)[3], sha) for url, sha in rows)


def test_recrawl_fetches_only_discovery_documents_then_only_new_articles(
    tmp_path: Path,
) -> None:
    web = slow_site(tmp_path / "site", 12, delay=0.0)
    db = str(tmp_path / "news.db")
    with web:
        first = run_cli(db, web.url("ledger"), "--json")
        assert first.returncode == 0, first.stderr
        assert json.loads(first.stdout)["articles_new"] == 12
        assert len(article_gets(web)) == 12
        web.clear_log()

        second = run_cli(db, web.url("ledger"), "--json")
        assert second.returncode == 0, second.stderr
        log = [(e.path, e.status) for e in web.requests_for()]
        assert {p for p, _ in log} == DISCOVERY, log
        assert len(log) == 5
        assert ("/sitemap.xml", 304) in log
        assert ("/feed.xml", 304) in log
        assert json.loads(second.stdout)["articles_new"] == 0
        web.clear_log()

        stories = write_site(tmp_path / "site", 14)
        web.invalidate()
        third = run_cli(db, web.url("ledger"), "--json")
        assert third.returncode == 0, third.stderr
        new_paths = sorted(s.path for s in stories[12:])
        assert sorted(article_gets(web)) == new_paths
        assert len(web.requests_for()) == 5 + 2
        assert json.loads(third.stdout)["articles_new"] == 2
    assert len(_articles(db)) == 14


def test_a_section_whose_links_are_all_known_is_still_revisited(tmp_path: Path) -> None:
    """Regression: a section page read after every link on it was already scheduled (here: the
    homepage lists all three stories) led to no new request and was settled as a dead end, so
    the next run never looked at the section again and missed the stories added to it."""
    web = slow_site(tmp_path / "site", 3, delay=0.0)
    db = str(tmp_path / "news.db")
    with web:
        first = run_cli(db, web.url("ledger"), "--json")
        assert first.returncode == 0, first.stderr
        assert "/news/" in {e.path for e in web.requests_for()}
        web.clear_log()
        second = run_cli(db, web.url("ledger"), "--json")
        assert second.returncode == 0, second.stderr
        assert "/news/" in {e.path for e in web.requests_for()}


def _wait_for(web: LocalWeb, count: int, proc: subprocess.Popen[str], limit: float = 60) -> None:
    wait_until(
        lambda: len(article_gets(web)) >= count,
        limit,
        f"the kill point ({count} articles requested)",
        interval=0.02,
        alive=proc,
    )


def test_kill_9_at_several_points_then_resume_loses_and_duplicates_nothing(
    tmp_path: Path,
) -> None:
    count = 30
    throttle = ("-s", "CONCURRENT_REQUESTS_PER_DOMAIN=3", "-s", "CONCURRENT_REQUESTS=3")
    reference_db = str(tmp_path / "reference.db")
    db = str(tmp_path / "killed.db")
    web = slow_site(tmp_path / "site", count, delay=0.12)
    with web:
        ref = run_cli(reference_db, web.url("ledger"), "--quiet", *throttle)
        assert ref.returncode == 0, ref.stderr
        web.clear_log()
        resumed_total = 0
        for kill_at in (2, 11, 23):
            proc = start_crawl(
                db, web.url("ledger"), "--quiet", *throttle, stdout=DEVNULL, stderr=DEVNULL
            )
            try:
                _wait_for(web, kill_at, proc)
                # the kill must find a persisted frontier to resume from: under load the
                # writer can lag the fetches, and a kill before it wrote any pending row
                # would leave nothing for the resume to count
                wait_until(
                    lambda: _pending(db) > 0, 60, "a pending URL in the frontier", alive=proc
                )
            finally:
                proc.send_signal(signal.SIGKILL)
                proc.wait(timeout=30)
            stored_before = {path for path, _ in _articles(db)}
            web.clear_log()
            # the run after a kill never refetches what the killed runs stored
            done = run_cli(db, web.url("ledger"), "--json", *throttle)
            assert done.returncode == 0, done.stderr
            refetched = {p.lstrip("/") for p in article_gets(web)} & stored_before
            assert not refetched
            summary = json.loads(done.stdout)
            assert summary["articles_new"] == count - len(stored_before)
            assert _articles(db) == _articles(reference_db)
            resumed_total += _stat(db, summary["run_id"], "newsarchive/incremental/resumed")
            assert _statuses(db) == ["crashed", "ok"]
            web.clear_log()
            _reset(db)
        assert resumed_total > 0  # the persisted frontier was used, not only rediscovery


def _pending(db: str) -> int:
    """Article URLs the frontier holds as scheduled but not fetched (what a resume re-enqueues)."""
    from sqlalchemy import func, select

    from newsarchive.archive.models import UrlState
    from newsarchive.contracts import DocKind, FrontierState

    try:
        archive = open_archive(db, read_only=True)
    except Exception:  # noqa: BLE001 - the crawl has not created the archive yet
        return 0
    try:
        with archive.session() as s:
            return int(
                s.scalar(
                    select(func.count())
                    .select_from(UrlState)
                    .where(
                        UrlState.state == FrontierState.DISCOVERED, UrlState.kind == DocKind.PAGE
                    )
                )
                or 0
            )
    except Exception:  # noqa: BLE001 - the crawl may still be creating the schema
        return 0
    finally:
        archive.dispose()


def _statuses(db: str) -> list[str]:
    archive = open_archive(db)
    try:
        with archive.session() as s:
            return [r.status for r in reversed(list_runs(s, limit=20))]
    finally:
        archive.dispose()


def _stat(db: str, run_id: int, key: str) -> int:
    from sqlalchemy import select

    from newsarchive.archive.models import CrawlRun

    archive = open_archive(db)
    try:
        with archive.session() as s:
            stats = s.scalar(select(CrawlRun.stats).where(CrawlRun.id == run_id)) or {}
    finally:
        archive.dispose()
    return int(stats.get(key, 0))


def _reset(db: str) -> None:
    """Empty the archive so the next kill point starts from scratch."""
    for suffix in ("", "-wal", "-shm"):
        path = db + suffix
        if os.path.exists(path):  # noqa: PTH110
            os.unlink(path)  # noqa: PTH108


def test_a_candidate_that_is_not_an_article_is_settled_not_refetched(tmp_path: Path) -> None:
    """Regression: a fetched non-article candidate stayed `discovered`, so every resume and
    recrawl fetched it again."""
    from sqlalchemy import select

    from newsarchive.archive.models import UrlState

    web = slow_site(tmp_path / "site", 4, delay=0.0)
    gallery = "/news/2024/05/photo-gallery-of-the-week.html"
    photos = "".join(f'<figure><img src="/img/{i}.jpg" alt="photo {i}"></figure>' for i in range(9))
    page = tmp_path / "site" / gallery.lstrip("/")
    page.parent.mkdir(parents=True, exist_ok=True)
    page.write_text(
        f"<html><head><title>Gallery</title></head><body>{photos}</body></html>",
        encoding="utf-8",
    )
    index = tmp_path / "site" / "index.html"
    index.write_text(
        index.read_text(encoding="utf-8").replace(
            "</main>", f'<a href="{gallery}">Photo gallery of the week</a></main>'
        ),
        encoding="utf-8",
    )
    db = str(tmp_path / "news.db")
    with web:
        assert run_cli(db, web.url("ledger")).returncode == 0
        archive = open_archive(db)
        with archive.session() as s:
            states = dict(s.execute(select(UrlState.url, UrlState.state)).all())
        archive.dispose()
        assert states[web.url("ledger", gallery)] == "not_article"
        web.clear_log()
        assert run_cli(db, web.url("ledger")).returncode == 0
        assert gallery not in {e.path for e in web.requests_for()}
