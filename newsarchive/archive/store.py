"""Writing fetched pages into the archive: captures, articles, revisions and duplicate links.

One call of :func:`save_page` per fetched page, inside the caller's transaction. The rules
(see ``docs/dedupe.md``):

- every page leaves a ``captures`` row and updates ``url_state``, whatever happened;
- one ``articles`` row per canonical URL; a refetch either bumps ``last_seen`` (unchanged or a
  trivial change) or moves the previous state to ``article_versions`` (a real change);
- another URL declaring a stored canonical URL is the same article (``kind="url"``);
- a new article whose normalised body hash matches a stored one is linked ``exact``, one whose
  MinHash LSH candidates score at least ``dedupe.NEAR_THRESHOLD`` is linked ``near``; failing
  both, one in another language published within ``dedupe.TRANSLATION_WINDOW_DAYS`` of a
  stored article whose anchor pairs score at least ``dedupe.TRANSLATION_THRESHOLD`` is linked
  ``translation``; links always point at the group's original, the earliest published member.

Concurrency: the canonical-URL insert is ``INSERT … ON CONFLICT DO NOTHING``, so two writers
storing the same article end with one row. On SQLite the capture row is written first, which
takes the database write lock for the whole save (deferred transactions only lock on the first
write), so the lookups that follow are consistent. On PostgreSQL a refetched article is read
``FOR UPDATE`` and the duplicate search of a new article runs under a transaction-level
advisory lock, so two copies stored at the same moment still see each other.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, bindparam, delete, func, or_, select, update

from newsarchive import dedupe
from newsarchive.archive.db import dialect_insert
from newsarchive.archive.models import (
    AnchorBand,
    ArticleAnchor,
    ArticleCompany,
    ArticleSignature,
    ArticleVersion,
    Capture,
    Duplicate,
    LshBand,
    Source,
    UrlState,
)
from newsarchive.archive.models import Article as ArticleRow
from newsarchive.extraction.dates import as_utc

if TYPE_CHECKING:
    from collections.abc import Iterable

    from sqlalchemy import Select
    from sqlalchemy.orm import Session

    from newsarchive.archive.db import Archive
    from newsarchive.dedupe import Fingerprint
    from newsarchive.items import Article, FetchedPage

logger = logging.getLogger(__name__)

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
HTML_COMPRESSION_LEVEL = 6


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
    """The id of source ``name``, created on first use; metadata given later fills gaps only."""
    row = session.scalars(select(Source).where(Source.name == name)).first()
    if row is not None:
        for attr, value in (("homepage", homepage), ("language", language), ("country", country)):
            if value and getattr(row, attr) is None:
                setattr(row, attr, value)
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
    return new_id


def save_page(
    session: Session,
    page: FetchedPage,
    *,
    run_id: int | None = None,
    fp: Fingerprint | None = None,
) -> SaveResult:
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

    fp = fp or dedupe.fingerprint(article.body)
    canonical = article.canonical_url or article.url or page.url
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
    day = _day(article.published, fetched_at)
    _write_index(session, article_id, article, fp, day)
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(DEDUPE_LOCK_KEY)))
    match = _find_match(session, article_id, fp) or _find_translation(
        session, article_id, fp, article.lang, day
    )
    if match is None:
        return SaveResult(status="new", capture_id=capture_id, article_id=article_id)
    original_id, kind, score = match
    original_published = session.scalar(
        select(ArticleRow.published).where(ArticleRow.id == original_id)
    )
    published = _utc(article.published)
    if published is not None and original_published is not None and published < original_published:
        # the newcomer predates the group's original: it takes its place
        session.execute(
            update(Duplicate)
            .where(Duplicate.original_id == original_id)
            .values(original_id=article_id)
        )
        _relink_group(session, article_id, original_id, fp, article.lang)
        logger.info(
            "article %d replaces %d as original (%s %.2f)", article_id, original_id, kind, score
        )
        return SaveResult(
            status="new",
            capture_id=capture_id,
            article_id=article_id,
            original_id=article_id,
            kind=kind,
            score=score,
        )
    session.add(Duplicate(article_id=article_id, original_id=original_id, kind=kind, score=score))
    return SaveResult(
        status="duplicate",
        capture_id=capture_id,
        article_id=article_id,
        original_id=original_id,
        kind=kind,
        score=score,
    )


def _relink_group(
    session: Session, new_id: int, old_id: int, fp: Fingerprint, lang: str | None
) -> None:
    """Link a replaced original to the newcomer, and fix links whose kind no longer fits.

    The newcomer may have matched the group through another member (an English wire story
    found through its English copy while the group's original was a French translation), so
    the old original is scored against the newcomer directly. Moved links keep their kind and
    score, except where the language relation flipped: an English copy that came in as a
    translation of a French original is a ``near`` copy of the English newcomer.
    """
    rows = session.execute(
        select(
            ArticleRow.id,
            ArticleRow.content_sha256,
            ArticleRow.lang,
            ArticleSignature.minhash,
            ArticleAnchor.anchors,
            Duplicate.kind,
        )
        .outerjoin(ArticleSignature, ArticleSignature.article_id == ArticleRow.id)
        .outerjoin(ArticleAnchor, ArticleAnchor.article_id == ArticleRow.id)
        .outerjoin(Duplicate, Duplicate.article_id == ArticleRow.id)
        .where(or_(ArticleRow.id == old_id, Duplicate.original_id == new_id))
    ).all()
    own = dedupe.primary_language(lang)
    for member_id, sha, member_lang, minhash, anchors, kind in rows:
        other = dedupe.primary_language(member_lang)
        translated = own is not None and other is not None and own != other
        if member_id != old_id and (kind == "translation") == translated:
            continue
        if sha == fp.content_sha256:
            link = ("exact", 1.0)
        elif translated:
            link = ("translation", dedupe.anchor_similarity(fp.anchors, anchors or ""))
        else:
            link = ("near", dedupe.similarity(fp.minhash, minhash) if minhash else 0.0)
        if member_id == old_id:
            session.add(
                Duplicate(article_id=old_id, original_id=new_id, kind=link[0], score=link[1])
            )
        else:
            session.execute(
                update(Duplicate)
                .where(Duplicate.article_id == member_id)
                .values(kind=link[0], score=link[1])
            )


def _find_match(
    session: Session, article_id: int, fp: Fingerprint
) -> tuple[int, str, float] | None:
    """(group original, kind, score) of the best stored match of a new article, if any."""
    # No ORDER BY … LIMIT here: PostgreSQL would walk the primary key in id order and filter on
    # the hash, a scan of the whole table whenever nothing matches (measured: 35 ms at 30,000
    # articles, 275 ms at 100,000). Equal bodies are one group, so any few of them will do.
    exact = session.execute(
        select(ArticleRow.id, Duplicate.original_id)
        .outerjoin(Duplicate, Duplicate.article_id == ArticleRow.id)
        .where(ArticleRow.content_sha256 == fp.content_sha256, ArticleRow.id != article_id)
        .limit(MAX_CANDIDATES)
    ).all()
    if exact:
        first_id, original_id = min(exact)
        return (original_id or first_id, "exact", 1.0)
    if not fp.bands:
        return None
    params = _band_params(fp.bands, self_id=article_id)
    candidates = session.execute(_candidate_query(len(fp.bands)), params).all()
    if not candidates:
        return None
    rows = session.execute(
        select(ArticleSignature.article_id, ArticleSignature.minhash, Duplicate.original_id)
        .outerjoin(Duplicate, Duplicate.article_id == ArticleSignature.article_id)
        .where(ArticleSignature.article_id.in_([c[0] for c in candidates]))
    ).all()
    best = _best(
        (
            (dedupe.similarity(fp.minhash, minhash), cand_id, original_id)
            for cand_id, minhash, original_id in rows
        ),
        dedupe.NEAR_THRESHOLD,
    )
    return None if best is None else (best[0], "near", best[1])


def _find_translation(
    session: Session, article_id: int, fp: Fingerprint, lang: str | None, day: int
) -> tuple[int, str, float] | None:
    """(group original, "translation", score) of the best stored translation match, if any.

    Candidates share an anchor band key within the date window (one index range per band);
    only those in another known language are scored, on the exact Jaccard of anchor pairs.
    """
    own_lang = dedupe.primary_language(lang)
    if own_lang is None or not fp.anchor_bands:
        return None
    params = _band_params(
        fp.anchor_bands,
        self_id=article_id,
        lo=day - dedupe.TRANSLATION_WINDOW_DAYS,
        hi=day + dedupe.TRANSLATION_WINDOW_DAYS,
    )
    candidates = session.execute(_anchor_candidate_query(len(fp.anchor_bands)), params).all()
    if not candidates:
        return None
    rows = session.execute(
        select(
            ArticleAnchor.article_id, ArticleAnchor.anchors, ArticleRow.lang, Duplicate.original_id
        )
        .join(ArticleRow, ArticleRow.id == ArticleAnchor.article_id)
        .outerjoin(Duplicate, Duplicate.article_id == ArticleAnchor.article_id)
        .where(ArticleAnchor.article_id.in_([c[0] for c in candidates]))
    ).all()
    best = _best(
        (
            (dedupe.anchor_similarity(fp.anchors, anchors), cand_id, original_id)
            for cand_id, anchors, cand_lang, original_id in rows
            if dedupe.primary_language(cand_lang) not in (None, own_lang)
        ),
        dedupe.TRANSLATION_THRESHOLD,
    )
    return None if best is None else (best[0], "translation", best[1])


def _band_params(bands: Iterable[tuple[int, int]], **extra: int) -> dict[str, int]:
    """Bind values for the cached candidate queries, which name band i ``b{i}``/``k{i}`` so one
    compiled statement serves every save with the same band count."""
    params = dict(extra)
    for i, (band, key) in enumerate(bands):
        params[f"b{i}"], params[f"k{i}"] = band, key
    return params


def _best(
    scored: Iterable[tuple[float, int, int | None]], threshold: float
) -> tuple[int, float] | None:
    """(group original, score) of the best (score, candidate, original) at or above ``threshold``.

    Equal scores go to the lowest candidate id, so the pick does not depend on row order.
    """
    best: tuple[float, int, int] | None = None
    for score, cand_id, original_id in scored:
        if score >= threshold and (best is None or (score, -cand_id) > (best[0], -best[1])):
            best = (score, cand_id, original_id or cand_id)
    return None if best is None else (best[2], best[0])


@functools.cache
def _anchor_candidate_query(n_bands: int) -> Select[tuple[int, int]]:
    """Articles sharing an anchor band key on a day of the window, most shared first."""
    shared = func.count().label("shared")
    return (
        select(AnchorBand.article_id, shared)
        .where(
            or_(
                *(
                    and_(
                        AnchorBand.band == bindparam(f"b{i}"),
                        AnchorBand.key == bindparam(f"k{i}"),
                        AnchorBand.day.between(bindparam("lo"), bindparam("hi")),
                    )
                    for i in range(n_bands)
                )
            ),
            AnchorBand.article_id != bindparam("self_id"),
        )
        .group_by(AnchorBand.article_id)
        .order_by(shared.desc(), AnchorBand.article_id)
        .limit(MAX_TRANSLATION_CANDIDATES)
    )


def _day(published: datetime | None, seen: datetime | None) -> int:
    """The effective date (published, else first seen) as days since 1970-01-01 UTC."""
    moment = _utc(published) or _utc(seen) or datetime.now(UTC)
    return (moment - _EPOCH).days


@functools.cache
def _candidate_query(n_bands: int) -> Select[tuple[int, int]]:
    """Articles sharing any band key, most shared first: one index probe per band.

    Built once per band count with bound parameters, so SQLAlchemy's compiled cache is hit
    instead of rebuilding an 84-term expression on every save.
    """
    shared = func.count().label("shared")
    return (
        select(LshBand.article_id, shared)
        .where(
            or_(
                *(
                    and_(LshBand.band == bindparam(f"b{i}"), LshBand.key == bindparam(f"k{i}"))
                    for i in range(n_bands)
                )
            ),
            LshBand.article_id != bindparam("self_id"),
        )
        .group_by(LshBand.article_id)
        .order_by(shared.desc(), LshBand.article_id)
        .limit(MAX_CANDIDATES)
    )


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
    body_changed = fp.content_sha256 != row.content_sha256 and not dedupe.is_trivial_change(
        row.body, article.body
    )
    title_changed = dedupe.normalise_text(article.title or "") != dedupe.normalise_text(
        row.title or ""
    )
    if not (body_changed or title_changed):
        return SaveResult(status="unchanged", capture_id=capture_id, article_id=row.id)
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
    session.execute(delete(ArticleCompany).where(ArticleCompany.article_id == row.id))
    session.execute(delete(LshBand).where(LshBand.article_id == row.id))
    session.execute(delete(ArticleSignature).where(ArticleSignature.article_id == row.id))
    session.execute(delete(AnchorBand).where(AnchorBand.article_id == row.id))
    session.execute(delete(ArticleAnchor).where(ArticleAnchor.article_id == row.id))
    _write_index(session, row.id, article, fp, _day(article.published, row.first_seen))
    logger.info("article %d changed: version %d", row.id, row.version)
    return SaveResult(status="updated", capture_id=capture_id, article_id=row.id)


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
    return {
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


def backfill_anchors(session: Session, *, start_id: int = 0, batch: int = 500) -> int | None:
    """Recompute the anchor index of up to ``batch`` articles with ids from ``start_id`` on.

    Archives created before schema 0003, or stored under other anchor parameters, have no (or
    stale) ``article_anchors`` / ``anchor_bands``; their articles cannot be found as translation
    originals until this has run over them. Call it in a loop, one transaction per batch, with
    the returned id until it returns None. Existing links are not changed.
    """
    rows = session.execute(
        select(ArticleRow.id, ArticleRow.body, ArticleRow.published, ArticleRow.first_seen)
        .where(ArticleRow.id >= start_id)
        .order_by(ArticleRow.id)
        .limit(batch)
    ).all()
    if not rows:
        return None
    ids = [r.id for r in rows]
    session.execute(delete(AnchorBand).where(AnchorBand.article_id.in_(ids)))
    session.execute(delete(ArticleAnchor).where(ArticleAnchor.article_id.in_(ids)))
    anchors: list[dict[str, Any]] = []
    bands: list[dict[str, Any]] = []
    for article_id, body, published, first_seen in rows:
        fp = dedupe.fingerprint(body)
        if not fp.anchor_bands:
            continue
        day = _day(published, first_seen)
        anchors.append({"article_id": article_id, "anchors": fp.anchors})
        bands += [
            {"band": band, "key": key, "day": day, "article_id": article_id}
            for band, key in fp.anchor_bands
        ]
    if anchors:
        session.execute(dialect_insert(session, ArticleAnchor), anchors)
        session.execute(dialect_insert(session, AnchorBand), bands)
    logger.info("anchor index: %d articles from id %d, %d indexed", len(ids), ids[0], len(anchors))
    return ids[-1] + 1


def rebuild_anchor_index(archive: Archive, *, batch: int = 500) -> int:
    """Run :func:`backfill_anchors` over the whole archive, one transaction per batch; returns
    the number of batches. ``newsarchive db upgrade`` calls it when it crosses schema 0003."""
    start: int | None = 0
    batches = 0
    while start is not None:
        with archive.session() as session:
            start = backfill_anchors(session, start_id=start, batch=batch)
        batches += start is not None
    return batches


def _write_index(
    session: Session, article_id: int, article: Article, fp: Fingerprint, day: int
) -> None:
    """Company rows, MinHash signature, LSH band keys and anchors of an article's current text."""
    companies = sorted({c[:200] for c in article.companies if c.strip()})
    if companies:
        session.execute(
            dialect_insert(session, ArticleCompany),
            [{"article_id": article_id, "company": c} for c in companies],
        )
    session.execute(
        dialect_insert(session, ArticleSignature).values(article_id=article_id, minhash=fp.minhash)
    )
    if fp.bands:
        session.execute(
            dialect_insert(session, LshBand),
            [{"band": band, "key": key, "article_id": article_id} for band, key in fp.bands],
        )
    if fp.anchor_bands:
        session.execute(
            dialect_insert(session, ArticleAnchor).values(article_id=article_id, anchors=fp.anchors)
        )
        session.execute(
            dialect_insert(session, AnchorBand),
            [
                {"band": band, "key": key, "day": day, "article_id": article_id}
                for band, key in fp.anchor_bands
            ],
        )


def _add_capture(
    session: Session, page: FetchedPage, source_id: int, run_id: int | None, status: str
) -> Capture:
    headers = {k.lower(): v for k, v in page.headers.items()}
    capture = Capture(
        run_id=run_id,
        source_id=source_id,
        url=page.requested_url or page.url,
        final_url=page.url,
        fetched_at=_utc(page.fetched_at) or datetime.now(UTC),
        status=page.status,
        headers={k: headers[k][:2000] for k in KEPT_HEADERS if k in headers},
        html_gz=zlib.compress(page.body, HTML_COMPRESSION_LEVEL) if page.body else None,
        encoding=_cut(page.encoding, 64),
        size=len(page.body),
        extraction_status=status,
        extraction_error=page.extraction_error,
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
    urls = dict.fromkeys(u for u in (page.url, page.requested_url) if u)
    for url in urls:
        values = {
            "url": url,
            "source_id": source_id,
            "kind": "page",
            "state": state,
            "lastmod": _utc(page.lastmod),
            "etag": headers.get("etag"),
            "last_modified": _cut(headers.get("last-modified"), 64),
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


def _utc(value: datetime | None) -> datetime | None:
    """Aware UTC; a naive value (a parser bug upstream) is taken as UTC rather than crashing."""
    if value is not None and value.tzinfo is None:
        logger.warning("naive datetime %s taken as UTC", value.isoformat())
    return as_utc(value)


def _cut(value: str | None, size: int) -> str | None:
    return value[:size] if value is not None else None
