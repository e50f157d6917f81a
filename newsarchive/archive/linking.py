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

Why one module of this size: finding a copy's group, deciding its original (publication time,
credits, first seen: :class:`OriginRule`) and re-pointing the group run in one transaction under
the one advisory lock above and share its candidate queries; ``db relink``/``db upgrade`` reuse
the same functions over stored groups. Kept together so that the lock discipline is read once.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import re
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, bindparam, delete, func, or_, select, update

from newsarchive.archive.db import dialect_insert
from newsarchive.archive.models import (
    AnchorBand,
    ArticleAnchor,
    ArticleClaim,
    ArticleSignature,
    Capture,
    CreditKey,
    Duplicate,
    LshBand,
    Source,
)
from newsarchive.archive.models import Article as ArticleRow
from newsarchive.contracts import LinkKind
from newsarchive.discovery.urls import canonicalize_url, host_of, url_key
from newsarchive.extraction import fingerprint
from newsarchive.extraction.dates import as_utc
from newsarchive.extraction.textlength import word_equivalents
from newsarchive.items import Credit, CreditKind

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
# A text shorter than this (word equivalents) is never linked: too little to tell a copy from
# a shared template.
MIN_LINK_WORDS = 40
# Lines shorter than this without a sentence end are headlines, links or labels, not prose; a
# text that is mostly such lines is a list page.
LIST_LINE_WORDS = 12
MIN_PROSE_SHARE = 0.5
# A copy that credits a stored page by URL is linked to it when this share of the shorter
# text is inside the longer (a partial republication), at a MinHash similarity of at least
# the floor below (under it the estimate is noise).
MIN_CREDITED_CONTAINMENT = 0.7
MIN_CREDITED_SIMILARITY = 0.1
# Credits kept per article claim.
MAX_CLAIMED_CREDITS = 8
# Below this length a text about consent, subscriptions, sign-in or errors is a template stub.
STUB_MAX_WORDS = 150
_SENTENCE_ENDS = (
    ".",
    "!",
    "?",
    "\u3002",
    "\uff01",
    "\uff1f",
    "\u201d",
    '"',
    "\u00bb",
    "\u2026",
    ":",
)
_STUB = re.compile(
    r"\bcookies?\b|\bconsent\b|\bjavascript\b|\bsubscri(?:be|ber|ption)s?\b|\babonn|"
    r"\bpaywall\b|\bsign(?:ed)? ?in\b|\blog(?:ged)? ?in\b|\bregist(?:er|rieren)\b|\bnot found\b|"
    r"nicht gefunden|no encontrad|introuvable|access denied|zugriff verweigert|"
    r"\bad ?blocker\b|\b404\b|\b403\b|\baccept\b|\bprivacy\b|\bdatenschutz",
    re.IGNORECASE,
)
# A short text is a stub when it names at least this many of those things.
STUB_MIN_TERMS = 2


@dataclass(slots=True, frozen=True)
class Link:
    """How a new article was linked: ``original_id`` is its group's original (the article itself
    when it replaced the former original), ``kind`` is ``exact``/``near``/``translation``."""

    original_id: int
    kind: LinkKind
    score: float
    replaced: int | None = None  # the former original, when the new article took its place
    rule: OriginRule | None = None


class OriginRule(StrEnum):
    """Which rule made an article the original of a copy (``duplicates.rule``, shown by ``show``)."""

    PUBLISHED = "published"  # published first
    CREDIT = "credit"  # publication times tie and the copy credits the original
    FIRST_SEEN = "first_seen"  # times tie, no credit decides: the archive saw it first
    GROUP = "group"  # came along with its group when a better original arrived


# Publication times this close are a tie: wire copy carries the wire's timestamp, a date
# parsed in the wrong zone is off by hours, a date-only value sits at midnight. Within it a
# credit decides before the (small) time difference does.
PUBLISHED_TIE = timedelta(hours=36)
# Smaller differences than this are no difference at all (second-precision noise).
SAME_MOMENT = timedelta(minutes=1)
# Where a publication time is the page's own statement; htmldate's reading of the text, a
# visible dateline or the URL are guesses (a year in the body makes "2019-01-01").
STATED_DATE_SOURCES = frozenset({"jsonld", "meta", "microdata"})


@dataclass(slots=True, frozen=True)
class Claim:
    """What the choice of original knows about one article."""

    id: int
    url: str
    canonical_url: str
    source: str
    site_name: str | None
    credits: tuple[Credit, ...]
    published: datetime | None
    first_seen: datetime
    date_source: str | None = None

    @property
    def stated(self) -> datetime | None:
        """The publication time when the page states it (structured data), not a guess."""
        return self.published if self.date_source in STATED_DATE_SOURCES else None


def credits_other(copy: Claim, other: Claim) -> bool:
    """Whether ``copy`` credits ``other``: a credit's URL is ``other``'s page or on its host,
    or a credited name is ``other``'s site or source name."""
    keys = {url_key(other.url), url_key(other.canonical_url)}
    hosts = {host_of(other.url), host_of(other.canonical_url)}
    names = {n for n in (_name_key(other.site_name), _name_key(other.source)) if len(n) >= 3}
    for credit in copy.credits:
        if credit.url and (url_key(credit.url) in keys or host_of(credit.url) in hosts):
            return True
        name = _name_key(credit.name)
        if name and any(n == name or (len(n) >= 4 and n in name) for n in names):
            return True
    return False


def _name_key(name: str | None) -> str:
    """ "wsj" for "The WSJ", "wall street journal" for "The Wall Street Journal."."""
    if not name:
        return ""
    folded = re.sub(r"[\W_]+", " ", name.casefold()).strip()
    return re.sub(r"^(the|www) ", "", folded)


def choose_original(newcomer: Claim, incumbent: Claim) -> tuple[Claim, OriginRule]:
    """The original of two linked articles, and the rule that decided.

    Published first, when both pages state their publication time (structured data, not a
    guess from the text) and the two are further apart than :data:`PUBLISHED_TIE`; otherwise
    the page that credits the other is the copy; otherwise the earlier publication time, then
    the earlier first-seen time. A full tie keeps the ``incumbent`` (the group's
    current original), so equal claims never re-point a group.
    """
    a, b = newcomer, incumbent
    if a.stated is not None and b.stated is not None and abs(a.stated - b.stated) > PUBLISHED_TIE:
        return (a if a.stated < b.stated else b), OriginRule.PUBLISHED
    a_credits, b_credits = credits_other(a, b), credits_other(b, a)
    if a_credits != b_credits:
        return (b if a_credits else a), OriginRule.CREDIT
    if (
        a.published is not None
        and b.published is not None
        and abs(a.published - b.published) >= SAME_MOMENT
    ):
        return (a if a.published < b.published else b), OriginRule.PUBLISHED
    return (a if a.first_seen < b.first_seen else b), OriginRule.FIRST_SEEN


def load_claims(session: Session, ids: Iterable[int]) -> dict[int, Claim]:
    rows = session.execute(
        select(
            ArticleRow.id,
            ArticleRow.url,
            ArticleRow.canonical_url,
            Source.name,
            ArticleClaim.site_name,
            ArticleClaim.credits,
            ArticleRow.published,
            ArticleRow.first_seen,
            ArticleRow.date_source,
        )
        .join(Source, Source.id == ArticleRow.source_id)
        .outerjoin(ArticleClaim, ArticleClaim.article_id == ArticleRow.id)
        .where(ArticleRow.id.in_(list(ids)))
    ).all()
    return {
        r[0]: Claim(
            id=r[0],
            url=r[1],
            canonical_url=r[2],
            source=r[3],
            site_name=r[4],
            credits=tuple(_credit(c) for c in (r[5] or []) if isinstance(c, dict)),
            published=as_utc(r[6]),
            first_seen=as_utc(r[7]) or _EPOCH,
            date_source=r[8],
        )
        for r in rows
    }


def _credit(data: dict[str, Any]) -> Credit:
    try:
        kind = CreditKind(str(data.get("kind")))
    except ValueError:
        kind = CreditKind.LINE
    return Credit(kind=kind, url=data.get("url"), name=data.get("name"))


@dataclass(slots=True, frozen=True)
class OwnClaim:
    """A new article's row and claim as its transaction wrote them: the credit search of
    :func:`link_new_article` needs them, and the writer has them in hand."""

    url: str
    canonical_url: str
    word_count: int
    credits: tuple[Credit, ...]  # as saved (:func:`kept_credits`)


def _read_own_claim(session: Session, article_id: int) -> OwnClaim:
    me = session.execute(
        select(ArticleRow.url, ArticleRow.canonical_url, ArticleRow.word_count).where(
            ArticleRow.id == article_id
        )
    ).one()
    saved = session.scalar(
        select(ArticleClaim.credits).where(ArticleClaim.article_id == article_id)
    )
    credits = tuple(_credit(c) for c in (saved or []) if isinstance(c, dict))
    return OwnClaim(me.url, me.canonical_url, me.word_count, credits)


def kept_credits(credits: Iterable[Credit]) -> tuple[Credit, ...]:
    """The credits an article's claim keeps (the first few: a page crediting dozens of sites
    is a link list, not a copy)."""
    return tuple(credits)[:MAX_CLAIMED_CREDITS]


def save_claims(
    session: Session,
    article_id: int,
    site_name: str | None,
    credits: Iterable[Credit],
    *,
    new: bool = False,
) -> None:
    """Write (or replace) what an article says about its own origin, and index the pages it
    credits by URL (:class:`CreditKey`). ``new``: the article row was inserted in this
    transaction, so there is nothing of it to replace (two statements fewer)."""
    kept = kept_credits(credits)
    if not new:
        session.execute(delete(ArticleClaim).where(ArticleClaim.article_id == article_id))
        session.execute(delete(CreditKey).where(CreditKey.article_id == article_id))
    session.add(
        ArticleClaim(
            article_id=article_id,
            site_name=site_name[:300] if site_name else None,
            credits=[{"kind": c.kind.value, "url": c.url, "name": c.name} for c in kept],
        )
    )
    keys = credit_url_keys(c.url for c in kept)
    if keys:
        session.execute(
            dialect_insert(session, CreditKey),
            [{"key": key, "article_id": article_id} for key in keys],
        )
    session.flush()


def page_key_hash(url: str) -> int:
    """A page's URL key (:func:`url_key`) as a signed 64-bit hash, the form of
    ``credit_keys.key``."""
    digest = hashlib.sha256(url_key(url).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def credit_url_keys(urls: Iterable[str | None]) -> set[int]:
    """The hashed keys of the credited pages among ``urls`` (a credit without a URL has none)."""
    return {page_key_hash(u) for u in urls if u and u.startswith(("http://", "https://"))}


def linkable(body: str) -> bool:
    """Whether a text may be linked as a copy of another at all.

    Two different articles can share a text that is not theirs: a cookie wall, a paywall stub,
    an error page, a list of headlines. Such texts are short, or made of short lines, or short
    and about consent/subscription/errors; they never take part in exact or near-duplicate
    linking (``docs/dedupe.md``). Length is in word equivalents (characters in CJK and Thai).
    """
    size = word_equivalents(body)
    if size < MIN_LINK_WORDS:
        return False
    lines = [line.strip() for line in body.split("\n") if line.strip()]
    prose = sum(
        len(line)
        for line in lines
        # the ending first: most prose lines end a sentence, and it is cheaper than counting
        if line.endswith(_SENTENCE_ENDS) or word_equivalents(line) >= LIST_LINE_WORDS
    )
    if prose < MIN_PROSE_SHARE * sum(len(line) for line in lines):
        return False
    if size >= STUB_MAX_WORDS:
        return True  # too long to be a stub: not worth the term scan of the whole text
    terms = {m.group().casefold() for m in _STUB.finditer(body)}
    return len(terms) < STUB_MIN_TERMS


def link_new_article(
    session: Session,
    article_id: int,
    fp: Fingerprint,
    *,
    lang: str | None,
    published: datetime | None,
    day: int,
    own: OwnClaim | None = None,
) -> Link | None:
    """Find the stored group a new (already indexed) article belongs to and record the link.

    The newcomer and the group's original are compared by :func:`choose_original`; a newcomer
    that wins takes the original's place: every link of the group is re-pointed to it in this
    transaction. ``own`` is what the caller has just written for the article (its row and
    claim), which the credit search then need not read back.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(DEDUPE_LOCK_KEY)))
    match = (
        _find_match(session, article_id, fp)
        or _find_translation(session, article_id, fp, lang, day)
        or _find_credited(session, article_id, fp, own)
    )
    if match is None:
        return None
    original_id, kind, score = match
    claims = load_claims(session, (article_id, original_id))
    winner, rule = choose_original(claims[article_id], claims[original_id])
    if winner.id == article_id:
        repoint_group(session, article_id, original_id, fp, lang, rule)
        logger.info(
            "article %d replaces %d as original (%s %.2f, %s)",
            article_id,
            original_id,
            kind,
            score,
            rule,
        )
        return Link(article_id, kind, score, replaced=original_id, rule=rule)
    session.add(
        Duplicate(article_id=article_id, original_id=original_id, kind=kind, score=score, rule=rule)
    )
    return Link(original_id, kind, score, rule=rule)


def unindex_article(session: Session, article_id: int) -> None:
    """Drop an article's signature, bands and anchors (before re-indexing a changed text)."""
    for table in (LshBand, ArticleSignature, AnchorBand, ArticleAnchor):
        session.execute(delete(table).where(table.article_id == article_id))


def repoint_group(
    session: Session,
    new_id: int,
    old_id: int,
    fp: Fingerprint,
    lang: str | None,
    rule: OriginRule,
) -> None:
    """Make ``new_id`` the original of ``old_id``'s group: the former original and all its
    copies now hang under ``new_id`` (one statement each, in the caller's transaction)."""
    session.execute(delete(Duplicate).where(Duplicate.article_id == new_id))
    session.execute(
        update(Duplicate)
        .where(Duplicate.original_id == old_id)
        .values(original_id=new_id, rule=OriginRule.GROUP.value)
    )
    _relink_group(session, new_id, old_id, fp, lang, rule)
    session.flush()
    record_rules(session, new_id, skip=old_id)


def _copies(session: Session, original_id: int) -> list[int]:
    """The content copies of a group (not other addresses of the same article, kind ``url``)."""
    return list(
        session.scalars(
            select(Duplicate.article_id).where(
                Duplicate.original_id == original_id, Duplicate.kind != "url"
            )
        )
    )


def record_rules(session: Session, original_id: int, *, skip: int | None = None) -> None:
    """Store on every link of a group the rule by which its original beats that copy
    (``group`` where the copy would win alone: it came along with its group)."""
    copies = _copies(session, original_id)
    claims = load_claims(session, [original_id, *copies])
    if original_id not in claims:
        return
    best = claims[original_id]
    for member in copies:
        if member == skip or member not in claims:
            continue
        winner, rule = choose_original(claims[member], best)
        session.execute(
            update(Duplicate)
            .where(Duplicate.article_id == member)
            .values(rule=(rule if winner.id == best.id else OriginRule.GROUP).value)
        )


def _relink_group(
    session: Session,
    new_id: int,
    old_id: int,
    fp: Fingerprint,
    lang: str | None,
    rule: OriginRule,
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
                Duplicate(
                    article_id=old_id,
                    original_id=new_id,
                    kind=link[0],
                    score=link[1],
                    rule=rule.value,
                )
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


def containment(similarity: float, words_a: int, words_b: int) -> float:
    """The share of the shorter text's shingles found in the longer one, estimated from their
    MinHash similarity J and lengths: |A∩B| = J·(|A|+|B|)/(1+J)."""
    a, b = (
        max(words_a - fingerprint.SHINGLE_WORDS + 1, 1),
        max(words_b - fingerprint.SHINGLE_WORDS + 1, 1),
    )
    return similarity * (a + b) / ((1 + similarity) * min(a, b))


def _find_credited(
    session: Session, article_id: int, fp: Fingerprint, own: OwnClaim | None = None
) -> tuple[int, LinkKind, float] | None:
    """(group original, "near", score) of a stored article that this one credits by URL, or
    that credits this one, when the shorter text is contained in the longer.

    A republisher often copies only part of a story (the first paragraphs, without the
    related-stories block the original's page carries), so the two texts can be far below
    the near-duplicate threshold while one is almost wholly inside the other. A credit naming
    the page plus :data:`MIN_CREDITED_CONTAINMENT` of the shorter text in the longer links
    them; a credit alone does not (a page may cite a source it does not copy).
    """
    if own is None:
        own = _read_own_claim(session, article_id)
    credited = credit_url_keys(c.url for c in own.credits)
    own_keys = {page_key_hash(own.url), page_key_hash(own.canonical_url)}
    candidates: set[int] = set(
        session.scalars(
            select(CreditKey.article_id).where(
                CreditKey.key.in_(own_keys), CreditKey.article_id != article_id
            )
        )
    )
    if credited:
        spellings: set[str] = set()
        for credit in own.credits:
            url = credit.url
            if url and page_key_hash(url) in credited:
                canon = canonicalize_url(url)
                spellings |= {canon, canon.rstrip("/"), canon.rstrip("/") + "/"}
        if spellings:
            candidates |= set(
                session.scalars(
                    select(ArticleRow.id).where(
                        ArticleRow.canonical_url.in_(spellings), ArticleRow.id != article_id
                    )
                )
            )
    if not candidates:
        return None
    rows = session.execute(
        select(
            ArticleSignature.article_id,
            ArticleSignature.minhash,
            ArticleRow.word_count,
            Duplicate.original_id,
        )
        .join(ArticleRow, ArticleRow.id == ArticleSignature.article_id)
        .outerjoin(Duplicate, Duplicate.article_id == ArticleSignature.article_id)
        .where(ArticleSignature.article_id.in_(sorted(candidates)))
    ).all()
    scored = []
    for cand_id, minhash, words, original_id in rows:
        sim = fingerprint.similarity(fp.minhash, minhash)
        if sim >= MIN_CREDITED_SIMILARITY and (
            containment(sim, own.word_count, words) >= MIN_CREDITED_CONTAINMENT
        ):
            scored.append((sim, cand_id, original_id))
    best = _best(scored, MIN_CREDITED_SIMILARITY)
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
        dialect_insert(session, ArticleSignature), {"article_id": article_id, "minhash": fp.minhash}
    )
    if fp.bands:
        session.execute(
            dialect_insert(session, LshBand),
            [{"band": band, "key": key, "article_id": article_id} for band, key in fp.bands],
        )
    if fp.anchor_bands:
        session.execute(
            dialect_insert(session, ArticleAnchor),
            {"article_id": article_id, "anchors": fp.anchors},
        )
        session.execute(
            dialect_insert(session, AnchorBand),
            [
                {"band": band, "key": key, "day": day, "article_id": article_id}
                for band, key in fp.anchor_bands
            ],
        )


@dataclass(slots=True)
class RelinkResult:
    groups: int = 0
    repointed: int = 0
    # new originals of re-pointed groups: met again further on, they are already decided
    decided: set[int] = field(default_factory=set)


def relink_groups(
    session: Session, result: RelinkResult, *, start_id: int = 0, batch: int = 200
) -> int | None:
    """Re-decide the original of up to ``batch`` groups whose original id is ``start_id`` or
    more, counting into ``result``; returns the id to continue from, or None when done.

    Each group's members are compared with :func:`choose_original` (the current original
    keeps its place on a full tie); when another member wins, the whole group is re-pointed to
    it. Every link records the rule that decided. Members without stored claims (archives
    from before schema 0005) get them from their latest capture first. One transaction per
    call, under the same lock as the duplicate search on PostgreSQL.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(DEDUPE_LOCK_KEY)))
    originals = session.scalars(
        select(Duplicate.original_id)
        .where(Duplicate.original_id >= start_id, Duplicate.kind != "url")
        .distinct()
        .order_by(Duplicate.original_id)
        .limit(batch)
    ).all()
    if not originals:
        return None
    for original_id in originals:
        if original_id in result.decided:
            continue
        result.groups += 1
        new_original = _relink_one(session, original_id)
        if new_original != original_id:
            result.repointed += 1
            result.decided.add(new_original)
    session.flush()
    return originals[-1] + 1


def _relink_one(session: Session, original_id: int) -> int:
    """Re-decide one group; returns its original now."""
    copies = _copies(session, original_id)
    members = [original_id, *copies]
    _backfill_claims(session, members)
    claims = load_claims(session, members)
    if original_id not in claims:
        return original_id
    best = claims[original_id]
    for member in copies:
        if member in claims:
            best = choose_original(claims[member], best)[0]
    if best.id != original_id:
        row = session.get(ArticleRow, best.id)
        assert row is not None
        fp = fingerprint.fingerprint(row.body)
        rule = choose_original(best, claims[original_id])[1]
        repoint_group(session, best.id, original_id, fp, row.lang, rule)
        logger.info("article %d replaces %d as original (%s)", best.id, original_id, rule)
    record_rules(session, best.id)
    return best.id


def _backfill_claims(session: Session, ids: list[int]) -> None:
    """Claims for articles stored before they were recorded, from their latest capture."""
    have = set(
        session.scalars(select(ArticleClaim.article_id).where(ArticleClaim.article_id.in_(ids)))
    )
    for article_id in ids:
        if article_id in have:
            continue
        capture = session.execute(
            select(Capture.html_gz, Capture.final_url, Capture.encoding)
            .where(Capture.article_id == article_id, Capture.html_gz.is_not(None))
            .order_by(Capture.fetched_at.desc(), Capture.id.desc())
            .limit(1)
        ).first()
        site_name: str | None = None
        credits: list[Credit] = []
        if capture is not None:
            from newsarchive.extraction import extract

            try:
                article = extract(
                    zlib.decompress(capture.html_gz), capture.final_url, encoding=capture.encoding
                )
            except (zlib.error, ValueError) as exc:
                logger.warning("cannot re-read capture of article %d: %s", article_id, exc)
                article = None
            if article is not None:
                site_name, credits = article.site_name, article.credits
        save_claims(session, article_id, site_name, credits)


def relink_archive(archive: Archive, *, batch: int = 200) -> RelinkResult:
    """Run :func:`relink_groups` over the whole archive, one transaction per batch.
    ``newsarchive db relink`` runs it, and ``db upgrade`` when it crosses schema 0005."""
    result = RelinkResult()
    start: int | None = 0
    while start is not None:
        with archive.session() as session:
            start = relink_groups(session, result, start_id=start, batch=batch)
    return result
