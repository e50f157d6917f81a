"""PostgreSQL advisory locks, so overlapping crawls of one PostgreSQL archive exclude each other.

A session-level advisory lock lives as long as the connection that took it: when the crawl process
dies, even by SIGKILL, the server drops the connection and the lock with it — no stale lock to
clean up by hand, unlike a lock row in a table.
"""

from __future__ import annotations

import hashlib
import logging
from typing import TYPE_CHECKING

from sqlalchemy import text

from newsarchive.archive.db import translate_errors

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from newsarchive.archive.db import Archive

logger = logging.getLogger(__name__)


def advisory_key(name: str) -> int:
    """A signed 64-bit key for ``name`` (advisory locks are keyed by integers, not strings)."""
    digest = hashlib.sha256(f"newsarchive:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class AdvisoryLock:
    """A held ``pg_try_advisory_lock``; :meth:`release` (or process exit) frees it."""

    def __init__(self, conn: Connection, key: int) -> None:
        self._conn = conn
        self.key = key

    def release(self) -> None:
        with translate_errors("cannot release the crawl lock"):
            try:
                self._conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self.key})
                self._conn.commit()
            finally:
                self._conn.close()


def try_advisory_lock(archive: Archive, name: str) -> AdvisoryLock | None:
    """Take the lock for ``name`` without waiting; None when another session holds it.

    The lock key includes the archive URL (search_path included), so archives that share one
    PostgreSQL database through different schemas do not block each other.
    """
    key = advisory_key(f"{archive.url.render_as_string(hide_password=True)}|{name}")
    with translate_errors("cannot take the crawl lock"):
        conn = archive.engine.connect()
        try:
            got = conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar()
            conn.commit()
        except BaseException:
            conn.close()
            raise
    if not got:
        conn.close()
        return None
    logger.debug("advisory lock %d taken for %s", key, name)
    return AdvisoryLock(conn, key)
