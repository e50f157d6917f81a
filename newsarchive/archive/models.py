"""The archive schema. Alembic migrations in ``migrations/versions`` are the source of truth for
the database; these models must match them (a test compares the two).

Design notes:
- ``articles`` holds one row per article URL (canonical); syndicated copies are their own rows,
  linked to their original through ``duplicates`` so search/export can show one row per story.
- ``captures`` keep every fetch with the raw HTML compressed, so extraction can be re-run later.
- ``url_state`` is the authoritative per-URL crawl state (incremental recrawls, crash resume,
  re-enqueueing what a distributed queue lost); Scrapy's JOBDIR is only a convenience.
- ``lsh_bands`` is the persisted near-duplicate index (MinHash LSH bands): one indexed lookup per
  band, so the cost of a lookup does not grow with the archive. ``anchor_bands`` does the same
  for translations (anchor-pair MinHash values keyed by day, migration 0003).
- Full-text search: an FTS5 table ``articles_fts`` on SQLite, a generated ``search_vector``
  tsvector column with a GIN index on PostgreSQL; both are created by the migration only.
- ``accented_articles`` lists the articles with a word FTS5 folds (migration 0008), kept by
  triggers on both backends like the full-text index, so SQLite's counts read only their
  bodies for the accent-exact check.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from newsarchive.archive.types import JSONType, TZDateTime, utcnow
from newsarchive.contracts import DocKind, FrontierState, RunStatus

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {  # noqa: RUF012
        datetime: TZDateTime,
        dict[str, Any]: JSONType,
        list[str]: JSONType,
    }


class Source(Base):
    __tablename__ = "sources"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    homepage: Mapped[str | None] = mapped_column(String(2000))
    language: Mapped[str | None] = mapped_column(String(16))
    country: Mapped[str | None] = mapped_column(String(8))


class Article(Base):
    __tablename__ = "articles"
    # Search date filters and per-day stats use published, else first seen (migration 0002);
    # a source filter with a date range reads its own index (migration 0007).
    __table_args__ = (
        Index("ix_articles_effective_date", text("coalesce(published, first_seen)")),
        Index("ix_articles_source_date", "source_id", text("coalesce(published, first_seen)")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id"), index=True)
    url: Mapped[str] = mapped_column(Text)
    canonical_url: Mapped[str] = mapped_column(Text, unique=True)
    title: Mapped[str | None] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    published: Mapped[datetime | None] = mapped_column(index=True)
    published_offset: Mapped[int | None] = mapped_column(Integer)  # minutes east of UTC
    modified: Mapped[datetime | None]
    date_source: Mapped[str | None] = mapped_column(String(32))
    date_flags: Mapped[list[str]] = mapped_column(default=list)
    authors: Mapped[list[str]] = mapped_column(default=list)
    organisations: Mapped[list[str]] = mapped_column(default=list)
    lang: Mapped[str | None] = mapped_column(String(16), index=True)
    description: Mapped[str | None] = mapped_column(Text)
    image: Mapped[str | None] = mapped_column(Text)
    section: Mapped[str | None] = mapped_column(String(500))
    tags: Mapped[list[str]] = mapped_column(default=list)
    companies: Mapped[list[str]] = mapped_column(default=list)
    word_count: Mapped[int] = mapped_column(Integer, default=0)
    content_sha256: Mapped[str] = mapped_column(String(64), index=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    first_seen: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    last_seen: Mapped[datetime] = mapped_column(default=utcnow)


class ArticleVersion(Base):
    """Earlier states of an article whose content changed on a refetch (newest is in articles)."""

    __tablename__ = "article_versions"
    __table_args__ = (UniqueConstraint("article_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    title: Mapped[str | None] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    content_sha256: Mapped[str] = mapped_column(String(64))
    published: Mapped[datetime | None]
    modified: Mapped[datetime | None]
    captured_at: Mapped[datetime] = mapped_column(default=utcnow)


class ArticleCompany(Base):
    """Companies named in an article (gazetteer match), for the company filter."""

    __tablename__ = "article_companies"

    article_id: Mapped[int] = mapped_column(
        ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True
    )
    company: Mapped[str] = mapped_column(String(200), primary_key=True, index=True)


class Capture(Base):
    __tablename__ = "captures"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("crawl_runs.id"), index=True)
    source_id: Mapped[int | None] = mapped_column(ForeignKey("sources.id"))
    article_id: Mapped[int | None] = mapped_column(
        ForeignKey("articles.id", ondelete="SET NULL"), index=True
    )
    url: Mapped[str] = mapped_column(Text)
    final_url: Mapped[str] = mapped_column(Text)
    fetched_at: Mapped[datetime] = mapped_column(default=utcnow)
    status: Mapped[int] = mapped_column(Integer)
    headers: Mapped[dict[str, Any]] = mapped_column(default=dict)
    html_gz: Mapped[bytes | None] = mapped_column(LargeBinary)
    encoding: Mapped[str | None] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer, default=0)
    extraction_status: Mapped[str] = mapped_column(String(32))
    extraction_error: Mapped[str | None] = mapped_column(Text)
    # Why the page is not an article or was dropped (the article rule's evidence), migration 0005.
    reason: Mapped[str | None] = mapped_column(String(500))


class Duplicate(Base):
    """``article_id`` is a copy of ``original_id``; kind is ``url``, ``exact``, ``near`` or
    ``translation``."""

    __tablename__ = "duplicates"

    article_id: Mapped[int] = mapped_column(
        ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True
    )
    original_id: Mapped[int] = mapped_column(
        ForeignKey("articles.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))
    score: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Which rule made original_id the original (linking.OriginRule), migration 0005.
    rule: Mapped[str | None] = mapped_column(String(16))


class ArticleClaim(Base):
    """What an article says about its own origin: its site name and the publishers it credits
    (attribution lines, cross-domain canonical, JSON-LD ``isBasedOn``/``sourceOrganization``),
    to tell a copy from its original when publication times tie (migration 0005)."""

    __tablename__ = "article_claims"

    article_id: Mapped[int] = mapped_column(
        ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True
    )
    site_name: Mapped[str | None] = mapped_column(String(300))
    credits: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)


class CreditKey(Base):
    """A page an article credits by URL (attribution link, cross-domain canonical,
    ``isBasedOn``), as a hash of its URL key: the original a copy names is found from either
    side, whichever is stored first, even when the copy republishes only part of the text
    (migration 0006)."""

    __tablename__ = "credit_keys"

    key: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    article_id: Mapped[int] = mapped_column(
        ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class LshBand(Base):
    """One MinHash LSH band key of an article; equal keys make near-duplicate candidates."""

    __tablename__ = "lsh_bands"

    band: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    article_id: Mapped[int] = mapped_column(
        ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class AccentedArticle(Base):
    """Articles whose title or body has a word FTS5 folds (an accent, see migration 0008):
    only these can fail SQLite's accent-exact check for an ASCII query word. Kept by
    triggers."""

    __tablename__ = "accented_articles"

    article_id: Mapped[int] = mapped_column(
        ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True
    )


class ArticleSignature(Base):
    """The MinHash signature of an article, to score LSH candidates without re-reading bodies."""

    __tablename__ = "article_signatures"

    article_id: Mapped[int] = mapped_column(
        ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True
    )
    minhash: Mapped[bytes] = mapped_column(LargeBinary)


class ArticleAnchor(Base):
    """The anchor runs of an article (``dedupe.anchor_text``), to score translation candidates."""

    __tablename__ = "article_anchors"

    article_id: Mapped[int] = mapped_column(
        ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True
    )
    anchors: Mapped[str] = mapped_column(Text)


class AnchorBand(Base):
    """One anchor-pair MinHash band of an article on its effective day (days since 1970-01-01).

    Translation candidates are articles sharing a (band, key) within a few days: the day is in
    the key so that the probe is one index range per band, whatever the archive's age.
    """

    __tablename__ = "anchor_bands"

    band: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    day: Mapped[int] = mapped_column(Integer, primary_key=True)
    article_id: Mapped[int] = mapped_column(
        ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class CrawlRun(Base):
    __tablename__ = "crawl_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    started_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    ended_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(16), default=RunStatus.RUNNING)
    job: Mapped[str | None] = mapped_column(String(200))
    arguments: Mapped[dict[str, Any]] = mapped_column(default=dict)
    sources: Mapped[list[str]] = mapped_column(default=list)
    pages_fetched: Mapped[int] = mapped_column(Integer, default=0)
    articles_new: Mapped[int] = mapped_column(Integer, default=0)
    articles_updated: Mapped[int] = mapped_column(Integer, default=0)
    articles_duplicate: Mapped[int] = mapped_column(Integer, default=0)
    errors: Mapped[int] = mapped_column(Integer, default=0)
    errors_by_kind: Mapped[dict[str, Any]] = mapped_column(default=dict)
    stats: Mapped[dict[str, Any]] = mapped_column(default=dict)
    pid: Mapped[int | None] = mapped_column(Integer)
    hostname: Mapped[str | None] = mapped_column(String(255))


class UrlState(Base):
    """Authoritative per-URL crawl state: what was discovered, fetched, stored or failed."""

    __tablename__ = "url_state"
    __table_args__ = (Index("ix_url_state_source_state", "source_id", "state"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(Text, unique=True)
    source_id: Mapped[int | None] = mapped_column(ForeignKey("sources.id"))
    kind: Mapped[str] = mapped_column(String(16), default=DocKind.PAGE)
    state: Mapped[str] = mapped_column(String(16), default=FrontierState.DISCOVERED)
    lastmod: Mapped[datetime | None]
    etag: Mapped[str | None] = mapped_column(Text)
    last_modified: Mapped[str | None] = mapped_column(String(64))
    content_hash: Mapped[str | None] = mapped_column(String(64))
    last_status: Mapped[int | None] = mapped_column(Integer)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    first_seen: Mapped[datetime] = mapped_column(default=utcnow)
    last_fetched: Mapped[datetime | None]
    article_id: Mapped[int | None] = mapped_column(ForeignKey("articles.id", ondelete="SET NULL"))
    run_id: Mapped[int | None] = mapped_column(ForeignKey("crawl_runs.id"))


class ArticleTopic(Base):
    """A topic of an article (``extraction/topics.py`` rules) with the terms that matched."""

    __tablename__ = "article_topics"

    article_id: Mapped[int] = mapped_column(
        ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True
    )
    topic: Mapped[str] = mapped_column(String(32), primary_key=True, index=True)
    score: Mapped[int] = mapped_column(Integer)
    terms: Mapped[list[str]] = mapped_column(default=list)


class Story(Base):
    """Articles about one event, across outlets and languages (``archive/stories.py``).

    ``first_day``/``last_day`` are the members' effective days (days since 1970-01-01 UTC);
    ``size`` is the number of members, kept up to date as articles join and stories merge.
    """

    __tablename__ = "stories"

    id: Mapped[int] = mapped_column(primary_key=True)
    first_day: Mapped[int] = mapped_column(Integer)
    last_day: Mapped[int] = mapped_column(Integer, index=True)
    size: Mapped[int] = mapped_column(Integer)


class StoryMember(Base):
    """An article's story; ``how`` is ``seed`` (it started the story), ``copy`` (it is a copy of
    a member) or ``event`` (it matched on shared entities), ``keys`` its event keys."""

    __tablename__ = "story_members"

    article_id: Mapped[int] = mapped_column(
        ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True
    )
    story_id: Mapped[int] = mapped_column(ForeignKey("stories.id", ondelete="CASCADE"), index=True)
    day: Mapped[int] = mapped_column(Integer)
    how: Mapped[str] = mapped_column(String(16))
    score: Mapped[float] = mapped_column(Float)
    keys: Mapped[str] = mapped_column(Text)


class StoryKey(Base):
    """One event key (hashed) of an article on its day: candidates for a new article are the
    articles sharing a key within the story window, one index range per key."""

    __tablename__ = "story_keys"

    key: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    day: Mapped[int] = mapped_column(Integer, primary_key=True)
    article_id: Mapped[int] = mapped_column(
        ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True, index=True
    )
