"""Pages the crawler fetched and did not keep as articles, with the reason for each decision.

Every "not an article" decision (the article rule's evidence) and every validation drop
(``too_short``, ``no_title``) is kept with the page's capture, so that a user can see what was
skipped and why, and tell a wrong decision from a right one.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import func, select

from newsarchive.archive.models import Capture, Source

if TYPE_CHECKING:
    from datetime import datetime

    from sqlalchemy.orm import Session

logger = logging.getLogger(__name__)

# Capture outcomes that mean "fetched, not kept as an article".
NOT_ARTICLE_STATUSES = ("not_article", "too_short", "no_title", "empty")


@dataclass(slots=True)
class SkippedPage:
    url: str
    source: str
    fetched_at: datetime
    status: str  # not_article, too_short, no_title, empty
    reason: str | None


def not_articles(
    session: Session, *, source: str | None = None, limit: int = 50
) -> list[SkippedPage]:
    """The latest capture of each page not kept as an article, newest first."""
    latest = (
        select(func.max(Capture.id).label("id"))
        .where(Capture.extraction_status.in_(NOT_ARTICLE_STATUSES))
        .group_by(Capture.final_url)
        .subquery()
    )
    query = (
        select(
            Capture.final_url,
            Source.name,
            Capture.fetched_at,
            Capture.extraction_status,
            Capture.reason,
        )
        .join(latest, latest.c.id == Capture.id)
        .join(Source, Source.id == Capture.source_id)
        .order_by(Capture.fetched_at.desc(), Capture.id.desc())
        .limit(limit)
    )
    if source is not None:
        query = query.where(Source.name == source)
    return [SkippedPage(*row) for row in session.execute(query).all()]
