"""The publisher's calendar day of an article, in SQL, on either backend.

``published`` is stored in UTC with ``published_offset`` (minutes east of UTC, as the page
stated it). An article published at 00:30 in Paris belongs to that day for its readers, so date
filters given as bare days (``--since 2024-05-01``) and per-day counts use the local day:
``published`` shifted by its offset; ``first_seen`` (the fallback when a page gave no date)
and a ``published`` without an offset count in UTC.

Queries still bound the UTC column first, widened by :data:`MAX_OFFSET`, so the
``coalesce(published, first_seen)`` index narrows the rows before the day is computed.
"""

from __future__ import annotations

import logging
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Date, case, cast, func, literal_column
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from newsarchive.archive.models import Article

if TYPE_CHECKING:
    from sqlalchemy.sql.compiler import SQLCompiler
    from sqlalchemy.sql.elements import ColumnClause

logger = logging.getLogger(__name__)

MAX_OFFSET = timedelta(hours=14)  # UTC-12 .. UTC+14 covers every zone in use


class article_local_day(FunctionElement[date]):
    """``articles``' publisher-local calendar day (``DATE`` on PostgreSQL, text on SQLite)."""

    type = Date()
    inherit_cache = True
    name = "article_local_day"


# constants are literals, not bound parameters: PostgreSQL matches a GROUP BY expression to the
# selected one textually, and two binds of the same value are two different parameters
_ZERO: ColumnClause[Any] = literal_column("0")


def _offset_minutes() -> Any:
    return case(
        (Article.published.is_(None), _ZERO),
        else_=func.coalesce(Article.published_offset, _ZERO),
    )


def _effective() -> Any:
    return func.coalesce(Article.published, Article.first_seen)


@compiles(article_local_day, "sqlite")
def _sqlite_local_day(element: article_local_day, compiler: SQLCompiler, **kw: Any) -> str:
    shifted = func.date(
        _effective(), func.printf(literal_column("'%+d minutes'"), _offset_minutes())
    )
    return str(compiler.process(shifted, **kw))


@compiles(article_local_day)
def _default_local_day(element: article_local_day, compiler: SQLCompiler, **kw: Any) -> str:
    wall = func.timezone(literal_column("'UTC'"), _effective()) + func.make_interval(
        _ZERO, _ZERO, _ZERO, _ZERO, _ZERO, _offset_minutes()
    )
    return str(compiler.process(cast(wall, Date), **kw))


def as_date(value: Any) -> date:
    """A day column's value (``date`` from PostgreSQL, ``'YYYY-MM-DD'`` from SQLite)."""
    return value if isinstance(value, date) else date.fromisoformat(str(value))
