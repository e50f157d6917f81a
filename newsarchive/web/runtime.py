"""What the page and API handlers share: archive work off the event loop, JSON, templates."""

from __future__ import annotations

import dataclasses
import json
import logging
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse

from newsarchive.archive.coverage import company_coverage
from newsarchive.archive.facetindex import archive_version
from newsarchive.archive.limits import time_limit

if TYPE_CHECKING:
    from collections.abc import Callable, Hashable

    from sqlalchemy.orm import Session
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.templating import Jinja2Templates

    from newsarchive.archive import Archive
    from newsarchive.archive.coverage import CompanyCoverage
    from newsarchive.archive.facetindex import FacetIndex, FacetIndexes
    from newsarchive.web.cache import AnswerCache
    from newsarchive.web.params import SearchParams

logger = logging.getLogger(__name__)

T = TypeVar("T")


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    raise TypeError(f"cannot serialise {type(value).__name__}")


class ArchiveJSON(JSONResponse):
    """JSON with dates as ISO 8601 and dataclasses as objects."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, default=_json_default, ensure_ascii=False).encode("utf-8")


async def run_db(
    request: Request, work: Callable[..., T], *args: Any, seconds: float | None = None
) -> T:
    """``work(session, *args)`` in a worker thread, in one read-only transaction with the
    request time limit (or ``seconds``)."""
    archive: Archive = request.app.state.archive
    seconds = seconds or float(request.app.state.time_limit)

    def call() -> T:
        with archive.session() as session, time_limit(session, seconds):
            return work(session, *args)

    return await run_in_threadpool(call)


def render(
    request: Request, template: str, context: dict[str, Any], status_code: int = 200
) -> Response:
    templates: Jinja2Templates = request.app.state.templates
    return templates.TemplateResponse(request, template, context, status_code=status_code)


async def run_cached(
    request: Request, kind: str, key: Hashable, work: Callable[[Session, FacetIndex | None], T]
) -> T:
    """``run_db`` through the app's answer cache (``cache.py``): ``work(session, index)`` runs
    only when no answer for (kind, key) was computed on the archive as it is now; ``index`` is
    the facet index of that state, or None while it is being (re)built."""
    cache: AnswerCache = request.app.state.cache
    indexes: FacetIndexes | None = request.app.state.facet_indexes

    def cached(session: Session) -> T:
        if cache.size <= 0 and indexes is None:
            return work(session, None)
        version = archive_version(session)
        index = indexes.current(version) if indexes is not None else None
        return cache.answer(version, (kind, key), lambda: work(session, index))

    return await run_db(request, cached)


async def company_view(request: Request, params: SearchParams) -> CompanyCoverage:
    """The coverage of the company the path names, under the page's filters (page and API)."""
    name = request.path_params["name"]
    return await run_cached(
        request,
        "company:" + name,
        params,
        lambda s, index: company_coverage(
            s,
            name,
            params.filters(),
            bucket=params.bucket,
            by_source=params.by_source,
            index=index,
        ),
    )
