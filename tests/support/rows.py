"""Archive rows written straight through the ORM, for tests that read the archive back.

Each helper fills every column a reader looks at with a plausible value, so a fixture names only
what its test is about; a keyword overrides any column.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from newsarchive.archive.models import Article, ArticleCompany, Duplicate, Source

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sqlalchemy.orm import Session


def utc(text: str) -> datetime:
    """A naive ISO time read as UTC: fixtures stay short and the archive stores aware times."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _when(value: str | datetime) -> datetime:
    return utc(value) if isinstance(value, str) else value


def source_id(session: Session, name: str) -> int:
    """The id of source ``name``, created on first use so a fixture lists articles, not sources."""
    sid = session.scalar(select(Source.id).where(Source.name == name))
    if sid is None:
        src = Source(name=name, homepage=f"https://{name}.example")
        session.add(src)
        session.flush()
        sid = src.id
    return sid


def add_article(
    session: Session,
    source: str,
    slug: str,
    title: str | None,
    body: str,
    *,
    published: str | datetime | None = None,
    first_seen: str | datetime = "2024-01-01T00:00:00",
    last_seen: str | datetime | None = None,
    authors: Sequence[str] = ("Ada Rossi",),
    companies: Sequence[str] = (),
    copy_of: int | None = None,
    **columns: Any,
) -> Article:
    """One article of ``source`` at ``https://SOURCE.example/SLUG``; ``companies`` also get their
    index rows and ``copy_of`` an exact-duplicate link, as the store would write them."""
    url = f"https://{source}.example/{slug}"
    values: dict[str, Any] = {
        "url": url,
        "canonical_url": url,
        "lang": "en",
        "word_count": len(body.split()),
        "content_sha256": hashlib.sha256(body.encode()).hexdigest(),
        **columns,
    }
    art = Article(
        source_id=source_id(session, source),
        title=title,
        body=body,
        published=None if published is None else _when(published),
        authors=list(authors),
        companies=list(companies),
        first_seen=_when(first_seen),
        last_seen=_when(first_seen if last_seen is None else last_seen),
        **values,
    )
    session.add(art)
    session.flush()
    for company in companies:
        session.add(ArticleCompany(article_id=art.id, company=company))
    if copy_of is not None:
        session.add(Duplicate(article_id=art.id, original_id=copy_of, kind="exact", score=1.0))
    session.flush()
    return art
