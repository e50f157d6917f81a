"""Two processes storing the same article (or two copies of one story) at the same moment."""

from __future__ import annotations

import multiprocessing
import queue
import time
from collections import Counter
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from support.newssite import prose_text

from newsarchive.archive import open_archive
from newsarchive.archive.models import Article, Capture, Duplicate

from .syndication import FETCHED, entries, make_page, race_worker

if TYPE_CHECKING:
    from newsarchive.items import FetchedPage

ROUNDS = 8


def _race(db: str, pages_a: list[FetchedPage], pages_b: list[FetchedPage]) -> Counter[str]:
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(2)
    results = ctx.Queue()
    workers = [
        ctx.Process(target=race_worker, args=(db, pages, barrier, results))
        for pages in (pages_a, pages_b)
    ]
    for w in workers:
        w.start()
    statuses: Counter[str] = Counter()
    deadline = time.monotonic() + 120
    try:
        while sum(statuses.values()) < 2 * len(pages_a) and time.monotonic() < deadline:
            try:
                _, status = results.get(timeout=0.5)
            except queue.Empty:
                if not any(w.is_alive() for w in workers):
                    break
                continue
            statuses[status] += 1
    finally:
        for w in workers:
            w.join(timeout=60)
            if w.is_alive():
                w.terminate()
    assert [w.exitcode for w in workers] == [0, 0]
    return statuses


def _variants(suffix: str) -> list[FetchedPage]:
    base = entries()[0]
    return [
        make_page(
            url=f"{base.url}{suffix}{i}",
            canonical=f"{base.url}{i}",
            title=base.title,
            body=prose_text(i),
            source=base.source,
            published=base.published,
            fetched_at=FETCHED + timedelta(minutes=i),
        )
        for i in range(ROUNDS)
    ]


def test_same_article_stored_twice_at_once_is_one_article(archive_url: str) -> None:
    open_archive(archive_url).dispose()  # create the schema before the workers start
    pages = _variants("")
    statuses = _race(archive_url, pages, pages)
    assert statuses == {"new": ROUNDS, "unchanged": ROUNDS}
    archive = open_archive(archive_url)
    with archive.session() as session:
        assert session.scalar(select(func.count()).select_from(Article)) == ROUNDS
        per_article = session.execute(
            select(Capture.article_id, func.count()).group_by(Capture.article_id)
        ).all()
    archive.dispose()
    assert sorted(n for _, n in per_article) == [2] * ROUNDS


def test_copies_stored_at_once_are_linked(archive_url: str) -> None:
    """Different URLs, same story at the same moment: each pair ends up as one group."""
    open_archive(archive_url).dispose()
    pages_a = _variants("")
    pages_b = [
        make_page(
            url=f"https://reprint.example/autos/{i}",
            title="Reprinted",
            body=prose_text(i),
            source="reprint",
            published=None,
            fetched_at=FETCHED + timedelta(minutes=i),
        )
        for i in range(ROUNDS)
    ]
    statuses = _race(archive_url, pages_a, pages_b)
    assert statuses["new"] == ROUNDS
    assert statuses["duplicate"] == ROUNDS
    archive = open_archive(archive_url)
    with archive.session() as session:
        assert session.scalar(select(func.count()).select_from(Article)) == 2 * ROUNDS
        kinds = session.scalars(select(Duplicate.kind)).all()
    archive.dispose()
    assert kinds == ["exact"] * ROUNDS
