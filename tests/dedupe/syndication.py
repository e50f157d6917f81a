"""Fetched pages from the syndication fixtures (made with the one generator in
support.newssite), and the worker the concurrency tests spawn."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from support.newssite import text_page

from newsarchive.items import Article, FetchedPage

if TYPE_CHECKING:
    from multiprocessing.queues import Queue
    from multiprocessing.synchronize import Barrier

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "syndication"
FETCHED = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Entry:
    file: str
    story: str
    source: str
    url: str
    title: str
    published: datetime | None
    lang: str = "en"

    @property
    def body(self) -> str:
        return (FIXTURES / self.file).read_text(encoding="utf-8")


def manifest() -> dict[str, Any]:
    return json.loads((FIXTURES / "manifest.json").read_text(encoding="utf-8"))


def entries(key: str = "articles") -> list[Entry]:
    """The manifest's English ``articles``, or with ``key="translations"`` the other languages'."""
    return [
        Entry(
            file=a["file"],
            story=a["story"],
            source=a["source"],
            url=a["url"],
            title=a["title"],
            published=datetime.fromisoformat(a["published"]) if a["published"] else None,
            lang=a.get("lang", "en"),
        )
        for a in manifest()[key]
    ]


def make_page(
    *,
    url: str,
    title: str,
    body: str,
    source: str,
    published: datetime | None = None,
    canonical: str | None = None,
    fetched_at: datetime = FETCHED,
    requested_url: str | None = None,
    companies: list[str] | None = None,
    lang: str | None = "en",
) -> FetchedPage:
    article = Article(
        url=url,
        canonical_url=canonical or url,
        title=title,
        body=body,
        published=published,
        date_source="jsonld" if published else None,
        authors=["Anna Keller"],
        lang=lang,
        companies=["Nordhaven Motors"] if companies is None else companies,
    )
    return FetchedPage(
        url=url,
        requested_url=requested_url or url,
        status=200,
        body=text_page(title, body),
        fetched_at=fetched_at,
        source=source,
        headers={
            "Content-Type": "text/html; charset=utf-8",
            "ETag": '"5f1c-abc"',
            "Set-Cookie": "session=secret",
        },
        encoding="utf-8",
        article=article,
    )


def entry_page(entry: Entry, *, offset: int = 0) -> FetchedPage:
    return make_page(
        url=entry.url,
        title=entry.title,
        body=entry.body,
        source=entry.source,
        published=entry.published,
        fetched_at=FETCHED + timedelta(minutes=offset),
        lang=entry.lang,
    )


def race_worker(
    db: str, pages: list[FetchedPage], barrier: Barrier, results: Queue[tuple[int, str]]
) -> None:
    """Save each page right after both workers reach the barrier, one transaction per page."""
    from newsarchive.archive import open_archive
    from newsarchive.archive.store import save_page

    archive = open_archive(db)
    try:
        for i, page in enumerate(pages):
            barrier.wait(timeout=60)
            with archive.session() as session:
                result = save_page(session, page)
            results.put((i, result.status))
    except BaseException:
        barrier.abort()  # release the other worker at once
        raise
    finally:
        archive.dispose()
