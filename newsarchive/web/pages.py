"""The HTML pages: search (with facets and timeline), article, companies, company, export."""

from __future__ import annotations

import json
import logging
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.responses import StreamingResponse

from newsarchive.archive.coverage import list_companies, story_detail
from newsarchive.archive.export import FORMATS, export_to_file
from newsarchive.archive.export.writers import EXTENSIONS
from newsarchive.archive.stories import list_stories
from newsarchive.errors import ConfigError, QuerySyntaxError
from newsarchive.web.chart import build_chart
from newsarchive.web.params import MAX_PAGE, PAGE_SIZE, SearchParams, month_range
from newsarchive.web.runtime import ArchiveJSON, company_view, render, run_cached, run_db
from newsarchive.web.streaming import stream_export
from newsarchive.web.views import article_detail, search_view

if TYPE_CHECKING:
    from sqlalchemy.orm import Session
    from starlette.requests import Request
    from starlette.responses import Response

    from newsarchive.archive.search import SearchFilters

logger = logging.getLogger(__name__)

EXPORT_TIME_LIMIT = 600.0
MEDIA_TYPES = {
    "jsonl": "application/x-ndjson",
    "csv": "text/csv; charset=utf-8",
    "parquet": "application/vnd.apache.parquet",
    "warc": "application/warc",
}


def _params(request: Request) -> SearchParams:
    return SearchParams.from_query(request.query_params)


async def search_page(request: Request) -> Response:
    try:
        params = _params(request)
    except (ConfigError, QuerySyntaxError) as exc:
        shown = SearchParams.unchecked(request.query_params)
        context = {"params": shown, "error": str(exc), "view": None, "title": "Bad search"}
        return render(request, "search.html", context, status_code=400)
    view = await run_cached(
        request, "search", params, lambda s, index: search_view(s, params, index=index)
    )
    last_page = min(MAX_PAGE, max(1, -(-view.results.total // PAGE_SIZE)))
    context = {
        "params": params,
        "error": None,
        "view": view,
        "chart": build_chart(view.timeline, params),
        "chips": params.chips(),
        "month_range": month_range,
        "last_page": last_page,
        "max_page": MAX_PAGE,
        "formats": FORMATS,
        "title": params.q or "Search",
    }
    return render(request, "search.html", context)


async def article_page(request: Request) -> Response:
    detail = await run_db(request, article_detail, int(request.path_params["article_id"]))
    title = detail.article.title or f"Article {detail.article.id}"
    return render(request, "article.html", {"detail": detail, "title": title})


async def story_page(request: Request) -> Response:
    story = await run_db(request, story_detail, int(request.path_params["story_id"]))
    title = next((a.title for a in story.articles if a.title), None) or f"Story {story.id}"
    return render(request, "story.html", {"story": story, "title": title})


async def stories_page(request: Request) -> Response:
    stories = await run_cached(request, "stories", None, lambda s, _: list_stories(s, limit=50))
    return render(request, "stories.html", {"stories": stories, "title": "Stories"})


async def companies_page(request: Request) -> Response:
    companies = await run_db(request, list_companies)
    return render(request, "companies.html", {"companies": companies, "title": "Companies"})


async def company_page(request: Request) -> Response:
    params = _params(request)
    coverage = await company_view(request, params)
    scoped = params.with_(company=coverage.name)
    context = {
        "coverage": coverage,
        "params": scoped,
        "chart": build_chart(coverage.timeline, scoped),
        "title": coverage.name,
    }
    return render(request, "company.html", context)


def _export_args(request: Request) -> tuple[str, SearchParams]:
    fmt = request.query_params.get("format", "jsonl")
    if fmt not in FORMATS:
        raise ConfigError(f"unknown export format {fmt!r}: use one of {', '.join(FORMATS)}")
    return fmt, _params(request)


async def export_data(request: Request) -> Response:
    """The current search as a file, streamed by the same writer as ``newsarchive export``."""
    fmt, params = _export_args(request)
    stream = stream_export(request.app.state.archive, fmt, params.filters(), params.q or None)
    return StreamingResponse(
        stream,
        media_type=MEDIA_TYPES[fmt],
        headers={
            "Content-Disposition": f'attachment; filename="newsarchive-export.{EXTENSIONS[fmt]}"'
        },
    )


def _manifest(session: Session, fmt: str, filters: SearchFilters, query: str | None) -> Any:
    with tempfile.TemporaryDirectory(prefix="newsarchive-export-") as tmp:
        result = export_to_file(
            session, fmt, Path(tmp) / f"newsarchive-export.{EXTENSIONS[fmt]}", filters, query
        )
        return json.loads(result.manifest_path.read_text(encoding="utf-8"))


async def export_manifest(request: Request) -> Response:
    """The manifest ``newsarchive export -o`` writes beside the same export (rows, fields,
    schema revision, SHA-256 of the file the export link gives)."""
    fmt, params = _export_args(request)
    manifest = await run_db(
        request, _manifest, fmt, params.filters(), params.q or None, seconds=EXPORT_TIME_LIMIT
    )
    return ArchiveJSON(manifest)
