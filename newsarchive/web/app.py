"""The ASGI application: HTML pages, the JSON API, security rules and error pages.

Requests are served concurrently (uvicorn's event loop); each request's archive work runs in a
worker thread on its own read-only session with a time limit (``run_db``), so a slow query or an
idle client holds nobody else up. Rules every response follows:

- Host header checked against an allow-list (a DNS-rebinding page cannot read the archive).
- A strict Content-Security-Policy: no script at all, styles and images from this server only;
  plus ``nosniff``, no framing, no referrer.
- Everything from the archive is escaped by the templates (stored pages come from hostile
  sites); links to stored URLs are kept only for http(s).
- Bad input (query syntax, caps, dates) → HTTP 400 with the parser's message; unknown article or
  company → 404; a query over the time limit → 503; any other database failure → a generic
  500 page (no connection string, no SQL), with the detail in the log.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import jinja2
from markupsafe import Markup, escape
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from newsarchive import __version__
from newsarchive.archive.coverage import CompanyNotFoundError, StoryNotFoundError
from newsarchive.archive.facetindex import FacetIndexes
from newsarchive.archive.limits import QueryTimeoutError
from newsarchive.archive.reports import ArticleNotFoundError, publisher_time
from newsarchive.errors import ArchiveError, ConfigError, QuerySyntaxError
from newsarchive.web import api, pages
from newsarchive.web.cache import AnswerCache
from newsarchive.web.runtime import ArchiveJSON
from newsarchive.web.views import MARK

if TYPE_CHECKING:
    from collections.abc import Iterable

    from starlette.requests import Request
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

    from newsarchive.archive import Archive

logger = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
REQUEST_TIME_LIMIT = 10.0  # seconds of database work per request
CACHE_SIZE = 256  # answers kept while the archive is unchanged (0: none)
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
]


def host_name(header: str) -> str:
    """The name in a Host header without its port (``[::1]:8080`` → ``::1``)."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1:].split("]", 1)[0]
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


class SecurityMiddleware:
    """Refuses requests whose Host is not allowed and adds the security headers to every
    response (pages, API, static files and error pages alike)."""

    def __init__(self, app: ASGIApp, allowed_hosts: Iterable[str]) -> None:
        self.app = app
        self.allowed = {h.lower().strip("[]") for h in allowed_hosts}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *SECURITY_HEADERS]
            await send(message)

        headers = dict(scope.get("headers") or [])
        host = host_name(headers.get(b"host", b"").decode("latin-1"))
        if "*" not in self.allowed and host not in self.allowed:
            logger.warning("refused a request for host %r", host)
            response = PlainTextResponse("Invalid Host header", status_code=400)
            await response(scope, receive, send_with_headers)
            return
        await self.app(scope, receive, send_with_headers)


def _status_for(exc: Exception) -> tuple[int, str]:
    if isinstance(exc, ArticleNotFoundError | CompanyNotFoundError | StoryNotFoundError):
        return 404, str(exc)
    if isinstance(exc, QueryTimeoutError):
        return 503, "The archive took too long to answer this; narrow the search and try again."
    if isinstance(exc, QuerySyntaxError | ConfigError):
        return 400, str(exc)
    if isinstance(exc, HTTPException):
        return exc.status_code, str(exc.detail)
    return 500, "The archive could not answer this request. The server log has the details."


async def handle_error(request: Request, exc: Exception) -> Response:
    status, message = _status_for(exc)
    if status >= 500:
        # one line: the detail may name the database; it goes to the log, never to the client
        logger.error("%s %s: %s", request.method, request.url.path, exc)
    if request.url.path.startswith("/api/"):
        return ArchiveJSON({"error": message, "status": status}, status_code=status)
    templates: Jinja2Templates = request.app.state.templates
    context = {"status": status, "message": message, "title": f"Error {status}"}
    return templates.TemplateResponse(request, "error.html", context, status_code=status)


def _highlight(text: str) -> Markup:
    """Escape a snippet, then turn the private-use markers into ``<mark>``."""
    escaped = str(escape(text))
    return Markup(escaped.replace(MARK[0], "<mark>").replace(MARK[1], "</mark>"))


def _safe_href(url: str | None) -> str:
    """A stored URL as a link target only when it is http(s); never ``javascript:`` & co."""
    if not url:
        return ""
    return url if urlsplit(url).scheme.lower() in ("http", "https") else ""


def _templates() -> Jinja2Templates:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,  # the package's own files: no stat() per template per request
    )
    env.filters["highlight"] = _highlight
    env.filters["safe_href"] = _safe_href
    env.globals["version"] = __version__
    env.globals["publisher_time"] = publisher_time
    return Jinja2Templates(env=env)


def create_app(
    archive: Archive,
    *,
    allowed_hosts: Iterable[str] = LOCAL_HOSTS,
    time_limit_seconds: float = REQUEST_TIME_LIMIT,
    cache_size: int = CACHE_SIZE,
    facet_index: bool = True,
) -> Starlette:
    """The application over an archive the caller opened (read-only, for a server).

    With ``facet_index`` the counts of every page come from an in-memory copy of the facet
    columns (``archive/facetindex.py``), built on first use or by ``app.state.facet_indexes
    .build()`` and rebuilt in the background when the archive changes; without it, in SQL."""
    routes = [
        Route("/", pages.search_page, name="search"),
        Route("/article/{article_id:int}", pages.article_page, name="article"),
        Route("/companies", pages.companies_page, name="companies"),
        Route("/stories", pages.stories_page, name="stories"),
        Route("/story/{story_id:int}", pages.story_page, name="story"),
        Route("/company/{name:path}", pages.company_page, name="company"),
        Route("/export", pages.export_data, name="export"),
        Route("/export/manifest", pages.export_manifest, name="export_manifest"),
        Route("/api/openapi.json", api.openapi_description),
        Route("/api/search", api.search_api),
        Route("/api/facets", api.facets_api),
        Route("/api/timeline", api.timeline_api),
        Route("/api/articles/{article_id:int}", api.article_api),
        Route("/api/companies/{name:path}", api.company_api),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
    handlers: dict[Any, Any] = {
        ArchiveError: handle_error,
        ConfigError: handle_error,
        QuerySyntaxError: handle_error,
        HTTPException: handle_error,
    }
    app = Starlette(routes=routes, exception_handlers=handlers)
    app.add_middleware(SecurityMiddleware, allowed_hosts=list(allowed_hosts))
    app.state.archive = archive
    app.state.time_limit = time_limit_seconds
    app.state.cache = AnswerCache(cache_size)
    app.state.facet_indexes = FacetIndexes(archive) if facet_index else None
    app.state.templates = _templates()
    return app
