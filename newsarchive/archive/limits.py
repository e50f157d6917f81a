"""Time limits on the statements of one session, so that one costly query cannot hold a server.

A web server answers many people from a few database connections; a query that runs for a minute
(a prefix that matches everything, a deep page) must be stopped by the database, not abandoned
in a thread that keeps its connection busy. On PostgreSQL ``SET LOCAL statement_timeout`` bounds
every statement of the transaction. SQLite has no such setting: a progress handler, installed on
each connection of an engine by :func:`install_time_limits`, interrupts the running statement
once the thread's deadline has passed. Either way the caller gets :class:`QueryTimeoutError`.
"""

from __future__ import annotations

import logging
import threading
import time
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from sqlalchemy import event, text
from sqlalchemy.exc import DBAPIError

from newsarchive.errors import ArchiveError

if TYPE_CHECKING:
    from collections.abc import Iterator

    from sqlalchemy import Engine
    from sqlalchemy.orm import Session

logger = logging.getLogger(__name__)

# SQLite calls the handler every this many virtual-machine instructions (≈ tens of µs)
_SQLITE_PROGRESS_STEPS = 2000
_deadline = threading.local()


class QueryTimeoutError(ArchiveError):
    """A statement ran past the time limit and was stopped by the database."""


def _sqlite_check() -> int:
    limit: float | None = getattr(_deadline, "at", None)
    return 1 if limit is not None and time.monotonic() > limit else 0


def _install_sqlite_handler(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.set_progress_handler(_sqlite_check, _SQLITE_PROGRESS_STEPS)


def install_time_limits(engine: Engine) -> None:
    """Make :func:`time_limit` effective on SQLite connections of ``engine`` (PostgreSQL needs
    nothing installed)."""
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _install_sqlite_handler)


def _timed_out(exc: DBAPIError) -> bool:
    orig = exc.orig
    if type(orig).__name__ == "QueryCanceled":  # psycopg: canceling statement due to timeout
        return True
    return "interrupted" in str(orig).lower()


@contextmanager
def time_limit(session: Session, seconds: float) -> Iterator[None]:
    """Bound every statement ``session`` runs inside the block to ``seconds`` in all."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text(f"SET LOCAL statement_timeout = {max(1, int(seconds * 1000))}"))
        try:
            yield
        except DBAPIError as exc:
            if _timed_out(exc):
                raise QueryTimeoutError(f"query took longer than {seconds:g} s") from exc
            raise
        return
    previous = getattr(_deadline, "at", None)
    _deadline.at = time.monotonic() + seconds
    try:
        yield
    except DBAPIError as exc:
        if _timed_out(exc):
            raise QueryTimeoutError(f"query took longer than {seconds:g} s") from exc
        raise
    finally:
        _deadline.at = previous
