"""Companies and topics per article: writing them, re-applying the current rules to stored
articles (``newsarchive retag``), and ranking coverage (``newsarchive companies``).

Tags are derived data: the gazetteer (``data/companies.toml``) and the topic rules
(``data/topics.toml``) change, so :func:`retag` recomputes them from the stored title and body
without refetching anything, in batches of ``RETAG_BATCH`` articles, one transaction each; the
cost per article does not depend on the archive's size.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, func, select, update

from newsarchive.archive.db import dialect_insert
from newsarchive.archive.models import Article, ArticleCompany, ArticleTopic, Source
from newsarchive.archive.search import filter_clauses
from newsarchive.archive.textsafety import clean_text
from newsarchive.extraction.companies import find_companies, load_gazetteer
from newsarchive.extraction.topics import tag_topics

if TYPE_CHECKING:
    from collections.abc import Iterable

    from sqlalchemy.orm import Session

    from newsarchive.archive.db import Archive
    from newsarchive.archive.search import SearchFilters
    from newsarchive.items import TopicTag

logger = logging.getLogger(__name__)

RETAG_BATCH = 500
NAME_SIZE = 200


def write_tags(
    session: Session, article_id: int, companies: Iterable[str], topics: Iterable[TopicTag]
) -> None:
    """Company and topic rows of one article (its old rows must be gone)."""
    names = sorted({clean_text(c)[:NAME_SIZE] for c in companies if c.strip()})
    if names:
        session.execute(
            dialect_insert(session, ArticleCompany),
            [{"article_id": article_id, "company": c} for c in names],
        )
    rows = [
        {"article_id": article_id, "topic": t.topic, "score": t.score, "terms": list(t.terms)}
        for t in topics
    ]
    if rows:
        session.execute(dialect_insert(session, ArticleTopic), rows)


def clear_tags(session: Session, article_ids: list[int]) -> None:
    for table in (ArticleCompany, ArticleTopic):
        session.execute(delete(table).where(table.article_id.in_(article_ids)))


@dataclass(slots=True)
class RetagResult:
    articles: int = 0
    companies_changed: int = 0
    topics: Counter[str] = field(default_factory=Counter)


def retag_batch(
    session: Session, filters: SearchFilters, *, start_id: int = 0, batch: int = RETAG_BATCH
) -> tuple[int | None, RetagResult]:
    """Retag up to ``batch`` articles matching ``filters`` with ids from ``start_id`` on;
    returns the next start id (None when done) and what changed."""
    rows = session.execute(
        select(Article.id, Article.title, Article.body, Article.companies)
        .join(Source, Source.id == Article.source_id)
        .where(Article.id >= start_id, *filter_clauses(filters))
        .order_by(Article.id)
        .limit(batch)
    ).all()
    result = RetagResult()
    if not rows:
        return None, result
    ids = [r.id for r in rows]
    clear_tags(session, ids)
    company_rows: list[dict[str, Any]] = []
    topic_rows: list[dict[str, Any]] = []
    for article_id, title, body, old in rows:
        companies = find_companies(title, body)
        topics = tag_topics(title, body, companies)
        if companies != list(old or []):
            session.execute(
                update(Article).where(Article.id == article_id).values(companies=companies)
            )
            result.companies_changed += 1
        company_rows += [
            {"article_id": article_id, "company": c[:NAME_SIZE]} for c in sorted(set(companies))
        ]
        topic_rows += [
            {"article_id": article_id, "topic": t.topic, "score": t.score, "terms": t.terms}
            for t in topics
        ]
        result.topics.update(t.topic for t in topics)
    if company_rows:
        session.execute(dialect_insert(session, ArticleCompany), company_rows)
    if topic_rows:
        session.execute(dialect_insert(session, ArticleTopic), topic_rows)
    result.articles = len(rows)
    logger.info("retagged %d articles from id %d", len(rows), ids[0])
    return ids[-1] + 1, result


def retag(archive: Archive, filters: SearchFilters, *, batch: int = RETAG_BATCH) -> RetagResult:
    """Re-apply the current gazetteer and topic rules to every article matching ``filters``."""
    total = RetagResult()
    start: int | None = 0
    while start is not None:
        with archive.session() as session:
            start, part = retag_batch(session, filters, start_id=start, batch=batch)
        total.articles += part.articles
        total.companies_changed += part.companies_changed
        total.topics.update(part.topics)
    return total


@dataclass(slots=True)
class CompanyCount:
    company: str
    id: str | None
    kind: str | None
    group: str | None  # the outermost group's name, for a brand or subsidiary
    articles: int


@dataclass(slots=True)
class CompanyPair:
    first: str
    second: str
    articles: int


def company_counts(
    session: Session, filters: SearchFilters, *, limit: int = 50
) -> list[CompanyCount]:
    """Companies by number of articles naming them (originals only unless the filters say so)."""
    n = func.count().label("n")
    rows = session.execute(
        select(ArticleCompany.company, n)
        .join(Article, Article.id == ArticleCompany.article_id)
        .join(Source, Source.id == Article.source_id)
        .where(*filter_clauses(filters))
        .group_by(ArticleCompany.company)
        .order_by(n.desc(), ArticleCompany.company)
        .limit(limit)
    ).all()
    gaz = load_gazetteer()
    by_name = {c.name: c for c in gaz.companies.values()}
    out = []
    for name, count in rows:
        company = by_name.get(name)
        top = gaz.companies[gaz.top_group(company.id)] if company is not None else None
        out.append(
            CompanyCount(
                company=name,
                id=company.id if company else None,
                kind=company.kind if company else None,
                group=top.name if top is not None and top is not company else None,
                articles=int(count),
            )
        )
    return out


def company_pairs(
    session: Session, filters: SearchFilters, *, limit: int = 50
) -> list[CompanyPair]:
    """Pairs of companies named in the same articles, most frequent first."""
    other = ArticleCompany.__table__.alias("other")
    n = func.count().label("n")
    rows = session.execute(
        select(ArticleCompany.company, other.c.company, n)
        .join(other, other.c.article_id == ArticleCompany.article_id)
        .join(Article, Article.id == ArticleCompany.article_id)
        .join(Source, Source.id == Article.source_id)
        .where(ArticleCompany.company < other.c.company, *filter_clauses(filters))
        .group_by(ArticleCompany.company, other.c.company)
        .order_by(n.desc(), ArticleCompany.company, other.c.company)
        .limit(limit)
    ).all()
    return [CompanyPair(a, b, int(count)) for a, b, count in rows]
