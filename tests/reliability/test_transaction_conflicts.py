"""A transaction PostgreSQL aborts to break a deadlock is run again, not lost.

The crawl's two writers (articles, and the frontier of discovered URLs) both write
``url_state`` rows, in orders neither controls; when the server picks one of them as a
deadlock's victim, that writer's batch must still be written (a lost frontier batch would be
URLs missing from a resume).
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import update

from newsarchive.archive import open_archive
from newsarchive.archive.frontier import ensure_source
from newsarchive.archive.models import Source
from newsarchive.archive.reconnect import run_transaction
from newsarchive.errors import TransactionConflictError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

pytestmark = pytest.mark.postgres


def _deadlock(pg_url: str, *, retries: bool) -> tuple[Counter[str], list[BaseException]]:
    """Two transactions updating two rows in opposite orders, each holding its first row
    until the other holds its own: one of them is the deadlock's victim."""
    archive = open_archive(pg_url)
    with archive.session() as session:
        ensure_source(session, "first")
        ensure_source(session, "second")
    both_hold = threading.Barrier(2, timeout=20)
    runs: Counter[str] = Counter()
    errors: list[BaseException] = []

    def writer(name: str, order: tuple[str, str]) -> None:
        def work(session: Session) -> None:
            runs[name] += 1
            for i, source in enumerate(order):
                session.execute(update(Source).where(Source.name == source).values(homepage=name))
                if i == 0 and runs[name] == 1:
                    both_hold.wait()

        try:
            if retries:
                run_transaction(archive, work, what=name)
            else:
                with archive.session() as session:
                    work(session)
        except BaseException as exc:  # noqa: BLE001  (reported by the test)
            errors.append(exc)

    threads = [
        threading.Thread(target=writer, args=("a", ("first", "second"))),
        threading.Thread(target=writer, args=("b", ("second", "first"))),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    archive.dispose()
    return runs, errors


def test_a_deadlock_victim_is_run_again(pg_url: str) -> None:
    runs, errors = _deadlock(pg_url, retries=True)
    assert errors == []
    assert sorted(runs.values()) == [1, 2]  # the victim ran twice, the other once


def test_a_deadlock_is_a_conflict_error(pg_url: str) -> None:
    """Without the retry, the victim's error says what happened (and is not an outage)."""
    _, errors = _deadlock(pg_url, retries=False)
    assert len(errors) == 1
    assert isinstance(errors[0], TransactionConflictError)
    assert "deadlock" in str(errors[0])
