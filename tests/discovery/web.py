"""The fixture web for discovery tests: tests/fixtures/web/<site>/ plus handlers for traps.

Static files cover most sites; handlers add what a directory cannot express: query-string
pagination, an endless calendar, ``?page=N`` beyond the last page, and a gzipped sitemap served
as ``application/octet-stream``.
"""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

from support.newssite import html_page

from newsarchive.demo.server import LocalWeb, Response, Site

if TYPE_CHECKING:
    from newsarchive.demo.server import Request

WEB = Path(__file__).resolve().parent.parent / "fixtures" / "web"
HTML = {"Content-Type": "text/html; charset=utf-8"}
CALENDAR = re.compile(r"^/archive/(\d{4})/(\d{2})/(\d{2})/?$")


def expected() -> dict[str, dict[str, list[str]]]:
    return json.loads((WEB / "expected.json").read_text(encoding="utf-8"))


def build_web() -> LocalWeb:
    holder: dict[str, LocalWeb] = {}

    def sitemaps(request: Request) -> Response | None:
        if urlsplit(request.path).path == "/sitemap-2024-04.xml.gz":
            text = (WEB / "sitemaps" / "_gz" / "sitemap-2024-04.xml").read_text(encoding="utf-8")
            body = gzip.compress(holder["web"].substitute(text).encode(), mtime=0)
            return Response(200, body, {"Content-Type": "application/octet-stream"})
        return None

    def sections(request: Request) -> Response | None:
        parts = urlsplit(request.path)
        page = parse_qs(parts.query).get("page", ["1"])[0]
        for prefix, name in (("/category/electric", "electric"), ("/suppliers", "suppliers")):
            if parts.path.rstrip("/") == prefix:
                if not page.isdigit() or not 1 <= int(page) <= 3:
                    return Response(404, b"not found", HTML)
                path = WEB / "sections" / "_pages" / f"{name}-{page}.html"
                return Response(200, path.read_bytes(), HTML)
        return None

    def traps(request: Request) -> Response | None:
        parts = urlsplit(request.path)
        match = CALENDAR.match(parts.path)
        if match:
            # An endless calendar: every day links to the day before and after.
            y, m, d = (int(g) for g in match.groups())
            day = y * 10000 + m * 100 + d
            links = [f'<a href="/archive/{y:04d}/{m:02d}/{d + 1:02d}/">next day</a>']
            if d > 1:
                links.append(f'<a href="/archive/{y:04d}/{m:02d}/{d - 1:02d}/">previous day</a>')
            if day == 20240501:
                links.append('<a href="/2024/05/01/mazda-rotary-range-extender-returns">Mazda</a>')
            return Response(200, html_page(f"Archive {day}", " ".join(links)), HTML)
        if parts.path == "/latest":
            # ?page=N answers for every N; past page 2 it repeats page 2's stories.
            page = int(parse_qs(parts.query).get("page", ["1"])[0] or 1)
            story = (
                "/2024/05/01/mazda-rotary-range-extender-returns"
                if page == 1
                else "/2024/05/02/subaru-joins-toyota-ev-platform"
            )
            body = (
                f'<div><h2><a href="{story}">Story</a></h2><p>Teaser text.</p></div>'
                f'<a href="/latest?page={page + 1}">Next</a>'
            )
            return Response(200, html_page(f"Latest {page}", body), HTML)
        return None

    handlers = {"sitemaps": sitemaps, "sections": sections, "traps": traps}
    sites = [Site(d.name, d, handlers.get(d.name)) for d in sorted(WEB.iterdir()) if d.is_dir()]
    web = LocalWeb(sites)
    holder["web"] = web
    return web
