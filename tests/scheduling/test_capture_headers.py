"""A capture keeps the response headers the archive means to keep, whatever the spider saw."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from newsarchive.archive import open_archive
from newsarchive.archive.store import KEPT_HEADERS
from newsarchive.demo.server import LocalWeb, Response, Site

from .crawler import run_cli

if TYPE_CHECKING:
    from newsarchive.demo.server import Request

pytestmark = pytest.mark.slow

WEB = Path(__file__).resolve().parent.parent / "fixtures" / "web"
STORY = "/news/2024/05/zf-cuts-jobs-in-saarbruecken"
HEADERS = {
    "Content-Type": "text/html; charset=utf-8",
    "Content-Language": "de",
    "Last-Modified": "Wed, 01 May 2024 08:00:00 GMT",
    "ETag": '"zf-1"',
    "Expires": "Thu, 02 May 2024 08:00:00 GMT",
    "Cache-Control": "public, max-age=300",
    "Age": "42",
    "X-Robots-Tag": "noarchive",
    "Link": f'<http://example.invalid{STORY}>; rel="canonical"',
    "Via": "1.1 varnish",
    "X-Cache": "HIT",
    "X-Request-Id": "not-kept-4711",
}


def _article() -> bytes:
    page = (WEB / "rdfnews" / "meldungen" / "zf-cuts-jobs-in-saarbruecken.html").read_text()
    return "\n".join(line for line in page.splitlines() if 'rel="canonical"' not in line).encode()


def _site() -> Site:
    article = _article()
    home = f'<!DOCTYPE html><html><body><a href="{STORY}">ZF</a></body></html>'

    def handler(request: Request) -> Response | None:
        if request.path == "/":
            return Response(200, home.encode(), {"Content-Type": "text/html; charset=utf-8"})
        if request.path == STORY:
            return Response(200, article, HEADERS)
        return Response(404, b"", {"Content-Type": "text/plain"})

    return Site("wire", None, handler)


def _story_headers(db: str) -> dict[str, str]:
    from sqlalchemy import select  # tests may use SQL directly to check the archive

    from newsarchive.archive.models import Capture

    archive = open_archive(db)
    try:
        with archive.session() as s:
            rows = s.execute(select(Capture.url, Capture.headers)).all()
    finally:
        archive.dispose()
    found = [headers for url, headers in rows if url.endswith(STORY)]
    assert len(found) == 1, rows
    return found[0]


def test_capture_keeps_every_header_the_archive_keeps(tmp_path: Path) -> None:
    db = str(tmp_path / "news.db")
    with LocalWeb([_site()]) as web:
        result = run_cli(db, web.url("wire"), "--json")
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["articles_new"] == 1
    headers = _story_headers(db)
    sent = {name.lower(): value for name, value in HEADERS.items()}
    for name, value in sent.items():
        if name in KEPT_HEADERS:
            assert headers.get(name) == value, (name, headers)
    # The server adds these itself: the capture has them too.
    assert headers.get("server")
    assert headers.get("date")
    assert headers.get("content-length") == str(len(_article()))
    assert "x-request-id" not in headers  # the archive's filter decides, not the spider
    assert set(headers) <= set(KEPT_HEADERS)
