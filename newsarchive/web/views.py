"""What each page and API answer reads from the archive: compositions of archive functions.

These run in a worker thread with one read-only session and a time limit (``app.run_db``); they
hold no SQL of their own. The HTML pages and the JSON API call the same functions, so the two
always agree.
"""

from __future__ import annotations

import itertools
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from newsarchive.archive.facets import Facets, Timeline, count_matches, overview
from newsarchive.archive.reports import get_article
from newsarchive.archive.search import latest, search
from newsarchive.archive.versions import VersionView, article_versions, version_diff
from newsarchive.web.params import PAGE_SIZE

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from newsarchive.archive.facetindex import FacetIndex
    from newsarchive.archive.reports import ArticleView
    from newsarchive.archive.search import SearchHit
    from newsarchive.web.params import SearchParams

logger = logging.getLogger(__name__)

MARK = ("\ue000", "\ue001")  # private-use markers: cannot clash with text, replaced after escaping


@dataclass(slots=True)
class ResultPage:
    hits: list[SearchHit]
    total: int
    total_exact: bool
    page: int
    has_next: bool


@dataclass(slots=True)
class SearchView:
    results: ResultPage
    facets: Facets
    timeline: Timeline


@dataclass(slots=True)
class ArticleDetail:
    article: ArticleView
    versions: list[VersionView]
    diffs: list[str]


def result_page(
    session: Session,
    params: SearchParams,
    *,
    highlight: tuple[str, str] = MARK,
    total: tuple[int, bool] | None = None,
    index: FacetIndex | None = None,
) -> ResultPage:
    """One page of hits (by relevance or date), and the number of matches (counted on
    ``index`` when given)."""
    query = params.parsed()
    filters = params.filters()
    offset = (params.page - 1) * PAGE_SIZE
    if total is None and index is not None:
        # counted first: the count reads the match's ids on the index, and the search then
        # takes its newest matches from them instead of asking FTS5 again
        total = count_matches(session, query, filters, index=index)
    if query is None:
        hits = latest(session, filters, limit=PAGE_SIZE + 1, offset=offset)
    else:
        hits = search(
            session,
            query,
            filters,
            limit=PAGE_SIZE + 1,
            offset=offset,
            highlight=highlight,
            order=params.order,
            index=index,
        )
    if total is None:
        total = count_matches(session, query, filters, index=index)
    count, exact = total
    return ResultPage(hits[:PAGE_SIZE], count, exact, params.page, len(hits) > PAGE_SIZE)


def search_view(
    session: Session, params: SearchParams, *, index: FacetIndex | None = None
) -> SearchView:
    """Everything the search page shows: hits, facets with the total, the timeline (counted
    on ``index`` when given)."""
    query = params.parsed()
    filters = params.filters()
    facets, tl = overview(
        session, query, filters, bucket=params.bucket, by_source=params.by_source, index=index
    )
    return SearchView(
        results=result_page(session, params, total=(facets.total, facets.exact), index=index),
        facets=facets,
        timeline=tl,
    )


def article_detail(session: Session, article_id: int) -> ArticleDetail:
    view = get_article(session, article_id)
    versions = article_versions(session, view.id)
    diffs = [version_diff(old, new) for old, new in itertools.pairwise(versions)]
    return ArticleDetail(view, versions, diffs)
