"""Read-only views of the archive for people: one article in full (``show``) and totals (``stats``)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, or_, select

from newsarchive.archive.localtime import MAX_OFFSET, article_local_day, as_date
from newsarchive.archive.models import (
    Article,
    ArticleTopic,
    ArticleVersion,
    Capture,
    Duplicate,
    Source,
)
from newsarchive.archive.search import article_date
from newsarchive.archive.stories import story_mates
from newsarchive.discovery.urls import canonicalize_url
from newsarchive.errors import ArchiveError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

logger = logging.getLogger(__name__)


class ArticleNotFoundError(ArchiveError):
    """No article has this id or URL."""


@dataclass(slots=True)
class CaptureView:
    id: int
    fetched_at: datetime
    status: int
    url: str
    final_url: str
    extraction_status: str


@dataclass(slots=True)
class DuplicateView:
    id: int
    url: str
    source: str
    kind: str
    score: float
    lang: str | None = None
    # which rule made the original the original: published, credit, first_seen, group
    rule: str | None = None


@dataclass(slots=True)
class TopicView:
    topic: str
    score: int
    terms: list[str]


@dataclass(slots=True)
class StoryMateView:
    id: int
    source: str
    lang: str | None
    title: str | None
    how: str  # seed / copy / event: how the mate joined the story


@dataclass(slots=True)
class ArticleView:
    id: int
    url: str
    canonical_url: str
    source: str
    title: str | None
    body: str
    published: datetime | None
    published_offset: int | None
    modified: datetime | None
    date_source: str | None
    date_flags: list[str]
    authors: list[str]
    organisations: list[str]
    companies: list[str]
    lang: str | None
    description: str | None
    image: str | None
    section: str | None
    tags: list[str]
    word_count: int
    content_sha256: str
    version: int
    first_seen: datetime
    last_seen: datetime
    previous_versions: int
    captures: list[CaptureView] = field(default_factory=list)
    original: DuplicateView | None = None
    copies: list[DuplicateView] = field(default_factory=list)
    topics: list[TopicView] = field(default_factory=list)
    story_id: int | None = None
    story_mates: list[StoryMateView] = field(default_factory=list)


def publisher_time(value: datetime | None, offset_minutes: int | None) -> datetime | None:
    """A stored UTC time in the UTC offset the publisher's page gave (``published_offset``),
    i.e. the wall-clock time the publisher wrote; UTC when the page gave no offset."""
    if value is None or offset_minutes is None:
        return value
    return value.astimezone(timezone(timedelta(minutes=offset_minutes)))


MAX_ID = 2**63 - 1  # both backends' integer keys are signed 64-bit


def find_article(session: Session, id_or_url: str | int) -> Article:
    """An article by numeric id (``17`` or ``#17``, as listings print it), URL or canonical URL;
    a URL is also tried in its canonical spelling (tracking parameters, fragment, host case)."""
    key = str(id_or_url).strip()
    article: Article | None = None
    number = key.removeprefix("#")
    if number.isascii() and number.isdigit():  # "²" is a digit to str.isdigit, not to int()
        if int(number) <= MAX_ID:
            article = session.get(Article, int(number))
    else:
        spellings = list(dict.fromkeys([key, canonicalize_url(key)]))
        article = session.scalars(
            select(Article)
            .where(or_(Article.canonical_url.in_(spellings), Article.url.in_(spellings)))
            .order_by(Article.id)
            .limit(1)
        ).first()
    if article is None:
        raise ArticleNotFoundError(f"no article with id or URL {key!r}")
    return article


def _dup_view(session: Session, article_id: int, link: Duplicate) -> DuplicateView:
    url, source, lang = session.execute(
        select(Article.canonical_url, Source.name, Article.lang)
        .join(Source, Source.id == Article.source_id)
        .where(Article.id == article_id)
    ).one()
    return DuplicateView(article_id, url, source, link.kind, link.score, lang, link.rule)


def get_article(session: Session, id_or_url: str | int) -> ArticleView:
    """Everything the archive knows about one article, its captures and its duplicates."""
    art = find_article(session, id_or_url)
    source = session.scalar(select(Source.name).where(Source.id == art.source_id)) or ""
    captures = [
        CaptureView(c.id, c.fetched_at, c.status, c.url, c.final_url, c.extraction_status)
        for c in session.scalars(
            select(Capture).where(Capture.article_id == art.id).order_by(Capture.fetched_at)
        )
    ]
    link = session.get(Duplicate, art.id)
    original = _dup_view(session, link.original_id, link) if link else None
    copies = [
        _dup_view(session, d.article_id, d)
        for d in session.scalars(
            select(Duplicate).where(Duplicate.original_id == art.id).order_by(Duplicate.article_id)
        )
    ]
    previous = session.scalar(
        select(func.count()).select_from(ArticleVersion).where(ArticleVersion.article_id == art.id)
    )
    story_id, mates = story_mates(session, art.id)
    return ArticleView(
        id=art.id,
        url=art.url,
        canonical_url=art.canonical_url,
        source=source,
        title=art.title,
        body=art.body,
        published=art.published,
        published_offset=art.published_offset,
        modified=art.modified,
        date_source=art.date_source,
        date_flags=list(art.date_flags or []),
        authors=list(art.authors or []),
        organisations=list(art.organisations or []),
        companies=list(art.companies or []),
        lang=art.lang,
        description=art.description,
        image=art.image,
        section=art.section,
        tags=list(art.tags or []),
        word_count=art.word_count,
        content_sha256=art.content_sha256,
        version=art.version,
        first_seen=art.first_seen,
        last_seen=art.last_seen,
        previous_versions=int(previous or 0),
        captures=captures,
        original=original,
        copies=copies,
        topics=[
            TopicView(t.topic, t.score, list(t.terms or []))
            for t in session.scalars(select(ArticleTopic).where(ArticleTopic.article_id == art.id))
        ],
        story_id=story_id,
        story_mates=[StoryMateView(*m) for m in mates],
    )


@dataclass(slots=True)
class ArchiveStats:
    articles: int
    originals: int
    duplicates: int
    captures: int
    sources: int
    per_source: list[tuple[str, int]]
    per_language: list[tuple[str | None, int]]
    per_day: list[tuple[date, int]]
    days: int
    until: date

    def as_dict(self) -> dict[str, Any]:
        return {
            "articles": self.articles,
            "originals": self.originals,
            "duplicates": self.duplicates,
            "captures": self.captures,
            "sources": self.sources,
            "per_source": dict(self.per_source),
            "per_language": {lang or "unknown": n for lang, n in self.per_language},
            "per_day": {d.isoformat(): n for d, n in self.per_day},
            "days": self.days,
            "until": self.until.isoformat(),
        }


def stats(session: Session, days: int = 30, today: date | None = None) -> ArchiveStats:
    """Totals, and counts per source, language and day (publication date, else first seen).

    ``per_day`` covers the ``days`` days ending ``today`` (UTC), zeros included, so that a gap in
    crawling shows as a gap. Each article counts on its publisher's calendar day (see
    :mod:`newsarchive.archive.localtime`).
    """
    if days < 1:
        raise ArchiveError("--days must be at least 1")
    today = today or datetime.now(UTC).date()

    def count(stmt: Any) -> int:
        return int(session.scalar(stmt) or 0)

    duplicates = count(select(func.count()).select_from(Duplicate))
    # counted on the source index alone (grouped by id, names joined after): joining sources
    # first had PostgreSQL read every article row for the join
    counts = (
        select(Article.source_id, func.count().label("n"))
        .group_by(Article.source_id)
        .subquery("counts")
    )
    counted_n = func.coalesce(counts.c.n, 0)
    per_source = [
        (name, int(k))
        for name, k in session.execute(
            select(Source.name, counted_n)
            .outerjoin(counts, counts.c.source_id == Source.id)
            .order_by(counted_n.desc(), Source.name)
        )
    ]
    per_language = [
        (lang, int(n))
        for lang, n in session.execute(
            select(Article.lang, func.count())
            .group_by(Article.lang)
            .order_by(func.count().desc(), Article.lang)
        )
    ]
    # every article has a source, so the per-source counts add up to the total: one pass over
    # the source index instead of a second count of a million rows
    articles = sum(n for _, n in per_source)
    first_day = today - timedelta(days=days - 1)
    start = datetime.combine(first_day, datetime.min.time(), UTC) - MAX_OFFSET
    end = datetime.combine(today + timedelta(days=1), datetime.min.time(), UTC) + MAX_OFFSET
    day = article_local_day()
    counted: dict[date, int] = {}
    for value, n in session.execute(
        select(day, func.count()).where(article_date() >= start, article_date() < end).group_by(day)
    ):
        key = as_date(value)
        if first_day <= key <= today:
            counted[key] = int(n)
    per_day = [
        (d, counted.get(d, 0)) for d in (today - timedelta(days=i) for i in range(days - 1, -1, -1))
    ]
    return ArchiveStats(
        articles=articles,
        originals=articles - duplicates,
        duplicates=duplicates,
        captures=count(select(func.count()).select_from(Capture)),
        sources=len(per_source),
        per_source=per_source,
        per_language=per_language,
        per_day=per_day,
        days=days,
        until=today,
    )
