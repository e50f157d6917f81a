"""How the archive covers one company: articles over time, the outlets, co-mentioned companies.

Built from the companies stored on each article (``article_companies``, the gazetteer's names)
and the same counts as the search facets (``facets.py``), so a company page and a search with
``company=NAME`` always agree. The gazetteer adds where the company sits: the group above it
and the brands below it.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import func, select

from newsarchive.archive.facets import FacetValue, Timeline, overview
from newsarchive.archive.models import (
    Article,
    ArticleCompany,
    Duplicate,
    Source,
    Story,
    StoryMember,
)
from newsarchive.archive.search import SearchFilters, article_date, latest
from newsarchive.errors import ArchiveError
from newsarchive.extraction.companies import load_gazetteer

if TYPE_CHECKING:
    from datetime import datetime

    from sqlalchemy.orm import Session

    from newsarchive.archive.facetindex import FacetIndex
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
    group: str | None = None  # the gazetteer's outermost group above it, if any
    members: list[str] = dataclasses.field(default_factory=list)  # companies below it


def gazetteer_family(name: str) -> tuple[str | None, list[str]]:
    """(outermost group above ``name``, names of the companies below it) in the gazetteer;
    (None, []) for a name the gazetteer does not know."""
    gazetteer = load_gazetteer()
    company = gazetteer.resolve(name)
    if company is None:
        return None, []
    top = gazetteer.top_group(company.id)
    group = gazetteer.companies[top].name if top != company.id else None
    members = [c.name for c in gazetteer.descendants(company.id) if c.id != company.id]
    return group, sorted(members)


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
    index: FacetIndex | None = None,
) -> CompanyCoverage:
    """Coverage of ``name`` under ``filters`` (their company is replaced by ``name``); counted
    on ``index`` when given and current."""
    spelling = company_name(session, name)
    scoped = dataclasses.replace(filters or SearchFilters(), company=spelling)
    counts, tl = overview(session, None, scoped, bucket=bucket, by_source=by_source, index=index)
    group, members = gazetteer_family(spelling)
    # its own group and brands are not "named together with" it
    family = {n.lower() for n in (spelling, group or "", *members) if n}
    return CompanyCoverage(
        group=group,
        members=members,
        name=spelling,
        articles=counts.total,
        sources=counts.sources,
        languages=counts.languages,
        co_mentions=[c for c in counts.companies if c.value.lower() not in family],
        timeline=tl,
        latest=latest(session, scoped, limit=latest_limit),
    )


class StoryNotFoundError(ArchiveError):
    """No story has this id."""


@dataclass(slots=True)
class StoryArticle:
    id: int
    source: str
    lang: str | None
    title: str | None
    published: datetime | None  # publication date, else first seen
    how: str  # seed / copy / event: how it joined the story
    copy_kind: str | None  # exact / near / translation / url for a copy of another article


@dataclass(slots=True)
class StoryDetail:
    """One story: its articles in time order, the outlets and languages that reported it."""

    id: int
    size: int
    articles: list[StoryArticle]
    sources: list[FacetValue]  # in the order they first reported it
    languages: list[FacetValue]


def story_detail(session: Session, story_id: int) -> StoryDetail:
    """The members of story ``story_id`` oldest first (``stories.py`` builds the clusters)."""
    story = session.get(Story, story_id)
    if story is None:
        raise StoryNotFoundError(f"no story with id {story_id}")
    rows = session.execute(
        select(
            Article.id,
            Source.name,
            Article.lang,
            Article.title,
            article_date().label("when"),
            StoryMember.how,
            Duplicate.kind,
        )
        .join(StoryMember, StoryMember.article_id == Article.id)
        .join(Source, Source.id == Article.source_id)
        .outerjoin(Duplicate, Duplicate.article_id == Article.id)
        .where(StoryMember.story_id == story_id)
        .order_by(article_date(), Article.id)
    ).all()
    articles = [StoryArticle(*row) for row in rows]
    sources: dict[str, int] = {}
    languages: dict[str, int] = {}
    for a in articles:
        sources[a.source] = sources.get(a.source, 0) + 1
        languages[a.lang or ""] = languages.get(a.lang or "", 0) + 1
    return StoryDetail(
        id=story.id,
        size=len(articles),
        articles=articles,
        sources=[FacetValue(k, n) for k, n in sources.items()],
        languages=[FacetValue(k, n) for k, n in languages.items()],
    )
