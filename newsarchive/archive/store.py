"""Writing fetched pages into the archive: captures, articles, revisions and duplicate links.

One call of :func:`save_page` per fetched page, inside the caller's transaction. The rules
(see ``docs/dedupe.md``):

- every page leaves a ``captures`` row and updates ``url_state``, whatever happened;
- one ``articles`` row per canonical URL; a refetch either bumps ``last_seen`` (unchanged or a
  trivial change) or moves the previous state to ``article_versions`` (a real change);
- another URL declaring a stored canonical URL is the same article (``kind="url"``);
- a new article is indexed and linked to the group it copies by :mod:`.linking`.

Concurrency: the canonical-URL insert is ``INSERT … ON CONFLICT DO NOTHING``, so two writers
storing the same article end with one row. On SQLite the capture row is written first, which
takes the database write lock for the whole save (deferred transactions only lock on the first
write), so the lookups that follow are consistent. On PostgreSQL a refetched article is read
``FOR UPDATE`` (the duplicate search takes its own lock, see :mod:`.linking`).
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from newsarchive.archive import linking, stories, tagging
from newsarchive.archive.db import dialect_insert
from newsarchive.archive.models import Article as ArticleRow
from newsarchive.archive.models import (
    ArticleVersion,
    Capture,
    Source,
    UrlState,
)
from newsarchive.archive.textsafety import clean_value, url_fits
from newsarchive.errors import PageRejectedError
from newsarchive.extraction import fingerprint
from newsarchive.extraction.analysis import compress_html
from newsarchive.extraction.dates import as_utc

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from newsarchive.extraction.fingerprint import Fingerprint
    from newsarchive.items import Article, FetchedPage

logger = logging.getLogger(__name__)

# URL state of a page the archive refused (settled: not fetched again until it changes).
REJECTED = "rejected"
# Pages the validation stage refused: kept as captures with the reason, fetched again later.
VALIDATION_DROPS = ("too_short", "no_title")
KEPT_HEADERS = (
    "content-type",
    "content-language",
    "content-encoding",
    "content-length",
    "last-modified",
    "etag",
    "date",
    "expires",
    "cache-control",
    "age",
    "x-robots-tag",
    "link",
    "location",
    "server",
    "via",
    "x-cache",
)
# LSH candidates scored per new article, most shared bands first. Real copies share most bands,
# so this only bounds the work when a common boilerplate text collides with many articles.
MAX_CANDIDATES = 100
# Translation candidates scored per new article, most shared anchor bands first.
MAX_TRANSLATION_CANDIDATES = 50
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Arbitrary constant naming the PostgreSQL advisory lock that serialises duplicate searches.
DEDUPE_LOCK_KEY = 0x6E65_7773_6475_70  # "newsdup"


@dataclass(slots=True)
class SaveResult:
    """What :func:`save_page` did with one page.

    ``status`` is ``new``, ``updated``, ``unchanged``, ``duplicate``, ``not_article`` or
    ``failed``. For ``duplicate``, ``original_id`` is the group's original and ``kind``
    (``url`` / ``exact`` / ``near`` / ``translation``) and ``score`` say how it matched. A
    ``new`` article that turned out older than an existing group's original becomes that
    group's original: it is reported with ``original_id == article_id`` and the
    ``kind``/``score`` of the match.
    """

    status: str
    capture_id: int
    article_id: int | None = None
    original_id: int | None = None
    kind: str | None = None
    score: float | None = None


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
    new_id = session.scalar(stmt)
    if new_id is None:  # another writer created it between our select and insert
        new_id = session.scalar(select(Source.id).where(Source.name == name))
    assert new_id is not None
    known[name] = int(new_id)
    return int(new_id)


def save_page(
    session: Session,
    page: FetchedPage,
    *,
    run_id: int | None = None,
    fp: Fingerprint | None = None,
) -> SaveResult:
    """Store one fetched page. Text the database cannot hold (NUL, lone surrogates) is cleaned
    on the way in; a page whose URL cannot be a key at all raises PageRejectedError before
    anything is written (the caller records it with :func:`record_rejected`)."""
    if not url_fits(page.url):
        raise PageRejectedError(f"URL longer than the archive's key limit: {page.url[:120]}…")
    source_id = ensure_source(session, page.source)
    article = page.article
    has_body = article is not None and bool(article.body.strip())
    if has_body:
        extraction_status = "ok"
    elif page.extraction_error:
        extraction_status = "failed"
    elif page.drop_reason in VALIDATION_DROPS:
        extraction_status = page.drop_reason
    elif not page.body.strip() or article is not None:
        extraction_status = "empty"
    else:
        extraction_status = "not_article"
    capture = _add_capture(session, page, source_id, run_id, extraction_status)

    if article is None or not has_body:
        status = "failed" if extraction_status == "failed" else "not_article"
        # a stub refused by validation (teaser, paywall) may be complete next time: not settled
        state = "failed" if extraction_status in VALIDATION_DROPS else status
        _upsert_url_state(session, page, source_id, run_id, state, None)
        return SaveResult(status=status, capture_id=capture.id)

    fp = fp or fingerprint.fingerprint(article.body)
    canonical = article.canonical_url or article.url or page.url
    if not url_fits(canonical):
        # an attacker-sized canonical link cannot be the key: the fetched address is one
        logger.warning(
            "canonical URL of %s too long (%d chars): using the page URL", page.url, len(canonical)
        )
        canonical = page.url
    existing = _lock_article(session, canonical)
    if existing is None:
        new_id = session.scalar(
            dialect_insert(session, ArticleRow)
            .values(**_article_values(article, fp, source_id, page.fetched_at, canonical))
            .on_conflict_do_nothing(index_elements=["canonical_url"])
            .returning(ArticleRow.id)
        )
        if new_id is not None:
            result = _store_new(session, new_id, article, fp, capture.id, page.fetched_at)
        else:  # a concurrent writer stored this canonical URL first: it is a refetch now
            existing = _lock_article(session, canonical)
            assert existing is not None
    if existing is not None:
        result = _store_refetch(session, existing, page, article, fp, capture.id)
    capture.article_id = result.article_id
    _upsert_url_state(session, page, source_id, run_id, "stored", result.article_id)
    session.flush()
    logger.debug("saved %s: %s", page.url, result.status)
    return result


def _store_new(
    session: Session,
    article_id: int,
    article: Article,
    fp: Fingerprint,
    capture_id: int,
    fetched_at: datetime,
) -> SaveResult:
    day = linking.effective_day(article.published, fetched_at)
    _write_companies(session, article_id, article)
    linking.index_article(session, article_id, fp, day)
    link = linking.link_new_article(
        session, article_id, fp, lang=article.lang, published=article.published, day=day
    )
    copy_of = None if link is None else (link.replaced or link.original_id)
    stories.assign_story(
        session,
        article_id,
        title=article.title,
        body=article.body,
        lang=article.lang,
        day=day,
        copy_of=copy_of,
    )
    if link is None:
        return SaveResult(status="new", capture_id=capture_id, article_id=article_id)
    return SaveResult(
        status="new" if link.replaced is not None else "duplicate",
        capture_id=capture_id,
        article_id=article_id,
        original_id=link.original_id,
        kind=link.kind,
        score=link.score,
    )


def _write_companies(session: Session, article_id: int, article: Article) -> None:
    """Company and topic rows of the article's current text."""
    tagging.write_tags(session, article_id, article.companies, article.topics)


def _store_refetch(
    session: Session,
    row: ArticleRow,
    page: FetchedPage,
    article: Article,
    fp: Fingerprint,
    capture_id: int,
) -> SaveResult:
    seen = _utc(page.fetched_at) or datetime.now(UTC)
    previous_seen = row.last_seen
    row.last_seen = max(seen, previous_seen)
    known_urls = {row.url, row.canonical_url}
    if not known_urls & {page.url, page.requested_url, article.url}:
        # another address of the same article (AMP, print, tracking variant): its extraction
        # differs by template, so it records a capture but never makes a revision
        return SaveResult(
            status="duplicate",
            capture_id=capture_id,
            article_id=row.id,
            original_id=row.id,
            kind="url",
            score=1.0,
        )
    if not revise_article(session, row, article, fp, seen=seen, previous_seen=previous_seen):
        return SaveResult(status="unchanged", capture_id=capture_id, article_id=row.id)
    return SaveResult(status="updated", capture_id=capture_id, article_id=row.id)


def revise_article(
    session: Session,
    row: ArticleRow,
    article: Article,
    fp: Fingerprint,
    *,
    seen: datetime,
    previous_seen: datetime,
) -> bool:
    """The revision rule of a refetch (and of a re-extraction): True if a version was recorded.

    Only a real change of the text makes a version — a body that differs beyond timestamps,
    counters and related links, or another title; the previous state then moves to
    ``article_versions`` and the row takes every extracted field.
    """
    body_changed = fp.content_sha256 != row.content_sha256 and not fingerprint.is_trivial_change(
        row.body, article.body
    )
    title_changed = fingerprint.normalise_text(article.title or "") != fingerprint.normalise_text(
        row.title or ""
    )
    if not (body_changed or title_changed):
        return False
    session.add(
        ArticleVersion(
            article_id=row.id,
            version=row.version,
            title=row.title,
            body=row.body,
            content_sha256=row.content_sha256,
            published=row.published,
            modified=row.modified,
            captured_at=previous_seen,
        )
    )
    for key, value in _article_values(article, fp, row.source_id, seen, row.canonical_url).items():
        if key not in ("first_seen", "last_seen", "version", "source_id", "url", "canonical_url"):
            setattr(row, key, value)
    row.version += 1
    tagging.clear_tags(session, [row.id])
    linking.unindex_article(session, row.id)
    _write_companies(session, row.id, article)
    linking.index_article(
        session, row.id, fp, linking.effective_day(article.published, row.first_seen)
    )
    stories.refresh_story_keys(
        session, row.id, title=article.title, body=article.body, lang=article.lang
    )
    logger.info("article %d changed: version %d", row.id, row.version)
    return True


# Extracted fields an article row keeps (compared by re-extraction; identity fields excluded).
EXTRACTED_FIELDS = (
    "title",
    "body",
    "published",
    "published_offset",
    "modified",
    "date_source",
    "date_flags",
    "authors",
    "organisations",
    "lang",
    "description",
    "image",
    "section",
    "tags",
    "companies",
    "word_count",
)


def changed_fields(row: ArticleRow, article: Article, fp: Fingerprint) -> list[str]:
    """The extracted fields whose stored value differs from what ``article`` would store."""
    values = _article_values(article, fp, row.source_id, row.last_seen, row.canonical_url)
    changed = []
    for name in EXTRACTED_FIELDS:
        if name == "body":  # by the revision rule: a trivial change is no change
            differs = fp.content_sha256 != row.content_sha256 and not (
                fingerprint.is_trivial_change(row.body, article.body)
            )
        elif name == "title":
            differs = fingerprint.normalise_text(row.title or "") != fingerprint.normalise_text(
                article.title or ""
            )
        else:
            differs = getattr(row, name) != values[name]
        if differs:
            changed.append(name)
    return changed


def refresh_metadata(session: Session, row: ArticleRow, article: Article, fp: Fingerprint) -> None:
    """Store a new extraction's metadata in place (no version: the text did not change)."""
    values = _article_values(article, fp, row.source_id, row.last_seen, row.canonical_url)
    for name in EXTRACTED_FIELDS:
        if name not in ("title", "body"):
            setattr(row, name, values[name])
    tagging.clear_tags(session, [row.id])
    _write_companies(session, row.id, article)


def _lock_article(session: Session, canonical: str) -> ArticleRow | None:
    return session.scalars(
        select(ArticleRow)
        .where(ArticleRow.canonical_url == canonical)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()


def _article_values(
    article: Article, fp: Fingerprint, source_id: int, seen: datetime, canonical: str
) -> dict[str, Any]:
    published = _utc(article.published)
    offset = article.published.utcoffset() if article.published is not None else None
    values = {
        "source_id": source_id,
        "url": article.url,
        "canonical_url": canonical,
        "title": article.title,
        "body": article.body,
        "published": published,
        "published_offset": int(offset.total_seconds() // 60) if offset is not None else None,
        "modified": _utc(article.modified),
        "date_source": _cut(article.date_source, 32),
        "date_flags": list(article.date_flags),
        "authors": list(article.authors),
        "organisations": list(article.organisations),
        "lang": _cut(article.lang, 16),
        "description": article.description,
        "image": article.image,
        "section": _cut(article.section, 500),
        "tags": list(article.tags),
        "companies": list(article.companies),
        "word_count": article.word_count,
        "content_sha256": fp.content_sha256,
        "version": 1,
        "first_seen": _utc(seen),
        "last_seen": _utc(seen),
    }
    return {key: clean_value(value) for key, value in values.items()}


def _add_capture(
    session: Session, page: FetchedPage, source_id: int, run_id: int | None, status: str
) -> Capture:
    headers = {k.lower(): v for k, v in page.headers.items()}
    capture = Capture(
        run_id=run_id,
        source_id=source_id,
        url=clean_value(page.requested_url or page.url),
        final_url=clean_value(page.url),
        fetched_at=_utc(page.fetched_at) or datetime.now(UTC),
        status=page.status,
        headers=clean_value({k: headers[k][:2000] for k in KEPT_HEADERS if k in headers}),
        html_gz=(page.body_gz or compress_html(page.body)) if page.body else None,
        encoding=clean_value(_cut(page.encoding, 64)),
        size=len(page.body),
        extraction_status=status,
        extraction_error=clean_value(page.extraction_error),
    )
    session.add(capture)
    session.flush()  # on SQLite this first write takes the write lock for the whole save
    return capture


def _upsert_url_state(
    session: Session,
    page: FetchedPage,
    source_id: int,
    run_id: int | None,
    state: str,
    article_id: int | None,
) -> None:
    """Record the outcome for the fetched URL and, after a redirect, for the requested one."""
    headers = {k.lower(): v for k, v in page.headers.items()}
    fetched = _utc(page.fetched_at) or datetime.now(UTC)
    urls = dict.fromkeys(u for u in (page.url, page.requested_url) if u and url_fits(u))
    for url in urls:
        values = {
            "url": url,
            "source_id": source_id,
            "kind": "page",
            "state": state,
            "lastmod": _utc(page.lastmod),
            "etag": clean_value(headers.get("etag")),
            "last_modified": clean_value(_cut(headers.get("last-modified"), 64)),
            "content_hash": hashlib.sha256(page.body).hexdigest(),
            "last_status": page.status,
            "attempts": 1,
            "first_seen": fetched,
            "last_fetched": fetched,
            "article_id": article_id,
            "run_id": run_id,
        }
        stmt = dialect_insert(session, UrlState).values(**values)
        excluded = stmt.excluded
        session.execute(
            stmt.on_conflict_do_update(
                index_elements=["url"],
                set_={
                    "source_id": func.coalesce(UrlState.source_id, excluded.source_id),
                    "state": excluded.state,
                    "lastmod": func.coalesce(excluded.lastmod, UrlState.lastmod),
                    "etag": excluded.etag,
                    "last_modified": excluded.last_modified,
                    "content_hash": excluded.content_hash,
                    "last_status": excluded.last_status,
                    "attempts": UrlState.attempts + 1,
                    "last_fetched": excluded.last_fetched,
                    "article_id": excluded.article_id,
                    "run_id": func.coalesce(excluded.run_id, UrlState.run_id),
                },
            )
        )


def record_rejected(session: Session, page: FetchedPage, *, run_id: int | None = None) -> int:
    """Settle the URLs of a page the archive refused (state ``rejected``), so later runs do not
    fetch it again and again; returns how many URLs were recorded (an over-long one cannot be)."""
    source_id = ensure_source(session, page.source)
    fetched = _utc(page.fetched_at) or datetime.now(UTC)
    recorded = 0
    for url in dict.fromkeys(u for u in (page.url, page.requested_url) if u and url_fits(u)):
        stmt = dialect_insert(session, UrlState).values(
            url=url,
            source_id=source_id,
            kind="page",
            state=REJECTED,
            last_status=page.status,
            attempts=1,
            first_seen=fetched,
            last_fetched=fetched,
            run_id=run_id,
        )
        session.execute(
            stmt.on_conflict_do_update(
                index_elements=["url"],
                set_={
                    "state": REJECTED,
                    "last_status": stmt.excluded.last_status,
                    "attempts": UrlState.attempts + 1,
                    "last_fetched": stmt.excluded.last_fetched,
                    "run_id": func.coalesce(stmt.excluded.run_id, UrlState.run_id),
                },
            )
        )
        recorded += 1
    return recorded


def _utc(value: datetime | None) -> datetime | None:
    """Aware UTC; a naive value (a parser bug upstream) is taken as UTC rather than crashing."""
    if value is not None and value.tzinfo is None:
        logger.warning("naive datetime %s taken as UTC", value.isoformat())
    return as_utc(value)


def _cut(value: str | None, size: int) -> str | None:
    return value[:size] if value is not None else None
