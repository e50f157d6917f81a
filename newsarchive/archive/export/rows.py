"""Reading export rows: one streamed ``SELECT`` in id order, in batches of plain tuples.

Rows come through a streaming cursor (``yield_per``; a server-side cursor on PostgreSQL), so the
archive's size never shows in memory. Each row holds the exported fields first, in their order,
then the helper columns a writer or the dataset card asked for (``published_offset`` to print
``published`` in the publisher's offset, ``source``/``lang`` for the card…), each once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import BigInteger, Text, cast, func, select, type_coerce

from newsarchive.archive.export.schema import BY_NAME, COPY_COUNTS, Field, Kind
from newsarchive.archive.models import Article, Duplicate, Source
from newsarchive.archive.search import SearchFilters, article_date, filter_clauses, match_clause
from newsarchive.archive.searchquery import matches, parse_query

if TYPE_CHECKING:
    from collections.abc import Generator, Iterable, Sequence

    from sqlalchemy import ColumnElement
    from sqlalchemy.orm import Session

logger = logging.getLogger(__name__)

FETCH_BATCH = 500
# Helper columns that are not export fields.
_HELPERS: dict[str, Any] = {
    "effective_date": article_date,
    "match_title": lambda: Article.title,
    "match_body": lambda: Article.body,
}


@dataclass(slots=True)
class RowStream:
    """The export's rows for ``fields`` plus helper columns ``extras``, under ``filters``.

    ``where`` narrows it further (one partition). ``query`` is the search language, applied as
    search applies it: the SQL prefilter, then the exact check on title and body.
    """

    fields: tuple[Field, ...]
    filters: SearchFilters = field(default_factory=SearchFilters)
    query: str | None = None
    extras: tuple[str, ...] = ()
    where: tuple[ColumnElement[bool], ...] = ()
    # Parquet reads timestamps and lists undecoded (SQLite text, JSON text) and converts a whole
    # batch at once, which is several times cheaper than SQLAlchemy's per-value processing.
    raw: bool = False
    names: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        names = [f.name for f in self.fields]
        wanted = list(self.extras)
        if self.query is not None:
            parse_query(self.query)  # a syntax error fails before any output
            wanted += ["match_title", "match_body"]
        names += [n for n in dict.fromkeys(wanted) if n not in names]
        self.names = tuple(names)

    def pos(self, name: str) -> int:
        return self.names.index(name)

    def narrowed(self, *clauses: ColumnElement[bool]) -> RowStream:
        return RowStream(self.fields, self.filters, self.query, self.extras, clauses, self.raw)

    def _columns(self, dialect: str) -> list[Any]:
        columns = []
        for i, name in enumerate(self.names):
            column = BY_NAME[name].column() if name in BY_NAME else _HELPERS[name]()
            kind = self.fields[i].kind if i < len(self.fields) else None
            if self.raw and kind is Kind.LIST:
                column = cast(column, Text)  # JSON text: PostgreSQL's jsonb decoding is costly
            elif self.raw and kind is Kind.TIMESTAMP and dialect == "postgresql":
                # whole microseconds since the epoch: no datetime object per value
                column = cast(func.extract("epoch", column) * 1_000_000, BigInteger)
            elif self.raw and kind is Kind.TIMESTAMP:
                column = type_coerce(column, Text)  # SQLite's text as stored, UTC
            columns.append(column.label(f"c{i}"))
        return columns

    def batches(
        self, session: Session, size: int = FETCH_BATCH
    ) -> Generator[list[tuple[Any, ...]]]:
        """Lists of up to ``size`` rows (tuples in ``names`` order), in id order."""
        parsed = parse_query(self.query) if self.query is not None else None
        stmt = (
            select(*self._columns(session.get_bind().dialect.name))
            .select_from(Article)
            .join(Source, Source.id == Article.source_id)
            .outerjoin(Duplicate, Duplicate.article_id == Article.id)
            .where(*filter_clauses(self.filters), *self.where)
            .order_by(Article.id)
            .execution_options(yield_per=size)
        )
        if "duplicate_count" in self.names:
            stmt = stmt.outerjoin(COPY_COUNTS, COPY_COUNTS.c.original_id == Article.id)
        if parsed is not None:
            stmt = stmt.where(match_clause(session, parsed))
        result = session.connection().execute(stmt)
        try:
            title_at = self.pos("match_title") if parsed is not None else -1
            for part in result.partitions(size):
                rows: Iterable[Any] = part
                if parsed is not None:
                    rows = [r for r in part if matches(parsed, r[title_at], r[title_at + 1])]
                batch = [tuple(r) for r in rows]
                if batch:
                    yield batch
        finally:
            result.close()


def effective_date_bounds(session: Session, stream: RowStream) -> tuple[Any, Any]:
    """(min, max) of published-else-first-seen under the stream's filters, through the index."""
    stmt = (
        select(article_date())
        .select_from(Article)
        .join(Source, Source.id == Article.source_id)
        .where(*filter_clauses(stream.filters))
    )
    low = session.scalar(stmt.order_by(article_date()).limit(1))
    high = session.scalar(stmt.order_by(article_date().desc()).limit(1))
    return low, high


def distinct_values(session: Session, stream: RowStream, column: Any) -> Sequence[Any]:
    """The distinct values of ``column`` among the stream's articles (before the text query)."""
    stmt = (
        select(column)
        .select_from(Article)
        .join(Source, Source.id == Article.source_id)
        .where(*filter_clauses(stream.filters))
        .distinct()
    )
    values = list(session.scalars(stmt))
    return sorted(values, key=lambda v: (v is None, v or ""))


_END = object()


@dataclass(slots=True)
class _Failure:
    error: BaseException


def prefetched(batches: Generator[list[tuple[Any, ...]]], depth: int = 4) -> Generator[list[Any]]:
    """Read ``batches`` in a thread, up to ``depth`` ahead, so fetching overlaps writing.

    The database driver and the Parquet encoder release the GIL while they work, so the next
    batch arrives while the last one is compressed. Only the thread touches the cursor; closing
    this generator stops the thread and closes ``batches`` there.
    """
    import queue
    import threading

    handoff: queue.Queue[Any] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: Any) -> bool:
        while not stop.is_set():
            try:
                handoff.put(item, timeout=0.1)
            except queue.Full:
                continue
            return True
        return False

    def produce() -> None:
        try:
            for batch in batches:
                if not put(batch):
                    break
        except Exception as exc:  # noqa: BLE001 - a thread boundary: the consumer re-raises it
            put(_Failure(exc))
        finally:
            batches.close()
            put(_END)

    thread = threading.Thread(target=produce, name="export-prefetch", daemon=True)
    thread.start()
    try:
        while (item := handoff.get()) is not _END:
            if isinstance(item, _Failure):
                raise item.error
            yield item
    finally:
        stop.set()
        thread.join()
