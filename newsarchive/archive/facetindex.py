"""The columns facets and timelines count, held in memory as arrays, one copy per archive state.

Why: counting a search's matches in SQL reads every matched article row, its copy link and its
company and topic rows, for every new search — about 1.5 s for the front page of a 100,000-article
archive and hundreds of milliseconds for a common word (docs/benchmarks.md, "Web app latency").
The counts only need a few small columns per article (source, language, date, local day, copy or
not, companies, topics): 100,000 articles take a few megabytes as numpy arrays, and a facet is
then one ``bincount`` over a boolean mask. SQL still finds the matches (the FTS5 index or the
tsvector, as ids only) and the accent-exact check; the filters and every count run here.

The arrays are a copy of one archive state, tagged with ``facets.archive_version``; a caller
uses them only while the archive's version is the same (:meth:`FacetIndexes.current`), so a
count is never stale. A read-only server builds them once at start and again, in the
background, after a crawl changed the archive; until a rebuild is ready the SQL counts answer.
The filters below follow ``search.filter_clauses`` rule by rule (including SQLite's ASCII-only
``lower()``); ``tests/archive/test_facet_index.py`` checks both give the same counts.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy import (
    BigInteger,
    Float,
    Integer,
    String,
    cast,
    func,
    literal_column,
    select,
    text,
)

from newsarchive.archive.localtime import MAX_OFFSET, article_local_day
from newsarchive.archive.models import (
    AccentedArticle,
    Article,
    ArticleCompany,
    ArticleTopic,
    Capture,
    Duplicate,
    Source,
)
from newsarchive.archive.search import (
    article_date,
    company_names,
    core_connection,
    match_memo,
)
from newsarchive.errors import ArchiveError

if TYPE_CHECKING:
    from collections.abc import Sequence

    import numpy.typing as npt
    from sqlalchemy import Select
    from sqlalchemy.orm import Session

    from newsarchive.archive import Archive
    from newsarchive.archive.search import SearchFilters

    Version = tuple[int, int, int]
    Mask = npt.NDArray[np.bool_]
    Ints = npt.NDArray[np.int64]

logger = logging.getLogger(__name__)

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
EPOCH_DAY = date(1970, 1, 1)
_US_PER_DAY = 86_400_000_000
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def sql_lower(value: str, backend: str) -> str:
    """``lower()`` as the backend computes it: SQLite folds ASCII letters only."""
    return value.translate(_ASCII_LOWER) if backend == "sqlite" else value.lower()


def micros(value: datetime) -> int:
    """Microseconds since 1970 (UTC) of an aware datetime, as the index stores dates."""
    return (value - EPOCH) // timedelta(microseconds=1)


def _joined(session: Session, column: Any) -> Any:
    """An aggregate of ``column``'s integers as one comma-joined string."""
    if session.get_bind().dialect.name == "sqlite":
        return func.group_concat(column)
    return func.string_agg(cast(column, String), literal_column("','"))


def _parsed(joined: Any) -> Ints:
    if not joined:
        return np.zeros(0, np.int64)
    return np.fromstring(str(joined), dtype=np.int64, sep=",")


def id_array(session: Session, stmt: Select[Any]) -> Ints:
    """The single integer column of ``stmt`` as an array, read as one comma-joined string
    (``group_concat`` / ``string_agg``): ~10× cheaper than a Python row per id."""
    column = next(iter(stmt.subquery().c))
    # on the connection: the session would pass it through the ORM's compile step
    return _parsed(core_connection(session).scalar(select(_joined(session, column))))


def fts5_ids(session: Session, fts_query: str) -> Ints:
    """The ids (ascending) FTS5 matches for ``fts_query``, read once per transaction.

    A search page asks up to three times for the same match set (its counts, its filtered
    candidates, the newest matches it ranks), and reading a common word's ids costs
    milliseconds of SQLite work each time; the answer is kept on the session for the rest of
    its transaction (the same snapshot), the last two queries only
    (``search.remembered_matches``)."""
    found = match_memo(session)
    ids = found.get(fts_query)
    if ids is None:
        stmt: Select[Any] = (
            select(literal_column("rowid"))
            .select_from(text("articles_fts"))
            .where(text("articles_fts MATCH :fts_ids").bindparams(fts_ids=fts_query))
        )
        ids = np.sort(id_array(session, stmt))
        if session.get_transaction() is not None:
            while len(found) >= 2:
                del found[next(iter(found))]
            found[fts_query] = ids
    return ids


@dataclass(slots=True, frozen=True)
class Pairs:
    """Rows of an (article, value) table: each row's article position and value code."""

    position: Ints
    code: Ints
    names: list[str]

    def count(self, mask: Mask) -> list[tuple[str, int]]:
        return _counted(self.names, self.code[mask[self.position]])

    def having(self, codes: list[int], size: int) -> Mask:
        """Which articles have a row with one of ``codes``."""
        mask = np.zeros(size, np.bool_)
        mask[self.position[np.isin(self.code, codes)]] = True
        return mask


@dataclass(slots=True)
class Counts:
    """What :meth:`FacetIndex.groups` counts: (value, articles) per facet, and (day, source or
    None, articles) rows."""

    total: int
    sources: list[tuple[str, int]]
    languages: list[tuple[str, int]]
    companies: list[tuple[str, int]]
    topics: list[tuple[str, int]]
    days: list[tuple[date, str | None, int]]


@dataclass(slots=True, frozen=True)
class FacetIndex:
    """One archive state's facet columns, in ``ids`` order (see the module docstring)."""

    version: Version
    backend: str
    ids: Ints  # article ids, ascending
    source: Ints  # code into source_names
    source_names: list[str]
    lang: Ints  # code into langs
    langs: list[str | None]
    when: Ints  # article_date() in microseconds since 1970, UTC
    day: Ints  # UTC day of article_date(), days since 1970 (the per-day counts)
    local_day: Ints  # the publisher's day (localtime.article_local_day), days since 1970
    copy: Mask  # listed in duplicates as a copy
    accented: Mask  # listed in accented_articles (a word FTS5 folds, see migration 0008)
    companies: Pairs
    topics: Pairs

    @property
    def size(self) -> int:
        return len(self.ids)

    def positions(self, ids: Ints) -> Ints | None:
        """Positions of ``ids``; None when one is not in this state (the archive moved on)."""
        pos = np.searchsorted(self.ids, ids)
        if len(ids) and (pos.max() >= self.size or not np.array_equal(self.ids[pos], ids)):
            return None
        return pos

    def select(self, filters: SearchFilters, ids: Ints | None = None) -> Mask | None:
        """The articles the filters select, among ``ids`` if given (None: ``ids`` are not all
        in this state). Rule for rule ``search.filter_clauses``."""
        if ids is None:
            mask = np.ones(self.size, np.bool_)
        else:
            pos = self.positions(ids)
            if pos is None:
                return None
            mask = np.zeros(self.size, np.bool_)
            mask[pos] = True
        if filters.source:
            mask &= np.isin(self.source, _where(self.source_names, lambda n: n == filters.source))
        if filters.since_day:
            mask &= self.when >= micros(_shift(filters.since, -MAX_OFFSET))
            mask &= self.local_day >= (filters.since_day - EPOCH_DAY).days
        elif filters.since:
            mask &= self.when >= micros(filters.since)
        if filters.until_day:
            mask &= self.when < micros(_shift(filters.until, MAX_OFFSET))
            mask &= self.local_day < (filters.until_day - EPOCH_DAY).days
        elif filters.until:
            mask &= self.when < micros(filters.until)
        if filters.lang:
            wanted = filters.lang.lower()

            def lang_ok(value: str | None) -> bool:
                if value is None:
                    return False
                lowered = sql_lower(value, self.backend)
                return lowered == wanted or lowered.startswith(wanted + "-")

            mask &= np.isin(self.lang, _where(self.langs, lang_ok))
        if filters.company:
            names = {sql_lower(n, self.backend) for n in company_names(filters.company)}
            codes = _where(self.companies.names, lambda n: sql_lower(n, self.backend) in names)
            mask &= self.companies.having(codes, self.size)
        if filters.topic:
            codes = _where(self.topics.names, lambda n: n == filters.topic)
            mask &= self.topics.having(codes, self.size)
        if not filters.include_duplicates:
            mask &= ~self.copy
        return mask

    def matching(self, session: Session, fts_query: str, filters: SearchFilters) -> Ints | None:
        """The ids (ascending) among FTS5's matches of ``fts_query`` that pass ``filters``: one
        read of the match's ids (:func:`fts5_ids`), the filters on the arrays; None if the
        match names an article this state does not hold."""
        mask = self.select(filters, fts5_ids(session, fts_query))
        return None if mask is None else self.ids[mask]

    def by_date(self, session: Session, fts_query: str, filters: SearchFilters) -> Ints | None:
        """:meth:`matching`'s ids newest first, as ``search`` orders by date: the article
        date descending, then the id descending; None as for :meth:`matching`."""
        mask = self.select(filters, fts5_ids(session, fts_query))
        if mask is None:
            return None
        ids, when = self.ids[mask], self.when[mask]
        return ids[np.lexsort((-ids, -when))]

    def groups(self, mask: Mask, *, by_source: bool) -> Counts:
        """Counts of the selected articles: total, per source, language, company, topic and
        day (with ``by_source``: per day and source), as ``facets._Groups`` keeps them."""
        days = self.day[mask]
        sources = self.source[mask]
        if by_source:
            width = len(self.source_names)
            keys, counts = np.unique(days * width + sources, return_counts=True)
            names = [self.source_names[c] for c in (keys % width).tolist()]
            per_day: list[tuple[date, str | None, int]] = list(
                zip(_dates(keys // width), names, counts.tolist(), strict=True)
            )
        else:
            keys, counts = np.unique(days, return_counts=True)
            per_day = list(zip(_dates(keys), itertools.repeat(None), counts.tolist()))
        return Counts(
            total=int(mask.sum()),
            sources=_counted(self.source_names, sources),
            languages=_counted(["" if v is None else v for v in self.langs], self.lang[mask]),
            companies=self.companies.count(mask),
            topics=self.topics.count(mask),
            days=per_day,
        )


def _where(names: Sequence[Any], keep: Any) -> list[int]:
    return [code for code, name in enumerate(names) if keep(name)]


def _counted(names: Sequence[str], codes: Ints) -> list[tuple[str, int]]:
    """(value, count) of each value that occurs, as SQL's GROUP BY lists them (a list, not a
    dict: a NULL and an empty language are two groups that both show as "")."""
    counts = np.bincount(codes, minlength=len(names))
    return [(names[int(c)], int(counts[c])) for c in np.flatnonzero(counts)]


def _dates(days: Ints) -> list[date]:
    """Days since 1970 as dates, converted by numpy in one call: for three years of days a
    ``timedelta`` per day took 1.1 ms of a search page's counting, this 0.12 ms."""
    dates: list[date] = days.astype("datetime64[D]").tolist()
    return dates


def _shift(value: datetime | None, delta: timedelta) -> datetime:
    assert value is not None  # set together with the day by SearchFilters.from_params
    try:
        return value + delta
    except OverflowError:
        return value


def _date_columns(session: Session) -> list[Any]:
    """article_date() in microseconds since 1970 and the local day in days since 1970."""
    if session.get_bind().dialect.name == "sqlite":
        # UTC text "YYYY-MM-DD HH:MM:SS[.ffffff]": whole seconds, then the fraction padded
        stored = cast(article_date(), String)
        # whole seconds of the text cut before its fraction: strftime rounds to milliseconds
        # (23:59:59.9999 would become the next day)
        whole = func.substr(stored, literal_column("1"), literal_column("19"))
        seconds = cast(func.strftime(literal_column("'%s'"), whole), Integer)
        padded = stored.concat(literal_column("'000000'"))
        fraction = cast(func.substr(padded, literal_column("21"), literal_column("6")), Integer)
        julian = func.julianday(article_local_day(), type_=Float)
        day = cast(julian - literal_column("2440587.5"), Integer)
        return [seconds * literal_column("1000000") + fraction, day]
    epoch_us = cast(func.extract("epoch", article_date()) * 1_000_000, BigInteger)
    # date - date is a number of days in PostgreSQL
    day = cast(article_local_day() - literal_column("DATE '1970-01-01'"), Integer)
    return [epoch_us, day]


def archive_version(session: Session) -> Version:
    """A cheap fingerprint that changes whenever a crawl stores something: the newest article
    and capture ids (every fetch, refetch and new version adds a capture) and the number of
    copy links. Three index lookups; anything computed from the archive (an answer, this index)
    is valid while it is unchanged."""
    conn = core_connection(session)  # plain values: no ORM step (this runs on every request)
    newest_article = conn.scalar(select(func.max(Article.id)))
    newest_capture = conn.scalar(select(func.max(Capture.id)))
    links = conn.scalar(select(func.count()).select_from(Duplicate))
    return int(newest_article or 0), int(newest_capture or 0), int(links or 0)


def build_facet_index(session: Session, version: Version) -> FacetIndex:
    """Read the facet columns of every article; ``version`` is the state the caller read
    before. Each column comes as one joined string (a whole-table aggregate, or one per
    source, language, company, topic through their indexes), so no Python row per article.

    The statements need not see one snapshot: if the archive changed meanwhile, rows of the
    newer state may be in the arrays, but they are tagged with the older ``version``, which no
    reader will ask for again (the version only moves forward)."""
    backend = session.get_bind().dialect.name
    when_us, local = _date_columns(session)
    joined = session.execute(
        select(_joined(session, Article.id), _joined(session, when_us), _joined(session, local))
    ).one()
    ids, when, local_day = (_parsed(j) for j in joined)
    order = np.argsort(ids, kind="stable")
    ids, when, local_day = ids[order], when[order], local_day[order]
    names = {int(i): str(n) for i, n in session.execute(select(Source.id, Source.name))}
    source, source_ids = _grouped_codes(session, ids, Article.source_id, Article.id)
    lang, langs = _grouped_codes(session, ids, Article.lang, Article.id)
    copies = id_array(session, select(Duplicate.article_id))
    accented = id_array(session, select(AccentedArticle.article_id))
    return FacetIndex(
        version=version,
        backend=backend,
        ids=ids,
        source=source,
        source_names=[names.get(i, "") for i in source_ids],
        lang=lang,
        langs=langs,
        when=when,
        day=np.floor_divide(when, _US_PER_DAY),
        local_day=local_day,
        copy=np.isin(ids, copies),
        accented=np.isin(ids, accented),
        companies=_pairs(session, ids, ArticleCompany.company, ArticleCompany.article_id),
        topics=_pairs(session, ids, ArticleTopic.topic, ArticleTopic.article_id),
    )


def _groups(session: Session, key: Any, article_id: Any) -> list[tuple[Any, Ints]]:
    """(value, ids of the articles with it) per distinct value of ``key``."""
    rows = session.execute(select(key, _joined(session, article_id)).group_by(key))
    return [(value, _parsed(joined)) for value, joined in rows]


def _located(ids: Ints, wanted: Ints) -> Ints:
    """Positions in ``ids`` of those ``wanted`` that are in it."""
    pos = np.searchsorted(ids, wanted)
    pos = np.minimum(pos, max(len(ids) - 1, 0))
    return pos[ids[pos] == wanted] if len(ids) else pos[:0]


def _grouped_codes(
    session: Session, ids: Ints, key: Any, article_id: Any
) -> tuple[Ints, list[Any]]:
    """A code per article (position in the returned values) of the column ``key``."""
    codes = np.zeros(len(ids), np.int64)
    values = []
    for code, (value, members) in enumerate(_groups(session, key, article_id)):
        codes[_located(ids, members)] = code
        values.append(value)
    return codes, values


def _pairs(session: Session, ids: Ints, key: Any, article_id: Any) -> Pairs:
    positions, codes, names = [], [], []
    for code, (value, members) in enumerate(_groups(session, key, article_id)):
        found = _located(ids, members)
        positions.append(found)
        codes.append(np.full(len(found), code, np.int64))
        names.append(str(value))
    if not names:
        return Pairs(np.zeros(0, np.int64), np.zeros(0, np.int64), [])
    return Pairs(np.concatenate(positions), np.concatenate(codes), names)


class FacetIndexes:
    """The facet index of an archive's current state, rebuilt when the archive changes.

    :meth:`current` answers with the index only when it was built at the version the caller
    read; otherwise it starts one rebuild in a background thread (never two at once) and
    answers None, so the caller counts in SQL meanwhile.
    """

    def __init__(self, archive: Archive) -> None:
        self.archive = archive
        self.index: FacetIndex | None = None
        self._lock = threading.Lock()
        self._building = False

    def build(self) -> FacetIndex:
        """Build the index now, in this thread (a server does it once before it serves)."""
        started = time.perf_counter()
        with self.archive.session() as session:
            index = build_facet_index(session, archive_version(session))
        with self._lock:
            self.index = index
        logger.info("facet index: %d articles in %.2f s", index.size, time.perf_counter() - started)
        return index

    def current(self, version: Version) -> FacetIndex | None:
        index = self.index
        if index is not None and index.version == version:
            return index
        with self._lock:
            if self._building:
                return None
            self._building = True
        threading.Thread(target=self._rebuild, name="facet-index", daemon=True).start()
        return None

    def _rebuild(self) -> None:
        try:
            self.build()
        except ArchiveError:
            # a background thread: nobody else would see it; the SQL counts keep answering
            logger.exception("facet index rebuild failed")
        finally:
            with self._lock:
                self._building = False
