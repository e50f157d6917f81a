"""Column types shared by the models, so that SQLite and PostgreSQL behave the same."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, DateTime
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeDecorator

from newsarchive.extraction.dates import as_utc

logger = logging.getLogger(__name__)

if TYPE_CHECKING:
    from sqlalchemy.engine import Dialect


class TZDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out, on every backend.

    SQLite has no timezone type: without this, values come back naive and comparisons with aware
    datetimes raise. Naive input is refused rather than guessed.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r} given to a TZDateTime column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


JSONType: Any = JSON().with_variant(JSONB(), "postgresql")


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc_logged(value: datetime | None) -> datetime | None:
    """Aware UTC; a naive value (a parser bug upstream) is taken as UTC rather than crashing."""
    if value is not None and value.tzinfo is None:
        logger.warning("naive datetime %s taken as UTC", value.isoformat())
    return as_utc(value)
