"""Linking copies: the persisted near-duplicate / translation index and the choice of original.

Fingerprints themselves are pure functions (:mod:`newsarchive.extraction.fingerprint`, computed
in the extraction worker); this module keeps their persisted form and answers "which stored
article is this one a copy of?". The rules (see ``docs/dedupe.md``): a new article whose
normalised body hash matches a stored one is linked ``exact``; one whose MinHash LSH candidates
score at least ``fingerprint.NEAR_THRESHOLD`` is linked ``near``; failing both, one in another
language published within ``fingerprint.TRANSLATION_WINDOW_DAYS`` of a stored article whose anchor
pairs score at least ``fingerprint.TRANSLATION_THRESHOLD`` is linked ``translation``. Links always
point at the group's original, the earliest published member.

Concurrency: on PostgreSQL the duplicate search of a new article runs under a transaction-level
advisory lock, so two copies stored at the same moment still see each other; on SQLite the
caller already holds the database write lock (:func:`newsarchive.archive.store.save_page`).
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, bindparam, delete, func, or_, select, update

from newsarchive.archive.db import dialect_insert
from newsarchive.archive.models import (
    AnchorBand,
    ArticleAnchor,
    ArticleSignature,
    Duplicate,
    LshBand,
)
from newsarchive.archive.models import Article as ArticleRow
from newsarchive.contracts import LinkKind
from newsarchive.extraction import fingerprint
from newsarchive.extraction.dates import as_utc

if TYPE_CHECKING:
    from collections.abc import Iterable

    from sqlalchemy import Select
    from sqlalchemy.orm import Session

    from newsarchive.archive.db import Archive
    from newsarchive.extraction.fingerprint import Fingerprint

logger = logging.getLogger(__name__)

# LSH candidates scored per new article, most shared bands first. Real copies share most bands,
# so this only bounds the work when a common boilerplate text collides with many articles.
MAX_CANDIDATES = 100
# Translation candidates scored per new article, most shared anchor bands first.
MAX_TRANSLATION_CANDIDATES = 50
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Arbitrary constant naming the PostgreSQL advisory lock that serialises duplicate searches.
DEDUPE_LOCK_KEY = 0x6E65_7773_6475_70  # "newsdup"


@dataclass(slots=True, frozen=True)
class Link:
    """How a new article was linked: ``original_id`` is its group's original (the article itself
    when it replaced the former original), ``kind`` is ``exact``/``near``/``translation``."""

    original_id: int
    kind: LinkKind
    score: float
    replaced: int | None = None  # the former original, when the new article took its place


def link_new_article(
    session: Session,
    article_id: int,
    fp: Fingerprint,
    *,
    lang: str | None,
    published: datetime | None,
    day: int,
) -> Link | None:
    """Find the stored group a new (already indexed) article belongs to and record the link.

    A newcomer that predates the group's original takes its place: every link is re-pointed to
    it in this transaction.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(DEDUPE_LOCK_KEY)))
    match = _find_match(session, article_id, fp) or _find_translation(
        session, article_id, fp, lang, day
    )
    if match is None:
        return None
    original_id, kind, score = match
    original_published = session.scalar(
        select(ArticleRow.published).where(ArticleRow.id == original_id)
    )
    published = as_utc(published)
    if published is not None and original_published is not None and published < original_published:
        # the newcomer predates the group's original: it takes its place
        session.execute(
            update(Duplicate)
            .where(Duplicate.original_id == original_id)
            .values(original_id=article_id)
        )
        _relink_group(session, article_id, original_id, fp, lang)
        logger.info(
            "article %d replaces %d as original (%s %.2f)", article_id, original_id, kind, score
        )
        return Link(article_id, kind, score, replaced=original_id)
    session.add(Duplicate(article_id=article_id, original_id=original_id, kind=kind, score=score))
    return Link(original_id, kind, score)


def unindex_article(session: Session, article_id: int) -> None:
    """Drop an article's signature, bands and anchors (before re-indexing a changed text)."""
    for table in (LshBand, ArticleSignature, AnchorBand, ArticleAnchor):
        session.execute(delete(table).where(table.article_id == article_id))


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
    own = fingerprint.primary_language(lang)
    for member_id, sha, member_lang, minhash, anchors, kind in rows:
        other = fingerprint.primary_language(member_lang)
        translated = own is not None and other is not None and own != other
        if member_id != old_id and (kind == LinkKind.TRANSLATION) == translated:
            continue
        if sha == fp.content_sha256:
            link = (LinkKind.EXACT, 1.0)
        elif translated:
            score = fingerprint.translation_score(fp.anchors, anchors or "", lang, member_lang)
            link = (LinkKind.TRANSLATION, score)
        else:
            link = (LinkKind.NEAR, fingerprint.similarity(fp.minhash, minhash) if minhash else 0.0)
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
) -> tuple[int, LinkKind, float] | None:
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
        return (original_id or first_id, LinkKind.EXACT, 1.0)
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
            (fingerprint.similarity(fp.minhash, minhash), cand_id, original_id)
            for cand_id, minhash, original_id in rows
        ),
        fingerprint.NEAR_THRESHOLD,
    )
    return None if best is None else (best[0], LinkKind.NEAR, best[1])


def _find_translation(
    session: Session, article_id: int, fp: Fingerprint, lang: str | None, day: int
) -> tuple[int, LinkKind, float] | None:
    """(group original, "translation", score) of the best stored translation match, if any.

    Candidates share an anchor band key within the date window (one index range per band);
    only those in another known language are scored, on the exact Jaccard of anchor pairs.
    """
    own_lang = fingerprint.primary_language(lang)
    if own_lang is None or not fp.anchor_bands:
        return None
    params = _band_params(
        fp.anchor_bands,
        self_id=article_id,
        lo=day - fingerprint.TRANSLATION_WINDOW_DAYS,
        hi=day + fingerprint.TRANSLATION_WINDOW_DAYS,
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
            (
                fingerprint.translation_score(fp.anchors, anchors, lang, cand_lang),
                cand_id,
                original_id,
            )
            for cand_id, anchors, cand_lang, original_id in rows
            if fingerprint.primary_language(cand_lang) not in (None, own_lang)
        ),
        fingerprint.TRANSLATION_THRESHOLD,
    )
    return None if best is None else (best[0], LinkKind.TRANSLATION, best[1])


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
def _anchor_candidate_query(n_bands: int) -> Select[int, int]:
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


def effective_day(published: datetime | None, seen: datetime | None) -> int:
    """The effective date (published, else first seen) as days since 1970-01-01 UTC."""
    moment = as_utc(published) or as_utc(seen) or datetime.now(UTC)
    return (moment - _EPOCH).days


@functools.cache
def _candidate_query(n_bands: int) -> Select[int, int]:
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
    ids: list[int] = [r.id for r in rows]
    session.execute(delete(AnchorBand).where(AnchorBand.article_id.in_(ids)))
    session.execute(delete(ArticleAnchor).where(ArticleAnchor.article_id.in_(ids)))
    anchors: list[dict[str, Any]] = []
    bands: list[dict[str, Any]] = []
    for article_id, body, published, first_seen in rows:
        fp = fingerprint.fingerprint(body)
        if not fp.anchor_bands:
            continue
        day = effective_day(published, first_seen)
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


def index_article(session: Session, article_id: int, fp: Fingerprint, day: int) -> None:
    """Write the MinHash signature, LSH band keys and anchors of an article's current text."""
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
