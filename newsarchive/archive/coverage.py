"""How the archive covers one company: articles over time, the outlets, co-mentioned companies.

Built from the companies stored on each article (``article_companies``, the gazetteer's names)
and the same counts as the search facets (``facets.py``), so a company page and a search with
``company=NAME`` always agree.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import func, select

from newsarchive.archive.facets import FacetValue, Timeline, facet_counts, timeline
from newsarchive.archive.models import ArticleCompany
from newsarchive.archive.search import SearchFilters, latest
from newsarchive.errors import ArchiveError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from newsarchive.archive.search import SearchHit

logger = logging.getLogger(__name__)


class CompanyNotFoundError(ArchiveError):
    """No stored article names this company."""


@dataclass(slots=True)
class CompanyCoverage:
    name: str  # as the archive spells it
    articles: int
    sources: list[FacetValue]
    languages: list[FacetValue]
    co_mentions: list[FacetValue]  # other companies named in the same articles
    timeline: Timeline
    latest: list[SearchHit]


def company_name(session: Session, name: str) -> str:
    """The archive's spelling of ``name`` (matched case-insensitively); the most used one wins."""
    spelling = session.scalar(
        select(ArticleCompany.company)
        .where(func.lower(ArticleCompany.company) == name.strip().lower())
        .group_by(ArticleCompany.company)
        .order_by(func.count().desc(), ArticleCompany.company)
        .limit(1)
    )
    if spelling is None:
        raise CompanyNotFoundError(f"no article names the company {name!r}")
    return str(spelling)


def list_companies(session: Session, limit: int = 500) -> list[FacetValue]:
    """Every company the archive names, most articles first (copies counted as articles)."""
    rows = session.execute(
        select(ArticleCompany.company, func.count())
        .group_by(ArticleCompany.company)
        .order_by(func.count().desc(), ArticleCompany.company)
        .limit(limit)
    )
    return [FacetValue(str(name), int(n)) for name, n in rows]


def company_coverage(
    session: Session,
    name: str,
    filters: SearchFilters | None = None,
    *,
    bucket: str = "auto",
    by_source: bool = False,
    latest_limit: int = 10,
) -> CompanyCoverage:
    """Coverage of ``name`` under ``filters`` (their company is replaced by ``name``)."""
    spelling = company_name(session, name)
    scoped = dataclasses.replace(filters or SearchFilters(), company=spelling)
    counts = facet_counts(session, None, scoped)
    return CompanyCoverage(
        name=spelling,
        articles=counts.total,
        sources=counts.sources,
        languages=counts.languages,
        co_mentions=[c for c in counts.companies if c.value.lower() != spelling.lower()],
        timeline=timeline(session, None, scoped, bucket=bucket, by_source=by_source),
        latest=latest(session, scoped, limit=latest_limit),
    )
