"""Time limits on the statements of one session, so that one costly query cannot hold a server.

A web server answers many people from a few database connections; a query that runs for a minute
(a prefix that matches everything, a deep page) must be stopped by the database, not abandoned
in a thread that keeps its connection busy. On PostgreSQL ``SET LOCAL statement_timeout`` bounds
every statement of the transaction. SQLite has no such setting: a progress handler, installed on
the session's connection for the block, interrupts the running statement once the deadline
has passed. Either way the caller gets :class:`QueryTimeoutError`.
"""

from __future__ import annotations

import logging
import time
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from newsarchive.errors import ArchiveError

if TYPE_CHECKING:
    from collections.abc import Iterator

    from sqlalchemy.orm import Session

logger = logging.getLogger(__name__)

# SQLite calls the handler every this many virtual-machine instructions (about a millisecond):
# each call takes the GIL, so a smaller number would serialise concurrent queries
_SQLITE_PROGRESS_STEPS = 50_000


class QueryTimeoutError(ArchiveError):
    """A statement ran past the time limit and was stopped by the database."""


def _timed_out(exc: DBAPIError) -> bool:
    orig = exc.orig
    if type(orig).__name__ == "QueryCanceled":  # psycopg: canceling statement due to timeout
        return True
    return "interrupted" in str(orig).lower()


@contextmanager
def time_limit(session: Session, seconds: float) -> Iterator[None]:
    """Bound every statement ``session`` runs inside the block to ``seconds`` in all.

    On SQLite the progress handler is set on the session's own connection for the block and
    removed after it, so a pooled connection never carries an old deadline.
    """
    try:
        if session.get_bind().dialect.name == "postgresql":
            session.execute(text(f"SET LOCAL statement_timeout = {max(1, int(seconds * 1000))}"))
            yield
            return
        raw: Any = session.connection().connection.dbapi_connection
        deadline = time.monotonic() + seconds
        raw.set_progress_handler(
            lambda: 1 if time.monotonic() > deadline else 0, _SQLITE_PROGRESS_STEPS
        )
        try:
            yield
        finally:
            raw.set_progress_handler(None, 0)
    except DBAPIError as exc:
        if _timed_out(exc):
            raise QueryTimeoutError(f"query took longer than {seconds:g} s") from exc
        raise
