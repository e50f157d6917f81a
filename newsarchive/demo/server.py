"""A small multi-site web server on loopback, for the demo and for crawl tests.

Each site is a directory of static files served on its own free port of 127.0.0.1, so several
"hosts" can be crawled offline. Files may contain ``{{site:NAME}}``, replaced by that site's base
URL at serve time (ports are only known once the servers are bound), which lets sitemaps, feeds,
canonical links and cross-site republication links be written as ordinary absolute URLs.

Static responses carry ``ETag`` and ``Last-Modified`` and answer conditional requests with 304,
like a real news CDN, so incremental crawls can be tested. A site can also have a ``handler``: a
function consulted before the files, which returns a ``Response`` (or None to fall through) — the
way tests add traps, faults and slow or broken responses. Every request is logged.
"""

from __future__ import annotations

import email.utils
import hashlib
import logging
import mimetypes
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, Self
from urllib.parse import unquote, urlsplit

if TYPE_CHECKING:
    from collections.abc import Iterable
    from pathlib import Path

logger = logging.getLogger(__name__)

PLACEHOLDER_SUFFIXES = {".html", ".htm", ".xml", ".txt", ".rss", ".atom", ".rdf", ".json", ""}
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".htm": "text/html; charset=utf-8",
    ".xml": "application/xml; charset=utf-8",
    ".rss": "application/rss+xml; charset=utf-8",
    ".atom": "application/atom+xml; charset=utf-8",
    ".rdf": "application/rdf+xml; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".gz": "application/gzip",
}


@dataclass(slots=True)
class Request:
    site: str
    method: str
    path: str  # path with query string, as sent
    headers: dict[str, str]


@dataclass(slots=True)
class Response:
    status: int = 200
    body: bytes | Iterable[bytes] = b""
    headers: dict[str, str] = field(default_factory=dict)
    # Seconds to sleep before sending the body; the socket stays open (slow servers).
    delay: float = 0.0
    # Close the connection after sending this many body bytes (truncated transfers).
    cut_after: int | None = None


@dataclass(slots=True)
class Site:
    name: str
    root: Path | None = None
    handler: Any = None  # Callable[[Request], Response | None]


@dataclass(slots=True)
class LogEntry:
    site: str
    method: str
    path: str
    status: int


class LocalWeb:
    """Serve several sites on 127.0.0.1, one port each. Use as a context manager."""

    def __init__(
        self,
        sites: Iterable[Site],
        host: str = "127.0.0.1",
        preferred_ports: dict[str, int] | None = None,
    ) -> None:
        self.sites = {site.name: site for site in sites}
        self.host = host
        # Ports to try first (stable URLs across runs); a busy one falls back to a free port.
        self.preferred_ports = preferred_ports or {}
        self.log: list[LogEntry] = []
        self._lock = threading.Lock()
        self._servers: dict[str, ThreadingHTTPServer] = {}
        self._threads: list[threading.Thread] = []
        self._cache: dict[tuple[str, str], tuple[bytes, str, str] | None] = {}

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> Self:
        for name in self.sites:
            handler = _make_handler(self, name)
            try:
                server = ThreadingHTTPServer(
                    (self.host, self.preferred_ports.get(name, 0)), handler
                )
            except OSError:
                server = ThreadingHTTPServer((self.host, 0), handler)
            server.daemon_threads = True
            self._servers[name] = server
        for name, server in self._servers.items():
            thread = threading.Thread(
                target=server.serve_forever, name=f"localweb-{name}", daemon=True
            )
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        for server in self._servers.values():
            server.shutdown()
            server.server_close()
        self._servers.clear()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- addressing ------------------------------------------------------------------------
    def base(self, site: str) -> str:
        port = self._servers[site].server_address[1]
        return f"http://{self.host}:{port}"

    def url(self, site: str, path: str = "/") -> str:
        return self.base(site) + path

    def requests_for(self, site: str | None = None) -> list[LogEntry]:
        with self._lock:
            return [e for e in self.log if site is None or e.site == site]

    def clear_log(self) -> None:
        with self._lock:
            self.log.clear()

    def invalidate(self) -> None:
        """Forget cached files (call after changing a site's files on disk)."""
        with self._lock:
            self._cache.clear()

    # -- content ---------------------------------------------------------------------------
    def substitute(self, text: str) -> str:
        for name in self._servers:
            text = text.replace(f"{{{{site:{name}}}}}", self.base(name))
        return text

    def static(self, site: str, path: str) -> tuple[bytes, str, str] | None:
        """(body, content type, etag) of a static file, or None."""
        key = (site, path)
        with self._lock:
            if key in self._cache:
                return self._cache[key]
        found = self._load(site, path)
        with self._lock:
            self._cache[key] = found
        return found

    def _load(self, site: str, path: str) -> tuple[bytes, str, str] | None:
        root = self.sites[site].root
        if root is None:
            return None
        rel = unquote(urlsplit(path).path).lstrip("/")
        target = (root / rel).resolve()
        if not target.is_relative_to(root.resolve()):
            return None
        if target.is_dir():
            target = target / "index.html"
        if not target.is_file():
            return None
        body = target.read_bytes()
        suffix = target.suffix.lower()
        if suffix in PLACEHOLDER_SUFFIXES:
            body = self.substitute(body.decode("utf-8")).encode("utf-8")
        ctype = (
            CONTENT_TYPES.get(suffix)
            or mimetypes.guess_type(target.name)[0]
            or "application/octet-stream"
        )
        return body, ctype, f'"{hashlib.sha256(body).hexdigest()[:20]}"'


# A fixed Last-Modified for static files: stable across runs, so conditional requests work.
STATIC_LAST_MODIFIED = email.utils.formatdate(1714000000, usegmt=True)


def _make_handler(web: LocalWeb, site: str) -> type[BaseHTTPRequestHandler]:
    class _Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "newsarchive-localweb/1"

        def log_message(self, format: str, *args: Any) -> None:
            logger.debug("%s: " + format, site, *args)

        def do_HEAD(self) -> None:
            self._serve(send_body=False)

        def do_GET(self) -> None:
            self._serve(send_body=True)

        def _serve(self, *, send_body: bool) -> None:
            request = Request(site, self.command, self.path, dict(self.headers.items()))
            response = None
            handler = web.sites[site].handler
            if handler is not None:
                response = handler(request)
            if response is None:
                response = self._static_response(request)
            with web._lock:
                web.log.append(LogEntry(site, self.command, self.path, response.status))
            self._send(response, send_body=send_body)

        def _static_response(self, request: Request) -> Response:
            found = web.static(site, request.path)
            if found is None:
                return Response(
                    404,
                    b"<html><body><h1>Not found</h1></body></html>",
                    {"Content-Type": CONTENT_TYPES[".html"]},
                )
            body, ctype, etag = found
            headers = {"Content-Type": ctype, "ETag": etag, "Last-Modified": STATIC_LAST_MODIFIED}
            if request.headers.get("If-None-Match") == etag or (
                "If-None-Match" not in request.headers
                and request.headers.get("If-Modified-Since") == STATIC_LAST_MODIFIED
            ):
                return Response(304, b"", headers)
            return Response(200, body, headers)

        def _send(self, response: Response, *, send_body: bool) -> None:
            body = response.body
            chunks = [body] if isinstance(body, bytes) else body
            try:
                self.send_response(response.status)
                headers = dict(response.headers)
                if isinstance(body, bytes) and "Content-Length" not in headers:
                    headers["Content-Length"] = str(len(body))
                if not isinstance(body, bytes):
                    headers.setdefault("Connection", "close")
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                if response.delay:
                    threading.Event().wait(response.delay)
                if not send_body or response.status in (204, 304):
                    return
                sent = 0
                for chunk in chunks:
                    if response.cut_after is not None and sent + len(chunk) > response.cut_after:
                        self.wfile.write(chunk[: response.cut_after - sent])
                        self.wfile.flush()
                        self.close_connection = True
                        return
                    self.wfile.write(chunk)
                    sent += len(chunk)
                if not isinstance(body, bytes):
                    self.close_connection = True
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True

    return _Handler
