"""A small read-only web search page over the archive (stdlib WSGI, no framework).

It is a view on the same ``search`` and ``get_article`` functions as the CLI, so the page and
``newsarchive search`` always agree. Every value from the archive or the request is HTML-escaped;
a query the parser refuses is answered with its message and HTTP 400, an archive failure
(database gone, disk error) with its message and HTTP 500.
"""

from __future__ import annotations

import html
import logging
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlencode
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from newsarchive.archive.reports import ArticleNotFoundError, get_article
from newsarchive.archive.search import SearchFilters, search
from newsarchive.errors import ArchiveError, ConfigError, QuerySyntaxError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from newsarchive.archive import Archive
    from newsarchive.archive.reports import ArticleView
    from newsarchive.archive.search import SearchHit

    StartResponse = Callable[..., Any]

logger = logging.getLogger(__name__)

PAGE_SIZE = 20
_MARK = ("\ue000", "\ue001")  # private-use markers: cannot clash with text, replaced after escaping

_STYLE = """
body{font:16px/1.45 system-ui,sans-serif;max-width:52rem;margin:1rem auto;padding:0 1rem;color:#222}
form{display:grid;grid-template-columns:repeat(3,1fr);gap:.4rem;margin-bottom:1rem}
form .q{grid-column:1/4}input{padding:.3rem}mark{background:#ffe680}
.hit{margin:1.1rem 0}.meta{color:#666;font-size:.85rem}.error{color:#a00;font-weight:bold}
.body{white-space:pre-wrap}
"""


def _e(value: object) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _page(title: str, content: str) -> bytes:
    return (
        "<!doctype html>\n<html lang=en><head><meta charset=utf-8>"
        '<meta name=viewport content="width=device-width,initial-scale=1">'
        f"<title>{_e(title)} – newsarchive</title><style>{_STYLE}</style></head>"
        f'<body><h1><a href="/">newsarchive</a></h1>{content}</body></html>\n'
    ).encode()


def _form(params: dict[str, str]) -> str:
    def field(name: str, label: str, kind: str = "text", cls: str = "") -> str:
        return (
            f'<label class="{cls}">{_e(label)} <input type="{kind}" name="{name}" '
            f'value="{_e(params.get(name, ""))}"></label>'
        )

    checked = " checked" if params.get("dups") else ""
    return (
        '<form method="get" action="/">'
        + field("q", "Search", "search", "q")
        + field("source", "Source")
        + field("lang", "Language")
        + field("company", "Company")
        + field("since", "Since (YYYY-MM-DD)")
        + field("until", "Until (YYYY-MM-DD)")
        + f'<label><input type="checkbox" name="dups" value="1"{checked}> include duplicates'
        "</label><button>Search</button></form>"
    )


def _snippet(text: str) -> str:
    return _e(text).replace(_MARK[0], "<mark>").replace(_MARK[1], "</mark>")


def _hit_html(hit: SearchHit) -> str:
    when = hit.published.date().isoformat() if hit.published else "no date"
    dup = ""
    if hit.duplicate_count:
        dup = f" · {hit.duplicate_count} duplicate{'s' if hit.duplicate_count > 1 else ''}"
    if hit.duplicate_of:
        dup += f' · copy of <a href="/article/{hit.duplicate_of}">#{hit.duplicate_of}</a>'
    return (
        f'<div class="hit"><a href="/article/{hit.id}">{_e(hit.title or "(no title)")}</a>'
        f'<div class="meta">{_e(hit.source)} · {_e(when)} · {_e(hit.lang or "-")}{dup}</div>'
        f"<div>{_snippet(hit.snippet)}</div></div>"
    )


def _filters(params: dict[str, str]) -> SearchFilters:
    return SearchFilters.from_params(
        source=params.get("source"),
        since=params.get("since"),
        until=params.get("until"),
        lang=params.get("lang"),
        company=params.get("company"),
        include_duplicates=bool(params.get("dups")),
    )


def _article_html(view: ArticleView) -> str:
    rows = [
        ("Source", _e(view.source)),
        ("URL", f'<a href="{_e(view.url)}" rel="noreferrer">{_e(view.url)}</a>'),
        ("Published", _e(view.published.isoformat() if view.published else "-")),
        ("Authors", _e(", ".join(view.authors) or "-")),
        ("Language", _e(view.lang or "-")),
        ("Companies", _e(", ".join(view.companies) or "-")),
        ("First seen", _e(view.first_seen.isoformat())),
        ("Version", _e(f"{view.version} ({view.previous_versions} earlier)")),
    ]
    if view.original:
        o = view.original
        rows.append(("Copy of", f'<a href="/article/{o.id}">#{o.id}</a> {_e(o.url)}'))
    for c in view.copies:
        rows.append(("Copy", f'<a href="/article/{c.id}">#{c.id}</a> {_e(c.source)} {_e(c.url)}'))
    for cap in view.captures:
        rows.append(("Capture", _e(f"{cap.fetched_at.isoformat()} HTTP {cap.status}")))
    table = "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in rows)
    return (
        f"<h2>{_e(view.title or '(no title)')}</h2><table>{table}</table>"
        f'<div class="body">{_e(view.body)}</div>'
    )


class SearchApp:
    """The WSGI application: ``/`` searches, ``/article/<id>`` shows one article."""

    def __init__(self, archive: Archive) -> None:
        self.archive = archive

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        try:
            status, body = self._route(environ)
        except ArchiveError as exc:
            # an expected failure with a one-line message: no traceback on the server's stderr
            logger.error("%s %s: %s", environ.get("REQUEST_METHOD"), environ.get("PATH_INFO"), exc)
            status = "500 Internal Server Error"
            body = _page("Archive error", f'<p class="error">{_e(exc)}</p>')
        start_response(
            status,
            [
                ("Content-Type", "text/html; charset=utf-8"),
                ("Content-Length", str(len(body))),
                ("X-Content-Type-Options", "nosniff"),
                ("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'"),
            ],
        )
        return [] if environ.get("REQUEST_METHOD") == "HEAD" else [body]

    def _route(self, environ: dict[str, Any]) -> tuple[str, bytes]:
        if environ.get("REQUEST_METHOD", "GET") not in ("GET", "HEAD"):
            return "405 Method Not Allowed", _page("Not allowed", "<p>Only GET.</p>")
        path = environ.get("PATH_INFO", "/")
        query = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
        if path == "/":
            return self._search(query)
        if path.startswith("/article/") and path[len("/article/") :].isdigit():
            return self._article(int(path[len("/article/") :]))
        return "404 Not Found", _page("Not found", "<p>No such page.</p>")

    def _search(self, params: dict[str, str]) -> tuple[str, bytes]:
        form = _form(params)
        text = params.get("q", "").strip()
        if not text:
            return "200 OK", _page("Search", form)
        try:
            page = max(1, int(params.get("page", "1")))
        except ValueError:
            page = 1
        try:
            filters = _filters(params)
            with self.archive.session() as session:
                hits = search(
                    session,
                    text,
                    filters,
                    limit=PAGE_SIZE + 1,
                    offset=(page - 1) * PAGE_SIZE,
                    highlight=_MARK,
                )
        except (QuerySyntaxError, ConfigError) as exc:
            error = f'<p class="error">{_e(exc)}</p>'
            return "400 Bad Request", _page("Bad query", form + error)
        more = len(hits) > PAGE_SIZE
        items = "".join(_hit_html(h) for h in hits[:PAGE_SIZE]) or "<p>No matches.</p>"
        nav = ""
        if more:
            nav = f'<p><a href="/?{_e(urlencode({**params, "page": page + 1}))}">next page</a></p>'
        return "200 OK", _page(text, form + items + nav)

    def _article(self, article_id: int) -> tuple[str, bytes]:
        try:
            with self.archive.session() as session:
                view = get_article(session, article_id)
        except ArticleNotFoundError as exc:
            return "404 Not Found", _page("Not found", f"<p>{_e(exc)}</p>")
        return "200 OK", _page(view.title or "Article", _article_html(view))


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        logger.info("%s %s", self.address_string(), format % args)


def make_web_server(archive: Archive, host: str = "127.0.0.1", port: int = 8080) -> WSGIServer:
    """A server bound and ready (port 0 picks a free port); the caller runs serve_forever()."""
    try:
        return make_server(host, port, SearchApp(archive), handler_class=_QuietHandler)
    except OSError as e:
        raise ConfigError(f"cannot listen on {host}:{port}: {e.strerror}") from e


def serve_until_interrupted(server: WSGIServer) -> None:
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        logger.info("web server stopped")
    finally:
        server.server_close()
