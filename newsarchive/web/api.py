"""The JSON API: the same archive functions as the pages, as JSON (described in ``openapi.py``).

Errors are ``{"error": message, "status": code}`` with the HTTP status of the pages (400 bad
input, 404 unknown, 503 over the time limit, 500 archive failure).
"""

from __future__ import annotations

import dataclasses
import logging
from typing import TYPE_CHECKING, Any

from newsarchive.archive.facets import facet_counts, timeline
from newsarchive.archive.reports import publisher_time
from newsarchive.archive.search import HIGHLIGHT
from newsarchive.web.openapi import describe_api
from newsarchive.web.params import PAGE_SIZE, SearchParams
from newsarchive.web.runtime import ArchiveJSON, company_view, run_cached, run_db
from newsarchive.web.views import article_detail, result_page

if TYPE_CHECKING:
    from sqlalchemy.orm import Session
    from starlette.requests import Request
    from starlette.responses import Response

    from newsarchive.archive.facetindex import FacetIndex
    from newsarchive.archive.facets import Timeline
    from newsarchive.web.views import ArticleDetail

logger = logging.getLogger(__name__)


def _params(request: Request) -> SearchParams:
    return SearchParams.from_query(request.query_params)


def timeline_json(tl: Timeline) -> dict[str, Any]:
    return {
        "bucket": tl.bucket,
        "total": tl.total,
        "sources": tl.sources,
        "buckets": [dataclasses.asdict(b) for b in tl.buckets],
    }


async def search_api(request: Request) -> Response:
    params = _params(request)
    page = await run_cached(
        request,
        "api:search",
        params,
        lambda s, index: result_page(s, params, highlight=HIGHLIGHT, index=index),
    )
    return ArchiveJSON(
        {
            "query": params.q,
            "filters": params.filters().describe(),
            "sort": params.order,
            "page": page.page,
            "page_size": PAGE_SIZE,
            "total": page.total,
            "total_exact": page.total_exact,
            "has_next": page.has_next,
            "hits": page.hits,
        }
    )


async def facets_api(request: Request) -> Response:
    params = _params(request)
    facets = await run_cached(
        request,
        "api:facets",
        params,
        lambda s, index: facet_counts(s, params.parsed(), params.filters(), index=index),
    )
    return ArchiveJSON(facets)


async def timeline_api(request: Request) -> Response:
    params = _params(request)

    def work(session: Session, index: FacetIndex | None) -> Timeline:
        return timeline(
            session,
            params.parsed(),
            params.filters(),
            bucket=params.bucket,
            by_source=params.by_source,
            index=index,
        )

    return ArchiveJSON(timeline_json(await run_cached(request, "api:timeline", params, work)))


def article_json(detail: ArticleDetail) -> dict[str, Any]:
    view = detail.article
    body = dataclasses.asdict(view)
    body["published_local"] = publisher_time(view.published, view.published_offset)
    body["versions"] = [
        {
            "version": v.version,
            "title": v.title,
            "content_sha256": v.content_sha256,
            "captured_at": v.captured_at,
            "current": v.current,
        }
        for v in detail.versions
    ]
    body["diffs"] = detail.diffs
    return body


async def article_api(request: Request) -> Response:
    detail = await run_db(request, article_detail, int(request.path_params["article_id"]))
    return ArchiveJSON(article_json(detail))


async def company_api(request: Request) -> Response:
    params = _params(request)
    coverage = await company_view(request, params)
    body = dataclasses.asdict(coverage)
    body["timeline"] = timeline_json(coverage.timeline)
    return ArchiveJSON(body)


async def openapi_description(request: Request) -> Response:
    return ArchiveJSON(describe_api(str(request.base_url).rstrip("/")))
