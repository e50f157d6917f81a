"""Reading an article's revision history, for ``newsarchive show URL --versions``."""

from __future__ import annotations

import difflib
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import select

from newsarchive.archive.models import Article as ArticleRow
from newsarchive.archive.models import ArticleVersion, Duplicate

if TYPE_CHECKING:
    from datetime import datetime

    from sqlalchemy.orm import Session

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class VersionView:
    """One state of an article. ``captured_at`` is the last capture that still showed it."""

    article_id: int
    version: int
    title: str | None
    body: str
    content_sha256: str
    published: datetime | None
    modified: datetime | None
    captured_at: datetime
    current: bool


@dataclass(frozen=True, slots=True)
class GroupMember:
    article_id: int
    canonical_url: str
    kind: str | None  # None for the original; url / exact / near / translation for copies
    score: float | None
    lang: str | None = None  # so a story group shows which of its copies are translations


def article_versions(session: Session, article_id: int) -> list[VersionView]:
    """All states of an article, oldest first, the current one last; empty if it is unknown."""
    row = session.get(ArticleRow, article_id)
    if row is None:
        return []
    views = [
        VersionView(
            article_id=article_id,
            version=v.version,
            title=v.title,
            body=v.body,
            content_sha256=v.content_sha256,
            published=v.published,
            modified=v.modified,
            captured_at=v.captured_at,
            current=False,
        )
        for v in session.scalars(
            select(ArticleVersion)
            .where(ArticleVersion.article_id == article_id)
            .order_by(ArticleVersion.version)
        )
    ]
    views.append(
        VersionView(
            article_id=article_id,
            version=row.version,
            title=row.title,
            body=row.body,
            content_sha256=row.content_sha256,
            published=row.published,
            modified=row.modified,
            captured_at=row.last_seen,
            current=True,
        )
    )
    return views


def version_diff(old: VersionView, new: VersionView, *, context: int = 3) -> str:
    """A unified diff of title and body, one paragraph per line (bodies are paragraph lines)."""
    lines_old = [f"# {old.title or ''}", *old.body.splitlines()]
    lines_new = [f"# {new.title or ''}", *new.body.splitlines()]
    return "\n".join(
        difflib.unified_diff(
            lines_old,
            lines_new,
            fromfile=f"version {old.version}",
            tofile=f"version {new.version}",
            fromfiledate=old.captured_at.isoformat(),
            tofiledate=new.captured_at.isoformat(),
            n=context,
            lineterm="",
        )
    )


def duplicate_group(session: Session, article_id: int) -> list[GroupMember]:
    """The story group an article belongs to, original first; just itself if it has no copies."""
    original_id = (
        session.scalar(select(Duplicate.original_id).where(Duplicate.article_id == article_id))
        or article_id
    )
    original = session.execute(
        select(ArticleRow.canonical_url, ArticleRow.lang).where(ArticleRow.id == original_id)
    ).first()
    if original is None:
        return []
    members = [GroupMember(original_id, original[0], None, None, original[1])]
    rows = session.execute(
        select(
            Duplicate.article_id,
            ArticleRow.canonical_url,
            Duplicate.kind,
            Duplicate.score,
            ArticleRow.lang,
        )
        .join(ArticleRow, ArticleRow.id == Duplicate.article_id)
        .where(Duplicate.original_id == original_id)
        .order_by(Duplicate.article_id)
    )
    members += [GroupMember(aid, url, kind, score, lang) for aid, url, kind, score, lang in rows]
    return members
