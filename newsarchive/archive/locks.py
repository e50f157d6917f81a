"""PostgreSQL advisory locks, so overlapping crawls of one PostgreSQL archive exclude each other.

A session-level advisory lock lives as long as the connection that took it: when the crawl process
dies, even by SIGKILL, the server drops the connection and the lock with it — no stale lock to
clean up by hand, unlike a lock row in a table.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import socket
from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from newsarchive.archive.db import translate_errors
from newsarchive.errors import ArchiveUnavailableError

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
        try:
            with translate_errors("cannot release the crawl lock"):
                try:
                    self._conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self.key})
                    self._conn.commit()
                finally:
                    self._conn.close()
        except ArchiveUnavailableError as exc:
            # the server restarted during the crawl and dropped the lock with the session
            logger.warning("crawl lock already gone (the server restarted): %s", exc)


def server_identity(conn: Connection) -> str:
    """Who the server is, however the URL spells it: the cluster's system identifier (fixed at
    initdb), the database and the schema. ``localhost`` and ``127.0.0.1``, or a DNS alias, name
    one server and must take one lock."""
    row = conn.execute(text("SELECT current_database(), current_schema()")).one()
    try:
        ident = conn.execute(text("SELECT system_identifier FROM pg_control_system()")).scalar()
    except DBAPIError:  # a role without the right to read it: the address, resolved
        conn.rollback()
        ident = _resolved_address(conn)
    conn.rollback()
    return f"{ident}|{row[0]}|{row[1]}"


def _resolved_address(conn: Connection) -> str:
    url = conn.engine.url
    host = url.host or "localhost"
    with contextlib.suppress(OSError):
        host = socket.gethostbyname(host)
    return f"{host}:{url.port or 5432}"


def try_advisory_lock(archive: Archive, name: str) -> AdvisoryLock | None:
    """Take the lock for ``name`` without waiting; None when another session holds it.

    The lock key is the server's identity (:func:`server_identity`: system identifier,
    database, schema) and the job name, so archives that share one PostgreSQL database through
    different schemas do not block each other, and two spellings of one server's address do.
    """
    with translate_errors("cannot take the crawl lock"):
        conn = archive.engine.connect()
        try:
            key = advisory_key(f"{server_identity(conn)}|{name}")
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
