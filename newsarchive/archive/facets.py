"""Counts over the articles a query and its filters select: totals, facets and timelines.

The result list of a search (``search.py``) checks every candidate against the query rules in
Python, which is exact but costs a body read per candidate; counting thousands of matches that
way would take seconds. Counts here are taken in SQL over the index match instead, in one
statement per answer:

- SQLite: the FTS5 match of all terms, exclusions included, and the accent-exact GLOB
  prefilter of ``search.py``; PostgreSQL: the ``search_vector`` tsquery, exclusions included.
- They can differ from the exact rules in rare cases only: a phrase that runs from the title
  into the body, and on SQLite an excluded word that also drops its accent-folded spellings
  ("-città" drops "citta"). On the demo archive and the test fixtures they are equal.

Without a query the counts are over every article the filters select. Copies are left out unless
``include_duplicates`` is set, as in search. Dates are publication dates, else first seen (the
same ``article_date`` as the filters), in UTC.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    ColumnElement,
    Date,
    Select,
    cast,
    func,
    literal,
    literal_column,
    null,
    select,
    text,
    union_all,
)

from newsarchive.archive.models import Article, ArticleCompany, Source
from newsarchive.archive.search import (
    SearchFilters,
    article_date,
    filter_clauses,
    pg_tsquery,
    sqlite_prefilter,
)
from newsarchive.archive.searchquery import SearchQuery, parse_query, to_fts5
from newsarchive.errors import ConfigError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

logger = logging.getLogger(__name__)

BUCKETS = ("day", "week", "month")
FACET_LIMIT = 25
MAX_BUCKETS = 400  # more days or weeks than this are drawn as weeks or months
_BUCKET_DAYS = {"day": 1, "week": 7, "month": 30}


@dataclass(slots=True)
class FacetValue:
    value: str
    count: int


@dataclass(slots=True)
class Facets:
    """How many articles match, and how they split by source, language, company and month."""

    total: int
    sources: list[FacetValue] = field(default_factory=list)
    languages: list[FacetValue] = field(default_factory=list)
    companies: list[FacetValue] = field(default_factory=list)
    months: list[FacetValue] = field(default_factory=list)  # "YYYY-MM", oldest first


@dataclass(slots=True)
class TimelineBucket:
    start: date
    end: date  # exclusive
    count: int
    by_source: dict[str, int] = field(default_factory=dict)


@dataclass(slots=True)
class Timeline:
    bucket: str  # day, week or month
    buckets: list[TimelineBucket]
    sources: list[str]  # sources in the per-source breakdown, most articles first; [] without

    @property
    def total(self) -> int:
        return sum(b.count for b in self.buckets)


def _as_query(query: str | SearchQuery | None) -> SearchQuery | None:
    if query is None or isinstance(query, SearchQuery):
        return query
    return parse_query(query) if query.strip() else None


def index_match(session: Session, query: SearchQuery) -> list[ColumnElement[bool]]:
    """WHERE clauses for the articles the full-text index matches, exclusions included."""
    if session.get_bind().dialect.name == "sqlite":
        fts_ids: Select[Any] = (
            select(literal_column("rowid"))
            .select_from(text("articles_fts"))
            .where(
                text("articles_fts MATCH :facet_fts").bindparams(
                    facet_fts=to_fts5(query, with_exclusions=True)
                )
            )
        )
        return [Article.id.in_(fts_ids), *sqlite_prefilter(query)]
    return [literal_column("articles.search_vector").op("@@")(pg_tsquery(query))]


def matching_ids(
    session: Session, query: str | SearchQuery | None, filters: SearchFilters | None = None
) -> Select[Any]:
    """``SELECT articles.id`` of every article the query (or none) and the filters select."""
    parsed = _as_query(query)
    stmt = (
        select(Article.id.label("id"))
        .join(Source, Source.id == Article.source_id)
        .where(*filter_clauses(filters or SearchFilters()))
    )
    if parsed is not None:
        stmt = stmt.where(*index_match(session, parsed))
    return stmt


def count_matches(
    session: Session, query: str | SearchQuery | None, filters: SearchFilters | None = None
) -> int:
    ids = matching_ids(session, query, filters).subquery()
    return int(session.scalar(select(func.count()).select_from(ids)) or 0)


def _utc(session: Session, value: Any) -> Any:
    """A timestamp as UTC wall time (SQLite stores UTC text already)."""
    if session.get_bind().dialect.name == "sqlite":
        return value
    return func.timezone("UTC", value)


def month_key(session: Session) -> Any:
    """``YYYY-MM`` of an article's date, on either backend."""
    if session.get_bind().dialect.name == "sqlite":
        return func.strftime("%Y-%m", article_date())
    return func.to_char(_utc(session, article_date()), "YYYY-MM")


def day_key(session: Session) -> Any:
    """The UTC calendar day of an article's date, on either backend."""
    if session.get_bind().dialect.name == "sqlite":
        return func.date(article_date())
    return cast(_utc(session, article_date()), Date)


def facet_counts(
    session: Session,
    query: str | SearchQuery | None,
    filters: SearchFilters | None = None,
    *,
    limit: int = FACET_LIMIT,
) -> Facets:
    """The total and the ``limit`` largest values of each facet, in one statement.

    The match is computed once (a materialised CTE); each facet is a GROUP BY over it.
    """
    matched = matching_ids(session, query, filters).cte("matched")
    if session.get_bind().dialect.name == "sqlite":
        matched = matched.prefix_with("MATERIALIZED")
    month = month_key(session)

    def over_articles(kind: str, value: Any) -> Select[Any]:
        return (
            select(literal(kind).label("kind"), value.label("value"), func.count().label("n"))
            .select_from(matched)
            .join(Article, Article.id == matched.c.id)
            .join(Source, Source.id == Article.source_id)
            .group_by(value)
        )

    parts = [
        select(
            literal("total").label("kind"),
            cast(null(), Article.lang.type).label("value"),
            func.count().label("n"),
        ).select_from(matched),
        over_articles("source", Source.name),
        over_articles("lang", Article.lang),
        over_articles("month", month),
        select(
            literal("company").label("kind"),
            ArticleCompany.company.label("value"),
            func.count().label("n"),
        )
        .select_from(matched)
        .join(ArticleCompany, ArticleCompany.article_id == matched.c.id)
        .group_by(ArticleCompany.company),
    ]
    groups: dict[str, list[FacetValue]] = {"source": [], "lang": [], "company": [], "month": []}
    total = 0
    for kind, value, n in session.execute(union_all(*parts)):
        if kind == "total":
            total = int(n)
        else:
            groups[kind].append(FacetValue("" if value is None else str(value), int(n)))

    def top(values: list[FacetValue]) -> list[FacetValue]:
        return sorted(values, key=lambda v: (-v.count, v.value))[:limit]

    return Facets(
        total=total,
        sources=top(groups["source"]),
        languages=top(groups["lang"]),
        companies=top(groups["company"]),
        months=sorted(groups["month"], key=lambda v: v.value),
    )


def bucket_start(day: date, bucket: str) -> date:
    if bucket == "day":
        return day
    if bucket == "week":
        return day - timedelta(days=day.weekday())  # ISO weeks start on Monday
    return day.replace(day=1)


def bucket_end(start: date, bucket: str) -> date:
    if bucket == "day":
        return start + timedelta(days=1)
    if bucket == "week":
        return start + timedelta(days=7)
    return (start.replace(day=28) + timedelta(days=4)).replace(day=1)


def choose_bucket(first: date, last: date) -> str:
    """Days for up to ~3 months, weeks up to ~2 years, months beyond."""
    span = (last - first).days
    if span <= 92:
        return "day"
    if span <= 730:
        return "week"
    return "month"


def timeline(
    session: Session,
    query: str | SearchQuery | None,
    filters: SearchFilters | None = None,
    *,
    bucket: str = "auto",
    by_source: bool = False,
) -> Timeline:
    """Articles per day, week or month (``auto``: chosen from the span), empty buckets included,
    from the first to the last bucket with an article (or the filters' date range)."""
    if bucket != "auto" and bucket not in BUCKETS:
        raise ConfigError(f"unknown timeline bucket {bucket!r}: use auto, {', '.join(BUCKETS)}")
    filters = filters or SearchFilters()
    matched = matching_ids(session, query, filters).subquery("matched")
    day = day_key(session).label("day")
    columns: list[Any] = [day, func.count().label("n")]
    if by_source:
        columns.insert(1, Source.name.label("source"))
    stmt = (
        select(*columns)
        .select_from(matched)
        .join(Article, Article.id == matched.c.id)
        .join(Source, Source.id == Article.source_id)
        .group_by(*columns[:-1])
    )
    per_day: list[tuple[date, str | None, int]] = []
    for row in session.execute(stmt):
        value = row.day if isinstance(row.day, date) else date.fromisoformat(str(row.day))
        per_day.append((value, row.source if by_source else None, int(row.n)))
    if not per_day:
        return Timeline("day" if bucket == "auto" else bucket, [], [])
    first = min(d for d, _, _ in per_day)
    last = max(d for d, _, _ in per_day)
    # the filters' range is drawn too (empty ends show where nothing was found), unless it is
    # so wide that it would squeeze the data into a few bars
    wide_first = min(first, filters.since.date()) if filters.since else first
    wide_last = (
        max(last, (filters.until - timedelta(microseconds=1)).date()) if filters.until else last
    )
    if (wide_last - wide_first).days <= 4 * max(92, (last - first).days):
        first, last = wide_first, wide_last
    if bucket == "auto":
        bucket = choose_bucket(first, last)
    while bucket != "month" and (last - first).days // _BUCKET_DAYS[bucket] > MAX_BUCKETS:
        bucket = BUCKETS[BUCKETS.index(bucket) + 1]
    buckets: dict[date, TimelineBucket] = {}
    start = bucket_start(first, bucket)
    while start <= last:
        end = bucket_end(start, bucket)
        buckets[start] = TimelineBucket(start, end, 0)
        start = end
    totals: dict[str, int] = {}
    for value, source, n in per_day:
        entry = buckets[bucket_start(value, bucket)]
        entry.count += n
        if source is not None:
            entry.by_source[source] = entry.by_source.get(source, 0) + n
            totals[source] = totals.get(source, 0) + n
    sources = sorted(totals, key=lambda s: (-totals[s], s))
    return Timeline(bucket, list(buckets.values()), sources)
