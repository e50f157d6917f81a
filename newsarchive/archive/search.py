"""Ranked full-text search over the archive, the same answers on SQLite and PostgreSQL.

Why one module of this size: the two backends answer one contract (same hits, same order, same
filters), and keeping their SQL side by side is what lets a reader check that they agree; the
query language itself is apart, in ``searchquery.py``.

Relevance ranks at most ``RANK_CANDIDATES`` (1,000; more when a page reaches deeper) articles:
when more match, the candidates are the newest matches by id (the most recently stored) that pass
the filters, and the best of those come first. Scoring a word that is in most of a million
articles means reading the whole of its index entry for every search; with the cap a search
costs the same at 10,000 articles as at a million, and when fewer articles match than the cap
(most real searches) the ranking is over all of them. ``order="date"`` is not capped. A query
with a phrase ranks its candidates a recency tier at a time: those among the newest
``PHRASE_WINDOW`` (5,000) articles first, then those among the next 20,000, and so on (each
tier four times the last), the best first within each tier. The candidates are the same; the
tiers are what lets PostgreSQL, which has no cheap way to find a phrase's matches, stop after
the newest tier when it fills the page (``_search_postgres``), and both backends order them
alike. How each backend runs it:

- SQLite: FTS5 walks the query's doclists backwards for the newest ``cap + 1`` match ids, which
  costs ``cap`` entries whatever the word's frequency; a prefix is first spelled as the index
  words it starts (``fts5_query``), since FTS5 would merge all their doclists before giving one
  id. The candidates are ranked here by BM25 whose statistics are the candidates' own
  (``bm25``: term frequencies by the exact rules in the title, weighted ``TITLE_WEIGHT``×, and
  the body; IDF and mean length over the candidates), from their rows read by id: FTS5's
  ``bm25`` takes its IDF from the whole archive by walking each phrase's whole doclist, per
  search, which at a million articles was most of a search. Filters are applied to the ranked
  ids afterwards, never inside an FTS5 plan, which can turn a fast match into a scan of
  minutes. When more than the cap match *and* a filter is set, the filter's indexes give the
  passing ids newest first (or the facet index, when given, the passing FTS5 matches) and
  their rows are counted batch by batch until ``cap`` of them match by the exact rules, or,
  when FTS5's matches are the sparser side (a rarer word under a broad filter), those matches
  are walked newest first and the filters tested on them (``_filtered_matches``): either way
  the candidates are then the newest exact matches. FTS5 folds
  accents, so candidates then pass an accent-exact GLOB in SQL and the Python checker
  (``query.matches``), batch by batch in rank order until the page is full.
- PostgreSQL: the ``search_vector`` GIN index (or, for a word that is everywhere, the primary key
  walked backwards) gives the newest ``cap`` matches under the filters, ranked by ``ts_rank_cd``
  (title weight A, body B; a phrase's a tier at a time, read only as far as the page needs);
  only ids and ranks leave the server, then bodies are read batch by
  batch in rank order for the same checker, since the tsvector joins title and body and would
  let a phrase run from one into the other. Snippets are cut from those bodies in Python
  (``searchquery.snippet``), not by ``ts_headline``, which parses each body again.

Filters: ``source`` (source name), ``lang`` (``en`` also matches ``en-GB``), ``company``
(case-insensitive; a gazetteer group includes its brands), ``topic`` (a topic id), ``since``/``until`` on the publication date, or the first-seen date when the
page gave none (``since`` inclusive, ``until`` exclusive). By default a story appears once: copies
listed in ``duplicates`` are hidden and counted on their original (``duplicate_count``);
``include_duplicates`` lists every row and sets ``duplicate_of`` on copies.
"""

from __future__ import annotations

import bisect
import functools
import json
import logging
import math
import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    bindparam,
    exists,
    func,
    literal,
    literal_column,
    or_,
    select,
    table,
    text,
)
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import aliased

from newsarchive.archive.localtime import MAX_OFFSET, article_local_day
from newsarchive.archive.models import Article, ArticleCompany, ArticleTopic, Duplicate, Source
from newsarchive.archive.searchquery import (
    SearchQuery,
    Term,
    matches,
    parse_query,
    snippet,
    to_fts5,
    tsquery_lexeme,
)
from newsarchive.errors import ConfigError
from newsarchive.extraction.companies import load_gazetteer
from newsarchive.extraction.topics import topic_ids

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator

    from sqlalchemy import Connection
    from sqlalchemy.orm import Session
    from sqlalchemy.sql.elements import ColumnClause

    from newsarchive.archive.facetindex import FacetIndex

logger = logging.getLogger(__name__)

TITLE_WEIGHT = 5.0
# Relevance ranks at most this many candidates: the newest matches (by id) that pass the filters.
RANK_CANDIDATES = 1000
SNIPPET_TOKENS = 32
HIGHLIGHT = ("[", "]")
_CHECK_BATCH = 200
_FILTER_BATCH = 500
# FTS5 matches read per page when a filtered search walks the matches (``_walk_matches``).
_MATCH_PAGE = 2000
# How much more a passing article's row costs to count than a match id to test, see
# ``walk_matches`` (measured at 1,000,000 articles, docs/benchmarks.md).
_WALK_COST_RATIO = 4
# A page's snippets are cut in one pass over the matches between its lowest and highest id when
# those are at most this far apart (or the query has a prefix), see ``_fts5_snippets``.
_SNIPPET_SCAN_SPAN = 20_000
# A query with a phrase ranks its candidates a recency tier at a time: those among the newest
# ``PHRASE_WINDOW`` articles (by id) first, then each older tier ``_TIER_GROWTH`` times as many
# articles (see ``_search_postgres``, and docs/benchmarks.md for the measurements).
PHRASE_WINDOW = 5_000
_TIER_GROWTH = 4
ORDERS = ("relevance", "date")
LATEST_SNIPPET_CHARS = 240


@dataclass(slots=True)
class SearchFilters:
    source: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    lang: str | None = None
    company: str | None = None
    topic: str | None = None
    include_duplicates: bool = False
    # Set when since/until were given as bare days: they then count in the publisher's day
    # (``until_day`` exclusive), and since/until only bound the UTC column for the index.
    since_day: date | None = None
    until_day: date | None = None

    @classmethod
    def from_params(
        cls,
        *,
        source: str | None = None,
        since: str | None = None,
        until: str | None = None,
        lang: str | None = None,
        company: str | None = None,
        topic: str | None = None,
        include_duplicates: bool = False,
    ) -> SearchFilters:
        """Filters from user text (CLI options, form fields): empty means unset, dates are read
        by :func:`parse_date_filter` (ConfigError on a bad one)."""
        return cls(
            source=source or None,
            since=parse_date_filter(since) if since else None,
            until=parse_date_filter(until, end=True) if until else None,
            since_day=_bare_day(since),
            until_day=_next_day(_bare_day(until)),
            lang=lang or None,
            company=company or None,
            topic=check_topic(topic) if topic else None,
            include_duplicates=bool(include_duplicates),
        )

    def describe(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat() if self.until else None,
            "lang": self.lang,
            "company": self.company,
            "topic": self.topic,
            "include_duplicates": self.include_duplicates,
        }


@dataclass(slots=True)
class SearchHit:
    id: int
    url: str
    canonical_url: str
    source: str
    title: str | None
    published: datetime | None
    lang: str | None
    snippet: str
    score: float
    duplicate_count: int
    duplicate_of: int | None


# How deep search pages may go (offset + limit); export streams the rest.
MAX_RESULT_DEPTH = 10_000


def parse_date_filter(value: str, *, end: bool = False) -> datetime:
    """``YYYY-MM-DD`` or an ISO 8601 datetime → aware UTC; naive times are read as UTC.

    With ``end=True`` a bare date means the end of that day, so ``--until 2024-05-31`` includes
    the 31st (``until`` is exclusive).
    """
    value = value.strip()
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise ConfigError(f"bad date {value!r}: use YYYY-MM-DD or an ISO 8601 date-time") from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    try:
        if end and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            parsed += timedelta(days=1)
        return parsed.astimezone(UTC)
    except OverflowError:
        # 9999-12-31 as an end date, or an offset that pushes year 1 before the calendar
        if end:
            return datetime.max.replace(tzinfo=UTC)
        raise ConfigError(f"date {value!r} is out of range") from None


def company_names(value: str) -> list[str]:
    """The stored company names ``--company VALUE`` selects: a gazetteer company (by id, name
    or alias) with every company below it, so a group includes its brands; an unknown name
    selects itself (articles stored with an older gazetteer keep their names)."""
    company = load_gazetteer().resolve(value)
    if company is None:
        return [value]
    return [c.name for c in load_gazetteer().descendants(company.id)]


def check_topic(value: str) -> str:
    """A topic id from user text; ConfigError listing the known ones otherwise."""
    wanted = value.strip().casefold()
    known = topic_ids()
    if wanted not in known:
        raise ConfigError(f"unknown topic {value!r} (topics: {', '.join(known)})")
    return wanted


def _bare_day(value: str | None) -> date | None:
    value = (value or "").strip()
    return date.fromisoformat(value) if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value) else None


def _next_day(day: date | None) -> date | None:
    if day is None or day == date.max:
        return None
    return day + timedelta(days=1)


def article_date() -> ColumnElement[datetime]:
    """The date filters and per-day counts use: published, else first seen."""
    return func.coalesce(Article.published, Article.first_seen)


def _shift(value: datetime | None, delta: timedelta) -> datetime:
    assert value is not None  # set together with the day by from_params
    try:
        return value + delta
    except OverflowError:
        return value


def filter_clauses(filters: SearchFilters) -> list[ColumnElement[bool]]:
    """WHERE clauses for ``filters`` over ``articles`` (joined to ``sources``); all values bound."""
    clauses: list[ColumnElement[bool]] = []
    if filters.source:
        clauses.append(Source.name == filters.source)
    if filters.since_day:
        clauses.append(article_date() >= _shift(filters.since, -MAX_OFFSET))
        clauses.append(article_local_day() >= filters.since_day)
    elif filters.since:
        clauses.append(article_date() >= filters.since)
    if filters.until_day:
        clauses.append(article_date() < _shift(filters.until, MAX_OFFSET))
        clauses.append(article_local_day() < filters.until_day)
    elif filters.until:
        clauses.append(article_date() < filters.until)
    if filters.lang:
        lang = filters.lang.lower()
        lowered = func.lower(Article.lang)
        clauses.append(or_(lowered == lang, lowered.startswith(lang + "-", autoescape=True)))
    if filters.company:
        names = company_names(filters.company)
        clauses.append(
            exists()
            .where(
                ArticleCompany.article_id == Article.id,
                func.lower(ArticleCompany.company).in_([n.lower() for n in names]),
            )
            .correlate(Article)
        )
    if filters.topic:
        clauses.append(
            exists()
            .where(ArticleTopic.article_id == Article.id, ArticleTopic.topic == filters.topic)
            .correlate(Article)
        )
    if not filters.include_duplicates:
        clauses.append(_not_a_copy())
    return clauses


@functools.cache
def _not_a_copy() -> ColumnElement[bool]:
    """The clause that hides copies, built once (as ``_hit_columns``): comparing a column of a
    fresh ``aliased(Duplicate)`` goes through the ORM's adapter, which was ~7 % of a new
    search's time when built for every statement."""
    copy = aliased(Duplicate)
    return ~exists().where(copy.article_id == Article.id).correlate(Article)


def duplicate_count_column() -> Any:
    copy = aliased(Duplicate)
    return (
        select(func.count())
        .select_from(copy)
        .where(copy.original_id == Article.id)
        .correlate(Article)
        .scalar_subquery()
    )


_FTS = table("articles_fts")


def fts5_match_ids(query: SearchQuery) -> Select[Any]:
    """Article ids whose FTS5 entry matches the query's positive terms (a superset, see module)."""
    return (
        select(literal_column("rowid"))
        .select_from(_FTS)
        .where(
            text("articles_fts MATCH :fts_query").bindparams(
                fts_query=to_fts5(query, with_exclusions=False)
            )
        )
    )


# A prefix that starts at most this many of the index's words is searched as those words;
# one that starts more is left to FTS5, which merges their doclists itself.
PREFIX_WORDS = 32
# FTS5's words as a table (fts5vocab): created per connection in its temporary schema, which
# a read-only archive (``mode=ro``) still lets a connection write.
_WORDS_TABLE = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS temp.articles_fts_words "
    "USING fts5vocab(main, articles_fts, instance)"
)
_NEXT_WORD = text("SELECT term FROM temp.articles_fts_words WHERE term >= :after LIMIT 1")


def fts5_query(session: Session, query: SearchQuery, *, with_exclusions: bool = False) -> str:
    """The query's FTS5 MATCH text, each prefix spelled as the index's words it starts.

    FTS5 answers ``"electr"*`` by merging the whole doclist of every word starting with
    "electr" into one, before it can give a single id: at a million articles, tens of
    milliseconds for a prefix of a common word, once for the newest matches and again for the
    snippets. The same words OR'd (``"electric" OR "electrical"``) are walked backwards and
    stop like any word. Both match the same articles: the words are all those of the index
    that start with the prefix (:func:`prefix_words`), and an ASCII prefix is what FTS5's
    tokenizer makes of it (lower-case letters and digits fold to themselves); a prefix with
    other letters, or one starting more than ``PREFIX_WORDS`` words, is left to FTS5.
    """
    words: dict[str, list[str]] = {}
    for term in [*query.positive_terms(), *(query.excluded if with_exclusions else ())]:
        prefix = term.tokens[0]
        if term.prefix and prefix.isascii() and prefix not in words:
            found = prefix_words(session, prefix, PREFIX_WORDS)
            if found:
                words[prefix] = found
    return to_fts5(query, with_exclusions=with_exclusions, words=words)


def prefix_words(session: Session, prefix: str, most: int) -> list[str] | None:
    """The FTS5 index's words that start with ``prefix``, in order; None if over ``most``.

    One seek per word: the vocabulary table's instances are ordered by word, and the first
    instance at or after a word is found from the index's term b-trees, so asking for the word
    after ``w`` (``w`` + NUL, the least string above it) skips ``w``'s whole doclist unread.
    Asking fts5vocab for the words with their counts instead walks every doclist.
    """
    conn = core_connection(session)
    conn.exec_driver_sql(_WORDS_TABLE)
    found: list[str] = []
    after = prefix
    while len(found) <= most:
        word = conn.execute(_NEXT_WORD, {"after": after}).scalar()
        if word is None or not str(word).startswith(prefix):
            return found
        found.append(str(word))
        after = str(word) + "\0"
    return None


def _pg_term(term: Term) -> Any:
    reg: ColumnClause[Any] = literal_column("'simple'::regconfig")
    if term.prefix:
        return func.to_tsquery(reg, literal(tsquery_lexeme(term.tokens[0]) + ":*"))
    # the raw text, so PostgreSQL cuts it as it cut the documents ("3.5", "e-tron")
    return func.phraseto_tsquery(reg, literal(term.text))


def pg_tsquery(query: SearchQuery) -> Any:
    """The query as a tsquery built from bound words (``phraseto_tsquery``) and prefixes.

    Terms are combined as balanced trees, so the nesting grows with the logarithm of the number
    of terms (a left-deep chain of ~90 OR'd terms overflowed the SQL compiler's recursion)."""
    groups = [_balanced(func.tsquery_or, [_pg_term(t) for t in g.terms]) for g in query.required]
    groups += [func.tsquery_not(_pg_term(t)) for t in query.excluded]
    return _balanced(func.tsquery_and, groups)


def _balanced(combine: Any, items: list[Any]) -> Any:
    if len(items) == 1:
        return items[0]
    middle = len(items) // 2
    return combine(_balanced(combine, items[:middle]), _balanced(combine, items[middle:]))


_SEARCH_VECTOR: ColumnClause[Any] = literal_column("articles.search_vector")


def _glob_pattern(token: str) -> str:
    """``città`` → ``*[cC][iI][tT][tT][àÀ]*``: case-blind, accent-exact (tokens are alphanumeric,
    so no GLOB metacharacter can come from the user)."""
    parts = []
    for ch in token:
        variants = sorted({v for v in (ch, ch.lower(), ch.upper()) if len(v) == 1})
        parts.append(variants[0] if len(variants) == 1 else "[" + "".join(variants) + "]")
    return "*" + "".join(parts) + "*"


def sqlite_prefilter(query: SearchQuery) -> list[ColumnElement[bool]]:
    """Cheap accent-exact necessary conditions, applied to FTS5's accent-folded candidates.

    Without them a query like ``electr*`` on a French archive would hand every "électrique"
    article to the Python checker only to be rejected; SQLite's C code drops them first. An
    ASCII word is ``LIKE '%word%'``: SQLite's LIKE folds ASCII letters only, so that is the same
    case-blind, accent-exact test as the word's GLOB pattern, and it skips both the character
    classes and a lower-cased copy of the body (over 2,400 candidate bodies: 9.7 ms with
    ``instr(lower(body), word)``, 6.6 ms); other words keep the GLOB. Words are letters and
    digits only, so neither pattern can get a wildcard from the user.
    """
    clauses: list[ColumnElement[bool]] = []
    for group in query.required:
        alternatives = []
        for term in group.terms:
            needs = []
            for token in term.tokens:
                if token.isascii():
                    pattern = literal("%" + token + "%")
                    needs.append(or_(Article.title.like(pattern), Article.body.like(pattern)))
                else:
                    pattern = literal(_glob_pattern(token))
                    needs.append(
                        or_(Article.title.op("GLOB")(pattern), Article.body.op("GLOB")(pattern))
                    )
            alternatives.append(and_(*needs))
        clauses.append(or_(*alternatives))
    return clauses


def match_clause(session: Session, query: SearchQuery) -> ColumnElement[bool]:
    """A WHERE clause selecting candidate articles; rows must still pass ``matches()``."""
    if session.get_bind().dialect.name == "sqlite":
        return and_(Article.id.in_(fts5_match_ids(query)), *sqlite_prefilter(query))
    return _SEARCH_VECTOR.op("@@")(pg_tsquery(query))


@functools.cache
def _hit_columns() -> tuple[Any, ...]:
    """The columns of a hit row, built once: SQL expressions are immutable and can be shared by
    every statement, and building the copy-count subquery anew showed in every search's profile."""
    return (
        Article.id,
        Article.url,
        Article.canonical_url,
        Source.name.label("source"),
        Article.title,
        Article.published,
        Article.lang,
        duplicate_count_column().label("duplicate_count"),
        Duplicate.original_id.label("duplicate_of"),
    )


def search(
    session: Session,
    query: str | SearchQuery,
    filters: SearchFilters | None = None,
    limit: int = 20,
    offset: int = 0,
    *,
    highlight: tuple[str, str] = HIGHLIGHT,
    order: str = "relevance",
    index: FacetIndex | None = None,
) -> list[SearchHit]:
    """Best matches first (``order="date"``: newest first); raises QuerySyntaxError for a query
    the parser refuses. With ``index`` (the archive's current ``facetindex.FacetIndex``), a
    filtered search on SQLite finds its filtered candidates on the index instead of walking
    the filter's rows."""
    parsed = parse_query(query) if isinstance(query, str) else query
    filters = filters or SearchFilters()
    limit, offset = max(0, limit), max(0, offset)
    if offset + limit > MAX_RESULT_DEPTH:
        # every row before the offset is ranked and checked: deep pages cost the whole match set
        raise ConfigError(
            f"results beyond the first {MAX_RESULT_DEPTH:,} are not listed: narrow the search "
            "(filters, more words) or export it"
        )
    if order not in ORDERS:
        raise ConfigError(f"unknown order {order!r}: use one of {', '.join(ORDERS)}")
    if limit == 0:
        return []
    if order == "date":
        return _search_by_date(session, parsed, filters, limit, offset, highlight, index)
    if session.get_bind().dialect.name == "sqlite":
        return _search_sqlite(session, parsed, filters, limit, offset, highlight, index)
    return _search_postgres(session, parsed, filters, limit, offset, highlight)


def _search_sqlite(
    session: Session,
    query: SearchQuery,
    filters: SearchFilters,
    limit: int,
    offset: int,
    highlight: tuple[str, str],
    index: FacetIndex | None = None,
) -> list[SearchHit]:
    fts_query = fts5_query(session, query)
    cap = _candidate_cap(limit, offset)
    # the newest matches by id: FTS5 walks its doclists backwards and stops, whatever their size
    newest = _newest_matches(session, fts_query, cap + 1)
    if not newest:
        return []
    if len(newest) <= cap or not _row_filters(filters):
        # every match, or the cap's newest ones; filters are applied to the ranked ids afterwards
        candidates = [int(i) for i in newest[:cap]]
    else:
        passing = index.matching(session, fts_query, filters) if index else None
        if passing is not None:
            # every match that passes the filters, from the index: the newest ``cap`` of them
            candidates = [int(i) for i in passing[::-1][:cap]]
        else:
            matched = _filtered_matches(session, query, fts_query, filters, cap, newest)
            ranked = _phrase_order(session, query, bm25(matched))
            return _sqlite_page(
                session, query, fts_query, filters, ranked, limit, offset, highlight
            )
    ranked = _phrase_order(session, query, bm25_ranked(session, query, candidates))
    return _sqlite_page(session, query, fts_query, filters, ranked, limit, offset, highlight)


def _phrase_order(
    session: Session, query: SearchQuery, ranked: list[tuple[int, float]]
) -> list[tuple[int, float]]:
    """A phrase's ranked candidates in recency tiers, as PostgreSQL ranks them (``in_tiers``)."""
    if not _has_phrase(query) or not ranked:
        return ranked
    return in_tiers(ranked, phrase_tiers(_newest_id(session)))


def _sqlite_page(
    session: Session,
    query: SearchQuery,
    fts_query: str,
    filters: SearchFilters,
    ranked: list[tuple[int, float]],
    limit: int,
    offset: int,
    highlight: tuple[str, str],
) -> list[SearchHit]:
    """The page of ``ranked`` (id, rank) FTS5 matches, in that order: rows read batch by batch
    past the filters and the accent-exact prefilter, checked by the exact rules, with FTS5's
    snippets; each hit's score is ``-rank``."""
    batches = _rank_batches(ranked, limit, offset)
    candidates = _hit_rows(session, batches, *filter_clauses(filters), *sqlite_prefilter(query))
    rows = _checked_page(candidates, query, limit, offset)
    snippets = _fts5_snippets(session, fts_query, [r.id for r, _ in rows], highlight)
    return [_hit(r, snippets.get(r.id, ""), -float(rank)) for r, rank in rows]


def core_connection(session: Session) -> Connection:
    """The session's connection, for statements whose rows are plain values: executed through
    the session, every statement and row also passed the ORM's compile and loading steps (a
    tenth of a new search's server time at 100,000 articles). Pending changes are flushed
    first, as the session would."""
    if session.new or session.dirty or session.deleted:
        session.flush()
    return session.connection()


_MATCH_MEMO = "newsarchive.fts5_ids"


def match_memo(session: Session) -> dict[str, Any]:
    """FTS5 match sets (ascending id arrays, by FTS5 query) read in the session's current
    transaction, kept by ``facetindex.fts5_ids``; empty in a new transaction."""
    transaction = session.get_transaction()
    memo = session.info.get(_MATCH_MEMO)
    if memo is None or memo[0] is not transaction:
        memo = (transaction, {})
        session.info[_MATCH_MEMO] = memo
    found: dict[str, Any] = memo[1]
    return found


def _newest_matches(session: Session, fts_query: str, count: int) -> list[int]:
    """The ``count`` newest (highest) ids FTS5 matches, highest first: from the match set this
    transaction already read for the counts when there is one (the same snapshot, so the same
    ids), else FTS5 walks its doclists backwards and stops."""
    known = match_memo(session).get(fts_query)
    if known is not None:
        return [int(i) for i in known[::-1][:count]]
    # rows unpacked here rather than through ``scalars()``: its filter over a thousand rows
    # took half of this read's 0.86 ms
    rows = (
        core_connection(session)
        .execute(_NEWEST_MATCHES, {"fts_query": fts_query, "n": count})
        .all()
    )
    return [int(i) for (i,) in rows]


_NEWEST_MATCHES = text(
    "SELECT rowid FROM articles_fts WHERE articles_fts MATCH :fts_query "
    "ORDER BY rowid DESC LIMIT :n"
)


def _candidate_cap(limit: int, offset: int) -> int:
    return max(RANK_CANDIDATES, 2 * (offset + limit))


def _row_filters(filters: SearchFilters) -> bool:
    """Whether a filter other than hiding copies is set (those need the article row)."""
    return any(
        (filters.source, filters.since, filters.until, filters.lang, filters.company, filters.topic)
    )


def _filtered_matches(
    session: Session,
    query: SearchQuery,
    fts_query: str,
    filters: SearchFilters,
    cap: int,
    newest: list[int],
) -> list[Counted]:
    """The newest ``cap`` articles that pass the filters and match by the exact rules, counted.

    Two walks give them, newest first, whichever is denser: the filters' indexes give the
    passing ids, and a batch at a time their rows are counted for the ranking
    (:func:`_counted`), which is also the match test (each of the query's groups has a term
    counted in the article); or FTS5 gives its matches (``newest``, then the ones below) and
    SQL keeps those that pass the filters, whose rows are then counted the same way. Either
    walk stops at ``cap`` exact matches and finds the same articles: the first suits a common
    word under a narrow filter, the second a rarer word under a broad one, where walking the
    passing articles would count thousands of rows for each match. The densities are those of
    the first batch of passing ids and of the newest matches (ids per id span); a prefix that
    FTS5 merges itself always takes the first walk, since each page of its matches is a merge.
    FTS5 used to test the passing ids, one doclist seek per id (67 ms per 400 ids on a
    30-segment index).
    """
    patterns = _patterns(query)
    groups = _group_slots(query)
    found: list[Counted] = []

    def take(ids: list[int]) -> bool:
        counted = _counted(session, patterns, ids)
        found.extend(c for c in counted if all(any(c[1][k] for k in g) for g in groups))
        return len(found) >= cap

    passing = (
        select(Article.id)
        .join(Source, Source.id == Article.source_id)
        .where(*filter_clauses(filters))
        .order_by(Article.id.desc())
        .execution_options(yield_per=_FILTER_BATCH)
    )
    result = core_connection(session).execute(passing)
    try:
        batches = result.partitions()
        first = [int(row.id) for row in next(batches, [])]
        if walk_matches(first, newest, fts_query):
            result.close()
            _walk_matches(session, fts_query, filters, newest, take)
        elif first and not take(first):
            for batch in batches:
                if take([int(row.id) for row in batch]):
                    break
    finally:
        result.close()
    found.sort(key=lambda c: -c[0])
    return found[:cap]


def walk_matches(first_passing: list[int], newest: list[int], fts_query: str) -> bool:
    """Whether to walk FTS5's matches (see :func:`_filtered_matches`): the newest matches are
    less than ``_WALK_COST_RATIO`` times as dense (per id) as a full first batch of passing ids.

    The walks cost per id they pass over, counted differently: the passing walk counts the row
    of each passing article (15-25 µs each at 1,000,000 articles), the match walk has FTS5 give
    a match id and SQL test the filters on it (2-6.5 µs), and each needs about ``cap`` over
    the density of the other side's ids to find ``cap`` articles that are both."""
    if len(first_passing) < _FILTER_BATCH or "*" in fts_query or len(newest) < 2:
        return False  # the passing articles are few, or FTS5 would merge a prefix per page
    passing_density = len(first_passing) / (first_passing[0] - first_passing[-1] + 1)
    match_density = len(newest) / (newest[0] - newest[-1] + 1)
    return match_density < _WALK_COST_RATIO * passing_density


_MATCHES_BELOW = text(
    "SELECT rowid FROM articles_fts WHERE articles_fts MATCH :fts_query AND rowid < :below "
    "ORDER BY rowid DESC LIMIT :n"
)


def _walk_matches(
    session: Session,
    fts_query: str,
    filters: SearchFilters,
    newest: list[int],
    take: Callable[[list[int]], bool],
) -> None:
    """FTS5's matches newest first, a page at a time (``newest``, then the ``_MATCH_PAGE``
    below the last), those that pass the filters handed to ``take`` until it has enough."""
    conn = core_connection(session)
    page = newest
    while page:
        passing = conn.scalars(
            select(Article.id)
            .join(Source, Source.id == Article.source_id)
            .where(
                Article.id.in_(
                    select(literal_column("value")).select_from(func.json_each(json.dumps(page)))
                ),
                *filter_clauses(filters),
            )
            .order_by(Article.id.desc())
        ).all()
        if passing and take([int(i) for i in passing]):
            return
        page = [
            int(i)
            for i in conn.scalars(
                _MATCHES_BELOW, {"fts_query": fts_query, "below": page[-1], "n": _MATCH_PAGE}
            ).all()
        ]


# (article id, each positive term's weighted frequency, body length in words)
Counted = tuple[int, list[float], int]


def _patterns(query: SearchQuery) -> list[re.Pattern[str]]:
    return [_term_pattern(t) for t in query.positive_terms()]


def _group_slots(query: SearchQuery) -> list[range]:
    """Each required group's positions in ``positive_terms()``."""
    slots, start = [], 0
    for group in query.required:
        slots.append(range(start, start + len(group.terms)))
        start += len(group.terms)
    return slots


def _counted(session: Session, patterns: list[re.Pattern[str]], ids: list[int]) -> list[Counted]:
    """The articles ``ids`` counted for BM25: each term's frequency in the title
    (``TITLE_WEIGHT``×) plus the body, by the exact matching rules, and the body's length."""
    if not ids:
        return []
    counted: list[Counted] = []
    for article_id, title, body, word_count in _candidate_rows(session, ids):
        title, body = _comparable(title), _comparable(body)
        tfs = [TITLE_WEIGHT * len(p.findall(title)) + len(p.findall(body)) for p in patterns]
        counted.append((int(article_id), tfs, max(1, int(word_count or 0))))
    return counted


def _candidate_rows(session: Session, ids: list[int]) -> list[Any]:
    """The rows of the articles ``ids`` (id, title, body, word_count), read through the driver's
    own cursor on the session's connection (the same transaction and snapshot).

    A thousand rows with their bodies, on every relevance search: SQLAlchemy's result took
    3.3-3.6 ms to hand them over, the DB-API cursor 1.9-2.1 ms. A driver error is raised as
    SQLAlchemy would raise it (:class:`~sqlalchemy.exc.DBAPIError`'s subclass for it), so that
    :func:`~newsarchive.archive.limits.time_limit` still turns SQLite's interrupt into
    ``QueryTimeoutError`` (the web app's 503) and the callers' error handling is unchanged.
    SQLAlchemy's statement events (``echo``, ``before_cursor_execute``) do not see it.
    """
    connection = core_connection(session)
    params = {"ids": json.dumps(ids)}
    raw: Any = connection.connection.driver_connection
    try:
        cursor = raw.execute(_CANDIDATE_SQL, params)
        try:
            rows: list[Any] = cursor.fetchall()
        finally:
            cursor.close()
    except connection.dialect.loaded_dbapi.Error as exc:
        raise DBAPIError.instance(
            _CANDIDATE_SQL, params, exc, connection.dialect.loaded_dbapi.Error
        ) from exc
    return rows


def _comparable(text_: str | None) -> str:
    """Text as the checker reads it (NFC, lower case); ASCII text is NFC already."""
    if not text_:
        return ""
    return (text_ if text_.isascii() else unicodedata.normalize("NFC", text_)).lower()


def bm25_ranked(session: Session, query: SearchQuery, ids: list[int]) -> list[tuple[int, float]]:
    """The candidates ``ids`` ranked by :func:`bm25` (rows counted here)."""
    return bm25(_counted(session, _patterns(query), ids))


def bm25(counted: list[Counted]) -> list[tuple[int, float]]:
    """Counted candidates by BM25, best first: (id, negated score), ties by id.

    Relevance on SQLite (README, "search"; docs/benchmarks.md, "The archive at scale"): Okapi
    BM25 (k1 1.2, b 0.75) whose statistics are those of the candidates themselves: N is their
    number, a term's document frequency the candidates containing it, the mean length theirs
    (``word_count``), IDF ``log(1 + (N - df + 0.5) / (df + 0.5))``. FTS5's own ``bm25`` takes
    its IDF from the whole archive by walking each phrase's whole doclist once per search: for
    a word in most of a million articles that walk was most of the search (a phrase's reads
    its positions too, a prefix's merges every word it starts), while the candidates are a
    thousand rows read by id. The score is negated, so that lower is better as with ``bm25``.
    """
    if not counted:
        return []
    n = len(counted)
    mean_length = sum(length for _, _, length in counted) / n
    dfs = [sum(1 for _, tfs, _ in counted if tfs[k]) for k in range(len(counted[0][1]))]
    idfs = [math.log(1 + (n - df + 0.5) / (df + 0.5)) for df in dfs]
    k1, b = 1.2, 0.75
    scored = []
    for article_id, tfs, length in counted:
        norm = k1 * (1 - b + b * length / mean_length)
        score = sum(idf * tf * (k1 + 1) / (tf + norm) for idf, tf in zip(idfs, tfs, strict=True))
        scored.append((article_id, -score))
    scored.sort(key=lambda pair: (pair[1], pair[0]))
    return scored


# The candidates' rows by id, the ids bound as one JSON array: one statement text whatever
# their number (an expanded ``IN`` list is rendered anew for each length).
_CANDIDATE_SQL = (
    "SELECT id, title, body, word_count FROM articles "
    "WHERE id IN (SELECT value FROM json_each(:ids))"
)


def _term_pattern(term: Term) -> re.Pattern[str]:
    """A term's words as a regular expression over lower-cased text (a phrase's words with
    anything but letters and digits between them; a prefix matches the word's start).

    The pattern starts with the first word itself and only then looks back for a letter before
    it: a leading look-behind made the engine try it at every position of the text (~12× the
    time over a thousand bodies), a leading literal lets it jump from one occurrence to the next.
    """
    first, *rest = (re.escape(token) for token in term.tokens)
    head = first + r"(?<![^\W_]" + first + ")"
    tail = r"[^\W_]*" if term.prefix else ""
    return re.compile(r"[\W_]+".join([head, *rest]) + tail + r"(?![^\W_])")


def _rank_batches(
    ranked: list[tuple[int, float]], limit: int, offset: int
) -> Iterator[list[tuple[int, float]]]:
    """Ranked ids in slices: the first one about the page's size, later ones larger."""
    size = max(40, 2 * (offset + limit))
    start = 0
    while start < len(ranked):
        yield ranked[start : start + size]
        start += size
        size = max(size, _CHECK_BATCH)


def _hit_rows(
    session: Session, batches: Iterable[list[tuple[int, float]]], *where: ColumnElement[bool]
) -> Iterator[tuple[Any, float]]:
    """Hit rows (bodies for the checker) with their rank, in rank order, read one batch of
    ranked ids at a time; ids that ``where`` refuses, or deleted since ranking, are dropped."""
    for batch in batches:
        fetched = {
            row.id: row
            for row in core_connection(session)
            .execute(
                select(*_hit_columns(), Article.body)
                .join(Source, Source.id == Article.source_id)
                .outerjoin(Duplicate, Duplicate.article_id == Article.id)
                .where(Article.id.in_([i for i, _ in batch]), *where)
            )
            .all()
        }
        for article_id, rank in batch:
            row = fetched.get(article_id)
            if row is not None:
                yield row, rank


def _fts5_snippets(
    session: Session, fts_query: str, ids: list[int], highlight: tuple[str, str]
) -> dict[int, str]:
    """FTS5's snippets of the page's ``ids``.

    ``rowid IN (…)`` handed to FTS5 runs the whole full-text query once per id (for a prefix,
    merging every matching word's doclist each time: ~10 ms for a page at 100,000 articles).
    So FTS5 gets the ids' range instead and walks the matches in it once, and the list is
    tested on each row it gives (``+rowid`` keeps the test out of FTS5's plan); snippets are
    cut for the page's rows only. A range wider than ``_SNIPPET_SCAN_SPAN`` ids (a filtered
    page spread over the archive) keeps the per-id plan, unless the query has a prefix FTS5
    expands itself (``*`` outside the quoted tokens, which are letters and digits only).
    """
    if not ids:
        return {}
    low, high = min(ids), max(ids)
    if high - low > _SNIPPET_SCAN_SPAN and "*" not in fts_query:
        low, high = 0, -1  # no range: the ids go to FTS5 itself
    stmt = text(
        "SELECT rowid, snippet(articles_fts, 1, :hl_start, :hl_end, '…', :tokens) "
        "FROM articles_fts WHERE articles_fts MATCH :fts_query AND "
        + ("rowid BETWEEN :low AND :high AND +rowid IN :ids" if low <= high else "rowid IN :ids")
    ).bindparams(bindparam("ids", expanding=True))
    result = core_connection(session).execute(
        stmt,
        {
            "hl_start": highlight[0],
            "hl_end": highlight[1],
            "tokens": SNIPPET_TOKENS,
            "fts_query": fts_query,
            "ids": ids,
            "low": low,
            "high": high,
        },
    )
    return {int(rowid): str(snippet or "") for rowid, snippet in result.all()}


def _search_postgres(
    session: Session,
    query: SearchQuery,
    filters: SearchFilters,
    limit: int,
    offset: int,
    highlight: tuple[str, str],
) -> list[SearchHit]:
    """The page from the newest ``cap`` matches under the filters, ranked by ``ts_rank_cd``.

    A query with a phrase reads them a recency tier at a time (:func:`phrase_tiers`), so that
    a page the newest tier fills never reads the older ones: PostgreSQL cannot find a phrase's
    matches cheaply. Its GIN index keeps no positions, and the planner costs a phrase as the
    conjunction of its words (``"supply chain"``: ~720,000 matches estimated at 1,000,000
    articles, 11,698 real), so it walks the primary key backwards and tests each row's
    ``tsvector`` (~4.8 kB, uncompressed in TOAST: 4.5 buffers a row) until it has ``cap`` of
    them: 80,917 rows for that phrase. A bitmap of the GIN index would recheck every article
    holding both words instead (734,812). Within the newest ``PHRASE_WINDOW`` articles the
    walk is bounded whatever the phrase (5,000 rows); older tiers are read only when a page
    needs more (a rare phrase, a deep page, or candidates the checker refuses). An index of
    word pairs would find a phrase's matches exactly, at several times the size of the word
    index and milliseconds per stored article (docs/benchmarks.md, "The archive at scale").
    """
    tsq = pg_tsquery(query)
    cap = _candidate_cap(limit, offset)
    where = [_SEARCH_VECTOR.op("@@")(tsq), *filter_clauses(filters)]

    def batches() -> Iterator[list[tuple[int, float]]]:
        wanted = cap
        tiers = phrase_tiers(_newest_id(session)) if _has_phrase(query) else [(None, None)]
        for low, high in tiers:
            tier = _pg_ranked(session, tsq, where, low, high, wanted)
            yield from _rank_batches(tier, limit, offset)
            wanted -= len(tier)
            if wanted <= 0:
                return

    rows = _checked_page(_hit_rows(session, batches()), query, limit, offset)
    return [_hit(r, snippet(query, r.body, highlight), -float(rank)) for r, rank in rows]


def _pg_ranked(
    session: Session,
    tsq: Any,
    where: list[ColumnElement[bool]],
    low: int | None,
    high: int | None,
    cap: int,
) -> list[tuple[int, float]]:
    """The newest ``cap`` matches with ids in (``low``, ``high``], best first: (id, -rank).

    Only ids and ranks leave the server. The rank is computed above the ``LIMIT``, for the
    candidates alone: inside it, PostgreSQL computed ``ts_rank_cd`` (reading each ``tsvector``
    from TOAST a second time) for every row that passed the filters before sorting them by id
    (3,300 rows for one source and six months at 1,000,000 articles, to keep 1,000).
    """
    bounds = []
    if low is not None:
        bounds.append(Article.id > low)
    if high is not None:
        bounds.append(Article.id <= high)
    # the newest matches by id (the GIN index, or the primary key walked backwards for a word
    # that is everywhere)
    candidates = (
        select(Article.id.label("id"), _SEARCH_VECTOR.label("vector"))
        .join(Source, Source.id == Article.source_id)
        .where(*where, *bounds)
        .order_by(Article.id.desc())
        .limit(cap)
        .subquery("candidates")
    )
    rank = func.ts_rank_cd(candidates.c.vector, tsq).label("rank")
    ranked = select(candidates.c.id, rank).order_by(rank.desc(), candidates.c.id)
    return [(int(i), -float(r)) for i, r in core_connection(session).execute(ranked)]


def _has_phrase(query: SearchQuery) -> bool:
    """Whether a term the query needs is several words (its candidates come in tiers)."""
    return any(len(term.tokens) > 1 for term in query.positive_terms())


def _newest_id(session: Session) -> int | None:
    newest = core_connection(session).execute(select(func.max(Article.id))).scalar()
    return None if newest is None else int(newest)


def phrase_tiers(newest: int | None) -> list[tuple[int | None, int | None]]:
    """The recency tiers of a phrase's candidates as (low, high] id bounds, newest first.

    The newest ``PHRASE_WINDOW`` ids, then each tier ``_TIER_GROWTH`` times as many older ones,
    the last unbounded below (None), the first above; an empty archive has none. The tiers
    grow so that a phrase sparse in the newest articles reaches a page's worth of matches in a
    few statements rather than one per window.
    """
    if newest is None:
        return []
    tiers: list[tuple[int | None, int | None]] = []
    high: int | None = None
    size = PHRASE_WINDOW
    low = newest - size
    while low > 0:
        tiers.append((low, high))
        high = low
        size *= _TIER_GROWTH
        low -= size
    tiers.append((None, high))
    return tiers


def in_tiers(
    ranked: list[tuple[int, float]], tiers: list[tuple[int | None, int | None]]
) -> list[tuple[int, float]]:
    """``ranked`` (id, rank) candidates a tier at a time, newest tier first, in rank order
    within each: the order PostgreSQL reads them in (see :func:`_search_postgres`)."""
    if len(tiers) < 2:
        return ranked
    # a tier's number is how many tiers' lower bounds the id is at or below
    lows = sorted(low for low, _ in tiers if low is not None)
    return sorted(ranked, key=lambda pair: len(lows) - bisect.bisect_left(lows, pair[0]))


def _search_by_date(
    session: Session,
    query: SearchQuery,
    filters: SearchFilters,
    limit: int,
    offset: int,
    highlight: tuple[str, str],
    index: FacetIndex | None = None,
) -> list[SearchHit]:
    """Matches newest first (publication date, else first seen); the score is 0.

    The date index gives rows in order, so only as many candidates are checked as the page
    needs; the rank is not computed at all. On SQLite with the facet ``index``, the match's
    ids are put in date order on the index's arrays instead: SQL would read and GLOB-check the
    body of every match to sort them (a common word: every article), the arrays sort ids and
    dates, and rows are read only for the page's candidates.
    """
    sqlite = session.get_bind().dialect.name == "sqlite"
    if sqlite and index is not None:
        fts_query = fts5_query(session, query)
        ordered = index.by_date(session, fts_query, filters)
        if ordered is not None:
            newest_first = [(int(i), -0.0) for i in ordered]  # no rank: every score is 0.0
            return _sqlite_page(
                session, query, fts_query, filters, newest_first, limit, offset, highlight
            )
    stmt = (
        select(*_hit_columns(), Article.body)
        .join(Source, Source.id == Article.source_id)
        .outerjoin(Duplicate, Duplicate.article_id == Article.id)
        .where(match_clause(session, query), *filter_clauses(filters))
        .order_by(article_date().desc(), Article.id.desc())
        .execution_options(yield_per=_CHECK_BATCH)
    )
    result = session.execute(stmt)
    try:
        rows = _checked_page(((r, 0.0) for r in result), query, limit, offset)
    finally:
        result.close()
    if not sqlite:
        return [_hit(r, snippet(query, r.body, highlight), 0.0) for r, _ in rows]
    snippets = _fts5_snippets(
        session, fts5_query(session, query), [r.id for r, _ in rows], highlight
    )
    return [_hit(r, snippets.get(r.id, ""), 0.0) for r, _ in rows]


def latest(
    session: Session, filters: SearchFilters | None = None, limit: int = 20, offset: int = 0
) -> list[SearchHit]:
    """Articles under ``filters`` without a query, newest first; the snippet is the text's
    beginning (or the page's description)."""
    filters = filters or SearchFilters()
    lead = func.substr(Article.body, 1, LATEST_SNIPPET_CHARS + 1).label("lead")
    stmt = (
        select(*_hit_columns(), Article.description, lead)
        .join(Source, Source.id == Article.source_id)
        .outerjoin(Duplicate, Duplicate.article_id == Article.id)
        .where(*filter_clauses(filters))
        .order_by(article_date().desc(), Article.id.desc())
        .limit(max(0, limit))
        .offset(max(0, offset))
    )
    hits = []
    for row in session.execute(stmt):
        text_ = row.description or row.lead or ""
        if len(text_) > LATEST_SNIPPET_CHARS:
            text_ = text_[:LATEST_SNIPPET_CHARS].rsplit(" ", 1)[0] + "…"
        hits.append(_hit(row, text_, 0.0))
    return hits


def _checked_page(
    ranked_rows: Iterable[tuple[Any, float]], query: SearchQuery, limit: int, offset: int
) -> list[tuple[Any, float]]:
    """Walk ranked candidates, keep those that match the documented rules, return one page.

    Stops reading as soon as the page is full, so later candidates are never fetched.
    """
    rows: list[tuple[Any, float]] = []
    skipped = 0
    for row, rank in ranked_rows:
        if not matches(query, row.title, row.body):
            continue
        if skipped < offset:
            skipped += 1
            continue
        rows.append((row, rank))
        if len(rows) >= limit:
            break
    return rows


def _hit(row: Any, snippet: str, score: float) -> SearchHit:
    return SearchHit(
        id=row.id,
        url=row.url,
        canonical_url=row.canonical_url,
        source=row.source,
        title=row.title,
        published=row.published,
        lang=row.lang,
        snippet=" ".join(snippet.split()),
        score=score,
        duplicate_count=int(row.duplicate_count or 0),
        duplicate_of=row.duplicate_of,
    )


def iter_matching_ids(session: Session, query: str, filters: SearchFilters) -> Iterator[int]:
    """Every matching id in id order (no ranking), for tests and bulk tools."""
    parsed = parse_query(query)
    clause = match_clause(session, parsed)

    stmt = (
        select(Article.id, Article.title, Article.body)
        .join(Source, Source.id == Article.source_id)
        .where(clause, *filter_clauses(filters))
        .order_by(Article.id)
        .execution_options(yield_per=_CHECK_BATCH)
    )
    for row in session.execute(stmt):
        if matches(parsed, row.title, row.body):
            yield row.id
