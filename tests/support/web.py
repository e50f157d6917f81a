"""A web app server over an archive, opened read-only as ``newsarchive serve`` opens it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from newsarchive.archive import open_archive
from newsarchive.web import WebServer

if TYPE_CHECKING:
    from sqlalchemy.engine import URL


def serve_read_only(url: str | URL, **options: Any) -> WebServer:
    """A started server on a free loopback port; ``stop_serving`` ends it."""
    archive = open_archive(url, read_only=True)
    return WebServer(archive, "127.0.0.1", 0, **options).start()


def stop_serving(server: WebServer) -> None:
    server.stop()
    server.app.state.archive.dispose()
