"""Riding out a database outage: retry a whole transaction until the server is back.

A PostgreSQL restart, a failover or a network blip takes seconds to a few minutes. A crawl that
gave up at the first lost connection would lose the pages in flight and make the operator run
it again; one that waited forever would hang a cron slot. So a transaction that fails because
the server is unreachable (:class:`~newsarchive.errors.ArchiveUnavailableError`) is retried
from the start, after a growing pause, until the server answers or ``limit`` seconds have
passed (``NEWSARCHIVE_DB_OUTAGE_LIMIT``, 300 by default).

Retrying a whole transaction is safe because it either committed or left nothing, and every
write of the crawl is idempotent on its natural key (``ON CONFLICT`` on the canonical URL and
on the URL state): a retry never stores an article twice. For the same reason a transaction
the server aborted to break a deadlock with a concurrent one
(:class:`~newsarchive.errors.TransactionConflictError`: the crawl's archive and frontier
writers both write ``url_state`` rows) is run again, up to ``CONFLICT_RETRIES`` times; given up
on, a frontier batch would be lost and its URLs missing from a resume.
"""

from __future__ import annotations

import logging
import random
import time
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from newsarchive.archive.db import describe
from newsarchive.contracts import Stat
from newsarchive.errors import ArchiveUnavailableError, TransactionConflictError

if TYPE_CHECKING:
    from collections.abc import Callable

    from sqlalchemy.orm import Session

    from newsarchive.archive.db import Archive

logger = logging.getLogger(__name__)

T = TypeVar("T")

DEFAULT_OUTAGE_LIMIT = 300.0  # seconds; documented in docs/robustness.md
# Stats keys of an outage: when the current one began (absent or None when there is none),
# how many there were, and the longest in seconds.
WAITING_KEY = Stat.ARCHIVE_WAITING_SINCE
OUTAGES_KEY = Stat.ARCHIVE_OUTAGES
LONGEST_KEY = Stat.ARCHIVE_LONGEST_OUTAGE
FIRST_PAUSE = 0.5
# Runs of a transaction aborted by deadlocks before the error is the caller's; the pause before
# each is random (up to CONFLICT_PAUSE s) so the two writers do not collide again in step.
CONFLICT_RETRIES = 5
CONFLICT_PAUSE = 0.2
LONGEST_PAUSE = 2.0  # a reconnect attempt is one TCP connect: cheap


def run_transaction(
    archive: Archive,
    work: Callable[[Session], T],
    *,
    limit: float = DEFAULT_OUTAGE_LIMIT,
    on_wait: Callable[[float | None], None] | None = None,
    what: str = "write",
) -> T:
    """``work(session)`` in one transaction, retried while the server is unreachable.

    ``on_wait(seconds)`` is told how long the outage has lasted at every retry and
    ``on_wait(None)`` once the server answers again, so a progress line can say the crawl is
    waiting. After ``limit`` seconds the last ``ArchiveUnavailableError`` is raised.
    """
    pause = FIRST_PAUSE
    conflicts = 0
    while True:
        # One outage clock per archive: transactions queued behind a failing one share its
        # wait instead of each waiting the whole limit again.
        started = archive.outage_started
        try:
            with archive.session() as session:
                result = work(session)
        except TransactionConflictError as exc:
            conflicts += 1
            if conflicts > CONFLICT_RETRIES:
                raise
            logger.info("%s aborted by the server (%s): running it again", what, exc)
            time.sleep(random.uniform(0.0, CONFLICT_PAUSE))
            continue
        except ArchiveUnavailableError as exc:
            now = time.monotonic()
            if started is None:
                started = now
                archive.outage_started = started
                logger.warning(
                    "archive %s unreachable (%s): waiting up to %.0f s before giving up",
                    describe(archive.url),
                    exc,
                    limit,
                )
            waited = now - started
            if on_wait is not None:
                on_wait(waited)
            if waited >= limit:
                logger.error(
                    "archive %s unreachable for %.0f s: giving up the %s",
                    describe(archive.url),
                    waited,
                    what,
                )
                raise
            time.sleep(min(pause, max(limit - waited, 0.05)))
            pause = min(pause * 2, LONGEST_PAUSE)
            continue
        if started is not None:
            archive.outage_started = None
            logger.warning(
                "archive %s reachable again after %.1f s",
                describe(archive.url),
                time.monotonic() - started,
            )
            if on_wait is not None:
                on_wait(None)
        return result


class _Stats(Protocol):
    def get_value(self, key: str, default: Any = None) -> Any: ...
    def set_value(self, key: str, value: Any) -> None: ...
    def inc_value(self, key: str, count: int = 1, start: int = 0) -> None: ...
    def max_value(self, key: str, value: Any) -> None: ...


def outage_reporter(stats: _Stats) -> Callable[[float | None], None]:
    """An ``on_wait`` for :func:`run_transaction` that keeps the outage in a crawl's stats
    (Scrapy's stats collector), where the progress line and the run record find it."""

    def on_wait(waited: float | None) -> None:
        if waited is None:
            stats.set_value(WAITING_KEY, None)
            return
        if stats.get_value(WAITING_KEY) is None:
            stats.set_value(WAITING_KEY, time.time() - waited)
            stats.inc_value(OUTAGES_KEY)
        stats.max_value(LONGEST_KEY, round(waited, 1))

    return on_wait
