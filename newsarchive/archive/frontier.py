"""The crawl frontier in the archive: which URLs we know, how to revalidate them, what is pending.

``url_state`` is the authoritative per-URL state (Scrapy's JOBDIR and any in-memory queue are
lost on a kill -9), and this module is its only writer: every state change is here, which is
why it stays one module of this size. States
(:class:`newsarchive.contracts.FrontierState`):

- ``discovered``: scheduled by a run but not fetched yet — the next run of the same source
  re-enqueues it (crash resume);
- ``stored`` / ``not_article`` / ``failed``: written by :func:`record_fetched` for every fetched
  page, inside :func:`newsarchive.archive.store.save_page`'s transaction;
- ``fetched``: a discovery document (feed, sitemap) we fetched, kept for its validators;
- ``gone``: the server answered 4xx for good (kept so the URL is not re-enqueued forever);
- ``rejected``: the archive refused the page's data (one lost page, logged and counted).

Every write here is idempotent (insert-or-ignore / conditional update), so replaying a batch
after a crash, or two runs racing, never corrupts the state.
"""

from __future__ import annotations

import functools
import hashlib
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Table, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from newsarchive.archive.db import dialect_insert
from newsarchive.archive.models import Source, UrlState
from newsarchive.archive.textsafety import clean_value, cut, url_fits
from newsarchive.archive.types import as_utc_logged
from newsarchive.contracts import FETCHED_STATES, DocKind, FrontierState

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence
    from datetime import timedelta

    from sqlalchemy.orm import Session

    from newsarchive.items import FetchedPage

logger = logging.getLogger(__name__)

PAGE = DocKind.PAGE
# A pending URL re-enqueued this many times without ever being fetched is given up on: it is
# filtered somewhere (offsite, robots.txt, depth) and would otherwise be retried forever.
MAX_RESUME_ATTEMPTS = 3


@dataclass(slots=True)
class Discovered:
    url: str
    source: str
    kind: str = PAGE
    lastmod: datetime | None = None


@dataclass(slots=True)
class KnownUrl:
    """What a run needs to decide whether, and how, to fetch a URL again."""

    url: str
    kind: str
    state: str
    lastmod: datetime | None
    etag: str | None
    last_modified: str | None
    last_fetched: datetime | None
    source: str | None


@dataclass(slots=True)
class PendingUrl:
    url: str
    source: str
    kind: str
    lastmod: datetime | None
    attempts: int


@dataclass(slots=True)
class Validators:
    """The response validators of a fetched discovery document (feed, sitemap)."""

    url: str
    source: str
    kind: str
    status: int
    etag: str | None = None
    last_modified: str | None = None
    content_hash: str | None = None
    fetched_at: datetime | None = None


# Sources are created on first use by whoever records a URL of theirs first: the frontier (a
# discovered URL) or the store (a fetched page), so the helper lives here, below both.
def ensure_source(
    session: Session,
    name: str,
    *,
    homepage: str | None = None,
    language: str | None = None,
    country: str | None = None,
) -> int:
    """The id of source ``name``, created on first use; metadata given later fills gaps only.

    Ids are remembered for the session (one transaction of the crawl's writer may store many
    pages of a source), so only the first page of a source in a transaction reads its row.
    """
    known: dict[str, int] = session.info.setdefault("newsarchive_source_ids", {})
    if name in known and not (homepage or language or country):
        return known[name]
    row = session.scalars(select(Source).where(Source.name == name)).first()
    if row is not None:
        for attr, value in (("homepage", homepage), ("language", language), ("country", country)):
            if value and getattr(row, attr) is None:
                setattr(row, attr, value)
        known[name] = row.id
        return row.id
    stmt = (
        dialect_insert(session, Source)
        .values(name=name, homepage=homepage, language=language, country=country)
        .on_conflict_do_nothing(index_elements=["name"])
        .returning(Source.id)
    )
    new_id: int | None = session.scalar(stmt)
    if new_id is None:  # another writer created it between our select and insert
        new_id = session.scalar(select(Source.id).where(Source.name == name))
    assert new_id is not None
    known[name] = new_id
    return new_id


def _source_ids(session: Session, names: Iterable[str]) -> dict[str, int]:
    return {name: ensure_source(session, name) for name in sorted(set(names))}


def load_known(session: Session, *, sources: Sequence[str] | None = None) -> dict[str, KnownUrl]:
    """Every fetched URL (of ``sources`` if given), keyed by URL, for skip/revalidate decisions.

    Read once at the start of a run: a per-request query would put a database round-trip on the
    reactor for every link. A few hundred bytes per URL, so a million-URL archive costs a few
    hundred MB; partition big archives by ``--source`` if that matters.
    """
    query = (
        select(
            UrlState.url,
            UrlState.kind,
            UrlState.state,
            UrlState.lastmod,
            UrlState.etag,
            UrlState.last_modified,
            UrlState.last_fetched,
            Source.name,
        )
        .outerjoin(Source, Source.id == UrlState.source_id)
        .where(UrlState.state.in_(FETCHED_STATES))
    )
    if sources is not None:
        query = query.where(Source.name.in_(list(sources)))
    return {row.url: _known_url(row, row.name) for row in session.execute(query)}


def _known_url(row: Any, source: str | None) -> KnownUrl:
    """From a ``url_state`` row or a row of its columns (both spell them the same)."""
    return KnownUrl(
        url=row.url,
        kind=row.kind,
        state=row.state,
        lastmod=row.lastmod,
        etag=row.etag,
        last_modified=row.last_modified,
        last_fetched=row.last_fetched,
        source=source,
    )


def record_discovered(
    session: Session, entries: Sequence[Discovered], *, run_id: int | None = None
) -> int:
    """Persist scheduled URLs as ``discovered`` (known URLs keep their state); returns inserts."""
    if not entries:
        return 0
    too_long = [e.url for e in entries if not url_fits(e.url)]
    if too_long:
        logger.warning(
            "not recording %d URL(s) over the key limit, e.g. %s…", len(too_long), too_long[0][:120]
        )
        entries = [e for e in entries if url_fits(e.url)]
    if not entries:
        return 0
    ids = _source_ids(session, (e.source for e in entries))
    rows: dict[str, dict[str, Any]] = {}
    for e in entries:
        rows.setdefault(
            e.url,
            {
                "url": e.url,
                "source_id": ids[e.source],
                "kind": e.kind,
                "state": FrontierState.DISCOVERED,
                "lastmod": e.lastmod,
                "attempts": 0,
                "first_seen": datetime.now(UTC),
                "run_id": run_id,
            },
        )
    existing: set[str] = set()
    for chunk in _chunks(list(rows)):
        existing.update(session.scalars(select(UrlState.url).where(UrlState.url.in_(chunk))))
    fresh = [row for url, row in rows.items() if url not in existing]
    if fresh:
        # still insert-or-ignore: another writer may add the same URL meanwhile
        session.execute(
            dialect_insert(session, UrlState).on_conflict_do_nothing(index_elements=["url"]), fresh
        )
    return len(fresh)


def pending_urls(
    session: Session,
    sources: Sequence[str],
    *,
    limit: int = 100_000,
    max_attempts: int = MAX_RESUME_ATTEMPTS,
) -> list[PendingUrl]:
    """URLs of ``sources`` that an earlier run scheduled but never fetched, oldest first."""
    if not sources:
        return []
    query = (
        select(UrlState.url, Source.name, UrlState.kind, UrlState.lastmod, UrlState.attempts)
        .join(Source, Source.id == UrlState.source_id)
        .where(
            UrlState.state == FrontierState.DISCOVERED,
            Source.name.in_(list(sources)),
            UrlState.attempts < max_attempts,
        )
        .order_by(UrlState.id)
        .limit(limit)
    )
    return [
        PendingUrl(url=r.url, source=r.name, kind=r.kind, lastmod=r.lastmod, attempts=r.attempts)
        for r in session.execute(query)
    ]


def mark_requeued(session: Session, urls: Sequence[str]) -> None:
    """Count one resume attempt for each pending URL (see ``MAX_RESUME_ATTEMPTS``)."""
    for chunk in _chunks(urls):
        session.execute(
            update(UrlState)
            .where(UrlState.url.in_(chunk), UrlState.state == FrontierState.DISCOVERED)
            .values(attempts=UrlState.attempts + 1)
        )


def revisit_due(
    session: Session,
    sources: Sequence[str],
    *,
    older_than: timedelta,
    now: datetime | None = None,
    limit: int = 10_000,
) -> list[KnownUrl]:
    """Stored articles of ``sources`` last fetched more than ``older_than`` ago, stalest first."""
    if not sources:
        return []
    cutoff = (now or datetime.now(UTC)) - older_than
    query = (
        select(UrlState, Source.name)
        .join(Source, Source.id == UrlState.source_id)
        .where(
            UrlState.state == FrontierState.STORED,
            UrlState.kind == PAGE,
            Source.name.in_(list(sources)),
            or_(UrlState.last_fetched.is_(None), UrlState.last_fetched < cutoff),
        )
        .order_by(UrlState.last_fetched, UrlState.id)
        .limit(limit)
    )
    return [_known_url(row, name) for row, name in session.execute(query)]


def record_not_modified(session: Session, urls: Sequence[str], *, at: datetime) -> None:
    """A revalidation answered 304: the stored copy is current as of ``at``."""
    for chunk in _chunks(urls):
        session.execute(
            update(UrlState).where(UrlState.url.in_(chunk)).values(last_fetched=at, last_status=304)
        )


def record_gone(
    session: Session,
    statuses: Sequence[tuple[str, int]],
    *,
    at: datetime,
    run_id: int | None = None,
) -> None:
    """Pending URLs whose fetch failed for good (4xx, or 5xx after retries)."""
    for url, status in statuses:
        session.execute(
            update(UrlState)
            .where(UrlState.url == url, UrlState.state == FrontierState.DISCOVERED)
            .values(
                state=FrontierState.GONE if 400 <= status < 500 else FrontierState.FAILED,
                last_status=status,
                last_fetched=at,
                attempts=UrlState.attempts + 1,
                run_id=run_id,
            )
        )


def record_candidate_outcomes(
    session: Session,
    outcomes: Sequence[tuple[str, FrontierState]],
    *,
    at: datetime,
    run_id: int | None = None,
) -> None:
    """Pending candidates fetched without becoming articles, as (url, state): ``not_article``
    (a dead end, left alone by recrawls) or ``fetched`` (a listing that led to more pages,
    fetched again whenever discovery reaches it). Either way a resume no longer re-enqueues it."""
    for url, state in outcomes:
        session.execute(
            update(UrlState)
            .where(UrlState.url == url, UrlState.state == FrontierState.DISCOVERED)
            .values(
                state=state,
                last_status=200,
                last_fetched=at,
                attempts=UrlState.attempts + 1,
                run_id=run_id,
            )
        )


def record_validators(
    session: Session, docs: Sequence[Validators], *, run_id: int | None = None
) -> None:
    """Upsert the validators of fetched discovery documents (feeds, sitemaps)."""
    docs = [d for d in docs if url_fits(d.url)]
    if not docs:
        return
    ids = _source_ids(session, (d.source for d in docs))
    for d in docs:
        at = d.fetched_at or datetime.now(UTC)
        stmt = dialect_insert(session, UrlState).values(
            url=d.url,
            source_id=ids[d.source],
            kind=d.kind,
            state=FrontierState.FETCHED,
            etag=d.etag,
            last_modified=d.last_modified,
            content_hash=d.content_hash,
            last_status=d.status,
            attempts=1,
            first_seen=at,
            last_fetched=at,
            run_id=run_id,
        )
        session.execute(
            stmt.on_conflict_do_update(
                index_elements=["url"],
                set_={
                    "kind": stmt.excluded.kind,
                    "state": FrontierState.FETCHED,
                    "etag": stmt.excluded.etag,
                    "last_modified": stmt.excluded.last_modified,
                    "content_hash": func.coalesce(
                        stmt.excluded.content_hash, UrlState.content_hash
                    ),
                    "last_status": stmt.excluded.last_status,
                    "last_fetched": stmt.excluded.last_fetched,
                    "attempts": UrlState.attempts + 1,
                    "run_id": stmt.excluded.run_id,
                },
                # a page that also serves as a discovery document keeps its article state
                where=UrlState.state.in_(
                    (
                        FrontierState.DISCOVERED,
                        FrontierState.FETCHED,
                        FrontierState.GONE,
                        FrontierState.FAILED,
                    )
                ),
            )
        )


def record_fetched(
    session: Session,
    page: FetchedPage,
    source_id: int,
    state: FrontierState,
    *,
    article_id: int | None = None,
    run_id: int | None = None,
) -> None:
    """Record a stored page's outcome for the fetched URL and, after a redirect, for the
    requested one (called by :func:`newsarchive.archive.store.save_page`, in its transaction)."""
    headers = {k.lower(): v for k, v in page.headers.items()}
    _upsert_page(
        session,
        page,
        source_id,
        state,
        run_id=run_id,
        values={
            "lastmod": as_utc_logged(page.lastmod),
            "etag": clean_value(headers.get("etag")),
            "last_modified": clean_value(cut(headers.get("last-modified"), 64)),
            "content_hash": hashlib.sha256(page.body).hexdigest(),
            "article_id": article_id,
        },
        # a row created by discovery may lack its source; a page without lastmod keeps the old
        merged={"source_id": False, "lastmod": True},
    )


def record_rejected(session: Session, page: FetchedPage, *, run_id: int | None = None) -> int:
    """Settle the URLs of a page the archive refused (state ``rejected``), so later runs do not
    fetch it again and again; returns how many URLs were recorded (an over-long one cannot be)."""
    source_id = ensure_source(session, page.source)
    return _upsert_page(session, page, source_id, FrontierState.REJECTED, run_id=run_id)


def _upsert_page(
    session: Session,
    page: FetchedPage,
    source_id: int,
    state: FrontierState,
    *,
    run_id: int | None,
    values: dict[str, Any] | None = None,
    merged: dict[str, bool] | None = None,
) -> int:
    """Insert or update the row of the page's URL and of the URL first requested for it.

    ``values`` are extra columns written as given; a column in ``merged`` keeps the stored value
    where the new one is NULL (``True``) or where a stored one exists (``False``).
    """
    fetched = as_utc_logged(page.fetched_at) or datetime.now(UTC)
    values = values or {}
    merged = merged or {}
    stmt = _page_upsert(
        session.get_bind().dialect.name, tuple(values), tuple(sorted(merged.items()))
    )
    recorded = 0
    for url in dict.fromkeys(u for u in (page.url, page.requested_url) if u and url_fits(u)):
        params = {
            "url": url,
            "source_id": source_id,
            "kind": DocKind.PAGE,
            "state": state,
            "last_status": page.status,
            "attempts": 1,
            "first_seen": fetched,
            "last_fetched": fetched,
            "run_id": run_id,
            **values,
        }
        session.execute(stmt, params)
        recorded += 1
    return recorded


@functools.cache
def _page_upsert(
    dialect: str, columns: tuple[str, ...], merged: tuple[tuple[str, bool], ...]
) -> Any:
    """The upsert of one fetched page's ``url_state`` row, built once per shape: building it
    (and its ``excluded`` columns) per page cost more than executing it. A Core statement on
    the table, with the values bound at execution."""
    table: Table = UrlState.__table__  # type: ignore[assignment]  # a mapped class's Table
    stmt = (pg_insert if dialect == "postgresql" else sqlite_insert)(table)
    excluded = stmt.excluded
    updates: dict[str, Any] = {
        "state": excluded.state,
        "last_status": excluded.last_status,
        "attempts": table.c.attempts + 1,
        "last_fetched": excluded.last_fetched,
        "run_id": func.coalesce(excluded.run_id, table.c.run_id),
    }
    keep = dict(merged)
    for name in [*columns, *keep]:
        new, old = excluded[name], table.c[name]
        if name not in keep:
            updates[name] = new
        else:
            updates[name] = func.coalesce(new, old) if keep[name] else func.coalesce(old, new)
    return stmt.on_conflict_do_update(index_elements=["url"], set_=updates)


def frontier_counts(session: Session, sources: Sequence[str] | None = None) -> dict[str, int]:
    """URL count per state (of ``sources`` if given)."""
    query = select(UrlState.state, func.count()).group_by(UrlState.state)
    if sources is not None:
        query = query.join(Source, Source.id == UrlState.source_id).where(
            Source.name.in_(list(sources))
        )
    return {state: int(n) for state, n in session.execute(query)}


def _chunks(items: Sequence[str], size: int = 500) -> Iterable[list[str]]:
    for i in range(0, len(items), size):
        yield list(items[i : i + size])
