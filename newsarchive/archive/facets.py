"""Counts over the articles a query and its filters select: totals, facets and timelines.

The result list of a search (``search.py``) checks every candidate against the query rules in
Python, which is exact but costs a body read per candidate; counting thousands of matches that
way would take seconds. Counts here are taken in SQL over the index match instead, in one
statement per answer:

- SQLite: the FTS5 match of all terms, exclusions included, and the accent-exact
  prefilter of ``search.py``; PostgreSQL: the ``search_vector`` tsquery, exclusions included.
- They can differ from the exact rules in rare cases only: a phrase that runs from the title
  into the body, and on SQLite an excluded word that also drops its accent-folded spellings
  ("-città" drops "citta"). On the demo archive and the test fixtures they are equal.
- On SQLite the accent-exact prefilter reads every candidate's body (on the facet index, for
  a query of ASCII words, only those of the candidates listed in ``accented_articles``:
  migration 0008); past ``EXACT_LIMIT`` candidates it is left out and the counts are FTS5's, accents folded ("electrique" also
  counts "électrique"). Such counts say ``exact=False`` and the page shows them as "about N".

The company facet counts the names stored on articles: a gazetteer group's value counts the
articles naming the group itself, while the company filter (and the company page) for a group
selects its brands too; counting every group's family per search cost seconds at 100,000
articles (see docs/benchmarks.md). Without a query the counts are over every article the
filters select. Copies are left out unless
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
    Select,
    String,
    cast,
    func,
    literal,
    literal_column,
    null,
    select,
    text,
    union_all,
)

from newsarchive.archive.facetindex import fts5_ids, id_array
from newsarchive.archive.models import (
    Article,
    ArticleCompany,
    ArticleTopic,
    Source,
)
from newsarchive.archive.search import (
    SearchFilters,
    article_date,
    filter_clauses,
    fts5_query,
    pg_tsquery,
    sqlite_prefilter,
)
from newsarchive.archive.searchquery import SearchQuery, parse_query
from newsarchive.errors import ConfigError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from newsarchive.archive.facetindex import FacetIndex

logger = logging.getLogger(__name__)

BUCKETS = ("day", "week", "month")
FACET_LIMIT = 25
EXACT_LIMIT = 3000  # SQLite: more candidates than this are counted without the accent check
# The counts' accent check binds the filtered ids when they are under a quarter of the match.
_BIND_SHARE = 4
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
    exact: bool = True  # False: index counts, see the module docstring
    sources: list[FacetValue] = field(default_factory=list)
    languages: list[FacetValue] = field(default_factory=list)
    companies: list[FacetValue] = field(default_factory=list)
    months: list[FacetValue] = field(default_factory=list)  # "YYYY-MM", oldest first
    topics: list[FacetValue] = field(default_factory=list)


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


def _fts_text(session: Session, query: SearchQuery) -> str:
    """The count's FTS5 MATCH text, exclusions included, with prefixes spelled as search spells
    them (``search.fts5_query``): the same articles, the same text as the search's for a query
    without exclusions (so the two share one read of the match, ``facetindex.fts5_ids``), and
    FTS5 walks the words instead of merging every doclist a prefix starts."""
    return fts5_query(session, query, with_exclusions=True)


def _fts_ids(fts_text: str) -> Select[Any]:
    return (
        select(literal_column("rowid"))
        .select_from(text("articles_fts"))
        .where(text("articles_fts MATCH :facet_fts").bindparams(facet_fts=fts_text))
    )


def counts_are_exact(session: Session, query: str | SearchQuery | None) -> bool:
    """Whether counts for ``query`` apply the accent-exact check (see the module docstring):
    always on PostgreSQL and without a query; on SQLite up to ``EXACT_LIMIT`` candidates."""
    parsed = _as_query(query)
    if parsed is None or session.get_bind().dialect.name != "sqlite":
        return True
    candidates = session.scalar(
        select(func.count()).select_from(_fts_ids(_fts_text(session, parsed)).subquery())
    )
    return int(candidates or 0) <= EXACT_LIMIT


def index_match(
    session: Session, query: SearchQuery, *, exact: bool = True
) -> list[ColumnElement[bool]]:
    """WHERE clauses for the articles the full-text index matches, exclusions included;
    ``exact=False`` leaves out SQLite's accent-exact prefilter (a body scan per candidate)."""
    if session.get_bind().dialect.name == "sqlite":
        prefilter = sqlite_prefilter(query) if exact else []
        return [Article.id.in_(_fts_ids(_fts_text(session, query))), *prefilter]
    return [literal_column("articles.search_vector").op("@@")(pg_tsquery(query))]


def matching_ids(
    session: Session,
    query: str | SearchQuery | None,
    filters: SearchFilters | None = None,
    *,
    exact: bool = True,
) -> Select[Any]:
    """``SELECT articles.id`` of every article the query (or none) and the filters select."""
    parsed = _as_query(query)
    stmt = (
        select(Article.id.label("id"))
        .join(Source, Source.id == Article.source_id)
        .where(*filter_clauses(filters or SearchFilters()))
    )
    if parsed is not None:
        stmt = stmt.where(*index_match(session, parsed, exact=exact))
    return stmt


def count_matches(
    session: Session,
    query: str | SearchQuery | None,
    filters: SearchFilters | None = None,
    *,
    index: FacetIndex | None = None,
) -> tuple[int, bool]:
    """The number of matches, and whether it is exact (see :func:`counts_are_exact`); counted
    on ``index`` when given and current."""
    if index is not None:
        counted = _indexed(session, index, query, filters, totals_only=True, by_source=False)
        if counted is not None:
            return counted.total, counted.exact
    exact = counts_are_exact(session, query)
    ids = matching_ids(session, query, filters, exact=exact).subquery()
    return int(session.scalar(select(func.count()).select_from(ids)) or 0), exact


def day_key(session: Session) -> Any:
    """``YYYY-MM-DD`` (text) of an article's date in UTC, on either backend.

    SQLite stores UTC times as ISO text, so the day is its first ten characters (far cheaper per
    row than ``date()``); PostgreSQL formats the UTC wall time.
    """
    if session.get_bind().dialect.name == "sqlite":
        return func.substr(article_date(), 1, 10, type_=String)
    return func.to_char(func.timezone("UTC", article_date()), "YYYY-MM-DD", type_=String)


@dataclass(slots=True)
class _Groups:
    exact: bool
    total: int = 0
    sources: list[FacetValue] = field(default_factory=list)
    languages: list[FacetValue] = field(default_factory=list)
    companies: list[FacetValue] = field(default_factory=list)
    topics: list[FacetValue] = field(default_factory=list)
    days: list[tuple[date, str | None, int]] = field(default_factory=list)


def _grouped(
    session: Session,
    query: str | SearchQuery | None,
    filters: SearchFilters | None,
    *,
    by_source: bool,
    index: FacetIndex | None = None,
) -> _Groups:
    """Every count the facets and the timeline need: from ``index`` when given (and still the
    archive's state), else in one SQL statement over one match.

    The match is materialised once with the few columns the groups need (id, source, language,
    day); every group is then over that small set, never over the article rows again.
    """
    if index is not None:
        counted = _indexed(session, index, query, filters, totals_only=False, by_source=by_source)
        if counted is not None:
            return counted
    sqlite = session.get_bind().dialect.name == "sqlite"
    exact = counts_are_exact(session, query)
    base = matching_ids(session, query, filters, exact=exact)
    matched = base.add_columns(
        Article.source_id.label("source_id"),
        Article.lang.label("lang"),
        day_key(session).label("day"),
    ).cte("matched")
    if sqlite:
        matched = matched.prefix_with("MATERIALIZED")
    text_type = String()

    def part(kind: str, *groups: Any, source: bool = False) -> Any:
        value, extra = ([*groups, null(), null()])[:2]
        stmt = select(
            literal(kind).label("kind"),
            cast(value, text_type).label("value"),
            cast(extra, text_type).label("extra"),
            func.count().label("n"),
        ).select_from(matched)
        if source:
            stmt = stmt.join(Source, Source.id == matched.c.source_id)
        return stmt.group_by(*groups) if groups else stmt

    parts = [
        part("total"),
        part("source", Source.name, source=True),
        part("lang", matched.c.lang),
        part("day", matched.c.day),
        select(
            literal("company").label("kind"),
            ArticleCompany.company.label("value"),
            cast(null(), text_type).label("extra"),
            func.count().label("n"),
        )
        .where(ArticleCompany.article_id.in_(select(matched.c.id)))
        .group_by(ArticleCompany.company),
        select(
            literal("topic").label("kind"),
            ArticleTopic.topic.label("value"),
            cast(null(), text_type).label("extra"),
            func.count().label("n"),
        )
        .where(ArticleTopic.article_id.in_(select(matched.c.id)))
        .group_by(ArticleTopic.topic),
    ]
    if by_source:
        parts.append(part("day_source", matched.c.day, Source.name, source=True))
    groups = _Groups(exact=exact)
    for kind, value, extra, n in session.execute(union_all(*parts)):
        count = int(n)
        if kind == "total":
            groups.total = count
        elif kind == "source":
            groups.sources.append(FacetValue(str(value), count))
        elif kind == "lang":
            groups.languages.append(FacetValue("" if value is None else str(value), count))
        elif kind == "company":
            groups.companies.append(FacetValue(str(value), count))
        elif kind == "topic":
            groups.topics.append(FacetValue(str(value), count))
        elif kind == "day" and not by_source:
            groups.days.append((date.fromisoformat(str(value)), None, count))
        elif kind == "day_source":
            groups.days.append((date.fromisoformat(str(value)), str(extra), count))
    return groups


def _indexed(
    session: Session,
    index: FacetIndex,
    query: str | SearchQuery | None,
    filters: SearchFilters | None,
    *,
    totals_only: bool,
    by_source: bool,
) -> _Groups | None:
    """The counts of :func:`_grouped` on the facet index: SQL gives the matching ids only
    (the index match, exclusions included, then on SQLite the accent-exact prefilter over the
    candidates the filters kept, up to ``EXACT_LIMIT``); filters and groups run on the arrays.
    None when the match names an article the index does not hold (the archive changed)."""
    parsed = _as_query(query)
    filters = filters or SearchFilters()
    sqlite = session.get_bind().dialect.name == "sqlite"
    exact = True
    ids = None
    if parsed is not None:
        if sqlite:
            fts_text = _fts_text(session, parsed)
            match = _fts_ids(fts_text)
            ids = fts5_ids(session, fts_text)
        else:
            match = select(Article.id).where(*index_match(session, parsed))
            ids = id_array(session, match)
        exact = not sqlite or len(ids) <= EXACT_LIMIT
    mask = index.select(filters, ids)
    if mask is None:
        return None
    if parsed is not None and sqlite and exact and mask.any():
        # each check reads a body; for ASCII query words only the accented candidates can fail
        # it (migration 0008), so the others keep their place unread
        check = mask & index.accented if _ascii_words(parsed) else mask
        if check.any():
            # over the ids to check when they are a small part of the match (a source, a
            # language, the accented articles), else over the whole match (at most
            # EXACT_LIMIT), which is cheaper than binding most of its ids
            filtered = index.ids[check]
            assert ids is not None
            candidates: Any = match
            if len(filtered) * _BIND_SHARE < len(ids):
                candidates = [int(i) for i in filtered]
            kept = id_array(
                session,
                select(Article.id).where(Article.id.in_(candidates), *sqlite_prefilter(parsed)),
            )
            checked = index.positions(kept)
            if checked is None:
                return None
            passed = ~check
            passed[checked] = True
            mask &= passed
    if totals_only:
        return _Groups(exact=exact, total=int(mask.sum()))
    counts = index.groups(mask, by_source=by_source)

    def values(counted: list[tuple[str, int]]) -> list[FacetValue]:
        return [FacetValue(v, n) for v, n in counted]

    return _Groups(
        exact=exact,
        total=counts.total,
        sources=values(counts.sources),
        languages=values(counts.languages),
        companies=values(counts.companies),
        topics=values(counts.topics),
        days=counts.days,
    )


def _ascii_words(query: SearchQuery) -> bool:
    """Whether every word the accent-exact prefilter tests is ASCII: such a word cannot fail
    it in an article without folded words (an unaccented article's FTS5 words are its text as
    written), while a word like "città" also has FTS5 find "citta", which the check drops."""
    return all(
        token.isascii() for group in query.required for term in group.terms for token in term.tokens
    )


def _top(values: list[FacetValue], limit: int) -> list[FacetValue]:
    return sorted(values, key=lambda v: (-v.count, v.value))[:limit]


def _facets(groups: _Groups, limit: int) -> Facets:
    per_month: dict[tuple[int, int], int] = {}
    for day, _, n in groups.days:  # up to a day per source and day: no string per row
        key = (day.year, day.month)
        per_month[key] = per_month.get(key, 0) + n
    months = {f"{y:04d}-{m:02d}": n for (y, m), n in per_month.items()}
    return Facets(
        total=groups.total,
        exact=groups.exact,
        sources=_top(groups.sources, limit),
        languages=_top(groups.languages, limit),
        companies=_top(groups.companies, limit),
        months=[FacetValue(m, n) for m, n in sorted(months.items())],
        topics=_top(groups.topics, limit),
    )


def facet_counts(
    session: Session,
    query: str | SearchQuery | None,
    filters: SearchFilters | None = None,
    *,
    limit: int = FACET_LIMIT,
    index: FacetIndex | None = None,
) -> Facets:
    """The total and the ``limit`` largest values of each facet (months: all, oldest first)."""
    return _facets(_grouped(session, query, filters, by_source=False, index=index), limit)


def overview(
    session: Session,
    query: str | SearchQuery | None,
    filters: SearchFilters | None = None,
    *,
    bucket: str = "auto",
    by_source: bool = False,
    limit: int = FACET_LIMIT,
    index: FacetIndex | None = None,
) -> tuple[Facets, Timeline]:
    """Facets and timeline of one search from one statement (what a search page shows)."""
    _check_bucket(bucket)
    groups = _grouped(session, query, filters, by_source=by_source, index=index)
    return _facets(groups, limit), _timeline(groups.days, filters or SearchFilters(), bucket)


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


def _check_bucket(bucket: str) -> None:
    if bucket != "auto" and bucket not in BUCKETS:
        raise ConfigError(f"unknown timeline bucket {bucket!r}: use auto, {', '.join(BUCKETS)}")


def timeline(
    session: Session,
    query: str | SearchQuery | None,
    filters: SearchFilters | None = None,
    *,
    bucket: str = "auto",
    by_source: bool = False,
    index: FacetIndex | None = None,
) -> Timeline:
    """Articles per day, week or month (``auto``: chosen from the span), empty buckets included,
    from the first to the last bucket with an article (or the filters' date range)."""
    return overview(session, query, filters, bucket=bucket, by_source=by_source, index=index)[1]


def _timeline(
    per_day: list[tuple[date, str | None, int]], filters: SearchFilters, bucket: str
) -> Timeline:
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
