"""The analysts' web app: search with facets and a timeline, articles, companies, export, and a
JSON API, over a read-only archive (Starlette + Jinja2, served by uvicorn)."""

from __future__ import annotations

from newsarchive.web.app import create_app
from newsarchive.web.server import WebServer

__all__ = ["WebServer", "create_app"]
