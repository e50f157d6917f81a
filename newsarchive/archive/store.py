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

import functools
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, select

from newsarchive.archive import linking, stories, tagging
from newsarchive.archive.db import backend_insert
from newsarchive.archive.frontier import ensure_source, record_fetched
from newsarchive.archive.models import Article as ArticleRow
from newsarchive.archive.models import (
    ArticleVersion,
    Capture,
)
from newsarchive.archive.textsafety import clean_value, cut, url_fits
from newsarchive.archive.types import as_utc_logged
from newsarchive.contracts import (
    VALIDATION_DROPS,
    ExtractionStatus,
    FrontierState,
    LinkKind,
    SaveOutcome,
)
from newsarchive.errors import PageRejectedError
from newsarchive.extraction import fingerprint
from newsarchive.extraction.analysis import compress_html

if TYPE_CHECKING:
    from sqlalchemy import Table
    from sqlalchemy.orm import Session

    from newsarchive.extraction.fingerprint import Fingerprint
    from newsarchive.items import Article, FetchedPage

logger = logging.getLogger(__name__)

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

    ``status`` is a :class:`~newsarchive.contracts.SaveOutcome`. For ``duplicate``, ``original_id`` is the group's original and ``kind``
    (``url`` / ``exact`` / ``near`` / ``translation``) and ``score`` say how it matched. A
    ``new`` article that turned out older than an existing group's original becomes that
    group's original: it is reported with ``original_id == article_id`` and the
    ``kind``/``score`` of the match.
    """

    status: SaveOutcome
    capture_id: int
    article_id: int | None = None
    original_id: int | None = None
    kind: LinkKind | None = None
    score: float | None = None


def save_page(
    session: Session,
    page: FetchedPage,
    *,
    run_id: int | None = None,
    fp: Fingerprint | None = None,
) -> SaveResult:
    """Store one fetched page. Text the database cannot hold (NUL, lone surrogates) is cleaned
    on the way in; a page whose URL cannot be a key at all raises PageRejectedError before
    anything is written (the caller records it with
    :func:`newsarchive.archive.frontier.record_rejected`)."""
    if not url_fits(page.url):
        raise PageRejectedError(f"URL longer than the archive's key limit: {page.url[:120]}…")
    source_id = ensure_source(session, page.source)
    article = page.article
    has_body = article is not None and bool(article.body.strip())
    extraction_status: ExtractionStatus
    if has_body:
        extraction_status = ExtractionStatus.OK
    elif page.extraction_error:
        extraction_status = ExtractionStatus.FAILED
    elif page.drop_reason in VALIDATION_DROPS:
        extraction_status = ExtractionStatus(page.drop_reason)
    elif not page.body.strip() or article is not None:
        extraction_status = ExtractionStatus.EMPTY
    else:
        extraction_status = ExtractionStatus.NOT_ARTICLE
    capture = _add_capture(session, page, source_id, run_id, extraction_status)

    if article is None or not has_body:
        failed = extraction_status == ExtractionStatus.FAILED
        status = SaveOutcome.FAILED if failed else SaveOutcome.NOT_ARTICLE
        # a stub refused by validation (teaser, paywall) may be complete next time: not settled
        refused = page.drop_reason in VALIDATION_DROPS
        state = FrontierState.FAILED if failed or refused else FrontierState.NOT_ARTICLE
        if status == SaveOutcome.NOT_ARTICLE and page.followed_links:
            # a listing that led on to other pages is fetched again whenever discovery reaches it
            state = FrontierState.FETCHED
        record_fetched(session, page, source_id, state, run_id=run_id)
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
        values = _article_values(article, fp, source_id, page.fetched_at, canonical)
        new_id = session.scalar(_article_insert(session.get_bind().dialect.name), values)
        if new_id is not None:
            own = linking.OwnClaim(
                values["url"],
                values["canonical_url"],
                values["word_count"],
                linking.kept_credits(article.credits),
            )
            result = _store_new(
                session, new_id, article, fp, capture.id, page.fetched_at, own, page.story_keys
            )
        else:  # a concurrent writer stored this canonical URL first: it is a refetch now
            existing = _lock_article(session, canonical)
            assert existing is not None
    if existing is not None:
        result = _store_refetch(session, existing, page, article, fp, capture.id)
    capture.article_id = result.article_id
    record_fetched(
        session, page, source_id, FrontierState.STORED, article_id=result.article_id, run_id=run_id
    )
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
    own: linking.OwnClaim,
    story_keys: dict[str, float] | None = None,
) -> SaveResult:
    day = linking.effective_day(article.published, fetched_at)
    _write_companies(session, article_id, article)
    linking.save_claims(session, article_id, article.site_name, own.credits, new=True)
    link = None
    # a stub, a list or a template text neither finds copies nor is found as one
    if linking.linkable(article.body):
        linking.index_article(session, article_id, fp, day)
        link = linking.link_new_article(
            session,
            article_id,
            fp,
            lang=article.lang,
            published=article.published,
            day=day,
            own=own,
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
        keys=story_keys,
    )
    if link is None:
        return SaveResult(status=SaveOutcome.NEW, capture_id=capture_id, article_id=article_id)
    return SaveResult(
        status=SaveOutcome.NEW if link.replaced is not None else SaveOutcome.DUPLICATE,
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
    seen = as_utc_logged(page.fetched_at) or datetime.now(UTC)
    previous_seen = row.last_seen
    row.last_seen = max(seen, previous_seen)
    known_urls = {row.url, row.canonical_url}
    if not known_urls & {page.url, page.requested_url, article.url}:
        # another address of the same article (AMP, print, tracking variant): its extraction
        # differs by template, so it records a capture but never makes a revision
        return SaveResult(
            status=SaveOutcome.DUPLICATE,
            capture_id=capture_id,
            article_id=row.id,
            original_id=row.id,
            kind=LinkKind.URL,
            score=1.0,
        )
    if not revise_article(session, row, article, fp, seen=seen, previous_seen=previous_seen):
        return SaveResult(status=SaveOutcome.UNCHANGED, capture_id=capture_id, article_id=row.id)
    return SaveResult(status=SaveOutcome.UPDATED, capture_id=capture_id, article_id=row.id)


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
    linking.save_claims(session, row.id, article.site_name, article.credits)
    if linking.linkable(article.body):
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


@functools.cache
def _article_insert(dialect: str) -> Any:
    """The new article's ``INSERT … ON CONFLICT DO NOTHING RETURNING id``, built once per
    backend and bound per page: building it with ``.values()`` coerced its 23 columns and made
    a new cache key on every page (about a tenth of the archive writer's CPU)."""
    table: Table = ArticleRow.__table__  # type: ignore[assignment]  # a mapped class's Table
    return (
        backend_insert(dialect, table)
        .on_conflict_do_nothing(index_elements=["canonical_url"])
        .returning(table.c.id)
    )


def _lock_article(session: Session, canonical: str) -> ArticleRow | None:
    return session.scalars(_LOCK_ARTICLE, {"canonical": canonical}).first()


# the stored article of a canonical URL, locked (PostgreSQL) and read afresh; built once
_LOCK_ARTICLE = (
    select(ArticleRow)
    .where(ArticleRow.canonical_url == bindparam("canonical"))
    .with_for_update()
    .execution_options(populate_existing=True)
)


def _article_values(
    article: Article, fp: Fingerprint, source_id: int, seen: datetime, canonical: str
) -> dict[str, Any]:
    published = as_utc_logged(article.published)
    offset = article.published.utcoffset() if article.published is not None else None
    values = {
        "source_id": source_id,
        "url": article.url,
        "canonical_url": canonical,
        "title": article.title,
        "body": article.body,
        "published": published,
        "published_offset": int(offset.total_seconds() // 60) if offset is not None else None,
        "modified": as_utc_logged(article.modified),
        "date_source": cut(article.date_source, 32),
        "date_flags": list(article.date_flags),
        "authors": list(article.authors),
        "organisations": list(article.organisations),
        "lang": cut(article.lang, 16),
        "description": article.description,
        "image": article.image,
        "section": cut(article.section, 500),
        "tags": list(article.tags),
        "companies": list(article.companies),
        "word_count": article.word_count,
        "content_sha256": fp.content_sha256,
        "version": 1,
        "first_seen": as_utc_logged(seen),
        "last_seen": as_utc_logged(seen),
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
        fetched_at=as_utc_logged(page.fetched_at) or datetime.now(UTC),
        status=page.status,
        headers=clean_value({k: headers[k][:2000] for k in KEPT_HEADERS if k in headers}),
        html_gz=(page.body_gz or compress_html(page.body)) if page.body else None,
        encoding=clean_value(cut(page.encoding, 64)),
        size=len(page.body),
        extraction_status=status,
        extraction_error=clean_value(page.extraction_error),
        reason=clean_value(cut(page.reason, 500)),
    )
    session.add(capture)
    session.flush()  # on SQLite this first write takes the write lock for the whole save
    return capture
